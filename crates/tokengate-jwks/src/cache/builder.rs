//! [`JwksCacheBuilder`]: configures a [`JwksCache`] and starts its refresh task.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokengate_core::KeySet;
use tokio::sync::{Notify, oneshot, watch};
use tokio::time::Instant;

use super::config::Config;
use super::single_flight::{Control, Outcome};
use super::{Current, JwksCache, Shared, publish};
use crate::JwksError;
use crate::health::HealthState;
use crate::refresh::{self, Schedule, fetch_from};
use crate::source::KeySource;

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
    pub(crate) fn new(source: Box<dyn KeySource>) -> JwksCacheBuilder {
        JwksCacheBuilder { source, config: Config::default(), issuer: None, denied: Vec::new() }
    }

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
    /// Like every duration setting, at most [`MAX_DURATION`](crate::MAX_DURATION) (longer values are
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

    /// Binds every key to `issuer` ([`Key::bind_issuer`](tokengate_core::Key::bind_issuer)): the verifier then accepts a
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
        let fetched = fetch_from(&*self.source, self.config.fetch_timeout).await;
        crate::metrics::fetch(&name, fetched.is_ok());
        let fetched = fetched?;
        let issuer: Option<Arc<str>> = self.issuer.map(Arc::from);
        let mut control = Control { denied: self.denied.into_iter().collect(), ..Control::default() };
        let keys = publish::prepare(&name, issuer.as_deref(), &control.denied, fetched.keys.clone(), &fetched)?;
        control.source_generation = fetched.keys.generation();
        publish::log_changes(&name, &KeySet::empty(), &keys);
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
            health: Mutex::new(HealthState::new(now)),
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
