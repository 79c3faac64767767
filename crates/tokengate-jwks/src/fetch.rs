//! [`HttpClient`]: the one HTTP client of the JWKS and discovery sources, with its limits.

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
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    timeout: Duration,
    max_body: usize,
    insecure_http: bool,
}

/// A fetched document and its caching hint.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<Duration>,
}

fn same_origin(a: &Url, b: &Url) -> bool {
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
        let parsed = Url::parse(url).map_err(|e| JwksError::InsecureUrl(format!("{url:?}: {e}")))?;
        self.check(&parsed)?;
        Ok(parsed)
    }

    fn check(&self, url: &Url) -> Result<(), JwksError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.insecure_http || is_loopback(url) => Ok(()),
            "http" => Err(JwksError::InsecureUrl(format!("{url}: plain http is only allowed to loopback hosts"))),
            other => Err(JwksError::InsecureUrl(format!("{url}: scheme {other:?} is not http(s)"))),
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
            return Err(JwksError::Redirect(format!("{url} led to {}", response.url())));
        }
        let status = response.status();
        if status.is_redirection() {
            let to = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?");
            return Err(JwksError::Redirect(format!("{url} redirects to another origin ({to})")));
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
