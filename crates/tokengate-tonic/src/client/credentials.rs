//! [`ClientCredentials`]: the service's own token, from an OAuth 2.0 token endpoint with the
//! client-credentials grant (RFC 6749 section 4.4). Feature `client-credentials`.
//!
//! - The token is cached until shortly before it expires (`expires_in` minus
//!   [`refresh_before`](ClientCredentialsBuilder::refresh_before), default 30 s, at most
//!   half the lifetime); a token without `expires_in` is kept 60 s.
//! - A refresh is made **once for all concurrent callers**: the first caller that finds the
//!   token stale fetches, the others wait for that fetch and share its answer. A cached
//!   token is read without a lock.
//! - The client authenticates with HTTP Basic (RFC 6749 section 2.3.1: id and secret
//!   form-encoded first). The token endpoint must be `https`, or `http` on a loopback
//!   address. No redirect is followed. The secret and the tokens never appear in `Debug`
//!   or in errors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use http::Extensions;
use reqwest::Url;
use tokio::time::Instant;

use super::provider::{AccessToken, ProviderError, TokenFuture, TokenProvider};

/// How long before its expiry a cached token is replaced, unless configured.
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(30);
/// How long a token without `expires_in` is kept.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// The largest token response read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Fetches and caches the service's own token: cached until shortly before expiry, one refresh
/// for all concurrent callers, HTTP Basic client authentication. `Clone` shares
/// the cache.
#[derive(Clone)]
pub struct ClientCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    refresh_before: Duration,
    cached: ArcSwapOption<Cached>,
    refresh: tokio::sync::Mutex<()>,
}

struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.inner.token_url.as_str())
            .field("client_id", &self.inner.client_id)
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}

/// Configures [`ClientCredentials`]; see [`ClientCredentials::builder`].
#[must_use]
pub struct ClientCredentialsBuilder {
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    refresh_before: Duration,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for ClientCredentialsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsBuilder")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// A provider for the client `client_id` / `client_secret` of the token endpoint
    /// `token_url`.
    pub fn builder(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> ClientCredentialsBuilder {
        ClientCredentialsBuilder {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            refresh_before: DEFAULT_REFRESH_BEFORE,
            http: None,
        }
    }

    /// The cached token when still fresh.
    fn fresh(&self) -> Option<AccessToken> {
        let cached = self.inner.cached.load();
        cached.as_ref().filter(|c| Instant::now() < c.refresh_at).map(|c| c.token.clone())
    }

    /// The slow path: one fetch at a time; callers that waited find the new token.
    async fn refresh(self) -> Result<AccessToken, ProviderError> {
        let _guard = self.inner.refresh.lock().await;
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let (token, lifetime) = self.fetch().await?;
        let early = self.inner.refresh_before.min(lifetime / 2);
        let refresh_at = Instant::now() + lifetime.saturating_sub(early);
        self.inner.cached.store(Some(Arc::new(Cached { token: token.clone(), refresh_at })));
        Ok(token)
    }

    async fn fetch(&self) -> Result<(AccessToken, Duration), ProviderError> {
        let inner = &self.inner;
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &inner.scope {
            form.push(("scope", scope));
        }
        let unavailable = |e: reqwest::Error| ProviderError::Unavailable(e.without_url().to_string());
        let response = inner
            .http
            .post(inner.token_url.clone())
            .basic_auth(form_encode(&inner.client_id), Some(form_encode(&inner.client_secret)))
            .form(&form)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        if response.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
            return Err(ProviderError::Unavailable("token response too large".into()));
        }
        let body = response.bytes().await.map_err(unavailable)?;
        if body.len() > MAX_RESPONSE_BYTES {
            return Err(ProviderError::Unavailable("token response too large".into()));
        }
        #[derive(serde::Deserialize)]
        struct Success {
            access_token: String,
            token_type: String,
            expires_in: Option<u64>,
        }
        #[derive(serde::Deserialize)]
        struct Failure {
            error: String,
        }
        if !status.is_success() {
            let error = serde_json::from_slice::<Failure>(&body)
                .ok()
                .map(|f| f.error)
                .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_graphic()));
            return Err(ProviderError::Refused { status: status.as_u16(), error });
        }
        let success: Success = serde_json::from_slice(&body)
            .map_err(|_| ProviderError::Unavailable("the token response is not the expected JSON".into()))?;
        if !success.token_type.eq_ignore_ascii_case("bearer") {
            return Err(ProviderError::Unavailable(
                "the token endpoint issued a token that is not a Bearer token".into(),
            ));
        }
        let lifetime = success.expires_in.map_or(DEFAULT_LIFETIME, Duration::from_secs);
        Ok((AccessToken::new(success.access_token)?, lifetime))
    }
}

impl TokenProvider for ClientCredentials {
    fn token(&self, _extensions: &Extensions) -> TokenFuture {
        match self.fresh() {
            Some(token) => TokenFuture::ready(Ok(token)),
            None => TokenFuture::new(self.clone().refresh()),
        }
    }
}

impl ClientCredentialsBuilder {
    /// The `scope` to ask for (space-separated).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// How long before expiry a token is replaced (default 30 s; at most half the token's
    /// lifetime is used).
    pub fn refresh_before(mut self, early: Duration) -> Self {
        self.refresh_before = early;
        self
    }

    /// Uses this HTTP client (proxies, custom roots, mutual TLS). Give it a redirect
    /// policy of `none`: a token request is never sent on.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the endpoint and builds the provider.
    pub fn build(self) -> Result<ClientCredentials, ProviderError> {
        let url =
            Url::parse(&self.token_url).map_err(|_| ProviderError::Config("the token URL is not a URL".into()))?;
        let loopback = url.host_str().is_some_and(|host| {
            host.eq_ignore_ascii_case("localhost")
                || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        });
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
            return Err(ProviderError::Config("the token URL must be https (or http on a loopback address)".into()));
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(ProviderError::Config("the token URL must not carry credentials or a fragment".into()));
        }
        if self.client_id.is_empty() {
            return Err(ProviderError::Config("the client id is empty".into()));
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .connect_timeout(TIMEOUT)
                .build()
                .map_err(|e| ProviderError::Config(e.to_string()))?,
        };
        Ok(ClientCredentials {
            inner: Arc::new(Inner {
                http,
                token_url: url,
                client_id: self.client_id,
                client_secret: self.client_secret,
                scope: self.scope,
                refresh_before: self.refresh_before,
                cached: ArcSwapOption::empty(),
                refresh: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// `application/x-www-form-urlencoded` encoding of a client id or secret, as RFC 6749
/// section 2.3.1 asks before they go into HTTP Basic.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_form_encoded() {
        assert_eq!(form_encode("svc:a b/é"), "svc%3Aa+b%2F%C3%A9");
    }

    #[test]
    fn endpoint_must_be_https_or_loopback() {
        let build = |url: &str| ClientCredentials::builder(url, "id", "secret").build().map(|_| ());
        assert!(build("https://idp.example/token").is_ok());
        assert!(build("http://127.0.0.1:8080/token").is_ok());
        assert!(build("http://localhost/token").is_ok());
        for bad in ["http://idp.example/token", "ftp://127.0.0.1/x", "https://u:p@idp.example/t", "nope"] {
            assert!(matches!(build(bad), Err(ProviderError::Config(_))), "{bad}");
        }
        let debug = format!("{:?}", ClientCredentials::builder("https://i/t", "id", "s3cr3t").build());
        assert!(!debug.contains("s3cr3t"));
    }
}
