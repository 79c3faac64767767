//! DPoP (RFC 9449): sender-constrained tokens proven with a per-request signed proof.

mod layer;
mod proof;

pub use layer::{Dpop, DpopLayer, DpopScheme, dpop_refusal};
pub use proof::{DEFAULT_IAT_WINDOW, DEFAULT_REPLAY_CAPACITY, DpopError, DpopRequest, DpopVerifier, jwk_thumbprint};
