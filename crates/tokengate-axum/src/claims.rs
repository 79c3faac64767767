//! [`Claims<T>`]: the verified token's custom claims as your own type.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tokengate_core::{AuthError, ErrorKind, Verified};
use tokengate_tower::response::BearerChallenge;

use crate::AuthRejection;

/// The claims of the verified token, deserialized into `T` on first use in a request and
/// cached in that request (a second `Claims<T>` in the same request costs an `Arc` clone).
/// The cache is bound to the token: when an inner layer replaced or removed the token
/// after a `Claims<T>` was extracted (in an axum `from_fn` middleware, say), the next
/// `Claims<T>` reads the current token, never the earlier one.
///
/// Needs [`JwtAuthLayer`](tokengate_tower::JwtAuthLayer) on the route: without it the
/// extractor answers 500 (see [`AuthRejection`]). Use `Option<Claims<T>>` on routes whose
/// layer is [optional](tokengate_tower::JwtAuthLayer::optional): `None` for anonymous
/// requests. Claims that do not fit `T` are a 401 `invalid_token`.
///
/// ```
/// use serde::Deserialize;
/// use tokengate_axum::Claims;
///
/// #[derive(Deserialize)]
/// struct MyClaims {
///     sub: String,
///     tenant_id: String,
/// }
///
/// async fn me(Claims(claims): Claims<MyClaims>) -> String {
///     format!("{} of {}", claims.sub, claims.tenant_id)
/// }
///
/// async fn maybe(claims: Option<Claims<MyClaims>>) -> String {
///     claims.map_or_else(|| "anonymous".to_owned(), |c| c.sub.clone())
/// }
/// # let _ = axum::Router::<()>::new().route("/me", axum::routing::get(me)).route("/maybe", axum::routing::get(maybe));
/// ```
pub struct Claims<T = serde_json::Value>(pub Arc<T>);

impl<T> Deref for Claims<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for Claims<T> {
    fn clone(&self) -> Self {
        Claims(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for Claims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims").field(&self.0).finish()
    }
}

/// The per-request cache of deserialized claims, bound to the verified token they came
/// from: it is used only while that same `Arc<Verified>` is the request's token. An inner
/// layer may replace the token (another layer verified another token) or remove it (an
/// optional layer found none), after an outer extractor (an axum `from_fn` middleware,
/// say) filled the cache.
struct Cached<T> {
    verified: Arc<Verified>,
    value: Arc<T>,
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Cached { verified: Arc::clone(&self.verified), value: Arc::clone(&self.value) }
    }
}

/// The layer's challenge, or the 500 when the layer did not run.
pub(crate) fn layer_ran(parts: &Parts) -> Result<BearerChallenge, AuthRejection> {
    parts.extensions.get::<BearerChallenge>().cloned().ok_or_else(AuthRejection::missing_layer)
}

fn extract<T>(parts: &mut Parts) -> Result<Option<Claims<T>>, AuthRejection>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    let challenge = layer_ran(parts)?;
    let Some(verified) = parts.extensions.get::<Arc<Verified>>() else {
        // No token (any more): claims cached for an earlier one must not outlive it.
        parts.extensions.remove::<Cached<T>>();
        return Ok(None);
    };
    // The cache holds its own `Arc<Verified>`, so the pointer cannot be reused by another
    // token while the entry exists.
    if let Some(cached) = parts.extensions.get::<Cached<T>>()
        && Arc::ptr_eq(&cached.verified, verified)
    {
        return Ok(Some(Claims(Arc::clone(&cached.value))));
    }
    let verified = Arc::clone(verified);
    let claims =
        Arc::new(verified.claims_as::<T>().map_err(|e| AuthRejection::new(e, Some(challenge)).raised_by_extractor())?);
    parts.extensions.insert(Cached { verified, value: Arc::clone(&claims) });
    Ok(Some(Claims(claims)))
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match extract(parts)? {
            Some(claims) => Ok(claims),
            None => Err(AuthRejection::new(AuthError::new(ErrorKind::MissingToken), Some(layer_ran(parts)?))),
        }
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        extract(parts)
    }
}
