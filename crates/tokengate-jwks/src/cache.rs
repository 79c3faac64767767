//! [`JwksCache`]: keys behind one `ArcSwap`, refreshed in the background.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokengate_core::{AuthError, ErrorKind, Key, KeyQuery, KeyResolver, KeySet, RefreshFuture, algorithm_name};
use tokio::sync::{Notify, oneshot, watch};
use tokio::time::Instant;

use crate::JwksError;
use crate::health::Health;
use crate::refresh::{self, Schedule};
use crate::source::{Fetched, KeySource};

/// Default interval between refreshes when the source gives no hint: 5 minutes.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Default lower bound of the refresh interval (also for `Cache-Control: max-age`): 30 s.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Default upper bound of the refresh interval: 1 hour.
pub const DEFAULT_MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);
/// Default least time between two refreshes caused by unknown `kid`s: 30 s.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// Default time the last good keys keep serving while the source fails: 24 hours.
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// Default first retry delay after a failed fetch (doubled up to the maximum): 1 s.
pub const DEFAULT_RETRY_INITIAL: Duration = Duration::from_secs(1);
/// Default longest retry delay after failed fetches: 60 s.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(60);
/// Default number of `kid`s remembered as missing until the next fetch: 1024.
pub const DEFAULT_NEGATIVE_CACHE_SIZE: usize = 1024;
/// Default time limit of one whole fetch from the source: 15 s.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest duration a setting takes: longer ones (up to `Duration::MAX`, "never")
/// are shortened to this, 30 years, so that no deadline overflows.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `now + d`, or [`MAX_DURATION`] from now when that would overflow.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).or_else(|| now.checked_add(MAX_DURATION)).unwrap_or(now)
}

/// When keys confirmed by a successful fetch stop serving unless a later fetch succeeds:
/// `max_stale` after the next regular fetch, due at `due`, has had `fetch_timeout` to
/// finish. `None` (never) when no regular fetch is ever due: `interval`, the regular
/// interval, is [`MAX_DURATION`] ("never").
pub(crate) fn stale_deadline(config: &Config, due: Instant, interval: Duration) -> Option<Instant> {
    (interval < MAX_DURATION).then(|| after(after(due, config.fetch_timeout), config.max_stale))
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) refresh_interval: Duration,
    pub(crate) min_refresh: Duration,
    pub(crate) max_refresh: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) max_stale: Duration,
    pub(crate) retry_initial: Duration,
    pub(crate) retry_max: Duration,
    pub(crate) negative_cache_size: usize,
    pub(crate) fetch_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            min_refresh: DEFAULT_MIN_REFRESH_INTERVAL,
            max_refresh: DEFAULT_MAX_REFRESH_INTERVAL,
            cooldown: DEFAULT_COOLDOWN,
            max_stale: DEFAULT_MAX_STALE,
            retry_initial: DEFAULT_RETRY_INITIAL,
            retry_max: DEFAULT_RETRY_MAX,
            negative_cache_size: DEFAULT_NEGATIVE_CACHE_SIZE,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
        }
    }
}

impl Config {
    /// Checks the settings, and shortens durations above [`MAX_DURATION`].
    fn validate(&mut self) -> Result<(), JwksError> {
        for d in [
            &mut self.refresh_interval,
            &mut self.min_refresh,
            &mut self.max_refresh,
            &mut self.cooldown,
            &mut self.max_stale,
            &mut self.retry_initial,
            &mut self.retry_max,
            &mut self.fetch_timeout,
        ] {
            *d = (*d).min(MAX_DURATION);
        }
        let bad = |what: &str| Err(JwksError::Config(what.to_owned()));
        if self.min_refresh.is_zero() || self.refresh_interval.is_zero() {
            return bad("refresh intervals must be above zero");
        }
        if self.min_refresh > self.max_refresh {
            return bad("min_refresh_interval is above max_refresh_interval");
        }
        if self.retry_initial.is_zero() || self.retry_initial > self.retry_max {
            return bad("retry backoff must start above zero and not above its maximum");
        }
        if self.max_stale.is_zero() || self.fetch_timeout.is_zero() {
            return bad("max_stale and fetch_timeout must be above zero");
        }
        Ok(())
    }

    /// The interval until the next regular fetch, from the source's hint.
    pub(crate) fn interval(&self, hint: Option<Duration>) -> Duration {
        hint.unwrap_or(self.refresh_interval).clamp(self.min_refresh, self.max_refresh)
    }
}

