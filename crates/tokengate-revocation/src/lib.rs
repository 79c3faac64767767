//! # tokengate-revocation
//!
//! Stateless tokens that can still be revoked: one token (`jti`), a user (`iss` + `sub`),
//! a session (`sid`), a signing key (`kid`), a tenant, an issuer or everyone, within a
//! second across every instance, with no network call on the request path.
//!
//! A revocation is a [`Rule`]: a [`RuleKey`] (kind, issuer, value) with a cut-off. A token
//! matching the key whose basis time (`iat`, or `auth_time`, see [`Basis`]) is at or before
//! the cut-off is revoked (a `jti` rule revokes its token whatever its time). Deliveries of
//! the same rule merge to the later cut-off, so duplicates and reordering are harmless; a
//! rule is forgotten once every token it could match has expired (the maximum token lifetime
//! plus skew after its cut-off), so memory is bounded by live tokens.
//!
//! Every store implements [`tokengate_core::RevocationCheck`]: a synchronous lookup in a
//! local table, run on every request after the token verified (a token served from the
//! verified-token cache included). It answers [`ErrorKind::Revoked`] (401 `invalid_token`)
//! for a revoked token and [`ErrorKind::RevocationUnavailable`] (503) when the answer cannot
//! be known.
//!
//! - [`MemoryStore`]: the embedded default, one process.
//! - `RedisStore` (feature `redis`): rules shared by every instance through Redis; each
//!   instance checks requests against its own mirror, which follows a Redis stream, resyncs
//!   after gaps and failovers, writes rules back after data loss, and fails closed past a
//!   staleness bound.
//! - `intake` (feature `intake`): Security Event Tokens (RFC 8417, pushed per RFC 8935:
//!   CAEP `session-revoked`, `credential-change`, `token-claims-change`, RISC
//!   `account-disabled`, `account-purged`) and OpenID Connect back-channel logout tokens
//!   become rules.
//! - `admin` (feature `admin`): an axum router to revoke, list the active rules, and read
//!   the mirror's health; mounted behind the application's own admin authentication.
//!
//! [`ErrorKind::Revoked`]: tokengate_core::ErrorKind::Revoked
//! [`ErrorKind::RevocationUnavailable`]: tokengate_core::ErrorKind::RevocationUnavailable

mod extract;
mod memory;
mod rule;
mod store;
mod table;

#[cfg(feature = "admin")]
pub mod admin;
#[cfg(feature = "intake")]
pub mod intake;
#[cfg(feature = "redis")]
pub mod redis;

pub use memory::{MemoryStore, MemoryStoreBuilder};
pub use rule::{MAX_PART_LEN, Rule, RuleError, RuleKey, RuleKind};
pub use store::{DEFAULT_MAX_TOKEN_LIFETIME, DEFAULT_SKEW, Health, RevocationStore, StoreError, StoreFuture};
pub use table::Basis;

#[cfg(feature = "redis")]
pub use crate::redis::{RedisStore, RedisStoreBuilder};
