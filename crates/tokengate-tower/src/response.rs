//! The HTTP mapping of tokengate, in one place: the status ([`status`]), the RFC 6750
//! error code ([`error_code`]) and challenge ([`BearerChallenge`]) of every
//! [`ErrorKind`], and the RFC 9457 problem body ([`ProblemDetails`]). Core knows no HTTP.
//!
//! The default rejection ([`Problem`]) sends the RFC 6750 headers and an
//! `application/problem+json` body; [`Rfc6750`] sends the same headers with an empty body
//! (`JwtAuthLayer::empty_body`). Both are [`OnRejection`]s, as are closures.
//!
//! | [`ErrorKind`] | status | `WWW-Authenticate` |
//! | --- | --- | --- |
//! | `MissingToken` | 401 | `Bearer realm="…"` (no error code, RFC 6750 section 3.1) |
//! | `InvalidRequest` | 400 | `Bearer realm="…", error="invalid_request", error_description="…"` |
//! | any invalid-token kind (`Revoked` and `Inactive` included) | 401 | `Bearer realm="…", error="invalid_token", error_description="…"` |
//! | `InsufficientScope` | 403 | `Bearer realm="…", error="insufficient_scope", error_description="…", scope="…"` |
//! | `Forbidden` | 403 | `Bearer realm="…"` |
//! | `RateLimited` | 429 | none; `Retry-After` |
//! | `KeysUnavailable`, `IssuerUnavailable`, `RevocationUnavailable`, `IntrospectionUnavailable` | 503 | none; `Retry-After` |
//! | `Internal` | 500 | none |
//!
//! With [`BearerChallenge::resource_metadata`] set, every challenge also carries the RFC
//! 9728 `resource_metadata="…"` parameter. Descriptions and the problem's `detail` come
//! from [`AuthError::public_message`]: never the token, key material or internal detail.
//! Every rejection carries `Cache-Control: no-store`, and the typed [`AuthError`] in its
//! response extensions (the layer adds it when a custom [`OnRejection`] did not).
//!
//! ```
//! use http::{Response, StatusCode};
//! use tokengate_core::{AuthError, ErrorKind};
//! use tokengate_tower::response::{BearerChallenge, OnRejection, Problem, Rejection};
//!
//! let challenge = BearerChallenge::new("orders");
//! let rejection = Rejection::new(AuthError::new(ErrorKind::Expired), challenge);
//! let response: Response<String> = Problem.on_rejection(&rejection);
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer realm="orders", error="invalid_token", error_description="the access token expired""#
//! );
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! assert_eq!(
//!     response.body(),
//!     r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"the access token expired"}"#
//! );
//! assert_eq!(response.extensions().get::<AuthError>().map(|e| e.kind()), Some(ErrorKind::Expired));
//! ```

use std::fmt::{self, Write as _};
use std::sync::Arc;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use tokengate_core::{AuthError, ErrorKind};

/// The HTTP status of an error kind: the one place where tokengate maps kinds to statuses.
///
/// ```
/// use http::StatusCode;
/// use tokengate_core::ErrorKind;
/// use tokengate_tower::response::status;
/// assert_eq!(status(ErrorKind::Expired), StatusCode::UNAUTHORIZED);
/// assert_eq!(status(ErrorKind::RevocationUnavailable), StatusCode::SERVICE_UNAVAILABLE);
/// ```
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorKind::InsufficientScope | ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::KeysUnavailable
        | ErrorKind::IssuerUnavailable
        | ErrorKind::RevocationUnavailable
        | ErrorKind::IntrospectionUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// The RFC 6750 `error` code a rejection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_token`
    InvalidToken,
    /// `insufficient_scope`
    InsufficientScope,
}

impl ErrorCode {
    /// The code as it appears in `WWW-Authenticate`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The RFC 6750 error code of an error kind, or `None` when none is sent (a missing token,
/// `Forbidden`, 429, 5xx).
pub fn error_code(kind: ErrorKind) -> Option<ErrorCode> {
    match kind {
        ErrorKind::MissingToken
        | ErrorKind::KeysUnavailable
        | ErrorKind::IssuerUnavailable
        | ErrorKind::RevocationUnavailable
        | ErrorKind::IntrospectionUnavailable
        | ErrorKind::Internal
        | ErrorKind::RateLimited
        | ErrorKind::Forbidden => None,
        ErrorKind::InvalidRequest => Some(ErrorCode::InvalidRequest),
        ErrorKind::InsufficientScope => Some(ErrorCode::InsufficientScope),
        _ => Some(ErrorCode::InvalidToken),
    }
}

/// The media type of an RFC 9457 problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem body: `type`, `title`, `status` and `detail`. For every refusal
/// that is told over HTTP: the auth layer's rejections, and policy denials or admin
/// routers that want the same shape.
///
/// ```
/// use http::StatusCode;
/// use tokengate_tower::response::ProblemDetails;
/// let problem = ProblemDetails::new(StatusCode::FORBIDDEN, "the token's tenant is not this tenant");
/// assert_eq!(
///     problem.to_json(),
///     r#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"the token's tenant is not this tenant"}"#
/// );
/// let response: http::Response<String> = problem.into_response();
/// assert_eq!(response.status(), StatusCode::FORBIDDEN);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemDetails {
    kind: String,
    title: String,
    status: StatusCode,
    detail: String,
}

