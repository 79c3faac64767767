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
//! What each source makes of a request, so that leftovers in a source the client does not
//! use do not break a request that carries its token elsewhere:
//!
//! - **No token** (the other sources decide): the header, cookie or parameter is not
//!   there; an `Authorization` header with another scheme (`Basic`, `DPoP`, ...), whatever
//!   bytes it holds, also twice; an **empty cookie** (`session=` or `session=""`, as left
//!   after a logout) or an **empty query parameter** (`?access_token=`, `?access_token`).
//! - **One token**: the same cookie sent more than once *with the same value* (a path or
//!   domain variant of it) is that one token.
//! - **Malformed, refused whatever the other sources hold** (`invalid_request`): two
//!   `Authorization` headers of which one is `Bearer`; a `Bearer` value that is not
//!   visible ASCII, has no token or a token that is not a `b64token`; a token header sent
//!   twice or empty; a token cookie value that is not visible ASCII; a query parameter
//!   whose name is repeated with a value, also percent-encoded, as in
//!   `?access_token=A&access%5Ftoken=B`, or whose value is percent- or form-encoded.
//! - **Ambiguous, refused only if the token would have to come from it**: the token
//!   cookie sent more than once *with different values*. When no other source has a
//!   token, the request is refused (`invalid_request`) rather than guessed at; when
//!   another source has one, the client uses that one and the cookie is ignored (see
//!   [`Lookup::Ambiguous`]).
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

    /// What this source finds in `request`, as [`TokenSources::find`] weighs it. The
    /// default maps [`extract`](TokenSource::extract): `Ok(None)` is [`Lookup::Absent`],
    /// `Ok(Some(_))` [`Lookup::Token`] and an error [`Lookup::Invalid`]. Override it to
    /// report [`Lookup::Ambiguous`].
    fn lookup<'a>(&self, request: &RequestHead<'a>) -> Lookup<'a> {
        match self.extract(request) {
            Ok(Some(token)) => Lookup::Token(token),
            Ok(None) => Lookup::Absent,
            Err(error) => Lookup::Invalid(error),
        }
    }

    /// A short name for logs and spans (never the token).
    fn name(&self) -> &str {
        "custom"
    }
}

