//! The common case in one statement: [`discover`] an OpenID Connect issuer, name the
//! audience, build.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = tokengate::discover("https://idp.example.com/").await?.audience("orders-api").build()?;
//! assert_eq!(verifier.algorithms(), tokengate::core::ASYMMETRIC_ALGORITHMS);
//! # Ok(()) }
//! ```

use tokengate_core::{ASYMMETRIC_ALGORITHMS, Verifier, VerifierBuilder};
use tokengate_jwks::{JwksCache, JwksError};

/// Finds the keys of `issuer` by OpenID Connect discovery (a [`JwksCache`] bound to that
/// issuer, refreshed in the background) and starts a verifier for it: the issuer is given
/// once, here (the discovery document must name exactly this issuer, and tokens must
/// carry it in `iss`). Then [`Discovered::audience`] (required) returns the builder, with
/// every asymmetric algorithm allowed ([`ASYMMETRIC_ALGORITHMS`]: each key stays pinned to
/// its own algorithm; published symmetric keys are never used).
///
/// Errors when the discovery document or the key set cannot be had.
pub async fn discover(issuer: &str) -> Result<Discovered, JwksError> {
    let keys = JwksCache::discover(issuer).await?;
    Ok(Discovered { keys, issuer: issuer.to_owned() })
}

/// An issuer found by [`discover`]: its keys, waiting for the audience.
#[derive(Debug)]
#[must_use = "a discovered issuer verifies nothing until .audience(..).build()"]
pub struct Discovered {
    keys: JwksCache,
    issuer: String,
}

impl Discovered {
    /// Accept tokens whose `aud` contains `audience`.
    pub fn audience(self, audience: impl Into<String>) -> VerifierBuilder {
        self.audiences([audience.into()])
    }

    /// Accept tokens whose `aud` contains one of these.
    pub fn audiences<I: IntoIterator<Item = S>, S: Into<String>>(self, audiences: I) -> VerifierBuilder {
        Verifier::builder(self.keys).issuer(self.issuer).audiences(audiences).algorithms(ASYMMETRIC_ALGORITHMS)
    }

    /// The key cache (for health checks and metrics).
    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// The issuer, as given to [`discover`].
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}
