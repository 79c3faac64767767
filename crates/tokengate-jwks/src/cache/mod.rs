//! [`JwksCache`]: keys behind one `ArcSwap`, refreshed in the background.
//!
//! - [`config`]: the settings and their defaults; [`builder`]: the builder, which starts
//!   the refresh task ([`crate::refresh`]);
//! - [`publish`]: turning fetched keys into the set served (issuer binding, denied kids);
//! - [`single_flight`]: one fetch for many callers (unknown kids, `refresh_now`);
//! - [`stale`]: the `max_stale` deadline, enforced on every lookup.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokengate_core::{AuthError, ErrorKind, Key, KeyQuery, KeyResolver, KeySet, RefreshFuture};
use tokio::sync::{Notify, oneshot, watch};
use tokio::time::Instant;

use crate::JwksError;
use crate::health::{Health, HealthState};
use crate::source::KeySource;
use crate::sync::lock;

pub(crate) mod builder;
pub(crate) mod config;
pub(crate) mod publish;
pub(crate) mod single_flight;
pub(crate) mod stale;

pub use builder::JwksCacheBuilder;
use config::Config;
pub use config::{
    DEFAULT_COOLDOWN, DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_REFRESH_INTERVAL, DEFAULT_MAX_STALE,
    DEFAULT_MIN_REFRESH_INTERVAL, DEFAULT_NEGATIVE_CACHE_SIZE, DEFAULT_REFRESH_INTERVAL, DEFAULT_RETRY_INITIAL,
    DEFAULT_RETRY_MAX, MAX_DURATION,
};
use single_flight::{Control, Outcome};

/// The keys being served: swapped as a whole.
#[derive(Debug)]
pub(crate) struct Current {
    pub(crate) keys: KeySet,
    pub(crate) unavailable: bool,
}

pub(crate) struct Shared {
    pub(crate) current: ArcSwap<Current>,
    pub(crate) issuer: Option<Arc<str>>,
    pub(crate) source: Box<dyn KeySource>,
    pub(crate) name: String,
    pub(crate) config: Config,
    pub(crate) control: Mutex<Control>,
    pub(crate) health: Mutex<HealthState>,
    pub(crate) wake: Arc<Notify>,
    pub(crate) done: watch::Receiver<Outcome>,
    pub(crate) unknown_kids: AtomicU64,
    /// When the cache was built: the origin of `stale_after`.
    pub(crate) epoch: Instant,
    /// Milliseconds after `epoch` at which the keys stop serving
    /// ([`stale::stale_deadline`] of the last successful fetch; `u64::MAX`: never).
    /// Checked by `resolve` itself, so the bound holds even when the refresh task is
    /// stuck in a fetch or gone with its runtime.
    pub(crate) stale_after: AtomicU64,
    pub(crate) _stop: oneshot::Sender<()>,
}

/// A hot-swappable JWKS cache: the [`KeyResolver`] for keys that rotate.
///
/// A lookup is two atomic loads, a clock read (the `max_stale` deadline, checked on every
/// lookup so that it holds even when the refresh task cannot run) and one hash lookup:
/// no await, no allocation, and no lock, except on the one lookup that finds the keys
/// past that deadline and marks them unavailable.
/// A background task (spawned by [`JwksCacheBuilder::build`] on the current tokio
/// runtime, stopped when the last clone is dropped) refreshes the keys on an interval
/// that honours `Cache-Control: max-age` within bounds, retries failures with jittered
/// exponential backoff, and keeps serving the last good keys for up to `max_stale` after
/// a refresh was due (see [`JwksCacheBuilder::max_stale`]).
///
/// An unknown `kid` causes one refresh for all concurrent callers, at most once per
/// cooldown; a `kid` still unknown after a refresh that started after it was asked for
/// is rejected locally until the next refresh or the end of the cooldown, whichever
/// comes first. A `kid` published at any time is thus accepted at most one cooldown
/// after its first token.
///
/// ```no_run
/// use tokengate_core::{Algorithm, Verifier};
/// use tokengate_jwks::JwksCache;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = JwksCache::discover("https://login.example").await?;
/// let verifier = Verifier::builder(keys.clone())
///     .issuer("https://login.example")
///     .audience("orders-api")
///     .algorithms([Algorithm::RS256])
///     .build()?;
/// # let _ = verifier; Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksCache {
    shared: Arc<Shared>,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.shared.current.load();
        f.debug_struct("JwksCache")
            .field("source", &self.shared.name)
            .field("issuer", &self.shared.issuer)
            .field("keys", &current.keys.len())
            .field("generation", &current.keys.generation())
            .field("unavailable", &current.unavailable)
            .finish()
    }
}

