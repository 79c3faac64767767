//! [`VerifiedToken`]: the whole verified token (header, registered claims, scopes).

use std::ops::Deref;
use std::sync::Arc;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use tokengate_core::{AuthError, ErrorKind, Verified};
use tokengate_tower::response::BearerChallenge;

use crate::AuthRejection;
use crate::claims::layer_ran;

/// The verified token as the layer inserted it (`Arc<Verified>`): header, registered
/// claims (`sub`, `iss`, `exp`, ...), raw claims, scopes. Derefs to [`Verified`].
///
/// ```
/// use tokengate_axum::{AuthRejection, VerifiedToken};
///
/// async fn admin(token: VerifiedToken) -> Result<String, AuthRejection> {
///     token.require_scope("admin")?; // else 403 insufficient_scope, scope="admin"
///     Ok(format!("hello admin {}", token.subject().unwrap_or("?")))
/// }
/// # let _ = axum::Router::<()>::new().route("/admin", axum::routing::get(admin));
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    verified: Arc<Verified>,
    challenge: BearerChallenge,
}

impl VerifiedToken {
    /// The shared verified token.
    pub fn verified(&self) -> &Arc<Verified> {
        &self.verified
    }

    /// The shared verified token.
    pub fn into_inner(self) -> Arc<Verified> {
        self.verified
    }

    /// `Ok` when the token grants `scope` (`scope` claim, space-separated, or `scp`
    /// array); else a 403 `insufficient_scope` rejection naming it.
    pub fn require_scope(&self, scope: &str) -> Result<(), AuthRejection> {
        if self.verified.has_scope(scope) {
            Ok(())
        } else {
            Err(AuthRejection::insufficient_scope(scope, Some(self.challenge.clone())))
        }
    }

    /// A 403 for a token that is valid but may not do this (a policy said no), with the
    /// layer's challenge.
    pub fn forbidden(&self) -> AuthRejection {
        AuthRejection::new(AuthError::new(ErrorKind::Forbidden), Some(self.challenge.clone()))
    }

    /// [`VerifiedToken::forbidden`], with the reason in the problem body's `detail` (sent to
    /// the client: never a token or internal detail).
    pub fn forbidden_because(&self, detail: impl Into<String>) -> AuthRejection {
        self.forbidden().with_public_detail(detail)
    }
}

impl Deref for VerifiedToken {
    type Target = Verified;

    fn deref(&self) -> &Verified {
        &self.verified
    }
}

fn extract(parts: &Parts) -> Result<Option<VerifiedToken>, AuthRejection> {
    let challenge = layer_ran(parts)?;
    Ok(parts
        .extensions
        .get::<Arc<Verified>>()
        .map(|verified| VerifiedToken { verified: Arc::clone(verified), challenge }))
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedToken {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match extract(parts)? {
            Some(token) => Ok(token),
            None => Err(AuthRejection::new(AuthError::new(ErrorKind::MissingToken), Some(layer_ran(parts)?))),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedToken {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        extract(parts)
    }
}
