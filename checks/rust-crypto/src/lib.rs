//! Checks tokengate-core built with the `rust-crypto` backend alone.
//!
//! Inside the main workspace cargo unifies features, so tokengate-core is built with
//! aws-lc-rs there. This is a separate workspace, so CI's `cd checks/rust-crypto &&
//! TOKENGATE_EXPECT_BACKEND=rust-crypto cargo test` runs its tests on RustCrypto.
