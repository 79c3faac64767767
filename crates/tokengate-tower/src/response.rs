//! Rejection responses: RFC 6750 by default ([`Rfc6750`]), pluggable through
//! [`OnRejection`] (closures work).
//!
//! | [`ErrorKind`] | status | `WWW-Authenticate` |
//! | --- | --- | --- |
//! | `MissingToken` | 401 | `Bearer realm="…"` (no error code, RFC 6750 section 3.1) |
//! | `InvalidRequest` | 400 | `Bearer realm="…", error="invalid_request", error_description="…"` |
//! | any invalid-token kind | 401 | `Bearer realm="…", error="invalid_token", error_description="…"` |
//! | `InsufficientScope` | 403 | `Bearer realm="…", error="insufficient_scope", error_description="…", scope="…"` |
//! | `Forbidden` | 403 | `Bearer realm="…"` |
//! | `RateLimited` | 429 | none; `Retry-After` |
//! | `KeysUnavailable` | 503 | none; `Retry-After` |
//! | `Internal` | 500 | none |
//!
//! With [`BearerChallenge::resource_metadata`] set, every challenge also carries the RFC
//! 9728 `resource_metadata="…"` parameter. Descriptions come from
//! [`AuthError::public_message`]: never the token, key material or internal detail.
//! Every rejection carries `Cache-Control: no-store`, and the typed [`AuthError`] in its
//! response extensions (the layer adds it when a custom [`OnRejection`] did not).
//!
//! ```
//! use http::{Response, StatusCode};
//! use tokengate_core::{AuthError, ErrorKind};
//! use tokengate_tower::response::{BearerChallenge, OnRejection, Rejection, Rfc6750};
//!
//! let challenge = BearerChallenge::new("orders");
//! let rejection = Rejection::new(AuthError::new(ErrorKind::Expired), challenge);
//! let response: Response<String> = Rfc6750.on_rejection(&rejection);
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer realm="orders", error="invalid_token", error_description="the access token expired""#
//! );
//! assert_eq!(response.extensions().get::<AuthError>().map(|e| e.kind()), Some(ErrorKind::Expired));
//! ```

use std::fmt::{self, Write as _};
use std::sync::Arc;

use http::header::{CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use tokengate_core::{AuthError, ErrorKind};

/// `Retry-After` for a 503 when the error does not say (seconds).
pub const DEFAULT_UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// The parameters of the `WWW-Authenticate: Bearer` challenge: the realm and, optionally,
/// the RFC 9728 `resource_metadata` URL. Cheap to clone.
///
/// Values are sanitized when set: `"` and `\` are escaped and control characters dropped,
/// so a challenge is always a valid header value.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    inner: Arc<ChallengeInner>,
}

#[derive(Clone, PartialEq, Eq)]
struct ChallengeInner {
    realm: String,
    resource_metadata: Option<String>,
}

impl fmt::Debug for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerChallenge")
            .field("realm", &self.inner.realm)
            .field("resource_metadata", &self.inner.resource_metadata)
            .finish()
    }
}

impl Default for BearerChallenge {
    fn default() -> Self {
        BearerChallenge::new(DEFAULT_REALM)
    }
}

/// The realm used when none is configured.
pub const DEFAULT_REALM: &str = "api";

/// Escapes a value for a quoted-string (RFC 9110 section 5.6.4); drops control chars.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || !c.is_ascii() => {}
            c => out.push(c),
        }
    }
    out
}

impl BearerChallenge {
    /// A challenge with this realm.
    pub fn new(realm: impl AsRef<str>) -> Self {
        BearerChallenge { inner: Arc::new(ChallengeInner { realm: quoted(realm.as_ref()), resource_metadata: None }) }
    }

    /// Adds the RFC 9728 `resource_metadata` parameter: the URL of this resource's
    /// `/.well-known/oauth-protected-resource` document (see [`crate::metadata`]).
    pub fn resource_metadata(self, url: impl AsRef<str>) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.resource_metadata = Some(quoted(url.as_ref()));
        BearerChallenge { inner: Arc::new(inner) }
    }

    /// A copy with another realm.
    pub fn with_realm(self, realm: impl AsRef<str>) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.realm = quoted(realm.as_ref());
        BearerChallenge { inner: Arc::new(inner) }
    }

    /// The realm (escaped).
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The `resource_metadata` URL (escaped), if set.
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.inner.resource_metadata.as_deref()
    }

    /// The `WWW-Authenticate` value for this error, or `None` for kinds that carry no
    /// challenge (429, 500, 503).
    pub fn header_value(&self, error: &AuthError, scope: Option<&str>) -> Option<HeaderValue> {
        if !matches!(error.status(), 400 | 401 | 403) {
            return None;
        }
        let mut v = String::with_capacity(128);
        let _ = write!(v, "Bearer realm=\"{}\"", self.inner.realm);
        if let Some(code) = error.error_code() {
            let _ = write!(v, ", error=\"{code}\", error_description=\"{}\"", error.public_message());
            if code == tokengate_core::ErrorCode::InsufficientScope
                && let Some(scope) = scope
            {
                let _ = write!(v, ", scope=\"{}\"", quoted(scope));
            }
        }
        if let Some(url) = &self.inner.resource_metadata {
            let _ = write!(v, ", resource_metadata=\"{url}\"");
        }
        HeaderValue::from_str(&v).ok()
    }
}

/// Everything a response builder needs to know about one rejection.
#[derive(Clone, Debug)]
pub struct Rejection {
    error: AuthError,
    challenge: BearerChallenge,
    scope: Option<String>,
}