/// What a [`TokenSource`] found in a request ([`TokenSource::lookup`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Lookup<'a> {
    /// No token in this source.
    Absent,
    /// The token.
    Token(&'a str),
    /// The request is malformed for this source: it is refused with this error (an
    /// [`ErrorKind::InvalidRequest`]) whatever the other sources hold.
    Invalid(AuthError),
    /// This source cannot tell which of several values would be the token (the token
    /// cookie sent twice with different values): the request is refused with this error
    /// when no other source has a token, and this source is ignored when another one has
    /// (the client uses that one).
    Ambiguous(AuthError),
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

/// Splits an `Authorization` value at the end of its scheme (the first space or tab: RFC
/// 9110 allows either) and says whether the scheme is `Bearer` (case-insensitively).
fn bearer_credentials(value: &[u8]) -> Option<&[u8]> {
    let end = value.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(value.len());
    let (scheme, rest) = value.split_at(end);
    scheme.eq_ignore_ascii_case(b"bearer").then_some(rest)
}

impl TokenSource for Bearer {
    fn extract<'a>(&self, request: &RequestHead<'a>) -> Result<Option<&'a str>, AuthError> {
        let mut values = 0usize;
        let mut bearer = None;
        // Read as bytes: a value with another scheme (Basic, DPoP, ...) is no bearer token
        // whatever it holds, non-ASCII bytes included.
        for value in request.headers().get_all(AUTHORIZATION) {
            values += 1;
            if let Some(rest) = bearer_credentials(value.as_bytes()) {
                bearer = Some(rest);
            }
        }
        let Some(rest) = bearer else { return Ok(None) };
        if values > 1 {
            return Err(invalid_request("more than one Authorization header"));
        }
        let is_space = |b: &u8| *b == b' ' || *b == b'\t';
        let start = rest.iter().position(|b| !is_space(b)).unwrap_or(rest.len());
        let end = rest.iter().rposition(|b| !is_space(b)).map_or(start, |i| i + 1);
        let token = rest.get(start..end).unwrap_or_default();
        if token.is_empty() {
            return Err(invalid_request("Bearer scheme without a token"));
        }
        // One pass: a b64token is visible ASCII, so anything else (control characters,
        // inner spaces, non-ASCII bytes) is refused here, and the UTF-8 check is free.
        std::str::from_utf8(token)
            .ok()
            .filter(|t| is_b64token(t))
            .map(Some)
            .ok_or_else(|| invalid_request("the Bearer credential is not a visible-ASCII b64token"))
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
        match self.lookup(request) {
            Lookup::Absent => Ok(None),
            Lookup::Token(token) => Ok(Some(token)),
            Lookup::Invalid(error) | Lookup::Ambiguous(error) => Err(error),
        }
    }

    fn lookup<'a>(&self, request: &RequestHead<'a>) -> Lookup<'a> {
        let mut found = None;
        let mut differ = false;
        // Read as bytes: a Cookie header that is not all ASCII (another cookie holding
        // UTF-8, say) is still searched, rather than skipped as if the token were absent.
        for header in request.headers().get_all(COOKIE) {
            for pair in header.as_bytes().split(|&b| b == b';') {
                let Some(eq) = pair.iter().position(|&b| b == b'=') else { continue };
                let (name, value) = pair.split_at(eq);
                if name.trim_ascii() != self.name.as_bytes() {
                    continue;
                }
                let value = value.get(1..).unwrap_or_default().trim_ascii();
                let Some(value) = std::str::from_utf8(value).ok().filter(|v| v.bytes().all(|b| b.is_ascii_graphic()))
                else {
                    return Lookup::Invalid(invalid_request("the token cookie is not visible ASCII"));
                };
                let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
                // An empty cookie (what a logout leaves) is no token.
                if value.is_empty() {
                    continue;
                }
                match found {
                    None => found = Some(value),
                    // The same value again (a path or domain variant): one token.
                    Some(previous) => differ |= previous != value,
                }
            }
        }
        match found {
            Some(_) if differ => {
                Lookup::Ambiguous(invalid_request("the token cookie is sent more than once with different values"))
            }
            Some(token) => Lookup::Token(token),
            None => Lookup::Absent,
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
            // form-decoded), so `access%5Ftoken` is `access_token` here too. An empty
            // value is no token.
            if value.is_empty() || !form_name_eq(name, &self.name) {
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
        Ok(found)
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
    /// case-insensitively and ends at a space or a tab; a second `Authorization` header
    /// next to a `Bearer` one, a non-ASCII `Bearer` value or a `Bearer` scheme without a
    /// well-formed token is `invalid_request`. Values with other schemes (`Basic`, ...)
    /// count as no token, whatever bytes they hold.
    pub fn bearer() -> Self {
        TokenSources::one(Bearer)
    }

    /// The cookie named `name` (surrounding double quotes are removed). An empty value is
    /// no token, and the cookie sent more than once with the same value is that one token.
    /// A value that is not visible ASCII is `invalid_request`; so is the cookie sent more
    /// than once with different values, unless another source has the token (then the
    /// cookie is ignored; see the [module docs](self)). Other cookies of the header may
    /// hold anything.
    pub fn cookie(name: impl Into<String>) -> Self {
        TokenSources::one(Cookie { name: name.into() })
    }

    /// The header `name`, whose whole value (trimmed) is the token.
    pub fn header(name: HeaderName) -> Self {
        TokenSources::one(Header { name })
    }

    /// The query parameter `name`. Names are compared after percent- and form-decoding,
    /// as the application reads them: the name twice with a value, in any spelling
    /// (`?access_token=A&access%5Ftoken=B`), or a value with `%` or `+` is
    /// `invalid_request`; an empty value is no token.
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

    /// Consults every source, in order ([`TokenSource::lookup`]): the token, with the
    /// name of its source, when exactly one source has one; `Ok(None)` when none has; an
    /// [`ErrorKind::InvalidRequest`] error when two or more have one (RFC 6750 section
    /// 2); the first [`Lookup::Invalid`] error a source returns; the first
    /// [`Lookup::Ambiguous`] error when no source has a token (ignored when one has).
    pub fn find<'a>(&self, request: &RequestHead<'a>) -> Result<Option<(&'a str, &str)>, AuthError> {
        let mut found = None;
        let mut ambiguous = None;
        for source in &self.sources {
            match source.lookup(request) {
                Lookup::Absent => {}
                Lookup::Token(token) => {
                    if found.is_some() {
                        return Err(invalid_request("a token in more than one place"));
                    }
                    found = Some((token, source.name()));
                }
                Lookup::Invalid(error) => return Err(error),
                Lookup::Ambiguous(error) => {
                    ambiguous.get_or_insert(error);
                }
            }
        }
        match (found, ambiguous) {
            (None, Some(error)) => Err(error),
            (found, _) => Ok(found),
        }
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
        assert_eq!(find(&s, &req(&[("cookie", "sid=1"), ("cookie", "sid=1")], "/")), Ok(Some("1".into())));
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
        // Encoded values are refused; an empty one is no token.
        for uri in ["/p?access_token=A.b%2Ec", "/p?access_token=A+b"] {
            assert_eq!(find(&q, &req(&[], uri)), Err(ErrorKind::InvalidRequest), "{uri}");
        }
        for uri in ["/p?access_token=", "/p?access_token", "/p?access%5Ftoken=&a=1"] {
            assert_eq!(find(&q, &req(&[], uri)), Ok(None), "{uri}");
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
        // Empty: no token.
        assert_eq!(find(&s, &with(b"sid=")), Ok(None));
        assert_eq!(find(&s, &with(b"sid=\"\"")), Ok(None));
    }

    /// Cookie first, then Bearer, then the query: the order does not matter below.
    fn all() -> [TokenSources; 2] {
        [
            TokenSources::cookie("session").then_bearer().then_query("access_token"),
            TokenSources::query("access_token").then_bearer().then_cookie("session"),
        ]
    }

    #[test]
    fn an_empty_cookie_or_parameter_is_no_token() {
        for s in all() {
            // A logout left `session=`: the Bearer token is the one.
            for cookie in ["session=", "session=\"\"", "a=1; session= ; b=2"] {
                let r = req(&[("cookie", cookie), ("authorization", "Bearer a.b.c")], "/");
                assert_eq!(find(&s, &r), Ok(Some("a.b.c".into())), "{cookie} {s:?}");
            }
            let r = req(&[("authorization", "Bearer a.b.c")], "/p?access_token=&x=1");
            assert_eq!(find(&s, &r), Ok(Some("a.b.c".into())), "{s:?}");
            // Empty occurrences next to the token in the same source are no token either.
            let r = req(&[("cookie", "session=; session=x.y.z")], "/");
            assert_eq!(find(&s, &r), Ok(Some("x.y.z".into())), "{s:?}");
            assert_eq!(find(&s, &req(&[], "/p?access_token=&access_token=x.y.z")), Ok(Some("x.y.z".into())));
            // Nothing but empty values: no token (a 401, not a 400).
            assert_eq!(find(&s, &req(&[("cookie", "session=")], "/p?access_token=")), Ok(None), "{s:?}");
        }
    }

    #[test]
    fn a_cookie_sent_twice_with_the_same_value_is_one_token() {
        for s in all() {
            for cookies in [
                &[("cookie", "session=x.y.z; session=x.y.z")][..],
                &[("cookie", "session=x.y.z"), ("cookie", "session=\"x.y.z\"")],
            ] {
                assert_eq!(find(&s, &req(cookies, "/")), Ok(Some("x.y.z".into())), "{cookies:?} {s:?}");
                // Still a token: with another token elsewhere, two methods.
                let mut both = cookies.to_vec();
                both.push(("authorization", "Bearer a.b.c"));
                assert_eq!(find(&s, &req(&both, "/")), Err(ErrorKind::InvalidRequest), "{cookies:?} {s:?}");
            }
        }
    }

    #[test]
    fn a_cookie_sent_twice_with_different_values_refuses_only_when_it_would_carry_the_token() {
        for s in all() {
            // The cookie is the only candidate: ambiguous, refused rather than guessed at.
            let r = req(&[("cookie", "session=x.y.z; session=u.v.w")], "/");
            assert_eq!(find(&s, &r), Err(ErrorKind::InvalidRequest), "{s:?}");
            let r = req(&[("cookie", "session=x.y.z"), ("cookie", "session=u.v.w")], "/");
            assert_eq!(find(&s, &r), Err(ErrorKind::InvalidRequest), "{s:?}");
            // The client sends its token in the Authorization header: the cookie is ignored.
            let r = req(&[("cookie", "session=x.y.z; session=u.v.w"), ("authorization", "Bearer a.b.c")], "/");
            assert_eq!(find(&s, &r), Ok(Some("a.b.c".into())), "{s:?}");
            let r = req(&[("cookie", "session=x.y.z; session=u.v.w")], "/p?access_token=a.b.c");
            assert_eq!(find(&s, &r), Ok(Some("a.b.c".into())), "{s:?}");
            // A malformed source stays a 400 whatever the others hold.
            let r = req(&[("cookie", "session=x.y.z; session=u.v.w"), ("authorization", "Bearer a b")], "/");
            assert_eq!(find(&s, &r), Err(ErrorKind::InvalidRequest), "{s:?}");
            // And two tokens are still two methods.
            let r = req(&[("authorization", "Bearer a.b.c")], "/p?access_token=d.e.f");
            assert_eq!(find(&s, &r), Err(ErrorKind::InvalidRequest), "{s:?}");
        }
        // The cookie source alone reports it as an error.
        let head_req = req(&[("cookie", "session=x.y.z; session=u.v.w")], "/");
        let head = RequestHead::from_request(&head_req);
        let cookie = Cookie { name: "session".into() };
        assert!(matches!(cookie.lookup(&head), Lookup::Ambiguous(_)));
        assert_eq!(cookie.extract(&head).map_err(|e| e.kind()), Err(ErrorKind::InvalidRequest));
    }

    #[test]
    fn another_authorization_scheme_is_no_token_whatever_it_holds() {
        let with = |authorization: &[&[u8]], cookie: Option<&str>| {
            let mut r = Request::new(());
            for value in authorization {
                r.headers_mut().append(AUTHORIZATION, http::HeaderValue::from_bytes(value).unwrap());
            }
            if let Some(cookie) = cookie {
                r.headers_mut().insert(COOKIE, http::HeaderValue::from_str(cookie).unwrap());
            }
            r
        };
        let basic: &[u8] = b"Basic J\xf6rg:p\xe4ss";
        for s in all() {
            // A non-ASCII Basic credential next to the session cookie: the cookie's token.
            assert_eq!(find(&s, &with(&[basic], Some("session=x.y.z"))), Ok(Some("x.y.z".into())), "{s:?}");
            assert_eq!(find(&s, &with(&[basic], None)), Ok(None), "{s:?}");
            // Two headers, none of them Bearer: still no bearer token.
            assert_eq!(find(&s, &with(&[basic, b"DPoP a.b.c"], Some("session=x.y.z"))), Ok(Some("x.y.z".into())));
            // Next to a Bearer header, a second Authorization header is malformed.
            assert_eq!(find(&s, &with(&[basic, b"Bearer a.b.c"], None)), Err(ErrorKind::InvalidRequest), "{s:?}");
            assert_eq!(find(&s, &with(&[b"Bearer a.b.c", basic], None)), Err(ErrorKind::InvalidRequest), "{s:?}");
            // A Bearer value that is not ASCII is malformed, not absent.
            let bearer: &[u8] = b"Bearer a.b\xffc";
            assert_eq!(find(&s, &with(&[bearer], Some("session=x.y.z"))), Err(ErrorKind::InvalidRequest), "{s:?}");
        }
    }
}
