//! The dynamic mode of [`super::Issuers`]: caches created on first use for trusted
//! issuers, their loads bounded in number and rate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokengate_core::{AuthError, ErrorKind, Key, KeyQuery, KeyResolver, RefreshFuture};
use tokio::sync::watch;
use tokio::time::Instant;

use super::limiter::Limiter;
use super::registry::IssuerRegistry;
use super::sweep::{SWEEPS_PER_IDLE, Sweeping, sweep};
use super::{Inner, unavailable, untrusted};
use crate::JwksCache;
use crate::log::{error_for_log, for_log};
use crate::sync::lock;

pub(crate) struct Entry {
    pub(crate) cache: JwksCache,
    pub(crate) last_used: AtomicU64,
}

/// The state of a dynamic [`super::Issuers`].
pub(crate) struct Dynamic {
    pub(crate) registry: Box<dyn IssuerRegistry>,
    pub(crate) caches: ArcSwap<HashMap<Arc<str>, Arc<Entry>>>,
    /// Loads in progress and failed: taken only for issuers whose keys are not loaded.
    pub(crate) loads: Mutex<Loads>,
    pub(crate) max_issuers: usize,
    pub(crate) max_pending: usize,
    pub(crate) idle: Duration,
    pub(crate) failure_cooldown: Duration,
    pub(crate) tick: AtomicU64,
    pub(crate) sweeper: AtomicBool,
}

/// Loads in progress and failed, and the budget of new ones.
pub(crate) struct Loads {
    /// Issuers being loaded, and the signal their load has finished.
    pub(crate) pending: HashMap<String, watch::Receiver<bool>>,
    /// Issuers whose load failed, and when: at most `max_issuers`, the oldest evicted.
    pub(crate) failed: HashMap<String, Instant>,
    pub(crate) limiter: Limiter,
}

impl Dynamic {
    /// The cache of `issuer`, if loaded.
    pub(crate) fn get(&self, issuer: &str) -> Option<JwksCache> {
        self.caches.load().get(issuer).map(|e| e.cache.clone())
    }

    /// The issuers whose caches are loaded.
    pub(crate) fn loaded(&self) -> Vec<String> {
        self.caches.load().keys().map(|k| k.to_string()).collect()
    }

    /// [`KeyResolver::resolve`] for a token naming `issuer`.
    pub(crate) fn resolve(&self, issuer: &str, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        let d = self;
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

    /// [`KeyResolver::refresh_unknown`] for a token naming `issuer`.
    pub(crate) fn refresh_unknown(inner: &Arc<Inner>, issuer: &str, query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        let Inner::Dynamic(d) = &**inner else { return None };
        if let Some(entry) = d.caches.load().get(issuer) {
            return entry.cache.refresh_unknown(query);
        }
        if !d.registry.is_trusted(issuer) {
            return None;
        }
        Dynamic::load(inner, issuer)
    }

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
                if d.admit(&loads, issuer, now).is_err() || loads.limiter.take(now).is_err() {
                    // Refused (cooldown, too many loads): the retried lookup answers
                    // with the same reason, as `KeysUnavailable`.
                    return Some(Box::pin(std::future::ready(())));
                }
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
    pub(crate) fn failed(&self, loads: &mut Loads, issuer: &str, now: Instant) {
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
            tracing::warn!(issuer = ?for_log(&issuer), error = ?error_for_log(&error),
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
