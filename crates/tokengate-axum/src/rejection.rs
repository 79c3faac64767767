//! [`AuthRejection`]: why an extractor refused, as a response.

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use tokengate_core::{AuthError, ErrorKind};
use tokengate_tower::response::{AfterAuthentication, BearerChallenge, OnRejection, Problem, Rejection};

/// The body of the 500 that a forgotten layer causes.
pub const MISSING_LAYER_MESSAGE: &str = "tokengate: no verified token in the request extensions: \
     the JwtAuthLayer was forgotten on this route (add it with Router::route_layer)";

/// The rejection of tokengate's extractors. A response: the same mapping as the layer
/// ([`tokengate_tower::response`]: RFC 6750 challenge with the layer's realm, RFC 9457
/// problem body), and the [`AuthError`] in the response extensions. Refusals of a token that
/// verified (claims that do not fit, `Forbidden`, `InsufficientScope`) carry
/// [`AfterAuthentication`], so the failure rate limiter never counts them.
///
/// | cause | response |
/// | --- | --- |
/// | the layer is missing on the route | 500, body [`MISSING_LAYER_MESSAGE`] |
/// | optional layer, no token, but the handler requires one | 401 `Bearer realm="…"` |
/// | the claims do not fit the handler's type | 401 `invalid_token`, marked [`AfterAuthentication`] (not counted by the failure rate limiter: the token itself verified) |
/// | [`VerifiedToken::require_scope`](crate::VerifiedToken::require_scope) fails | 403 `insufficient_scope` with `scope="…"` |
/// | [`VerifiedToken::forbidden_because`](crate::VerifiedToken::forbidden_because) | 403 `Bearer realm="…"`, the reason in the problem's `detail` |
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}")]
pub struct AuthRejection {
    error: AuthError,
    challenge: Option<BearerChallenge>,
    scope: Option<String>,
    public_detail: Option<String>,
    by_extractor: bool,
}

impl AuthRejection {
    /// A rejection for `error`, challenged with `challenge` (the layer's, when known).
    pub fn new(error: AuthError, challenge: Option<BearerChallenge>) -> Self {
        AuthRejection { error, challenge, scope: None, public_detail: None, by_extractor: false }
    }

    /// What the problem body's `detail` says instead of the kind's public message, e.g.
    /// why a policy refused (see [`Rejection::with_public_detail`]). Sent to the client:
    /// never put a token or internal detail in it.
    #[must_use]
    pub fn with_public_detail(mut self, detail: impl Into<String>) -> Self {
        self.public_detail = Some(detail.into());
        self
    }

    /// Marks a refusal of a token that the layer accepted (the claims do not fit the
    /// handler's type): its response carries [`AfterAuthentication`], so the failure rate
    /// limiter does not count it as a failed attempt.
    pub(crate) fn raised_by_extractor(mut self) -> Self {
        self.by_extractor = true;
        self
    }

    /// The 500 for a route without the layer.
    pub fn missing_layer() -> Self {
        AuthRejection::new(AuthError::with_detail(ErrorKind::Internal, "JwtAuthLayer missing"), None)
    }

    /// A 403 `insufficient_scope` naming the scope that was required.
    pub fn insufficient_scope(scope: impl Into<String>, challenge: Option<BearerChallenge>) -> Self {
        let mut rejection = AuthRejection::new(AuthError::new(ErrorKind::InsufficientScope), challenge);
        rejection.scope = Some(scope.into());
        rejection
    }

    /// The error.
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// The same rejection as the tower layer sees it, e.g. to render it with your own
    /// [`OnRejection`].
    pub fn to_rejection(&self) -> Rejection {
        let mut rejection = Rejection::new(self.error.clone(), self.challenge.clone().unwrap_or_default());
        if let Some(scope) = &self.scope {
            rejection = rejection.with_required_scope(scope.clone());
        }
        if let Some(detail) = &self.public_detail {
            rejection = rejection.with_public_detail(detail.clone());
        }
        rejection
    }
}

/// A rejection with the default challenge (realm `"api"`); prefer the extractors' own
/// rejections (e.g. [`VerifiedToken::forbidden`](crate::VerifiedToken::forbidden)), which
/// carry the layer's realm.
impl From<AuthError> for AuthRejection {
    fn from(error: AuthError) -> Self {
        AuthRejection::new(error, None)
    }
}

impl From<AuthRejection> for AuthError {
    fn from(rejection: AuthRejection) -> Self {
        rejection.error
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let mut response: Response = Problem.on_rejection(&self.to_rejection());
        // Refusals of a token that verified (claims that do not fit, a policy): never
        // counted as failed attempts.
        if self.by_extractor || matches!(self.error.kind(), ErrorKind::Forbidden | ErrorKind::InsufficientScope) {
            response.extensions_mut().insert(AfterAuthentication);
        }
        if self.error.kind() == ErrorKind::Internal {
            tracing::error!("{MISSING_LAYER_MESSAGE}");
            *response.body_mut() = Body::from(MISSING_LAYER_MESSAGE);
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        }
        response
    }
}
