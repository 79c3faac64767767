//! [`Issuers`]: picks the key set by the token's (unverified) issuer.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokengate_core::{AuthError, ErrorKind, Key, KeyQuery, KeyResolver, RefreshFuture};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cache::MAX_DURATION;
use crate::{JwksCache, JwksCacheBuilder, JwksError, for_log};

/// Default most issuers a dynamic [`Issuers`] holds caches for: 1000.
pub const DEFAULT_MAX_ISSUERS: usize = 1000;
/// Default time after which an unused issuer's cache is dropped: 1 hour.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Least time between two attempts to load the keys of an issuer that failed: 30 s.
pub const DEFAULT_FAILURE_COOLDOWN: Duration = Duration::from_secs(30);
/// Default most issuers being loaded at once: 8.
pub const DEFAULT_MAX_PENDING_LOADS: usize = 8;
/// Default burst of issuer loads, refilled over [`DEFAULT_NEW_ISSUER_INTERVAL`]: 10.
pub const DEFAULT_NEW_ISSUER_LOADS: u32 = 10;
/// Default time over which [`DEFAULT_NEW_ISSUER_LOADS`] loads are refilled: 10 s.
pub const DEFAULT_NEW_ISSUER_INTERVAL: Duration = Duration::from_secs(10);

/// Decides which issuers are trusted in dynamic mode, and where their keys come from.
///
/// ```
/// use tokengate_core::KeySet;
/// use tokengate_jwks::{IssuerRegistry, JwksCache, JwksCacheBuilder, JwksError};
///
/// struct Tenants;
/// impl IssuerRegistry for Tenants {
///     fn is_trusted(&self, issuer: &str) -> bool {
///         issuer.starts_with("https://login.example/tenants/")
///     }
///     fn builder(&self, issuer: &str) -> Result<JwksCacheBuilder, JwksError> {
///         // e.g. JwksCache::builder(DiscoverySource::new(issuer, client.clone())?)
///         Ok(JwksCache::builder(KeySet::empty()))
///     }
/// }
/// ```
pub trait IssuerRegistry: Send + Sync + 'static {
    /// Whether tokens that name `issuer` may be verified at all. Called on the request
    /// path for issuers whose keys are not loaded: keep it cheap, with no I/O.
    fn is_trusted(&self, issuer: &str) -> bool;

    /// The cache for a trusted issuer; its keys are bound to `issuer` by [`Issuers`].
    fn builder(&self, issuer: &str) -> Result<JwksCacheBuilder, JwksError>;
}

/// A registry that trusts the issuers a predicate accepts and finds their keys through
/// OpenID Connect discovery, sharing one [`crate::HttpClient`].
#[cfg(feature = "http")]
pub struct DiscoveryRegistry<P> {
    client: crate::HttpClient,
    trusted: P,
}

#[cfg(feature = "http")]
impl<P: Fn(&str) -> bool + Send + Sync + 'static> DiscoveryRegistry<P> {
    /// Trusts the issuers `trusted` accepts (e.g. an exact-match allowlist or a tenant
    /// URL pattern); never accept every issuer.
    pub fn new(client: crate::HttpClient, trusted: P) -> Self {
        DiscoveryRegistry { client, trusted }
    }
}

#[cfg(feature = "http")]
impl<P> fmt::Debug for DiscoveryRegistry<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscoveryRegistry").finish_non_exhaustive()
    }
}

#[cfg(feature = "http")]
impl<P: Fn(&str) -> bool + Send + Sync + 'static> IssuerRegistry for DiscoveryRegistry<P> {
    fn is_trusted(&self, issuer: &str) -> bool {
        (self.trusted)(issuer)
    }

    fn builder(&self, issuer: &str) -> Result<JwksCacheBuilder, JwksError> {
        Ok(JwksCache::builder(crate::DiscoverySource::new(issuer, self.client.clone())?))
    }
}

/// A [`KeyResolver`] over many issuers: the token's unverified `iss` picks the issuer's
/// [`JwksCache`], whose keys are bound to that issuer, so after the signature the
/// verifier matches `iss` exactly and one tenant's keys never verify another's tokens,
/// even when `kid`s collide.
///
/// Two modes: a static map ([`Issuers::from_caches`]) and a dynamic one
/// ([`Issuers::dynamic`]) for multi-tenant services, where caches are created on first
/// use for trusted issuers, bounded in number and dropped when idle.
///
/// In dynamic mode the `iss` that starts a load is unverified: anyone can send tokens
/// naming many trusted issuers. Loads are therefore bounded: at most
/// [`DynamicIssuersBuilder::max_pending_loads`] at once, at most
/// [`DynamicIssuersBuilder::new_issuer_rate`] new ones over time, and an issuer whose
/// load failed is not tried again within the failure cooldown. A token whose issuer's
/// keys cannot be had for these reasons fails with
/// [`ErrorKind::KeysUnavailable`] (503, with a `retry_after`); one naming an untrusted
/// issuer, or none, with [`ErrorKind::InvalidIssuer`].
#[derive(Clone)]
pub struct Issuers {
    inner: Arc<Inner>,
}