impl JwksCache {
    /// Starts a cache over `source`.
    pub fn builder(source: impl KeySource) -> JwksCacheBuilder {
        JwksCacheBuilder::new(Box::new(source))
    }

    /// A cache over a JWKS URL with the default settings and its own [`crate::HttpClient`].
    #[cfg(feature = "http")]
    pub async fn from_url(url: &str) -> Result<JwksCache, JwksError> {
        let source = crate::UrlSource::new(url, crate::HttpClient::new()?)?;
        JwksCache::builder(source).build().await
    }

    /// A cache over OpenID Connect discovery for `issuer`, with its keys bound to it. The
    /// discovery document must name exactly this issuer.
    #[cfg(feature = "http")]
    pub async fn discover(issuer: &str) -> Result<JwksCache, JwksError> {
        let source = crate::DiscoverySource::new(issuer, crate::HttpClient::new()?)?;
        JwksCache::builder(source).bind_issuer(issuer).build().await
    }

    /// The issuer the keys are bound to, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.shared.issuer.as_deref()
    }

    /// A snapshot of the keys being served.
    pub fn keys(&self) -> KeySet {
        self.shared.current.load().keys.clone()
    }

    /// Fetches now and waits for the result; on failure the previous keys keep serving
    /// and the error is returned. The fetch starts after this call (queued behind one in
    /// flight, and shared with other callers queued behind it), so it sees what the
    /// source serves now.
    pub async fn refresh_now(&self) -> Result<(), JwksError> {
        let seq = {
            let mut control = lock(&self.shared.control);
            self.shared.fresh(&mut control)
        };
        self.shared.wait(seq).await
    }

    /// Removes `kid` at once and keeps it out of every later key set, even while the
    /// source still lists it (a compromised key). Returns whether it was being served.
    pub fn deny_kid(&self, kid: &str) -> bool {
        let mut control = lock(&self.shared.control);
        control.denied.insert(kid.to_owned());
        let current = self.shared.current.load_full();
        let present = current.keys.get(kid).is_some();
        if present {
            let keys = current.keys.without(kid);
            self.shared.current.store(Arc::new(Current { keys, unavailable: current.unavailable }));
        }
        tracing::warn!(source = %self.shared.name, kid, present, "kid denied");
        present
    }

    /// Lifts a [`JwksCache::deny_kid`]: `kid` may be served again from the next key set
    /// the source yields (call [`JwksCache::refresh_now`] to fetch it at once). Returns
    /// whether `kid` was denied.
    pub fn allow_kid(&self, kid: &str) -> bool {
        let mut control = lock(&self.shared.control);
        let was_denied = control.denied.remove(kid);
        if was_denied {
            // The next fetch builds the served set again, even when the source's set is
            // unchanged (a static source never changes).
            control.source_generation = 0;
        }
        drop(control);
        if was_denied {
            tracing::warn!(source = %self.shared.name, kid, "kid allowed again");
        }
        was_denied
    }

    /// The cache's health.
    pub fn health(&self) -> Health {
        self.shared.health()
    }
}

impl KeyResolver for JwksCache {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        let shared = &*self.shared;
        let current = shared.current.load();
        // The deadline is also checked here, not only by the refresh task, so the bound
        // holds while the task is stuck in a fetch or gone with its runtime.
        if current.unavailable || (shared.past_max_stale(Instant::now()) && shared.expire()) {
            return Err(AuthError::with_detail(ErrorKind::KeysUnavailable, "keys were not refreshed within max_stale")
                .retry_after(5));
        }
        if let (Some(bound), Some(iss)) = (shared.issuer.as_deref(), query.issuer)
            && bound != iss
        {
            return Err(AuthError::with_detail(ErrorKind::InvalidIssuer, "iss is not this key set's issuer"));
        }
        match current.keys.find(query.kid, query.alg) {
            Ok(key) => Ok(key.clone()),
            Err(e) => {
                shared.unknown_kids.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    fn refresh_unknown(&self, query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        let shared = &self.shared;
        if let (Some(bound), Some(iss)) = (shared.issuer.as_deref(), query.issuer)
            && bound != iss
        {
            return None;
        }
        Shared::refresh_unknown_kid(shared, query.kid.unwrap_or_default())
    }
}
