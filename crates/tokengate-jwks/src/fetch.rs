//! [`HttpClient`]: the one HTTP client of the JWKS and discovery sources, with its limits.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderValue};
use reqwest::redirect;

use crate::JwksError;

/// The default timeout of one request, body included: 5 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default cap on a response body: 512 KiB.
pub const DEFAULT_MAX_BODY: usize = 512 * 1024;
/// The most redirects followed (each to the same host and scheme).
const MAX_REDIRECTS: usize = 3;

/// The HTTP client used to fetch JWKS and discovery documents. Cheap to clone: share one
/// between sources (and between the caches of many issuers) so connections are reused.
///
/// Limits, on by default: a 5 s timeout per request (body included), a 512 KiB body cap,
/// redirects only within the same host and scheme (at most 3), and `https` only, except
/// for loopback hosts (`127.0.0.0/8`, `::1`, `localhost`) or after
/// [`HttpClient::allow_insecure_http`].
///
/// A [`reqwest::Client`] of your own (proxies, custom roots) can be supplied with
/// [`HttpClient::with_client`]; the same-host rule is then also checked on the final
/// URL of each response, whatever that client's redirect policy.
///
/// ```
/// use std::time::Duration;
/// use tokengate_jwks::HttpClient;
/// let client = HttpClient::new()?.timeout(Duration::from_secs(2)).max_body(64 * 1024);
/// # Ok::<(), tokengate_jwks::JwksError>(())
/// ```
///
/// Its `Debug` shows the limits only, never the wrapped client: a client of your own may
/// carry default headers (an API key) that must not reach a log line.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    timeout: Duration,
    max_body: usize,
    insecure_http: bool,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("insecure_http", &self.insecure_http)
            .finish_non_exhaustive()
    }
}

/// A fetched document and its caching hint.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<Duration>,
}

/// Whether two URLs have the same scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn redirect_policy() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().cloned();
        match first {
            _ if attempt.previous().len() > MAX_REDIRECTS => attempt.error("too many redirects"),
            Some(first) if same_origin(&first, attempt.url()) => attempt.follow(),
            // Leave the 3xx as the response: `get` turns it into `JwksError::Redirect`.
            _ => attempt.stop(),
        }
    })
}

impl HttpClient {
    /// A client with the default limits, its own connection pool, no proxy, and the
    /// platform's root certificates (with the `rustls` feature).
    pub fn new() -> Result<HttpClient, JwksError> {
        let client = reqwest::Client::builder()
            .redirect(redirect_policy())
            .connect_timeout(DEFAULT_TIMEOUT)
            .no_proxy()
            .user_agent(concat!("tokengate-jwks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JwksError::Transport(e.to_string()))?;
        Ok(HttpClient::with_client(client))
    }

    /// Wraps a client of your own (proxies, custom roots, mutual TLS). Build it with a
    /// redirect policy that suits you: responses from another host or scheme than the
    /// one asked are refused anyway.
    pub fn with_client(client: reqwest::Client) -> HttpClient {
        HttpClient { client, timeout: DEFAULT_TIMEOUT, max_body: DEFAULT_MAX_BODY, insecure_http: false }
    }

    /// The timeout of one request, body included (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> HttpClient {
        self.timeout = timeout;
        self
    }

    /// The largest body accepted, in bytes (default 512 KiB).
    pub fn max_body(mut self, bytes: usize) -> HttpClient {
        self.max_body = bytes;
        self
    }

    /// Dangerous: also allow plain `http` to hosts that are not loopback. Keys fetched
    /// over plain http can be replaced by anyone on the path; use only inside a trusted
    /// network (a sidecar, a service mesh with its own encryption).
    pub fn allow_insecure_http(mut self) -> HttpClient {
        self.insecure_http = true;
        self
    }

    /// Parses and checks a URL against the scheme rules.
    pub(crate) fn check_url(&self, url: &str) -> Result<Url, JwksError> {
        let parsed = Url::parse(url).map_err(|e| JwksError::InsecureUrl(format!("{:?}: {e}", redact_str(url))))?;
        self.check(&parsed)?;
        Ok(parsed)
    }

    fn check(&self, url: &Url) -> Result<(), JwksError> {
        let shown = || redact(url);
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.insecure_http || is_loopback(url) => Ok(()),
            "http" => Err(JwksError::InsecureUrl(format!("{}: plain http is only allowed to loopback hosts", shown()))),
            other => Err(JwksError::InsecureUrl(format!("{}: scheme {other:?} is not http(s)", shown()))),
        }
    }

    /// GETs a document within the limits.
    pub(crate) async fn get(&self, url: &Url) -> Result<Document, JwksError> {
        self.check(url)?;
        let timeout = self.timeout;
        let result = tokio::time::timeout(timeout, self.get_inner(url)).await;
        result.unwrap_or(Err(JwksError::Timeout(timeout)))
    }