enum Inner {
    Static(HashMap<String, JwksCache>),
    Dynamic(Dynamic),
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Inner::Static(map) => f.debug_struct("Issuers").field("issuers", &map.keys()).finish(),
            Inner::Dynamic(d) => f.debug_struct("Issuers").field("loaded", &d.caches.load().len()).finish(),
        }
    }
}

struct Entry {
    cache: JwksCache,
    last_used: AtomicU64,
}

struct Dynamic {
    registry: Box<dyn IssuerRegistry>,
    caches: ArcSwap<HashMap<Arc<str>, Arc<Entry>>>,
    /// Loads in progress and failed: taken only for issuers whose keys are not loaded.
    loads: Mutex<Loads>,
    max_issuers: usize,
    max_pending: usize,
    idle: Duration,
    failure_cooldown: Duration,
    tick: AtomicU64,
    sweeper: AtomicBool,
}

struct Loads {
    /// Issuers being loaded, and the signal their load has finished.
    pending: HashMap<String, watch::Receiver<bool>>,
    /// Issuers whose load failed, and when: at most `max_issuers`, the oldest evicted.
    failed: HashMap<String, Instant>,
    limiter: Limiter,
}

/// A token bucket for issuer loads (as a generic cell rate algorithm): a burst of
/// `loads`, refilled at `loads` per `per`.
struct Limiter {
    /// The time one load costs: `per / loads`.
    cost: Duration,
    /// How far ahead of now the bucket may be drawn: `per - cost`.
    tolerance: Duration,
    /// When the bucket is full again; `None`: full.
    full_at: Option<Instant>,
}

impl Limiter {
    fn new(loads: u32, per: Duration) -> Limiter {
        let cost = per / loads.max(1);
        Limiter { cost, tolerance: per.saturating_sub(cost), full_at: None }
    }

    /// How long until a load is allowed: zero if now.
    fn wait(&self, now: Instant) -> Duration {
        self.full_at
            .map_or(Duration::ZERO, |full_at| full_at.saturating_duration_since(now).saturating_sub(self.tolerance))
    }

    /// Takes one load (after [`Limiter::wait`] said zero).
    fn take(&mut self, now: Instant) {
        let from = self.full_at.map_or(now, |full_at| full_at.max(now));
        self.full_at = Some(crate::cache::after(from, self.cost));
    }
}

/// Configures a dynamic [`Issuers`].
#[must_use = "a builder does nothing until built"]
pub struct DynamicIssuersBuilder {
    registry: Box<dyn IssuerRegistry>,
    max_issuers: usize,
    max_pending: usize,
    rate: (u32, Duration),
    idle: Duration,
    failure_cooldown: Duration,
}

impl fmt::Debug for DynamicIssuersBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicIssuersBuilder")
            .field("max_issuers", &self.max_issuers)
            .field("max_pending_loads", &self.max_pending)
            .field("new_issuer_rate", &self.rate)
            .field("idle", &self.idle)
            .field("failure_cooldown", &self.failure_cooldown)
            .finish_non_exhaustive()
    }
}

impl DynamicIssuersBuilder {
    /// The most issuers held at once (default 1000). When full, the least recently used
    /// idle issuer makes room; if none is idle, the new issuer is refused (and logged).
    pub fn max_issuers(mut self, max: usize) -> Self {
        self.max_issuers = max;
        self
    }

    /// How long an issuer's cache stays without use before it is dropped (default 1 h).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// The least time between two attempts to load an issuer that failed (default 30 s).
    /// Tokens of that issuer fail with `KeysUnavailable` meanwhile.
    pub fn failure_cooldown(mut self, cooldown: Duration) -> Self {
        self.failure_cooldown = cooldown;
        self
    }

