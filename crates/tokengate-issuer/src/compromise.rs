//! The compromised-key response: one call that stops a key, unpublishes it, revokes
//! its `kid` everywhere and says what it did.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::IssuerError;
use crate::refresh::RefreshTokens;
use crate::rotation::KeyRing;
use crate::signer::Signer;

/// The future a [`KidRevocationSink`] returns.
pub type RevokeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), IssuerError>> + Send + 'a>>;

/// Where the issuer writes "every token with this `kid` is revoked": a revocation store
/// that the verifiers' revocation mirrors follow. `until` (seconds since the epoch) is
/// when the rule may be forgotten: the last instant a token of the key could still be
/// valid.
pub trait KidRevocationSink: Send + Sync {
    /// Revokes every token whose header carries `kid`.
    fn revoke_kid<'a>(&'a self, kid: &'a str, until: i64) -> RevokeFuture<'a>;
}

impl<S: KidRevocationSink + ?Sized> KidRevocationSink for Arc<S> {
    fn revoke_kid<'a>(&'a self, kid: &'a str, until: i64) -> RevokeFuture<'a> {
        (**self).revoke_kid(kid, until)
    }
}

/// What [`KeyRing::compromised`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompromiseReport {
    /// The compromised key id.
    pub kid: String,
    /// Whether the key was signing when it was stopped.
    pub was_signing: bool,
    /// The key that signs from now on, if any.
    pub signing_kid: Option<String>,
    /// The instant until which the `kid` revocation holds.
    pub revoked_until: i64,
    /// How many refresh-token families with an access token signed by the key were
    /// revoked.
    pub revoked_families: usize,
}

impl KeyRing {
    /// Responds to a compromised key in one call:
    ///
    /// 1. stops signing with `kid` and drops it from the JWKS at once, whatever its
    ///    schedule said;
    /// 2. if it was the signing key, `replacement` signs from now on (without
    ///    pre-publication: verifiers learn it through their unknown-kid refresh), and
    ///    every other key retires one token lifetime from now; without a replacement the
    ///    previous key that may still sign takes over (refused when there is none);
    /// 3. revokes `kid` through `sink`, so every verifier following that store rejects
    ///    its tokens, until one longest token lifetime from now;
    /// 4. revokes, in `refresh` (when given), every refresh-token family one of whose
    ///    access tokens the key signed;
    /// 5. logs a `warn` event (target `tokengate::issuer`) with the kid, whether it
    ///    signed, the new signing kid, the revocation horizon and the number of families
    ///    revoked; never key material.
    ///
    /// Errors with [`IssuerError::Config`] for a `kid` not in the ring, or when the key
    /// was signing, no other key may sign and no `replacement` is given (nothing is
    /// changed then); with the sink's error when the revocation could not be written
    /// (the key is already stopped and unpublished then: write the kid revocation again
    /// once the store is back), or [`IssuerError::Store`] when the refresh store failed.
    pub async fn compromised(
        &self,
        kid: &str,
        replacement: Option<Arc<dyn Signer>>,
        sink: &dyn KidRevocationSink,
        refresh: Option<&RefreshTokens>,
    ) -> Result<CompromiseReport, IssuerError> {
        let now = self.clock().now();
        if !self.kids().iter().any(|k| k == kid) {
            return Err(IssuerError::Config(format!("unknown key {kid:?}")));
        }
        let was_signing = self.signer_entry(now).is_some_and(|(signer, _)| signer.kid() == kid);
        let other_can_sign = self.can_sign_without(now, kid);
        if was_signing && !other_can_sign && replacement.is_none() {
            return Err(IssuerError::Config(format!("key {kid:?} is the only key that can sign: give a replacement")));
        }
        self.remove(kid);
        if let Some(replacement) = replacement.filter(|_| was_signing) {
            self.activate_now(replacement)?;
        }
        let revoked_until = now.saturating_add(i64::try_from(self.max_token_lifetime().as_secs()).unwrap_or(i64::MAX));
        let signing_kid = self.signer_entry(now).map(|(signer, _)| signer.kid().to_owned());
        let result = sink.revoke_kid(kid, revoked_until).await;
        let families = match refresh {
            Some(refresh) => {
                refresh.revoke_families_signed_by(kid).await.map_err(|e| IssuerError::Store(e.to_string()))
            }
            None => Ok(0),
        };
        tracing::warn!(
            target: "tokengate::issuer",
            kid,
            was_signing,
            signing_kid = signing_kid.as_deref().unwrap_or("none"),
            revoked_until,
            revoked = result.is_ok(),
            revoked_families = families.as_ref().map_or(-1, |n| i64::try_from(*n).unwrap_or(i64::MAX)),
            "compromised key stopped, unpublished and revoked"
        );
        result?;
        let revoked_families = families?;
        Ok(CompromiseReport { kid: kid.to_owned(), was_signing, signing_kid, revoked_until, revoked_families })
    }
}
