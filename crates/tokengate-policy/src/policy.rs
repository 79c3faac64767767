//! The [`Policy`] trait and the transport-neutral view of a request it decides on,
//! [`PolicyRequest`].

use std::borrow::Cow;
use std::sync::Arc;

use http::{Extensions, HeaderMap};
use serde_json::Value;
use tokengate_core::{Denial, Verified};

/// Decides whether a verified token may make a request: `Ok(())` allows it, a
/// [`Denial`] says why not.
///
/// Implemented by every policy of this crate, by the combinators ([`crate::And`],
/// [`crate::Or`], [`crate::Not`], [`crate::All`], [`crate::Any`]), by `Arc`/`Box`/`&` of a
/// policy, and by closures through [`crate::policy_fn`]. A policy is a pure decision on
/// the token and the request: nothing is cached beyond one call.
///
/// Call it from a handler on a value the handler extracted itself (a body field, a gRPC
/// message's `tenant_id`) with [`PolicyRequest::for_value`]:
///
/// ```
/// use tokengate_policy::{Policy, PolicyRequest, Tenant};
/// # use tokengate_core::*;
/// # let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
/// # let verifier = Verifier::builder(KeySet::new([key.clone()]).unwrap()).any_issuer().any_audience()
/// #     .algorithms([Algorithm::HS256]).build().unwrap();
/// # let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 60;
/// # let claims = serde_json::json!({"sub": "alice", "tenant_id": "acme", "exp": exp});
/// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
/// #     &jsonwebtoken::EncodingKey::from_secret(&[7; 32]).unwrap()).unwrap();
/// let verified = verifier.verify(&token).unwrap(); // e.g. from the request extensions
/// let tenant = Tenant::from_value();
/// assert!(tenant.check(&verified, &PolicyRequest::for_value("acme")).is_ok());
/// assert!(tenant.check(&verified, &PolicyRequest::for_value("globex")).is_err());
/// ```
pub trait Policy: Send + Sync {
    /// Allows the request, or refuses it with a [`Denial`].
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial>;
}

impl<P: Policy + ?Sized> Policy for Arc<P> {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        (**self).check(token, request)
    }
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        (**self).check(token, request)
    }
}

impl<P: Policy + ?Sized> Policy for &P {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        (**self).check(token, request)
    }
}

/// The route template a request matched, e.g. `/t/{tenant}/orders`, for
/// [`PolicyRequest::param`]. Insert it into the request extensions when your router is
/// not axum (with the `axum` feature, axum's `MatchedPath` is read directly).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTemplate(pub Arc<str>);

/// Path parameters already extracted by a router, for [`PolicyRequest::param`]. Insert
/// it into the request extensions when your router extracts parameters itself; it wins
/// over a [`RouteTemplate`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathParams(pub Vec<(String, String)>);

/// What a policy may look at besides the token: method, path, host, headers (HTTP
/// headers or gRPC metadata), the matched route's path parameters, the extensions, and a
/// value a handler supplied. Every part is optional, so the same policies serve axum
/// routes, tonic methods and handler code.
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicyRequest<'a> {
    method: Option<&'a str>,
    path: Option<&'a str>,
    host: Option<&'a str>,
    headers: Option<&'a HeaderMap>,
    extensions: Option<&'a Extensions>,
    route: Option<&'a str>,
    value: Option<&'a str>,
}

impl<'a> PolicyRequest<'a> {
    /// An empty view: no method, path, host, headers or value.
    pub fn new() -> Self {
        PolicyRequest::default()
    }

    /// A view holding only a value the handler extracted itself (see
    /// [`PolicyRequest::value`]).
    pub fn for_value(value: &'a str) -> Self {
        PolicyRequest { value: Some(value), ..PolicyRequest::default() }
    }