    /// The most issuers being loaded at once (default 8): each load is at least one
    /// outbound request, started by an unverified token. A token of another issuer not
    /// loaded yet fails with `KeysUnavailable` meanwhile.
    pub fn max_pending_loads(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// How many issuer loads may start: a burst of `loads`, refilled at `loads` per `per`
    /// (default 10 per 10 s), across all issuers. Beyond it, a token of an issuer not
    /// loaded yet fails with `KeysUnavailable` and a `retry_after`; issuers already
    /// loaded are not affected.
    pub fn new_issuer_rate(mut self, loads: u32, per: Duration) -> Self {
        self.rate = (loads, per);
        self
    }

    /// Finishes the resolver. Caches are created later, on first use.
    pub fn build(self) -> Result<Issuers, JwksError> {
        if self.max_issuers == 0 || self.idle.is_zero() {
            return Err(JwksError::Config("max_issuers and idle_timeout must be above zero".into()));
        }
        let (loads, per) = self.rate;
        if self.max_pending == 0 || loads == 0 || per.is_zero() {
            return Err(JwksError::Config("max_pending_loads and new_issuer_rate must be above zero".into()));
        }
        Ok(Issuers {
            inner: Arc::new(Inner::Dynamic(Dynamic {
                registry: self.registry,
                caches: ArcSwap::from_pointee(HashMap::new()),
                loads: Mutex::new(Loads {
                    pending: HashMap::new(),
                    failed: HashMap::new(),
                    limiter: Limiter::new(loads, per.min(MAX_DURATION)),
                }),
                max_issuers: self.max_issuers,
                max_pending: self.max_pending,
                idle: self.idle.min(MAX_DURATION),
                failure_cooldown: self.failure_cooldown.min(MAX_DURATION),
                tick: AtomicU64::new(0),
                sweeper: AtomicBool::new(false),
            })),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn no_iss() -> AuthError {
    AuthError::with_detail(ErrorKind::InvalidIssuer, "token has no iss to pick keys by")
}

fn untrusted() -> AuthError {
    AuthError::with_detail(ErrorKind::InvalidIssuer, "issuer is not trusted")
}

/// A trusted issuer whose keys cannot be had now: 503, retry after `wait`.
fn unavailable(detail: &'static str, wait: Duration) -> AuthError {
    let secs = wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0)).max(1);
    AuthError::with_detail(ErrorKind::KeysUnavailable, detail).retry_after(secs)
}

/// Sweeps run this many times per idle timeout.
const SWEEPS_PER_IDLE: u32 = 4;

impl Issuers {
    /// A static map from the caches' own issuers (each must be built with
    /// [`JwksCacheBuilder::bind_issuer`] or [`JwksCache::discover`]).
    pub fn from_caches(caches: impl IntoIterator<Item = JwksCache>) -> Result<Issuers, JwksError> {
        let mut map = HashMap::new();
        for cache in caches {
            let Some(issuer) = cache.issuer().map(str::to_owned) else {
                return Err(JwksError::Config("every cache of Issuers must be bound to an issuer".into()));
            };
            if map.insert(issuer.clone(), cache).is_some() {
                return Err(JwksError::Config(format!("issuer {issuer:?} given twice")));
            }
        }
        Ok(Issuers { inner: Arc::new(Inner::Static(map)) })
    }

    /// A dynamic resolver: caches are created on first use for issuers `registry`
    /// trusts, bound to them.
    pub fn dynamic(registry: impl IssuerRegistry) -> DynamicIssuersBuilder {
        DynamicIssuersBuilder {
            registry: Box::new(registry),
            max_issuers: DEFAULT_MAX_ISSUERS,
            max_pending: DEFAULT_MAX_PENDING_LOADS,
            rate: (DEFAULT_NEW_ISSUER_LOADS, DEFAULT_NEW_ISSUER_INTERVAL),
            idle: DEFAULT_IDLE_TIMEOUT,
            failure_cooldown: DEFAULT_FAILURE_COOLDOWN,
        }
    }

    /// The cache of `issuer`, if loaded.
    pub fn get(&self, issuer: &str) -> Option<JwksCache> {
        match &*self.inner {
            Inner::Static(map) => map.get(issuer).cloned(),
            Inner::Dynamic(d) => d.caches.load().get(issuer).map(|e| e.cache.clone()),
        }
    }

    /// The issuers whose caches are loaded.
    pub fn loaded(&self) -> Vec<String> {
        match &*self.inner {
            Inner::Static(map) => map.keys().cloned().collect(),
            Inner::Dynamic(d) => d.caches.load().keys().map(|k| k.to_string()).collect(),
        }
    }
}

impl KeyResolver for Issuers {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        let issuer = query.issuer.ok_or_else(no_iss)?;
        match &*self.inner {
            Inner::Static(map) => map.get(issuer).ok_or_else(untrusted)?.resolve(query),
            Inner::Dynamic(d) => {
                let caches = d.caches.load();
                match caches.get(issuer) {
                    Some(entry) => {
                        let tick = d.tick.load(Ordering::Relaxed);
                        if entry.last_used.load(Ordering::Relaxed) != tick {
                            entry.last_used.store(tick, Ordering::Relaxed);
                        }
                        entry.cache.resolve(query)
                    }
                    None if d.registry.is_trusted(issuer) => {
                        // UnknownKey lets `refresh_unknown` load it; when it cannot be
                        // loaded now, say so (503) rather than "unknown key" (401).
                        d.admit(&lock(&d.loads), issuer, Instant::now())?;
                        Err(AuthError::with_detail(ErrorKind::UnknownKey, "issuer's keys are not loaded yet"))
                    }
                    None => Err(untrusted()),
                }
            }
        }
    }

    fn refresh_unknown(&self, query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        let issuer = query.issuer?;
        match &*self.inner {
            Inner::Static(map) => map.get(issuer)?.refresh_unknown(query),
            Inner::Dynamic(d) => {
                if let Some(entry) = d.caches.load().get(issuer) {
                    return entry.cache.refresh_unknown(query);
                }
                if !d.registry.is_trusted(issuer) {
                    return None;
                }
                Dynamic::load(&self.inner, issuer)
            }
        }
    }
}

impl Dynamic {
    /// Whether a load of `issuer` (not loaded) may be started or joined now; if not, the
    /// `KeysUnavailable` error to answer with.
    fn admit(&self, loads: &Loads, issuer: &str, now: Instant) -> Result<(), AuthError> {
        if loads.pending.contains_key(issuer) {
            return Ok(());
        }
        if let Some(at) = loads.failed.get(issuer) {
            let left = self.failure_cooldown.saturating_sub(now.saturating_duration_since(*at));
            if !left.is_zero() {
                return Err(unavailable("the issuer's keys could not be loaded; retrying after a cooldown", left));
            }
        }
        if loads.pending.len() >= self.max_pending {
            return Err(unavailable("too many issuers are being loaded", Duration::from_secs(1)));
        }
        let wait = loads.limiter.wait(now);
        if !wait.is_zero() {
            return Err(unavailable("too many new issuers; not loading another yet", wait));
        }
        Ok(())
    }

    /// Starts (or joins) loading the cache of a trusted issuer.
    fn load(inner: &Arc<Inner>, issuer: &str) -> Option<RefreshFuture> {
        let Inner::Dynamic(d) = &**inner else { return None };
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let now = Instant::now();
        let mut loads = lock(&d.loads);
        let mut done = match loads.pending.get(issuer) {
            Some(rx) => {
                let rx = rx.clone();
                drop(loads);
                rx
            }
            None => {
                if d.admit(&loads, issuer, now).is_err() {
                    // Refused (cooldown, too many loads): the retried lookup answers
                    // with the same reason, as `KeysUnavailable`.
                    return Some(Box::pin(std::future::ready(())));
                }
                loads.limiter.take(now);
                loads.failed.remove(issuer);
                let (tx, rx) = watch::channel(false);
                loads.pending.insert(issuer.to_owned(), rx.clone());
                // The guard exists before the load is spawned, so it frees the slot even
                // if `spawn` drops the future unpolled (its runtime shutting down). It
                // takes `loads` when dropped: the lock is released before `spawn`.
                let loading =
                    Loading { inner: Arc::downgrade(inner), issuer: issuer.to_owned(), done: tx, failed: true };
                drop(loads);
                runtime.spawn(create(loading));
                if !d.sweeper.swap(true, Ordering::Relaxed) {
                    // Like `loading`, built before `spawn`: if the sweep is dropped (now or
                    // with its runtime), the next load starts another.
                    let sweeping = Sweeping(Arc::downgrade(inner));
                    runtime.spawn(sweep(sweeping, d.idle / SWEEPS_PER_IDLE));
                }
                rx
            }
        };
        Some(Box::pin(async move {
            let _ = done.wait_for(|finished| *finished).await;
        }))
    }

    /// Records a failed load; when full, the oldest failure makes room, so the cooldown
    /// keeps working under a flood of issuers.
    fn failed(&self, loads: &mut Loads, issuer: &str, now: Instant) {
        let cooldown = self.failure_cooldown;
        loads.failed.retain(|_, at| now.saturating_duration_since(*at) < cooldown);
        if loads.failed.len() >= self.max_issuers && !loads.failed.contains_key(issuer) {
            let oldest = loads.failed.iter().min_by_key(|(_, at)| **at).map(|(iss, _)| iss.clone());
            if let Some(oldest) = oldest {
                loads.failed.remove(&oldest);
            }
        }
        loads.failed.insert(issuer.to_owned(), now);
    }

    fn insert(&self, issuer: &str, cache: &JwksCache) -> bool {
        let tick = self.tick.load(Ordering::Relaxed);
        let mut accepted = true;
        self.caches.rcu(|map| {
            let mut map: HashMap<Arc<str>, Arc<Entry>> = (**map).clone();
            accepted = true;
            if map.len() >= self.max_issuers && !map.contains_key(issuer) {
                // The least recently used issuer not used during the current tick.
                let victim = map
                    .iter()
                    .map(|(iss, e)| (Arc::clone(iss), e.last_used.load(Ordering::Relaxed)))
                    .filter(|(_, used)| *used < tick)
                    .min_by_key(|(_, used)| *used);
                match victim {
                    Some((iss, _)) => {
                        map.remove(&iss);
                    }
                    None => {
                        accepted = false;
                        return map;
                    }
                }
            }
            let entry = Entry { cache: cache.clone(), last_used: AtomicU64::new(tick) };
            map.insert(Arc::from(issuer), Arc::new(entry));
            map
        });
        if !accepted {
            tracing::warn!(issuer = ?for_log(issuer), max = self.max_issuers,
                "too many active issuers; not loading another");
        }
        accepted
    }
}

/// Ends a load however [`create`] ends, finished or dropped (its runtime shut down, even
/// before it was first polled): the issuer leaves `pending`, so it never holds a slot of
/// `max_pending_loads` for good, a failure is recorded, and whoever waits is woken. Built
/// by [`Dynamic::load`] before the load is spawned; its drop takes the `loads` lock.
struct Loading {
    inner: Weak<Inner>,
    issuer: String,
    done: watch::Sender<bool>,
    failed: bool,
}

impl Drop for Loading {
    fn drop(&mut self) {
        if let Some(strong) = self.inner.upgrade()
            && let Inner::Dynamic(d) = &*strong
        {
            let mut loads = lock(&d.loads);
            if self.failed {
                d.failed(&mut loads, &self.issuer, Instant::now());
            }
            loads.pending.remove(&self.issuer);
        }
        self.done.send_replace(true);
    }
}

async fn create(mut loading: Loading) {
    let Some(strong) = loading.inner.upgrade() else { return };
    let Inner::Dynamic(d) = &*strong else { return };
    let issuer = loading.issuer.clone();
    let built = match d.registry.builder(&issuer) {
        Ok(builder) => builder.bind_issuer(issuer.clone()).build().await,
        Err(e) => Err(e),
    };
    let loaded = match built {
        Ok(cache) => d.insert(&issuer, &cache),
        Err(error) => {
            // The issuer comes from an unverified token, and errors may quote it: Debug
            // (escaped) and shortened.
            let error = error.to_string();
            tracing::warn!(issuer = ?for_log(&issuer), error = ?crate::cut(&error, 512),
                "cannot load the issuer's keys");
            false
        }
    };
    if loaded {
        tracing::info!(issuer = ?for_log(&issuer), "issuer loaded");
    }
    loading.failed = !loaded;
    drop(loading);
    drop(strong);
}

/// Clears `Dynamic::sweeper` however [`sweep`] ends, so a sweep dropped with its runtime
/// does not keep idle issuers (and the ticks that age them) from ever being swept again.
struct Sweeping(Weak<Inner>);

impl Drop for Sweeping {
    fn drop(&mut self) {
        if let Some(strong) = self.0.upgrade()
            && let Inner::Dynamic(d) = &*strong
        {
            d.sweeper.store(false, Ordering::Relaxed);
        }
    }
}

async fn sweep(sweeping: Sweeping, every: Duration) {
    let inner = &sweeping.0;
    let every = every.max(Duration::from_millis(1));
    let mut interval = tokio::time::interval(every);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(strong) = inner.upgrade() else { return };
        let Inner::Dynamic(d) = &*strong else { return };
        let tick = d.tick.fetch_add(1, Ordering::Relaxed) + 1;
        let limit = u64::from(SWEEPS_PER_IDLE);
        let is_idle = |e: &Entry| tick.saturating_sub(e.last_used.load(Ordering::Relaxed)) > limit;
        if d.caches.load().values().any(|e| is_idle(e)) {
            d.caches.rcu(|map| {
                let mut map: HashMap<Arc<str>, Arc<Entry>> = (**map).clone();
                map.retain(|_, e| !is_idle(e));
                map
            });
            tracing::debug!("dropped idle issuers");
        }
    }
}
