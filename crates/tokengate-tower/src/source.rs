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
//! Every configured source is consulted, and **exactly one may carry a token**: a request
//! that presents a token in more than one of them (say a cookie *and* an `Authorization`
//! header) is refused with [`ErrorKind::InvalidRequest`] (HTTP 400 `invalid_request`),
//! as RFC 6750 section 2 requires ("clients MUST NOT use more than one method"). Otherwise
//! a cookie planted by another site could silently take the place of the victim's
//! `Authorization` header, or the other way round. The order of the sources only decides
//! which error is reported first.
//!
//! A source that finds a malformed credential (two `Authorization` headers, a `Bearer`
//! scheme without a token, a cookie named twice or not ASCII, an empty cookie or query
//! parameter, a query parameter whose name is repeated, also percent-encoded, as in
//! `?access_token=A&access%5Ftoken=B`) stops the search with `invalid_request`: the
//! request is refused rather than guessed at.
//!
//! **The query parameter leaks the token**: URLs end up in access logs, proxy logs,
//! browser history and `Referer` headers. RFC 6750 section 2.3 allows it only when no
//! other way is possible. It is never enabled unless you configure it.
//!
//! ```
//! use http::HeaderName;
//! use tokengate_tower::TokenSources;
//!
//! // A browser session cookie or the Authorization header (not both in one request).
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
        // The scheme ends at the first space or tab (RFC 9110 allows either around it).
        let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Another scheme (Basic, DPoP, ...) is not a bearer token: no token here.
            return Ok(None);
        }
        let token = rest.trim_matches([' ', '\t']);
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
        // Read as bytes: a Cookie header that is not all ASCII (another cookie holding
        // UTF-8, say) is still searched, rather than skipped as if the token were absent.
        for header in request.headers().get_all(COOKIE) {
            for pair in header.as_bytes().split(|&b| b == b';') {
                let Some(eq) = pair.iter().position(|&b| b == b'=') else { continue };
                let (name, value) = pair.split_at(eq);
                if name.trim_ascii() != self.name.as_bytes() {
                    continue;
                }
                if found.is_some() {
                    return Err(invalid_request("the token cookie is sent more than once"));
                }
                let value = value.get(1..).unwrap_or_default().trim_ascii();
                let value = std::str::from_utf8(value)
                    .ok()
                    .filter(|v| v.bytes().all(|b| b.is_ascii_graphic()))
                    .ok_or_else(|| invalid_request("the token cookie is not visible ASCII"))?;
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

/// Whether the raw query-parameter name `raw` decodes (`application/x-www-form-urlencoded`:
/// `+` is a space, `%XX` a byte, a malformed escape stays as it is) to `name`.
fn form_name_eq(raw: &str, name: &str) -> bool {
    if !raw.contains(['%', '+']) {
        return raw == name;
    }
    let hex = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let raw = raw.as_bytes();
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => decoded.push(b' '),
            b'%' => match (raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    decoded.push(hi << 4 | lo);
                    i += 2;
                }
                _ => decoded.push(b),
            },
            _ => decoded.push(b),
        }
        i += 1;
    }
    decoded == name.as_bytes()
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
            // Names are compared as an application reads them (percent- and
            // form-decoded), so `access%5Ftoken` is `access_token` here too.
            if !form_name_eq(name, &self.name) {
                continue;
            }
            if found.is_some() {
                return Err(invalid_request("the token parameter is sent more than once"));
            }
            // A JWT never needs encoding; an encoded value would be read differently here
            // and by the application.
            if value.contains(['%', '+']) {
                return Err(invalid_request("the token parameter is percent- or form-encoded"));
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
    /// case-insensitively and ends at a space or a tab; two `Authorization` headers, a
    /// non-ASCII value or a `Bearer` scheme without a well-formed token is
    /// `invalid_request`. Other schemes (`Basic`) count as no token.
    pub fn bearer() -> Self {
        TokenSources::one(Bearer)
    }

    /// The cookie named `name` (surrounding double quotes are removed). The same cookie
    /// name twice, an empty value or a value that is not visible ASCII is
    /// `invalid_request`; other cookies of the header may hold anything.
    pub fn cookie(name: impl Into<String>) -> Self {
        TokenSources::one(Cookie { name: name.into() })
    }

    /// The header `name`, whose whole value (trimmed) is the token.
    pub fn header(name: HeaderName) -> Self {
        TokenSources::one(Header { name })
    }

    /// The query parameter `name`. Names are compared after percent- and form-decoding,
    /// as the application reads them: the name twice in any spelling
    /// (`?access_token=A&access%5Ftoken=B`), an empty value or a value with `%` or `+` is
    /// `invalid_request`.
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

    /// Consults every source, in order: the token, with the name of its source, when
    /// exactly one source has one; `Ok(None)` when none has; an
    /// [`ErrorKind::InvalidRequest`] error when two or more have one (RFC 6750 section
    /// 2), or the first error a source returns.
    pub fn find<'a>(&self, request: &RequestHead<'a>) -> Result<Option<(&'a str, &str)>, AuthError> {
        let mut found = None;
        for source in &self.sources {
            if let Some(token) = source.extract(request)? {
                if found.is_some() {
                    return Err(invalid_request("a token in more than one place"));
                }
                found = Some((token, source.name()));
            }
        }
        Ok(found)
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
    fn a_token_in_two_sources_is_invalid_request() {
        let both = req(&[("cookie", "sid=from.cookie.x"), ("authorization", "Bearer from.header.x")], "/");
        for s in [TokenSources::cookie("sid").then_bearer(), TokenSources::bearer().then_cookie("sid")] {
            assert_eq!(find(&s, &both), Err(ErrorKind::InvalidRequest), "{s:?}");
        }
        // One source with a token, the others without: that token, whatever the order.
        let s = TokenSources::cookie("sid").then_bearer().then_query("access_token");
        let only = req(&[("cookie", "other=1"), ("authorization", "Bearer from.header.x")], "/p?a=1");
        assert_eq!(find(&s, &only), Ok(Some("from.header.x".into())));
        let basic = req(&[("cookie", "sid=from.cookie.x"), ("authorization", "Basic dXNlcg==")], "/");
        assert_eq!(find(&s, &basic), Ok(Some("from.cookie.x".into())));
        let header_and_query = req(&[("authorization", "Bearer a.b.c")], "/p?access_token=d.e.f");
        assert_eq!(find(&s, &header_and_query), Err(ErrorKind::InvalidRequest));
    }

    #[test]
    fn bearer_scheme_ends_at_any_whitespace() {
        let s = TokenSources::bearer();
        for v in ["Bearer\ta.b.c", "Bearer \t a.b.c\t", "bearer\t\ta.b.c"] {
            assert_eq!(find(&s, &req(&[("authorization", v)], "/")), Ok(Some("a.b.c".into())), "{v:?}");
        }
        assert_eq!(find(&s, &req(&[("authorization", "Bearer\t")], "/")), Err(ErrorKind::InvalidRequest));
        assert_eq!(find(&s, &req(&[("authorization", "Bearer\ta b")], "/")), Err(ErrorKind::InvalidRequest));
    }

    #[test]
    fn encoded_query_names_are_the_same_name() {
        let q = TokenSources::query("access_token");
        for uri in [
            "/p?access_token=A.b.c&access%5Ftoken=B.c.d",
            "/p?access%5ftoken=A.b.c&access_token=B.c.d",
            "/p?%61ccess_token=A.b.c&access_token=B.c.d",
        ] {
            assert_eq!(find(&q, &req(&[], uri)), Err(ErrorKind::InvalidRequest), "{uri}");
        }
        // Alone, an encoded name is the parameter, as the application reads it.
        assert_eq!(find(&q, &req(&[], "/p?access%5Ftoken=A.b.c")), Ok(Some("A.b.c".into())));
        assert_eq!(find(&q, &req(&[], "/p?access%5token=A.b.c")), Ok(None));
        let spaced = TokenSources::query("a b");
        assert_eq!(find(&spaced, &req(&[], "/p?a+b=x.y.z")), Ok(Some("x.y.z".into())));
        // Encoded values are refused, and so is an empty one.
        for uri in ["/p?access_token=A.b%2Ec", "/p?access_token=A+b", "/p?access_token=", "/p?access_token"] {
            assert_eq!(find(&q, &req(&[], uri)), Err(ErrorKind::InvalidRequest), "{uri}");
        }
    }

    #[test]
    fn non_ascii_cookie_headers_are_searched_not_skipped() {
        let s = TokenSources::cookie("sid");
        let with = |bytes: &[u8]| {
            let mut r = Request::new(());
            r.headers_mut().insert(COOKIE, http::HeaderValue::from_bytes(bytes).unwrap());
            r
        };
        // Another cookie holds UTF-8: the token cookie is still found.
        assert_eq!(find(&s, &with("name=Jos\u{e9}; sid=x.y.z".as_bytes())), Ok(Some("x.y.z".into())));
        assert_eq!(find(&s, &with("name=Jos\u{e9}".as_bytes())), Ok(None));
        // The token cookie itself is not ASCII: refused, not taken for an absent token.
        assert_eq!(find(&s, &with(b"a=1; sid=x.y\xffz")), Err(ErrorKind::InvalidRequest));
        assert_eq!(find(&s, &with(b"sid=")), Err(ErrorKind::InvalidRequest));
        assert_eq!(find(&s, &with(b"sid=\"\"")), Err(ErrorKind::InvalidRequest));
    }
}