/// The keys being served: swapped as a whole.
#[derive(Debug)]
pub(crate) struct Current {
    pub(crate) keys: KeySet,
    pub(crate) unavailable: bool,
}

/// The result of one fetch, published to those waiting for it.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) seq: u64,
    pub(crate) result: Result<(), JwksError>,
}

/// Refresh-side state. Every writer of `current` holds this lock, so a deny and a new
/// key set are serialized. Never held across an await. `resolve` takes it only on the
/// lookup that first finds the keys past their stale deadline (in `Shared::expire`);
/// once they are marked unavailable, lookups no longer take it.
#[derive(Debug, Default)]
pub(crate) struct Control {
    /// The highest fetch sequence number asked for.
    pub(crate) requested: u64,
    /// The sequence number of the fetch running or last run.
    pub(crate) started: u64,
    /// The sequence number of the last finished fetch.
    pub(crate) completed: u64,
    last_unknown_refresh: Option<Instant>,
    negative: HashSet<String>,
    denied: HashSet<String>,
    source_generation: u64,
}

#[derive(Debug)]
pub(crate) struct HealthState {
    pub(crate) last_success: Option<SystemTime>,
    pub(crate) last_success_at: Instant,
    pub(crate) last_failure: Option<SystemTime>,
    pub(crate) last_error: Option<JwksError>,
    pub(crate) consecutive_failures: u32,
    rate_sample: (Instant, u64, f64),
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
    done: watch::Receiver<Outcome>,
    unknown_kids: AtomicU64,
    /// When the cache was built: the origin of `stale_after`.
    epoch: Instant,
    /// Milliseconds after `epoch` at which the keys stop serving ([`stale_deadline`] of
    /// the last successful fetch; `u64::MAX`: never). Checked by `resolve` itself, so the
    /// bound holds even when the refresh task is stuck in a fetch or gone with its
    /// runtime.
    stale_after: AtomicU64,
    _stop: oneshot::Sender<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Configures a [`JwksCache`]; finish with [`JwksCacheBuilder::build`].
#[must_use = "a builder does nothing until built"]
pub struct JwksCacheBuilder {
    source: Box<dyn KeySource>,
    config: Config,
    issuer: Option<String>,
    denied: Vec<String>,
}

impl fmt::Debug for JwksCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCacheBuilder")
            .field("source", &self.source.describe())
            .field("config", &self.config)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl JwksCacheBuilder {
    /// The refresh interval when the source gives no `max-age` (default 5 min).
    pub fn refresh_interval(mut self, every: Duration) -> Self {
        self.config.refresh_interval = every;
        self
    }

    /// The shortest refresh interval, whatever `max-age` says (default 30 s).
    pub fn min_refresh_interval(mut self, at_least: Duration) -> Self {
        self.config.min_refresh = at_least;
        self
    }

    /// The longest refresh interval, whatever `max-age` says (default 1 h).
    pub fn max_refresh_interval(mut self, at_most: Duration) -> Self {
        self.config.max_refresh = at_most;
        self
    }

    /// The least time between two refreshes caused by unknown `kid`s (default 30 s): a
    /// flood of random `kid`s costs the source at most one request per cooldown.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.config.cooldown = cooldown;
        self
    }

