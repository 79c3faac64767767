//! The HTTP side: URL rules, one POST within limits, and discovery of the endpoint.

use std::net::IpAddr;

use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokengate_core::{AuthError, ErrorKind};

use crate::IntrospectionError;

/// The media type of an RFC 9701 JWT response.
pub const JWT_RESPONSE_TYPE: &str = "application/token-introspection+jwt";

/// A reply from the endpoint, body read within the size limit.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) jwt: bool,
    pub(crate) body: Vec<u8>,
}

fn unavailable(detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::with_detail(ErrorKind::IntrospectionUnavailable, detail)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A URL without credentials, query or fragment, for errors and logs.
pub(crate) fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// Parses `url` and checks its scheme: https, or plain http to a loopback host (or any host
/// with `insecure_http`).
pub(crate) fn check_url(url: &str, insecure_http: bool) -> Result<Url, IntrospectionError> {
    let parsed = Url::parse(url).map_err(|e| IntrospectionError::InsecureUrl(format!("unparseable URL: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if insecure_http || is_loopback(&parsed) => Ok(parsed),
        "http" => Err(IntrospectionError::InsecureUrl(format!(
            "{}: plain http is only allowed to loopback hosts",
            shown(&parsed)
        ))),
        other => Err(IntrospectionError::InsecureUrl(format!("{}: scheme {other:?} is not http(s)", shown(&parsed)))),
    }
}

/// An error and its sources, for the detail of a log event (reqwest's own message is
/// often only "error sending request").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// POSTs a form to the endpoint and reads the reply, at most `max_body` bytes.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &Url,
    authorization: Option<&str>,
    form: String,
    ask_jwt: bool,
    max_body: usize,
) -> Result<Reply, AuthError> {
    let accept = if ask_jwt { JWT_RESPONSE_TYPE } else { "application/json" };
    let mut request = client
        .post(url.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))
        .header(ACCEPT, HeaderValue::from_static(accept))
        .body(form);
    if let Some(value) = authorization {
        let mut value = HeaderValue::from_str(value).map_err(|_| unavailable("unusable client credentials"))?;
        value.set_sensitive(true);
        request = request.header(AUTHORIZATION, value);
    }
    let transport =
        |e: reqwest::Error| unavailable(if e.is_timeout() { "timed out".to_owned() } else { chain(&e.without_url()) });
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let jwt = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(JWT_RESPONSE_TYPE));
    if response.content_length().is_some_and(|len| len > max_body as u64) {
        return Err(unavailable(format!("the introspection response is larger than {max_body} bytes")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len().saturating_add(chunk.len()) > max_body {
            return Err(unavailable(format!("the introspection response is larger than {max_body} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Reply { status, jwt, body })
}

#[derive(serde::Deserialize)]
struct Metadata {
    issuer: String,
    introspection_endpoint: Option<String>,
}

/// Finds `introspection_endpoint` in the issuer's metadata: OpenID Connect discovery,
/// then RFC 8414 authorization server metadata. The document's `issuer` must be the
/// configured one; a discovered endpoint must be https, unless the issuer itself is a
/// loopback http URL and the endpoint is on that same host (or `insecure_http`).
pub(crate) async fn discover(
    client: &reqwest::Client,
    issuer: &Url,
    issuer_text: &str,
    insecure_http: bool,
    max_body: usize,
) -> Result<Url, IntrospectionError> {
    let base = issuer_text.trim_end_matches('/');
    let mut last = String::new();
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let url = check_url(&format!("{base}{path}"), insecure_http)?;
        let body = match get(client, &url, max_body).await {
            Ok(body) => body,
            Err(e) => {
                last = e;
                continue;
            }
        };
        tokengate_core::check_strict(&body)
            .map_err(|_| IntrospectionError::Discovery(format!("{} is not strict JSON", shown(&url))))?;
        let meta: Metadata = serde_json::from_slice(&body)
            .map_err(|e| IntrospectionError::Discovery(format!("{}: {}", shown(&url), e.classify_str())))?;
        if meta.issuer != issuer_text {
            return Err(IntrospectionError::IssuerMismatch { expected: issuer_text.to_owned(), found: meta.issuer });
        }
        let endpoint = meta.introspection_endpoint.ok_or(IntrospectionError::NoEndpoint)?;
        let endpoint = check_url(&endpoint, insecure_http)?;
        let same_loopback_host = endpoint.scheme() == "https"
            || insecure_http
            || (issuer.scheme() == "http" && is_loopback(issuer) && endpoint.host_str() == issuer.host_str());
        if !same_loopback_host {
            return Err(IntrospectionError::InsecureUrl(format!(
                "{}: a discovered endpoint must be https (or on the loopback issuer's own host)",
                shown(&endpoint)
            )));
        }
        return Ok(endpoint);
    }
    Err(IntrospectionError::Discovery(last))
}

trait Classify {
    fn classify_str(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Data => "a member is missing or has the wrong type",
            _ => "not valid JSON",
        }
    }
}

async fn get(client: &reqwest::Client, url: &Url, max_body: usize) -> Result<Vec<u8>, String> {
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .send()
        .await
        .map_err(|e| format!("{}: {}", shown(url), e.without_url()))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("{}: status {}", shown(url), response.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("{}: {}", shown(url), e.without_url()))? {
        if body.len().saturating_add(chunk.len()) > max_body {
            return Err(format!("{}: larger than {max_body} bytes", shown(url)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(check_url("https://as.example/introspect", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/introspect", false).is_ok());
        assert!(check_url("http://localhost/introspect", false).is_ok());
        assert!(check_url("http://[::1]/introspect", false).is_ok());
        assert!(check_url("http://as.example/introspect", false).is_err());
        assert!(check_url("http://as.example/introspect", true).is_ok());
        assert!(check_url("file:///etc/passwd", true).is_err());
        let err = check_url("http://u:SECRET@as.example/x?k=SECRET", false).unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }
}