    async fn get_inner(&self, url: &Url) -> Result<Document, JwksError> {
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                JwksError::Timeout(self.timeout)
            } else {
                JwksError::Transport(e.without_url().to_string())
            }
        };
        let mut response = self
            .client
            .get(url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json, application/jwk-set+json"))
            .timeout(self.timeout)
            .send()
            .await
            .map_err(transport)?;
        if !same_origin(url, response.url()) {
            return Err(JwksError::Redirect(format!("{} led to {}", redact(url), redact(response.url()))));
        }
        let status = response.status();
        if status.is_redirection() {
            let to = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?");
            let to = redact_str(to);
            return Err(JwksError::Redirect(format!("{} redirects to another origin ({to:?})", redact(url))));
        }
        if status != reqwest::StatusCode::OK {
            return Err(JwksError::Status(status.as_u16()));
        }
        let max_age = response.headers().get(CACHE_CONTROL).and_then(|v| v.to_str().ok()).and_then(max_age);
        let limit = self.max_body;
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(JwksError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(JwksError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Document { body, max_age })
    }
}

/// A URL as shown in descriptions, errors and logs: without user name, password, query
/// or fragment, where credentials and API keys are put. The request still uses all of it.
pub(crate) fn redact(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() && url.query().is_none() && url.fragment().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    // Fails only for URLs that cannot have credentials, which then have none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// [`redact`] for text that may not parse as a URL (a configured string, a `Location`):
/// unchanged when there is nothing to remove and no control character in it (the URL
/// parser drops tabs and line breaks, which must not reach a log line).
pub(crate) fn redact_str(raw: &str) -> String {
    if let Ok(url) = Url::parse(raw) {
        let clean = url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
            && !raw.chars().any(char::is_control);
        return if clean { raw.to_owned() } else { redact(&url) };
    }
    // Not a URL (or a relative one): cut the query and fragment, and anything up to an
    // `@` in the authority.
    let end = raw.find(['?', '#']).unwrap_or(raw.len());
    let cut = raw.get(..end).unwrap_or_default();
    let (prefix, rest) = match cut.split_once("://") {
        Some((scheme, rest)) => (cut.get(..scheme.len() + 3).unwrap_or_default(), rest),
        None => cut.strip_prefix("//").map_or(("", cut), |rest| ("//", rest)),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
        Some(at) => rest.get(at + 1..).unwrap_or_default(),
        None => rest,
    };
    format!("{prefix}{rest}")
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `max-age` from a `Cache-Control` value; `no-store`/`no-cache` count as 0.
pub(crate) fn max_age(value: &str) -> Option<Duration> {
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let (name, arg) = directive.split_once('=').map_or((directive, None), |(n, a)| (n.trim(), Some(a.trim())));
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age")
            && let Some(secs) = arg.map(|a| a.trim_matches('"')).and_then(|a| a.parse::<u64>().ok())
        {
            age = Some(Duration::from_secs(secs));
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control() {
        assert_eq!(max_age("public, max-age=3600"), Some(Duration::from_secs(3600)));
        assert_eq!(max_age("max-age=\"60\", must-revalidate"), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-cache"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }

    #[test]
    fn redaction_removes_credentials_query_and_fragment() {
        let url = Url::parse("https://user:pw@idp.example:8443/jwks?api_key=SECRET#frag").unwrap();
        assert_eq!(redact(&url), "https://idp.example:8443/jwks");
        assert_eq!(redact_str("https://idp.example/jwks"), "https://idp.example/jwks");
        assert_eq!(redact_str("https://u:p@idp.example/jwks?k=SECRET"), "https://idp.example/jwks");
        // Unparseable or relative text is cut by hand.
        assert_eq!(redact_str("https://u:p@[bad/x?k=SECRET"), "https://[bad/x");
        assert_eq!(redact_str("/jwks?k=SECRET#x"), "/jwks");
        assert_eq!(redact_str("//u:p@other.example/jwks"), "//other.example/jwks");
        assert_eq!(redact_str("https://idp.example/t\n2026 INFO forged"), "https://idp.example/t2026%20INFO%20forged");
        let client = HttpClient::new().unwrap();
        for bad in
            ["http://u:SECRET@idp.example/jwks?k=SECRET", "ftp://u:SECRET@idp.example/?k=SECRET", "not a url?k=SECRET"]
        {
            let err = client.check_url(bad).unwrap_err().to_string();
            assert!(!err.contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn url_rules() {
        let client = HttpClient::new().unwrap();
        assert!(client.check_url("https://idp.example/jwks").is_ok());
        assert!(client.check_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(client.check_url("http://127.0.0.2/jwks").is_ok());
        assert!(client.check_url("http://[::1]:80/jwks").is_ok());
        assert!(client.check_url("http://localhost:80/jwks").is_ok());
        assert!(client.check_url("http://idp.example/jwks").is_err());
        assert!(client.check_url("http://10.0.0.1/jwks").is_err());
        assert!(client.check_url("ftp://idp.example/jwks").is_err());
        assert!(client.check_url("not a url").is_err());
        let insecure = client.allow_insecure_http();
        assert!(insecure.check_url("http://idp.example/jwks").is_ok());
        assert!(insecure.check_url("file:///etc/passwd").is_err());
    }
}
