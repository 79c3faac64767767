//! Checks tokengate-core built with the `rust-crypto` backend alone.
//!
//! Inside `cargo test --workspace` cargo unifies features, so tokengate-core is built
//! with aws-lc-rs there. CI runs `cargo test -p tokengate-backend-check` on its own with
//! `TOKENGATE_EXPECT_BACKEND=rust-crypto` so that this crate's tests run on RustCrypto.