impl ProblemDetails {
    /// A problem of type `about:blank`, titled with the status's reason phrase. `detail`
    /// is sent to the client: never put a token or internal detail in it.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ProblemDetails {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status,
            detail: detail.into(),
        }
    }

    /// Another problem `type` (a URI) and `title`.
    pub fn with_type(mut self, uri: impl Into<String>, title: impl Into<String>) -> Self {
        self.kind = uri.into();
        self.title = title.into();
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON text of the body.
    pub fn to_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            title: &'a str,
            status: u16,
            detail: &'a str,
        }
        let body = Body { kind: &self.kind, title: &self.title, status: self.status.as_u16(), detail: &self.detail };
        // Strings and a number: serialization cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }

    /// A response with this status, the body and `Content-Type: application/problem+json`.
    pub fn into_response<B: From<String>>(self) -> Response<B> {
        let mut response = Response::new(B::from(self.to_json()));
        *response.status_mut() = self.status;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

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
        if !matches!(status(error.kind()).as_u16(), 400 | 401 | 403) {
            return None;
        }
        let mut v = String::with_capacity(128);
        let _ = write!(v, "Bearer realm=\"{}\"", self.inner.realm);
        if let Some(code) = error_code(error.kind()) {
            let _ = write!(v, ", error=\"{code}\", error_description=\"{}\"", error.public_message());
            if code == ErrorCode::InsufficientScope
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
    detail: Option<String>,
}

impl Rejection {
    /// A rejection for `error`, challenged with `challenge`.
    pub fn new(error: AuthError, challenge: BearerChallenge) -> Self {
        Rejection { error, challenge, scope: None, detail: None }
    }

    /// What the problem body's `detail` says instead of the kind's public message, e.g.
    /// why a policy refused. Sent to the client: never put a token or internal detail in
    /// it. The `WWW-Authenticate` description stays the kind's public message.
    pub fn with_public_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
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
        status(self.error.kind())
    }

    /// The RFC 9457 problem body: `detail` is the error's public message (or the
    /// [public detail](Rejection::with_public_detail), when set).
    pub fn problem(&self) -> ProblemDetails {
        let detail = self.detail.as_deref().unwrap_or(self.error.public_message());
        ProblemDetails::new(self.status(), detail)
    }

    /// The `WWW-Authenticate` value, when this kind carries one.
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        self.challenge.header_value(&self.error, self.scope.as_deref())
    }

    /// Seconds for `Retry-After`: the error's own value, else
    /// [`DEFAULT_UNAVAILABLE_RETRY_AFTER`] for a 503 and 1 for a 429; `None` otherwise.
    pub fn retry_after(&self) -> Option<u64> {
        match (self.error.retry_after_secs(), self.status()) {
            (Some(secs), _) => Some(secs),
            (None, StatusCode::SERVICE_UNAVAILABLE) => Some(DEFAULT_UNAVAILABLE_RETRY_AFTER),
            (None, StatusCode::TOO_MANY_REQUESTS) => Some(1),
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

/// A marker in a rejection's response extensions: the token was **accepted**, and the
/// refusal came afterwards: a policy denial (scope, tenant, region, ...), or an extractor
/// whose type the claims do not fit (tokengate-axum's `Claims<T>`). The token verified, so
/// this is never a failed attempt: the failure rate limiter (feature `rate-limit`) does not
/// count it, whatever its kind.
///
/// The rule for every layer and extractor that refuses a request after the auth layer
/// accepted its token: insert this marker into the response (see
/// [`mark_after_authentication`]). Kinds that only such refusals use
/// ([`ErrorKind::InsufficientScope`], [`ErrorKind::Forbidden`]) are never counted anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AfterAuthentication;

/// The former name of [`AfterAuthentication`].
#[deprecated(note = "renamed AfterAuthentication: the rule covers policy denials too")]
pub type RaisedByExtractor = AfterAuthentication;

/// Marks `response` as a refusal after successful authentication ([`AfterAuthentication`]).
pub fn mark_after_authentication<B>(mut response: Response<B>) -> Response<B> {
    response.extensions_mut().insert(AfterAuthentication);
    response
}

/// Builds the response for a rejected request.
///
/// Implemented by [`Problem`] (the default), [`Rfc6750`] (empty body) and by every
/// `Fn(&Rejection) -> Response<B> + Clone`, e.g. for a body of your own:
///
/// ```
/// use http::{Response, header::CONTENT_TYPE};
/// use tokengate_tower::response::{OnRejection, Rejection};
///
/// let text = |r: &Rejection| -> Response<String> {
///     let mut response = r.response_with(format!("denied: {}", r.error().public_message()));
///     response.headers_mut().insert(CONTENT_TYPE, "text/plain".parse().unwrap());
///     response
/// };
/// # fn check<R: OnRejection<String>>(_: &R) {}
/// # check(&text);
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

/// The default rejection: RFC 6750 headers (see the module docs) and an RFC 9457
/// `application/problem+json` body whose `detail` is the error's public message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Problem;

impl<B: From<String>> OnRejection<B> for Problem {
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        let mut response = rejection.response_with(B::from(rejection.problem().to_json()));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// RFC 6750 headers (see the module docs) and an empty body.
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
