//! Where the token is: [`TokenSource`] and the ordered list [`TokenSources`].
//!
//! Built-in sources, tried in the order they are configured:
//!
//! | source | reads | default |
//! | --- | --- | --- |
//! | [`TokenSources::bearer`] | `Authorization: Bearer <token>` (scheme case-insensitive) | yes |
//! | [`TokenSources::cookie`] | a named cookie | no |
//! | [`TokenSources::header`] | a named header whose whole value is the token | no |
//! | [`TokenSources::query`] | a query parameter | no; see below |
//!
//! The first source that finds a token wins; later sources are not consulted. A source
//! that finds a malformed credential (two `Authorization` headers, a `Bearer` scheme
//! without a token, a cookie named twice) stops the search with
//! [`ErrorKind::InvalidRequest`] (HTTP 400 `invalid_request`): the request is refused
//! rather than guessed at.
//!
//! **The query parameter leaks the token**: URLs end up in access logs, proxy logs,
//! browser history and `Referer` headers. RFC 6750 section 2.3 allows it only when no
//! other way is possible. It is never enabled unless you configure it.
//!
//! ```
//! use http::HeaderName;
//! use tokengate_tower::TokenSources;
//!
//! // A browser session cookie first, then the Authorization header.
//! let sources = TokenSources::cookie("session")
//!     .then_bearer()
//!     .then_header(HeaderName::from_static("x-access-token"));
//! assert_eq!(sources.names(), ["cookie", "bearer", "header"]);
//! ```

use std::fmt;
use std::sync::Arc;

use http::header::{AUTHORIZATION, COOKIE};
use http::{Extensions, HeaderMap, HeaderName, Method, Request, Uri};
use tokengate_core::{AuthError, ErrorKind};

/// A borrowed view of a request's head: what a [`TokenSource`] (or a rate limiter's key
/// extractor) may look at. The body is never visible.
#[derive(Clone, Copy, Debug)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// A view of these parts.
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap, extensions: &'a Extensions) -> Self {
        RequestHead { method, uri, headers, extensions }
    }

    /// A view of a request.
    pub fn from_request<B>(request: &'a Request<B>) -> Self {
        RequestHead::new(request.method(), request.uri(), request.headers(), request.extensions())
    }

    /// A view of request parts.
    pub fn from_parts(parts: &'a http::request::Parts) -> Self {
        RequestHead::new(&parts.method, &parts.uri, &parts.headers, &parts.extensions)
    }

    /// The method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The URI.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The extensions.
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }
}

/// Finds the token in a request.
///
/// Return `Ok(None)` when this source has no token, `Ok(Some(token))` when it has one, and
/// an error of kind [`ErrorKind::InvalidRequest`] when the request is malformed for this
/// source (the search then stops with a 400). Never log the token.
///
/// ```
/// use tokengate_core::AuthError;
/// use tokengate_tower::{RequestHead, TokenSource, TokenSources};
///
/// /// The token in `X-Api-Token`, but only on GET requests.
/// struct GetOnly;
///
/// impl TokenSource for GetOnly {
///     fn extract<'a>(&self, request: &RequestHead<'a>) -> Result<Option<&'a str>, AuthError> {
///         if request.method() != http::Method::GET {
///             return Ok(None);
///         }
///         Ok(request.headers().get("x-api-token").and_then(|v| v.to_str().ok()))
///     }
///     fn name(&self) -> &str {
///         "get-only"
///     }
/// }
///
/// let sources = TokenSources::bearer().then(GetOnly);
/// assert_eq!(sources.names(), ["bearer", "get-only"]);
/// ```
pub trait TokenSource: Send + Sync + 'static {
    /// The token this source finds in `request`, if any.
    fn extract<'a>(&self, request: &RequestHead<'a>) -> Result<Option<&'a str>, AuthError>;

    /// A short name for logs and spans (never the token).
    fn name(&self) -> &str {
        "custom"
    }
}

fn invalid_request(detail: &'static str) -> AuthError {
    AuthError::with_detail(ErrorKind::InvalidRequest, detail)
}

/// The characters of `b64token` (RFC 6750 section 2.1) other than the trailing `=`.
#[allow(clippy::indexing_slicing)] // evaluated at compile time: an out-of-bounds index fails the build
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// `b64token` of RFC 6750 section 2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN.get(usize::from(b)).copied().unwrap_or(false))
}

/// `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Copy, Default)]
struct Bearer;

