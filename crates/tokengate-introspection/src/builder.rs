//! [`IntrospectorBuilder`]: the settings of an [`Introspector`], each with its default.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::{Clock, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, SystemClock, Verifier};
use tokio::sync::Semaphore;

use crate::cache::AnswerCache;
use crate::client_auth::ClientAuth;
use crate::introspector::{Inner, Introspector};
use crate::response::Rules;
use crate::{IntrospectionError, transport};

/// How long an active answer is cached at most (its `exp` may end it sooner): 60 s.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a refusal (inactive, wrong audience, ...) is cached: 5 s.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// The most answers cached: 10,000.
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000;
/// The timeout of one introspection, waiting for a free slot included: 5 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most introspection requests in flight at once: 32.
pub const DEFAULT_MAX_CONCURRENT: usize = 32;
/// The largest response body read: 64 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// Builds an [`Introspector`]; start with [`Introspector::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use tokengate_introspection::{ClientAuth, Introspector};
/// # async fn run() -> Result<(), tokengate_introspection::IntrospectionError> {
/// let introspector = Introspector::builder("https://login.example", "orders-api")
///     .client_auth(ClientAuth::secret_basic("orders-api", "s3cr3t"))
///     .cache_ttl(Duration::from_secs(30))
///     .build() // finds introspection_endpoint by discovery
///     .await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct IntrospectorBuilder {
    issuer: String,
    audiences: Vec<String>,
    auth: Option<ClientAuth>,
    endpoint: Option<String>,
    assertion_audience: Option<String>,
    ttl: Duration,
    negative_ttl: Duration,
    max_entries: u64,
    timeout: Duration,
    max_concurrent: usize,
    max_body: usize,
    max_token_size: usize,
    leeway: Duration,
    clock: Arc<dyn Clock>,
    jwt_verifier: Option<Verifier>,
    client: Option<reqwest::Client>,
    insecure_http: bool,
}

impl IntrospectorBuilder {
    pub(crate) fn new(issuer: String, audience: String) -> IntrospectorBuilder {
        IntrospectorBuilder {
            issuer,
            audiences: vec![audience],
            auth: None,
            endpoint: None,
            assertion_audience: None,
            ttl: DEFAULT_CACHE_TTL,
            negative_ttl: DEFAULT_NEGATIVE_TTL,
            max_entries: DEFAULT_MAX_ENTRIES,
            timeout: DEFAULT_TIMEOUT,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            max_body: DEFAULT_MAX_BODY,
            max_token_size: DEFAULT_MAX_TOKEN_SIZE,
            leeway: DEFAULT_LEEWAY,
            clock: Arc::new(SystemClock),
            jwt_verifier: None,
            client: None,
            insecure_http: false,
        }
    }

    /// How this resource server authenticates to the endpoint (required).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Another accepted audience (an answer's `aud` must contain one of them).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The introspection endpoint, instead of the one discovery names.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The `aud` of `private_key_jwt` assertions (default: the issuer).
    pub fn assertion_audience(mut self, audience: impl Into<String>) -> Self {
        self.assertion_audience = Some(audience.into());
        self
    }

    /// The longest an active answer is cached (default [`DEFAULT_CACHE_TTL`]; never past
    /// the token's `exp`). In zero-trust mode this is how long a revocation at the
    /// authorization server may go unseen. `Duration::ZERO` turns caching off
    /// (concurrent requests for one token still share one call).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long refusals are cached (default [`DEFAULT_NEGATIVE_TTL`]).
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// The most answers cached (default [`DEFAULT_MAX_ENTRIES`]).
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }

    /// The timeout of one introspection, waiting for a free slot included (default
    /// [`DEFAULT_TIMEOUT`]); past it the answer is `IntrospectionUnavailable`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most requests in flight at once (default [`DEFAULT_MAX_CONCURRENT`]).
    pub fn max_concurrent(mut self, requests: usize) -> Self {
        self.max_concurrent = requests;
        self
    }

    /// The largest response body read, in bytes (default [`DEFAULT_MAX_BODY`]).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The largest token sent to the server (default
    /// [`DEFAULT_MAX_TOKEN_SIZE`](tokengate_core::DEFAULT_MAX_TOKEN_SIZE)); larger ones are
    /// `TokenTooLarge` without a call.
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.max_token_size = bytes;
        self
    }

    /// The clock skew allowed on `exp`, `nbf` and `iat` (default
    /// [`DEFAULT_LEEWAY`](tokengate_core::DEFAULT_LEEWAY)).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The clock that judges `exp`/`nbf`/`iat` and cache lifetimes (tests use
    /// [`tokengate_core::FixedClock`]).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Ask for signed answers (RFC 9701, `application/token-introspection+jwt`) and verify
    /// them with `verifier`: the authorization server's keys, its issuer, and this
    /// resource server's client id as audience (add
    /// [`typ("token-introspection+jwt")`](tokengate_core::VerifierBuilder::typ)). A plain
    /// JSON answer is then refused (503), so a downgrade cannot pass.
    pub fn jwt_responses(mut self, verifier: Verifier) -> Self {
        self.jwt_verifier = Some(verifier);
        self
    }

    /// A `reqwest::Client` of your own (proxies, custom roots, mutual TLS). The default
    /// client follows no redirect and uses no proxy.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Dangerous: allow plain `http` to hosts that are not loopback. Tokens and client
    /// secrets then cross the network in clear text.
    pub fn allow_insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// Checks the settings, discovers the endpoint unless one was configured, and builds
    /// the introspector.
    pub async fn build(self) -> Result<Introspector, IntrospectionError> {
        let config = |what: &str| IntrospectionError::Config(what.to_owned());
        let auth = self.auth.ok_or_else(|| config("client authentication is required (client_auth)"))?;
        if self.audiences.iter().any(String::is_empty) {
            return Err(config("the audience is empty"));
        }
        if self.max_concurrent == 0 {
            return Err(config("max_concurrent must be at least 1"));
        }
        let issuer_url = transport::check_url(&self.issuer, self.insecure_http)?;
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .connect_timeout(self.timeout)
                .timeout(self.timeout)
                .user_agent(concat!("tokengate-introspection/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| IntrospectionError::Setup(e.to_string()))?,
        };
        let endpoint = match &self.endpoint {
            Some(url) => transport::check_url(url, self.insecure_http)?,
            None => transport::discover(&client, &issuer_url, &self.issuer, self.insecure_http, self.max_body).await?,
        };
        let cache = AnswerCache::new(self.max_entries)
            .ok_or_else(|| IntrospectionError::Setup("no randomness for the cache key".into()))?;
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        Ok(Introspector::from_inner(Inner {
            endpoint,
            client,
            assertion_audience: self.assertion_audience.unwrap_or_else(|| self.issuer.clone()),
            auth,
            rules: Rules { issuer: self.issuer, audiences: self.audiences, leeway, clock: self.clock },
            cache,
            ttl: self.ttl,
            negative_ttl: self.negative_ttl,
            timeout: self.timeout,
            permits: Semaphore::new(self.max_concurrent),
            max_body: self.max_body,
            max_token_size: self.max_token_size,
            jwt_verifier: self.jwt_verifier,
            warned_unsupported: std::sync::atomic::AtomicBool::new(false),
        }))
    }
}