    /// How long the last good keys keep serving while fetches fail (default 24 h);
    /// after that, verifications fail with `KeysUnavailable` until a fetch succeeds.
    ///
    /// The time counts from when the keys should have been refreshed: the next regular
    /// refresh after the last successful fetch is due, plus
    /// [`fetch_timeout`](Self::fetch_timeout) for it to finish. It is thus independent
    /// of the refresh interval: any `max_stale` above zero, even one shorter than the
    /// refresh interval or the source's `Cache-Control: max-age`, causes no gap while
    /// fetches succeed; it only bounds how long failed (or missing) refreshes are
    /// bridged. When no regular refresh is ever due (`refresh_interval` and
    /// `max_refresh_interval` both "never", `Duration::MAX`) the keys never go stale.
    /// Failed fetches are retried with [`retry_backoff`](Self::retry_backoff); a
    /// `max_stale` shorter than those delays leaves fewer retries before the keys stop.
    ///
    /// Enforced on every lookup, even when the refresh task is stuck or stopped: the keys
    /// then stop serving `max_stale` after the refresh was due and should have finished.
    /// Like every duration setting, at most [`MAX_DURATION`] (longer values are
    /// shortened).
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.config.max_stale = max_stale;
        self
    }

    /// The retry delays after a failed fetch: `initial`, doubled after each further
    /// failure up to `max`, each with random jitter of up to half (default 1 s to 60 s).
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.config.retry_initial = initial;
        self.config.retry_max = max;
        self
    }

    /// How many unknown `kid`s are remembered (default 1024): a `kid` still missing after
    /// a refresh that started after it was asked for is rejected locally, without
    /// joining another refresh, until the next fetch or the end of the cooldown.
    pub fn negative_cache_size(mut self, entries: usize) -> Self {
        self.config.negative_cache_size = entries;
        self
    }

    /// The time limit of one whole fetch from the source (default 15 s; HTTP requests
    /// also have their own, see [`crate::HttpClient::timeout`]).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.config.fetch_timeout = timeout;
        self
    }

    /// Binds every key to `issuer` ([`Key::bind_issuer`]): the verifier then accepts a
    /// token verified with these keys only if its `iss` is exactly `issuer`, and the
    /// cache refuses to look up keys for a token that names another issuer. Keys the
    /// source already bound to another issuer are skipped, never rebound.
    pub fn bind_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Keeps `kid` out of the key set from the start (see [`JwksCache::deny_kid`]).
    pub fn deny_kid(mut self, kid: impl Into<String>) -> Self {
        self.denied.push(kid.into());
        self
    }

    /// Fetches the keys once and spawns the background refresh on the current tokio
    /// runtime. Fails when the configuration is invalid, when called outside a tokio
    /// runtime, or when the first fetch fails or yields no usable key.
    ///
    /// The refresh task lives on that runtime and ends when the last clone of the cache
    /// is dropped. Lookups work from any thread or runtime; if the runtime shuts down
    /// first, the keys stop being refreshed and [`JwksCache::refresh_now`] returns
    /// [`JwksError::Stopped`].
    pub async fn build(mut self) -> Result<JwksCache, JwksError> {
        self.config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| JwksError::NoRuntime)?;
        let name = self.source.describe();
        let fetched = fetch_from(&*self.source, self.config.fetch_timeout).await?;
        let issuer: Option<Arc<str>> = self.issuer.map(Arc::from);
        let mut control = Control { denied: self.denied.into_iter().collect(), ..Control::default() };
        let keys = prepare(&name, issuer.as_deref(), &control.denied, fetched.keys.clone(), &fetched)?;
        control.source_generation = fetched.keys.generation();
        log_changes(&name, &KeySet::empty(), &keys);
        let now = Instant::now();
        let schedule = Schedule::new(&self.config, now, fetched.refresh_in);
        let (done_tx, done_rx) = watch::channel(Outcome { seq: 0, result: Ok(()) });
        let (stop_tx, stop_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            current: ArcSwap::from_pointee(Current { keys, unavailable: false }),
            issuer,
            source: self.source,
            name,
            config: self.config,
            control: Mutex::new(control),
            health: Mutex::new(HealthState {
                last_success: Some(SystemTime::now()),
                last_success_at: now,
                last_failure: None,
                last_error: None,
                consecutive_failures: 0,
                rate_sample: (now, 0, 0.0),
            }),
            wake: Arc::new(Notify::new()),
            done: done_rx,
            unknown_kids: AtomicU64::new(0),
            epoch: now,
            stale_after: AtomicU64::new(0),
            _stop: stop_tx,
        });
        shared.confirmed(schedule.stale_at());
        let task = refresh::run(Arc::downgrade(&shared), Arc::clone(&shared.wake), stop_rx, done_tx, schedule);
        runtime.spawn(task);
        Ok(JwksCache { shared })
    }
}

/// Fetches from a source within a time limit.
pub(crate) async fn fetch_from(source: &dyn KeySource, limit: Duration) -> Result<Fetched, JwksError> {
    tokio::time::timeout(limit, source.fetch()).await.unwrap_or(Err(JwksError::Timeout(limit)))
}