    /// A view of an HTTP request (a tonic request is one too: its path is
    /// `/package.Service/Method` and its metadata are the headers). The host is the
    /// `Host` header, else the URI's authority; the route template comes from a
    /// [`RouteTemplate`] extension or, with the `axum` feature, axum's `MatchedPath`.
    pub fn from_request<B>(request: &'a http::Request<B>) -> Self {
        let headers = request.headers();
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()));
        let extensions = request.extensions();
        PolicyRequest {
            method: Some(request.method().as_str()),
            path: Some(request.uri().path()),
            host,
            headers: Some(headers),
            extensions: Some(extensions),
            route: route_template(extensions),
            value: None,
        }
    }

    /// Sets the method (HTTP method, or the gRPC method name).
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = Some(method);
        self
    }

    /// Sets the path.
    pub fn path(mut self, path: &'a str) -> Self {
        self.path = Some(path);
        self
    }

    /// Sets the host (`name` or `name:port`).
    pub fn host(mut self, host: &'a str) -> Self {
        self.host = Some(host);
        self
    }

    /// Sets the headers (or gRPC metadata as headers).
    pub fn headers(mut self, headers: &'a HeaderMap) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Sets the route template the path matched, e.g. `/t/{tenant}/orders`.
    pub fn route(mut self, template: &'a str) -> Self {
        self.route = Some(template);
        self
    }

    /// Sets the handler-supplied value.
    pub fn with_value(mut self, value: &'a str) -> Self {
        self.value = Some(value);
        self
    }

    /// The method, if known.
    pub fn get_method(&self) -> Option<&'a str> {
        self.method
    }

    /// The path, if known.
    pub fn get_path(&self) -> Option<&'a str> {
        self.path
    }

    /// The host without its port, if known.
    pub fn get_host(&self) -> Option<&'a str> {
        let host = self.host?;
        // `[v6]:port`, `name:port`, `name`.
        if let Some(rest) = host.strip_prefix('[') {
            return rest.split(']').next();
        }
        host.split(':').next()
    }

    /// A header (or gRPC metadata entry) as text; `None` when absent, repeated or not
    /// visible ASCII. A repeated header is ambiguous, so policies never pick one.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        let headers = self.headers?;
        let mut values = headers.get_all(name).iter();
        let first = values.next()?;
        if values.next().is_some() {
            return None;
        }
        first.to_str().ok()
    }

    /// The request extensions, if any.
    pub fn extensions(&self) -> Option<&'a Extensions> {
        self.extensions
    }

    /// The value a handler supplied ([`PolicyRequest::for_value`]).
    pub fn value(&self) -> Option<&'a str> {
        self.value
    }

    /// The path parameter `name` of the matched route, percent-decoded: from a
    /// [`PathParams`] extension, else by matching the route template (`{name}` and
    /// `{*name}` segments) against the path. `None` when unknown or not valid UTF-8.
    pub fn param(&self, name: &str) -> Option<Cow<'a, str>> {
        if let Some(params) = self.extensions.and_then(|e| e.get::<PathParams>()) {
            return params.0.iter().find(|(k, _)| k == name).map(|(_, v)| Cow::Owned(v.clone()));
        }
        let (template, path) = (self.route?, self.path?);
        let mut path_segments = path.split('/');
        let mut template_segments = template.split('/');
        loop {
            let (t, p) = (template_segments.next()?, path_segments.next());
            if let Some(inner) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                if let Some(wildcard) = inner.strip_prefix('*') {
                    if wildcard != name {
                        return None;
                    }
                    // The rest of the path, from this segment on.
                    let p = p?;
                    let offset = p.as_ptr() as usize - path.as_ptr() as usize;
                    return percent_decode(path.get(offset..)?);
                }
                if inner == name {
                    return percent_decode(p?);
                }
            } else if p.is_none() {
                return None;
            }
        }
    }
}

#[cfg(feature = "axum")]
fn route_template(extensions: &Extensions) -> Option<&str> {
    match extensions.get::<RouteTemplate>() {
        Some(t) => Some(&t.0),
        None => extensions.get::<axum::extract::MatchedPath>().map(|m| m.as_str()),
    }
}

#[cfg(not(feature = "axum"))]
fn route_template(extensions: &Extensions) -> Option<&str> {
    extensions.get::<RouteTemplate>().map(|t| &*t.0)
}

fn percent_decode(segment: &str) -> Option<Cow<'_, str>> {
    if !segment.contains('%') {
        return Some(Cow::Borrowed(segment));
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// The token's claims as JSON, parsed once per token and cached on it (so a token from
/// the verified-token cache is never parsed again). The one claim accessor the policies
/// of this crate use.
pub(crate) fn claims(token: &Verified) -> Option<&serde_json::Map<String, Value>> {
    token.claims().ok().and_then(Value::as_object)
}

/// The claim at `path`: a top-level name, else a dotted path into nested objects
/// (`realm_access.roles`).
pub fn claim<'t>(token: &'t Verified, path: &str) -> Option<&'t Value> {
    let claims = claims(token)?;
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The claim at `path` as a string.
pub(crate) fn claim_str<'t>(token: &'t Verified, path: &str) -> Option<&'t str> {
    claim(token, path).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_from_templates() {
        let r = PolicyRequest::new().route("/t/{tenant}/orders/{id}").path("/t/ac%20me/orders/7");
        assert_eq!(r.param("tenant").as_deref(), Some("ac me"));
        assert_eq!(r.param("id").as_deref(), Some("7"));
        assert_eq!(r.param("nope"), None);
        let r = PolicyRequest::new().route("/files/{*rest}").path("/files/a/b%2Fc");
        assert_eq!(r.param("rest").as_deref(), Some("a/b/c"));
        let r = PolicyRequest::new().route("/t/{tenant}").path("/t");
        assert_eq!(r.param("tenant"), None);
        let r = PolicyRequest::new().route("/t/{tenant}").path("/t/%ff");
        assert_eq!(r.param("tenant"), None, "not UTF-8");
        let r = PolicyRequest::new().route("/t/{tenant}").path("/t/%zz");
        assert_eq!(r.param("tenant"), None, "bad escape");
        assert_eq!(PolicyRequest::new().path("/t/acme").param("tenant"), None, "no template");
    }

    #[test]
    fn params_from_extension_win() {
        let mut request = http::Request::new(());
        *request.uri_mut() = "/t/acme".parse().unwrap_or_default();
        request.extensions_mut().insert(RouteTemplate("/t/{tenant}".into()));
        assert_eq!(PolicyRequest::from_request(&request).param("tenant").as_deref(), Some("acme"));
        request.extensions_mut().insert(PathParams(vec![("tenant".into(), "globex".into())]));
        assert_eq!(PolicyRequest::from_request(&request).param("tenant").as_deref(), Some("globex"));
    }

    #[test]
    fn host_and_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-one", http::HeaderValue::from_static("1"));
        headers.append("x-two", http::HeaderValue::from_static("a"));
        headers.append("x-two", http::HeaderValue::from_static("b"));
        let r = PolicyRequest::new().headers(&headers).host("acme.api.example:8443");
        assert_eq!(r.header("x-one"), Some("1"));
        assert_eq!(r.header("x-two"), None, "repeated headers are ambiguous");
        assert_eq!(r.header("x-three"), None);
        assert_eq!(r.get_host(), Some("acme.api.example"));
        assert_eq!(PolicyRequest::new().host("[::1]:80").get_host(), Some("::1"));
    }
}
