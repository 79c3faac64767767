//! The [`RefreshStore`] trait: where hashed refresh tokens and their families live.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::{RefreshError, RefreshGrant};

/// The future a [`RefreshStore`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, RefreshError>> + Send + 'a>>;

/// The SHA-256 of a refresh token. Its `Debug` shows nothing of the value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// One stored (hashed) refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The family: every token rotated from one login.
    pub family: String,
    /// What the token grants.
    pub grant: RefreshGrant,
    /// Seconds since the epoch after which the token is refused.
    pub expires_at: i64,
}

/// What [`RefreshStore::take`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken {
    /// A live token, now marked spent (atomically: two concurrent takes of one token
    /// never both see `Fresh`).
    Fresh(RefreshRecord),
    /// A token that was spent before: this is a reuse; the family is given so the
    /// caller revokes it.
    Spent(String),
    /// Refused without spending: unknown, expired, family revoked, other client.
    Refused(RefreshError),
}

/// Storage for refresh tokens, by hash. Implementations must make [`RefreshStore::take`]
/// atomic, keep spent hashes (for reuse detection) until they would have expired, and
/// forget everything of a family once it is revoked except that it is revoked.
pub trait RefreshStore: Send + Sync {
    /// Stores a live token.
    fn insert(&self, hash: TokenHash, record: RefreshRecord) -> StoreFuture<'_, ()>;

    /// Spends the token `hash` at `now` if it is live, belongs to a live family and (when
    /// given) to `client_id`.
    fn take(&self, hash: TokenHash, client_id: Option<String>, now: i64) -> StoreFuture<'_, Taken>;

    /// The family of a live token.
    fn family_of(&self, hash: TokenHash) -> StoreFuture<'_, Option<String>>;

    /// Revokes a family: none of its tokens is accepted again.
    fn revoke_family<'a>(&'a self, family: &'a str) -> StoreFuture<'a, ()>;

    /// Records that `kid` signed an access token of `family`.
    fn note_kid<'a>(&'a self, family: &'a str, kid: &'a str) -> StoreFuture<'a, ()>;

    /// Revokes every family noted with `kid`; returns how many were live.
    fn revoke_families_for_kid<'a>(&'a self, kid: &'a str) -> StoreFuture<'a, usize>;
}
