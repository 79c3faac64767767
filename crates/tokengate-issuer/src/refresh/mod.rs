//! Refresh tokens: opaque, stored hashed, rotated on every use; reuse of a spent token
//! revokes its whole family.
//!
//! A refresh token is 256 random bits, base64url (43 characters). Only its SHA-256 is
//! stored, so a copy of the store hands out no usable token. Every use spends the token
//! and returns a new one of the same *family* (the chain that started at one login);
//! presenting a spent token again means two parties hold the chain (one of them stole
//! it), so the whole family is revoked and both must log in again.
//!
//! ```
//! use std::time::Duration;
//! use tokengate_issuer::{MemoryRefreshStore, RefreshError, RefreshGrant, RefreshTokens};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let tokens = RefreshTokens::new(MemoryRefreshStore::new()).ttl(Duration::from_secs(3600));
//! let now = 1_700_000_000;
//! let first = tokens.issue(RefreshGrant::new("alice", "web").scope("orders:read"), now).await?;
//! let (second, grant) = tokens.rotate(&first, now + 60).await?;
//! assert_eq!(grant.subject, "alice");
//! assert_eq!(tokens.rotate(&first, now + 61).await, Err(RefreshError::Reused));
//! assert_eq!(tokens.rotate(&second, now + 62).await, Err(RefreshError::Revoked));
//! # Ok::<(), RefreshError>(())
//! # }).unwrap();
//! ```

mod memory;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use memory::MemoryRefreshStore;
pub use store::{RefreshRecord, RefreshStore, StoreFuture, Taken, TokenHash};

/// The default lifetime of a refresh token: 14 days.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

/// What a refresh token grants: who, for which client, which scope.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshGrant {
    /// The subject the access tokens are for.
    pub subject: String,
    /// The client the token was issued to; only that client may use it.
    pub client_id: String,
    /// The granted scope (space-separated), never widened by a refresh.
    pub scope: String,
}

impl RefreshGrant {
    /// A grant for `subject` through `client_id`, with no scope.
    pub fn new(subject: impl Into<String>, client_id: impl Into<String>) -> RefreshGrant {
        RefreshGrant { subject: subject.into(), client_id: client_id.into(), scope: String::new() }
    }

    /// Sets the scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> RefreshGrant {
        self.scope = scope.into();
        self
    }
}

/// Why a refresh token was refused. Every variant is `invalid_grant` on the wire
/// (RFC 6749 section 5.2); the variants are for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// Not a token this issuer gave out (or already forgotten).
    #[error("unknown refresh token")]
    Unknown,
    /// The token has expired.
    #[error("expired refresh token")]
    Expired,
    /// A spent token was presented again: its family is now revoked.
    #[error("refresh token reused; its family is revoked")]
    Reused,
    /// The token's family was revoked (reuse, compromised key, logout).
    #[error("revoked refresh token")]
    Revoked,
    /// The token belongs to another client.
    #[error("refresh token issued to another client")]
    WrongClient,
    /// The store failed; nothing was decided.
    #[error("refresh token store unavailable: {0}")]
    Store(String),
}

impl RefreshError {
    /// The OAuth error code: always `invalid_grant`, except a store failure
    /// (`temporarily_unavailable`, served with 503).
    pub fn oauth_error(&self) -> &'static str {
        match self {
            RefreshError::Store(_) => "temporarily_unavailable",
            _ => "invalid_grant",
        }
    }
}

/// Issues and rotates refresh tokens over a [`RefreshStore`]. Cheap to clone.
#[derive(Clone)]
pub struct RefreshTokens {
    store: Arc<dyn RefreshStore>,
    ttl: Duration,
}

impl fmt::Debug for RefreshTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

fn random_b64(bytes: usize) -> Result<String, RefreshError> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| RefreshError::Store("no randomness".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The SHA-256 of a refresh token, the only form a store keeps.
pub fn hash_token(token: &str) -> TokenHash {
    let digest = digest::digest(&digest::SHA256, token.as_bytes());
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest.as_ref());
    TokenHash(hash)
}

impl RefreshTokens {
    /// Refresh tokens kept in `store`, living [`DEFAULT_REFRESH_TTL`].
    pub fn new(store: impl RefreshStore + 'static) -> RefreshTokens {
        RefreshTokens { store: Arc::new(store), ttl: DEFAULT_REFRESH_TTL }
    }

    /// The lifetime of each refresh token (each rotation starts a new one).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> RefreshTokens {
        self.ttl = ttl;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn RefreshStore> {
        &self.store
    }

    fn expires(&self, now: i64) -> i64 {
        now.saturating_add(i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX))
    }

    /// Starts a new family (a login) and returns its first token.
    pub async fn issue(&self, grant: RefreshGrant, now: i64) -> Result<String, RefreshError> {
        let family = random_b64(16)?;
        let token = random_b64(32)?;
        let record = RefreshRecord { family, grant, expires_at: self.expires(now) };
        self.store.insert(hash_token(&token), record).await?;
        Ok(token)
    }

    /// Spends `token` and returns its successor (same family) and the grant.
    ///
    /// Errors: [`RefreshError::Unknown`], [`RefreshError::Expired`],
    /// [`RefreshError::Revoked`] (family revoked), [`RefreshError::Reused`] (the token
    /// was spent before: the family is revoked now).
    pub async fn rotate(&self, token: &str, now: i64) -> Result<(String, RefreshGrant), RefreshError> {
        self.rotate_for(token, None, now).await
    }

    /// Like [`RefreshTokens::rotate`], refusing a token issued to a client other than
    /// `client_id` ([`RefreshError::WrongClient`]; the token is not spent then).
    pub async fn rotate_for(
        &self,
        token: &str,
        client_id: Option<&str>,
        now: i64,
    ) -> Result<(String, RefreshGrant), RefreshError> {
        let next = random_b64(32)?;
        let taken = self.store.take(hash_token(token), client_id.map(str::to_owned), now).await?;
        let record = match taken {
            Taken::Fresh(record) => record,
            Taken::Spent(family) => {
                self.store.revoke_family(&family).await?;
                tracing::warn!(target: "tokengate::issuer", "refresh token reused: family revoked");
                return Err(RefreshError::Reused);
            }
            Taken::Refused(error) => return Err(error),
        };
        let grant = record.grant.clone();
        let successor = RefreshRecord { expires_at: self.expires(now), ..record };
        self.store.insert(hash_token(&next), successor).await?;
        Ok((next, grant))
    }

    /// The family of a live token (to record which key signed its access tokens).
    pub async fn family_of(&self, token: &str) -> Result<Option<String>, RefreshError> {
        self.store.family_of(hash_token(token)).await
    }

    /// Records that an access token of `family` was signed by `kid`.
    pub async fn signed_with(&self, family: &str, kid: &str) -> Result<(), RefreshError> {
        self.store.note_kid(family, kid).await
    }

    /// Revokes every family one of whose access tokens `kid` signed; returns how many.
    pub async fn revoke_families_signed_by(&self, kid: &str) -> Result<usize, RefreshError> {
        self.store.revoke_families_for_kid(kid).await
    }
}