impl TokenSource for Bearer {
    fn extract<'a>(&self, request: &RequestHead<'a>) -> Result<Option<&'a str>, AuthError> {
        let mut values = request.headers().get_all(AUTHORIZATION).iter();
        let Some(value) = values.next() else { return Ok(None) };
        if values.next().is_some() {
            return Err(invalid_request("more than one Authorization header"));
        }
        let value = value.to_str().map_err(|_| invalid_request("Authorization is not visible ASCII"))?;
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Another scheme (Basic, DPoP, ...) is not a bearer token: no token here.
            return Ok(None);
        }
        let token = rest.trim_matches(' ');
        if token.is_empty() {
            return Err(invalid_request("Bearer scheme without a token"));
        }
        if !is_b64token(token) {
            return Err(invalid_request("the Bearer credential is not a b64token"));
        }
        Ok(Some(token))
    }

    fn name(&self) -> &str {
        "bearer"
    }
}

/// A named cookie.
#[derive(Debug, Clone)]
struct Cookie {
    name: String,
}

impl TokenSource for Cookie {
    fn extract<'a>(&self, request: &RequestHead<'a>) -> Result<Option<&'a str>, AuthError> {
        let mut found = None;
        for header in request.headers().get_all(COOKIE) {
            let Ok(header) = header.to_str() else { continue };
            for pair in header.split(';') {
                let Some((name, value)) = pair.split_once('=') else { continue };
                if name.trim() != self.name {
                    continue;
                }
                if found.is_some() {
                    return Err(invalid_request("the token cookie is sent more than once"));
                }
                let value = value.trim();
                let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
                found = Some(value);
            }
        }
        match found {
            Some("") => Err(invalid_request("the token cookie is empty")),
            other => Ok(other),
        }
    }

    fn name(&self) -> &str {
        "cookie"
    }
}

/// A named header whose whole value is the token.
#[derive(Debug, Clone)]
struct Header {
    name: HeaderName,
}

impl TokenSource for Header {
    fn extract<'a>(&self, request: &RequestHead<'a>) -> Result<Option<&'a str>, AuthError> {
        let mut values = request.headers().get_all(&self.name).iter();
        let Some(value) = values.next() else { return Ok(None) };
        if values.next().is_some() {
            return Err(invalid_request("the token header is sent more than once"));
        }
        let value = value.to_str().map_err(|_| invalid_request("the token header is not visible ASCII"))?.trim();
        if value.is_empty() {
            return Err(invalid_request("the token header is empty"));
        }
        Ok(Some(value))
    }

    fn name(&self) -> &str {
        "header"
    }
}

/// A query parameter (leaks into logs; see the module docs).
#[derive(Debug, Clone)]
struct Query {
    name: String,
}

impl TokenSource for Query {
    fn extract<'a>(&self, request: &RequestHead<'a>) -> Result<Option<&'a str>, AuthError> {
        let Some(query) = request.uri().query() else { return Ok(None) };
        let mut found = None;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name != self.name {
                continue;
            }
            if found.is_some() {
                return Err(invalid_request("the token parameter is sent more than once"));
            }
            found = Some(value);
        }
        match found {
            Some("") => Err(invalid_request("the token parameter is empty")),
            other => Ok(other),
        }
    }

    fn name(&self) -> &str {
        "query"
    }
}

/// The token sources of a layer, in the order they are tried. Cheap to clone.
///
/// Start with one source ([`TokenSources::bearer`], [`TokenSources::cookie`], ...) and
/// chain more with the `then_*` methods. The default is `Authorization: Bearer` only.
#[derive(Clone)]
pub struct TokenSources {
    sources: Vec<Arc<dyn TokenSource>>,
}

impl Default for TokenSources {
    fn default() -> Self {
        TokenSources::bearer()
    }
}

impl fmt::Debug for TokenSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.sources.iter().map(|s| s.name())).finish()
    }
}

impl TokenSources {
    fn one(source: impl TokenSource) -> Self {
        TokenSources { sources: vec![Arc::new(source)] }
    }

    /// `Authorization: Bearer <token>` (RFC 6750 section 2.1). The scheme is matched
    /// case-insensitively; two `Authorization` headers, a non-ASCII value or a `Bearer`
    /// scheme without a well-formed token is `invalid_request`. Other schemes (`Basic`)
    /// count as no token.
    pub fn bearer() -> Self {
        TokenSources::one(Bearer)
    }

    /// The cookie named `name` (surrounding double quotes are removed). The same cookie
    /// name twice is `invalid_request`.
    pub fn cookie(name: impl Into<String>) -> Self {
        TokenSources::one(Cookie { name: name.into() })
    }

    /// The header `name`, whose whole value (trimmed) is the token.
    pub fn header(name: HeaderName) -> Self {
        TokenSources::one(Header { name })
    }

    /// The query parameter `name`.
    ///
    /// **Leaks the token into access logs, proxies, browser history and `Referer`
    /// headers.** Use only where nothing else is possible (RFC 6750 section 2.3), e.g. a
    /// WebSocket upgrade from a browser.
    pub fn query(name: impl Into<String>) -> Self {
        TokenSources::one(Query { name: name.into() })
    }