/// Turns fetched keys into the set to serve: skipped keys logged, issuer bound, denied
/// kids removed, and an empty result refused.
fn prepare(
    name: &str,
    issuer: Option<&str>,
    denied: &HashSet<String>,
    keys: KeySet,
    fetched: &Fetched,
) -> Result<KeySet, JwksError> {
    for skipped in &fetched.skipped {
        tracing::warn!(source = %name, kid = ?skipped.kid, reason = %skipped.reason, "skipping unusable key");
    }
    let mut keys = keys;
    if let Some(issuer) = issuer
        && !keys.keys().all(|k| k.issuer() == Some(issuer))
    {
        let mut bound = Vec::with_capacity(keys.len());
        for key in keys.keys() {
            match key.issuer() {
                None => bound.push(key.clone().bind_issuer(issuer)),
                Some(own) if own == issuer => bound.push(key.clone()),
                Some(own) => {
                    tracing::warn!(source = %name, kid = ?key.kid(), bound_to = own, issuer,
                        "skipping a key bound to another issuer");
                }
            }
        }
        keys = KeySet::new(bound).map_err(JwksError::InvalidKey)?;
    }
    for kid in denied {
        if keys.get(kid).is_some() {
            keys = keys.without(kid);
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys { skipped: fetched.skipped.len() });
    }
    Ok(keys)
}

fn log_changes(name: &str, old: &KeySet, new: &KeySet) {
    for key in new.keys() {
        let alg = algorithm_name(key.algorithm());
        match key.kid().map(|kid| (kid, old.get(kid))) {
            Some((kid, None)) => tracing::info!(source = %name, kid, alg, "key added"),
            Some((kid, Some(before))) if before.algorithm() != key.algorithm() => {
                let before = algorithm_name(before.algorithm());
                tracing::warn!(source = %name, kid, alg, before, "algorithm changed for an existing kid");
            }
            Some(_) => {}
            None if old.is_empty() => tracing::info!(source = %name, alg, "key without kid added"),
            None => {}
        }
    }
    for kid in old.kids() {
        if new.get(kid).is_none() {
            tracing::info!(source = %name, kid, "key removed");
        }
    }
}

impl Shared {
    /// Publishes a fetched set (called by the refresh task); on success the keys serve
    /// until `stale_at` ([`stale_deadline`]; `None`: never) unless a later fetch succeeds.
    pub(crate) fn apply(&self, fetched: Fetched, stale_at: Option<Instant>) -> Result<(), JwksError> {
        let mut control = lock(&self.control);
        let generation = fetched.keys.generation();
        let old = self.current.load();
        if generation == control.source_generation && !old.unavailable {
            self.confirmed(stale_at);
            return Ok(());
        }
        let keys = prepare(&self.name, self.issuer.as_deref(), &control.denied, fetched.keys.clone(), &fetched)?;
        log_changes(&self.name, &old.keys, &keys);
        control.source_generation = generation;
        // The new deadline before the new keys: a lookup never sees fresh keys as stale.
        self.confirmed(stale_at);
        self.current.store(Arc::new(Current { keys, unavailable: false }));
        Ok(())
    }

    /// The source confirmed the keys: they serve until `stale_at` (`None`: for good).
    fn confirmed(&self, stale_at: Option<Instant>) {
        let millis = stale_at.map_or(u64::MAX, |at| {
            u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
        });
        self.stale_after.store(millis, Ordering::Release);
    }

    /// Whether the keys are past their stale deadline at `now`: not refreshed within
    /// `max_stale` after a refresh was due.
    fn past_max_stale(&self, now: Instant) -> bool {
        let elapsed = u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
        elapsed >= self.stale_after.load(Ordering::Acquire)
    }

    /// Marks the keys unavailable (past `max_stale`); they stay for diagnostics.
    pub(crate) fn mark_unavailable(&self) {
        let control = lock(&self.control);
        self.mark_unavailable_locked(&control);
    }

    /// Called by a lookup that found the keys past their stale deadline while the
    /// refresh task has not marked them (late, stuck in a fetch, or stopped): marks them,
    /// unless fresh keys arrived meanwhile, and asks the task for a fetch (joining the one
    /// in flight, if any), so keys come back as soon as the task can run one. Returns
    /// whether they are unavailable.
    fn expire(&self) -> bool {
        let mut control = lock(&self.control);
        if !self.past_max_stale(Instant::now()) {
            return false;
        }
        self.mark_unavailable_locked(&control);
        self.join(&mut control);
        true
    }

    fn mark_unavailable_locked(&self, _control: &MutexGuard<'_, Control>) {
        let old = self.current.load_full();
        if !old.unavailable {
            tracing::error!(source = %self.name, max_stale = ?self.config.max_stale,
                "keys not refreshed within max_stale; verifications fail with KeysUnavailable");
            self.current.store(Arc::new(Current { keys: old.keys.clone(), unavailable: true }));
        }
    }

    /// Records that fetch `seq` has finished; forgets the unknown kids of the last period.
    pub(crate) fn complete(&self, seq: u64) {
        let mut control = lock(&self.control);
        control.completed = control.completed.max(seq);
        control.negative.clear();
    }

