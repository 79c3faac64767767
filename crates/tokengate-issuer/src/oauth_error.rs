//! [`OAuthError`]: an error response of the token endpoint (RFC 6749 section 5.2).

use serde::Serialize;

/// An OAuth error: HTTP status, `error` code and a fixed `error_description`.
///
/// Serialized as `{"error": "...", "error_description": "..."}`; with the `axum`
/// feature it is a response with that body, `Cache-Control: no-store` and
/// `Content-Type: application/json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error}: {error_description}")]
pub struct OAuthError {
    #[serde(skip)]
    status: u16,
    error: &'static str,
    error_description: &'static str,
}

impl OAuthError {
    /// An error with `status`, `error` code and `description`.
    pub const fn new(status: u16, error: &'static str, description: &'static str) -> OAuthError {
        OAuthError { status, error, error_description: description }
    }

    /// `400 invalid_request`.
    pub const fn invalid_request(description: &'static str) -> OAuthError {
        OAuthError::new(400, "invalid_request", description)
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `error` code.
    pub fn error(&self) -> &'static str {
        self.error
    }

    /// The `error_description`.
    pub fn description(&self) -> &'static str {
        self.error_description
    }
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for OAuthError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{HeaderValue, StatusCode, header};
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = axum::response::Response::new(axum::body::Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