impl Rejection {
    /// A rejection for `error`, challenged with `challenge`.
    pub fn new(error: AuthError, challenge: BearerChallenge) -> Self {
        Rejection { error, challenge, scope: None }
    }

    /// The scope that was required (sent as `scope="…"` with `insufficient_scope`).
    pub fn with_required_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The error.
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// The challenge parameters.
    pub fn challenge(&self) -> &BearerChallenge {
        &self.challenge
    }

    /// The required scope, if any.
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `WWW-Authenticate` value, when this kind carries one.
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        self.challenge.header_value(&self.error, self.scope.as_deref())
    }

    /// Seconds for `Retry-After`: the error's own value, else
    /// [`DEFAULT_UNAVAILABLE_RETRY_AFTER`] for a 503 and 1 for a 429; `None` otherwise.
    pub fn retry_after(&self) -> Option<u64> {
        match (self.error.retry_after_secs(), self.error.kind()) {
            (Some(secs), _) => Some(secs),
            (None, ErrorKind::KeysUnavailable) => Some(DEFAULT_UNAVAILABLE_RETRY_AFTER),
            (None, ErrorKind::RateLimited) => Some(1),
            _ => None,
        }
    }

    /// The RFC 6750 response with `body`: status, `WWW-Authenticate`, `Retry-After`,
    /// `Cache-Control: no-store`, and the [`AuthError`] in the extensions. The building
    /// block of [`Rfc6750`], for custom responses that only want another body.
    pub fn response_with<B>(&self, body: B) -> Response<B> {
        let mut response = Response::new(body);
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        if let Some(challenge) = self.www_authenticate() {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if let Some(secs) = self.retry_after() {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(self.error.clone());
        response
    }
}

/// A marker in a rejection's response extensions: the rejection was raised *after* the
/// layer accepted the token, by an extractor (tokengate-axum's `Claims<T>` when the
/// claims do not fit the handler's type, say). The token verified, so this is not a
/// failed attempt: the failure rate limiter (feature `rate-limit`) does not count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RaisedByExtractor;

/// Builds the response for a rejected request.
///
/// Implemented by [`Rfc6750`] (the default) and by every
/// `Fn(&Rejection) -> Response<B> + Clone`, e.g. for RFC 9457 `application/problem+json`:
///
/// ```
/// use http::{Response, header::CONTENT_TYPE};
/// use tokengate_tower::response::{OnRejection, Rejection};
///
/// let problem = |r: &Rejection| -> Response<String> {
///     let body = serde_json::json!({
///         "type": "about:blank",
///         "title": r.status().canonical_reason(),
///         "status": r.status().as_u16(),
///         "detail": r.error().public_message(),
///     });
///     let mut response = r.response_with(body.to_string());
///     response.headers_mut().insert(CONTENT_TYPE, "application/problem+json".parse().unwrap());
///     response
/// };
/// # fn check<R: OnRejection<String>>(_: &R) {}
/// # check(&problem);
/// ```
pub trait OnRejection<B> {
    /// The response for `rejection`.
    fn on_rejection(&self, rejection: &Rejection) -> Response<B>;
}

impl<B, F> OnRejection<B> for F
where
    F: Fn(&Rejection) -> Response<B>,
{
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        self(rejection)
    }
}

/// The default rejection: RFC 6750 headers (see the module docs) and an empty body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc6750;

impl<B: Default> OnRejection<B> for Rfc6750 {
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        rejection.response_with(B::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn www(kind: ErrorKind, challenge: &BearerChallenge, scope: Option<&str>) -> Option<String> {
        challenge.header_value(&AuthError::new(kind), scope).and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    #[test]
    fn challenges_per_kind() {
        let c = BearerChallenge::new("r");
        assert_eq!(www(ErrorKind::MissingToken, &c, None).as_deref(), Some(r#"Bearer realm="r""#));
        assert_eq!(
            www(ErrorKind::InvalidRequest, &c, None).as_deref(),
            Some(
                r#"Bearer realm="r", error="invalid_request", error_description="the request carrying the token is malformed""#
            )
        );
        assert_eq!(
            www(ErrorKind::InsufficientScope, &c, Some("admin")).as_deref(),
            Some(
                r#"Bearer realm="r", error="insufficient_scope", error_description="the access token lacks the required scope", scope="admin""#
            )
        );
        assert_eq!(www(ErrorKind::KeysUnavailable, &c, None), None);
        assert_eq!(www(ErrorKind::RateLimited, &c, None), None);
        let m = c.resource_metadata("https://api.example/.well-known/oauth-protected-resource");
        assert_eq!(
            www(ErrorKind::MissingToken, &m, None).as_deref(),
            Some(r#"Bearer realm="r", resource_metadata="https://api.example/.well-known/oauth-protected-resource""#)
        );
    }

    #[test]
    fn realm_is_escaped() {
        let c = BearerChallenge::new("a\"b\\c\nd");
        assert_eq!(www(ErrorKind::MissingToken, &c, None).as_deref(), Some(r#"Bearer realm="a\"b\\cd""#));
    }

    #[test]
    fn unavailable_has_retry_after() {
        let r = Rejection::new(AuthError::new(ErrorKind::KeysUnavailable), BearerChallenge::default());
        let resp: Response<()> = Rfc6750.on_rejection(&r);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
        assert!(resp.headers().get(WWW_AUTHENTICATE).is_none());
    }
}