    /// Joins the fetch in flight or queued, or asks for one; returns the sequence number
    /// to wait for.
    fn join(&self, control: &mut Control) -> u64 {
        if control.requested <= control.completed {
            control.requested = control.completed + 1;
            self.wake.notify_one();
        }
        control.requested
    }

    /// Asks for a fetch that starts after this call: queued behind the one in flight.
    fn fresh(&self, control: &mut Control) -> u64 {
        let seq = control.started + 1;
        if control.requested < seq {
            control.requested = seq;
            self.wake.notify_one();
        }
        seq
    }

    async fn wait(&self, seq: u64) -> Result<(), JwksError> {
        let mut done = self.done.clone();
        let outcome = done.wait_for(|o| o.seq >= seq).await.map_err(|_| JwksError::Stopped)?.clone();
        outcome.result
    }

    /// Remembers `kid` as missing after fetch `seq`, unless a later fetch has been asked
    /// for or has finished since. Called only when fetch `seq` started after `kid` was
    /// asked for: a fetch already running may have read the source before `kid` was
    /// published.
    fn forget_after(&self, kid: &str, seq: u64) {
        let mut control = lock(&self.control);
        let still_unknown = self.current.load().keys.get(kid).is_none();
        let fresh = control.completed == seq && control.requested == seq;
        if still_unknown && fresh && control.negative.len() < self.config.negative_cache_size {
            control.negative.insert(kid.to_owned());
        }
    }
}

impl JwksCache {
    /// Starts a cache over `source`.
    pub fn builder(source: impl KeySource) -> JwksCacheBuilder {
        JwksCacheBuilder { source: Box::new(source), config: Config::default(), issuer: None, denied: Vec::new() }
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
        let was_denied = lock(&self.shared.control).denied.remove(kid);
        if was_denied {
            tracing::warn!(source = %self.shared.name, kid, "kid allowed again");
        }
        was_denied
    }

    /// The cache's health.
    pub fn health(&self) -> Health {
        let shared = &*self.shared;
        let current = shared.current.load();
        let total = shared.unknown_kids.load(Ordering::Relaxed);
        let now = Instant::now();
        let unavailable = current.unavailable || shared.past_max_stale(now);
        let mut state = lock(&shared.health);
        let (at, count, rate) = state.rate_sample;
        let elapsed = now.saturating_duration_since(at);
        let rate = if elapsed >= Duration::from_secs(1) {
            #[allow(clippy::cast_precision_loss)]
            let fresh = total.saturating_sub(count) as f64 / elapsed.as_secs_f64();
            state.rate_sample = (now, total, fresh);
            fresh
        } else {
            rate
        };
        Health {
            source: shared.name.clone(),
            issuer: shared.issuer.as_deref().map(str::to_owned),
            key_count: current.keys.len(),
            generation: current.keys.generation(),
            key_set_age: now.saturating_duration_since(state.last_success_at),
            last_success: state.last_success,
            last_failure: state.last_failure,
            last_error: state.last_error.clone(),
            consecutive_failures: state.consecutive_failures,
            serving_stale: state.consecutive_failures > 0 && !unavailable,
            unavailable,
            unknown_kid_total: total,
            unknown_kid_rate: rate,
        }
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
        let kid = query.kid.unwrap_or_default();
        let now = Instant::now();
        let (seq, asked_first) = {
            let mut control = lock(&shared.control);
            let in_flight = control.requested > control.completed;
            let cooled =
                control.last_unknown_refresh.is_none_or(|t| now.saturating_duration_since(t) >= shared.config.cooldown);
            // The negative cache holds only while the cooldown runs: once it is over, a
            // kid published since its last lookup can cause a refresh again.
            if control.negative.contains(kid) && !cooled {
                return None;
            }
            if !in_flight && !cooled {
                return None;
            }
            if !in_flight {
                control.last_unknown_refresh = Some(now);
                tracing::debug!(source = %shared.name, kid = ?crate::for_log(kid), "unknown kid: refreshing");
            }
            let seq = shared.join(&mut control);
            // Whether fetch `seq` starts after this call (queued, or started by it).
            (seq, seq > control.started)
        };
        let shared = Arc::clone(shared);
        let kid = kid.to_owned();
        Some(Box::pin(async move {
            if shared.wait(seq).await.is_ok() && asked_first {
                shared.forget_after(&kid, seq);
            }
        }))
    }
}
