//! # tokengate
//!
//! Verify JSON Web Tokens in front of axum routes and tonic gRPC services.
//! This is the facade: it re-exports the workspace crates behind features.

pub use tokengate_core as core;
pub use tokengate_core::{Algorithm, AuthError, ErrorKind, Key, KeySet, Verified, Verifier};

/// The names most programs need.
pub mod prelude {
    pub use tokengate_core::{Algorithm, AuthError, ErrorKind, Key, KeySet, Verified, Verifier};
}