    /// A custom source.
    pub fn custom(source: impl TokenSource) -> Self {
        TokenSources::one(source)
    }

    /// Then `Authorization: Bearer` (see [`TokenSources::bearer`]).
    pub fn then_bearer(self) -> Self {
        self.then(Bearer)
    }

    /// Then a cookie (see [`TokenSources::cookie`]).
    pub fn then_cookie(self, name: impl Into<String>) -> Self {
        self.then(Cookie { name: name.into() })
    }

    /// Then a header (see [`TokenSources::header`]).
    pub fn then_header(self, name: HeaderName) -> Self {
        self.then(Header { name })
    }

    /// Then a query parameter (see [`TokenSources::query`]: it leaks into logs).
    pub fn then_query(self, name: impl Into<String>) -> Self {
        self.then(Query { name: name.into() })
    }

    /// Then a custom source.
    pub fn then(mut self, source: impl TokenSource) -> Self {
        self.sources.push(Arc::new(source));
        self
    }

    /// The sources' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.name()).collect()
    }

    /// Tries each source in order: the first token found, with the name of its source;
    /// `Ok(None)` when no source has one; the first source's error otherwise.
    pub fn find<'a>(&self, request: &RequestHead<'a>) -> Result<Option<(&'a str, &str)>, AuthError> {
        for source in &self.sources {
            if let Some(token) = source.extract(request)? {
                return Ok(Some((token, source.name())));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(sources: &TokenSources, req: &Request<()>) -> Result<Option<String>, ErrorKind> {
        sources.find(&RequestHead::from_request(req)).map(|t| t.map(|(t, _)| t.to_owned())).map_err(|e| e.kind())
    }

    fn req(headers: &[(&str, &str)], uri: &str) -> Request<()> {
        let mut b = Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap_or_default()
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict() {
        let s = TokenSources::bearer();
        for v in ["Bearer a.b.c", "bearer a.b.c", "BEARER  a.b.c"] {
            assert_eq!(find(&s, &req(&[("authorization", v)], "/")), Ok(Some("a.b.c".into())), "{v}");
        }
        assert_eq!(find(&s, &req(&[("authorization", "Basic dXNlcg==")], "/")), Ok(None));
        assert_eq!(find(&s, &req(&[], "/")), Ok(None));
        for bad in ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b"] {
            assert_eq!(find(&s, &req(&[("authorization", bad)], "/")), Err(ErrorKind::InvalidRequest), "{bad}");
        }
        let two = req(&[("authorization", "Bearer a.b.c"), ("authorization", "Bearer d.e.f")], "/");
        assert_eq!(find(&s, &two), Err(ErrorKind::InvalidRequest));
    }

    #[test]
    fn cookie_header_and_query() {
        let s = TokenSources::cookie("sid");
        assert_eq!(find(&s, &req(&[("cookie", "a=1; sid=x.y.z; b=2")], "/")), Ok(Some("x.y.z".into())));
        assert_eq!(find(&s, &req(&[("cookie", "sid=\"x.y.z\"")], "/")), Ok(Some("x.y.z".into())));
        assert_eq!(find(&s, &req(&[("cookie", "sidx=1")], "/")), Ok(None));
        assert_eq!(find(&s, &req(&[("cookie", "sid=1"), ("cookie", "sid=2")], "/")), Err(ErrorKind::InvalidRequest));
        let h = TokenSources::header(HeaderName::from_static("x-token"));
        assert_eq!(find(&h, &req(&[("x-token", " x.y.z ")], "/")), Ok(Some("x.y.z".into())));
        assert_eq!(find(&h, &req(&[("x-token", "")], "/")), Err(ErrorKind::InvalidRequest));
        let q = TokenSources::query("access_token");
        assert_eq!(find(&q, &req(&[], "/p?a=1&access_token=x.y.z")), Ok(Some("x.y.z".into())));
        assert_eq!(find(&q, &req(&[], "/p?access_token=1&access_token=2")), Err(ErrorKind::InvalidRequest));
        assert_eq!(find(&q, &req(&[], "/p")), Ok(None));
    }

    #[test]
    fn first_source_with_a_token_wins() {
        let s = TokenSources::cookie("sid").then_bearer();
        let both = req(&[("cookie", "sid=from.cookie.x"), ("authorization", "Bearer from.header.x")], "/");
        assert_eq!(find(&s, &both), Ok(Some("from.cookie.x".into())));
        let s = TokenSources::bearer().then_cookie("sid");
        assert_eq!(find(&s, &both), Ok(Some("from.header.x".into())));
    }
}
