//! [`IdToken`]: a validated ID token and its OpenID Connect claims.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use tokengate_core::Verified;

/// The OpenID Connect claims of an ID token (OIDC Core 2), beyond the registered ones.
///
/// Unknown claims are ignored here; read them with [`Verified::claims_as`] on
/// [`IdToken::verified`].
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// `nonce`: the value sent in the authentication request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// `azp`: the authorized party (the client the token was issued to).
    #[serde(default)]
    pub azp: Option<String>,
    /// `auth_time`: when the end-user authenticated, seconds since the epoch.
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// `sid`: the provider's session id (OIDC Front/Back-Channel Logout).
    #[serde(default)]
    pub sid: Option<String>,
    /// `acr`: the authentication context class reference.
    #[serde(default)]
    pub acr: Option<String>,
    /// `amr`: the authentication methods used.
    #[serde(default)]
    pub amr: Vec<String>,
    /// `at_hash`: the access token's hash.
    #[serde(default)]
    pub at_hash: Option<String>,
    /// `c_hash`: the authorization code's hash.
    #[serde(default)]
    pub c_hash: Option<String>,
    /// `name`, if the provider included it.
    #[serde(default)]
    pub name: Option<String>,
    /// `preferred_username`, if the provider included it.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// `email`, if the provider included it.
    #[serde(default)]
    pub email: Option<String>,
}

impl fmt::Debug for IdTokenClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data and one-time values stay out of logs.
        f.debug_struct("IdTokenClaims")
            .field("azp", &self.azp)
            .field("auth_time", &self.auth_time)
            .field("acr", &self.acr)
            .field("amr", &self.amr)
            .finish_non_exhaustive()
    }
}

/// A validated ID token: the core [`Verified`] token and its OpenID Connect claims.
#[derive(Clone, Debug)]
pub struct IdToken {
    verified: Arc<Verified>,
    claims: IdTokenClaims,
}

impl IdToken {
    pub(crate) fn new(verified: Arc<Verified>, claims: IdTokenClaims) -> Self {
        IdToken { verified, claims }
    }

    /// The verified token (registered claims, raw claims, key id).
    pub fn verified(&self) -> &Arc<Verified> {
        &self.verified
    }

    /// The OpenID Connect claims.
    pub fn claims(&self) -> &IdTokenClaims {
        &self.claims
    }

    /// `sub`: the end-user's identifier at the issuer (always present).
    pub fn subject(&self) -> &str {
        self.verified.subject().unwrap_or_default()
    }

    /// `iss`.
    pub fn issuer(&self) -> &str {
        self.verified.issuer().unwrap_or_default()
    }

    /// `sid`, the provider's session id, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.claims.sid.as_deref()
    }

    /// `auth_time`, if any.
    pub fn auth_time(&self) -> Option<i64> {
        self.claims.auth_time
    }
}
