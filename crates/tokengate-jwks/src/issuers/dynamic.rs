//! The dynamic mode of [`super::Issuers`]: caches created on first use for trusted
//! issuers, their loads bounded in number and rate.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokengate_core::{AuthError, ErrorKind, Key, KeyQuery, KeyResolver, RefreshFuture};
use tokio::sync::watch;
use tokio::time::Instant;

use super::canonical::{IssuerUrl, IssuerUrlError};
use super::limiter::Limiter;
use super::registry::IssuerRegistry;
use super::sweep::{SWEEPS_PER_IDLE, Sweeping, sweep};
use super::{Inner, issuer_unavailable, unavailable, untrusted};
use crate::log::{error_for_log, for_log};
use crate::sync::lock;
use crate::{JwksCache, JwksError};

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
    /// Kids denied per issuer ([`super::Issuers::deny_kid`]): applied to every cache
    /// created for the issuer, so a denial survives the issuer being dropped and loaded
    /// again. Taken by deny/allow and when a loaded cache is inserted.
    pub(crate) denied: Mutex<HashMap<String, HashSet<String>>>,
    pub(crate) max_issuers: usize,
    pub(crate) max_pending: usize,
    pub(crate) idle: Duration,
    pub(crate) failure_cooldown: Duration,
    pub(crate) tick: AtomicU64,
    pub(crate) sweeper: AtomicBool,
}

/// A load in progress.
pub(crate) struct Pending {
    /// The signal the load has finished.
    done: watch::Receiver<bool>,
    /// Whether it took from the new-issuer budget (the issuer never loaded before).
    new: bool,
}

/// Loads in progress and failed, and the budget of new ones.
pub(crate) struct Loads {
    /// Issuers being loaded.
    pub(crate) pending: HashMap<String, Pending>,
    /// Issuers whose load failed, and when: at most `max_issuers`, the oldest evicted.
    pub(crate) failed: HashMap<String, Instant>,
    /// Issuers that have loaded successfully, and when last: at most `max_issuers`, the
    /// oldest evicted. They load again (after an idle sweep or an eviction) outside the
    /// budget of new issuers, so a flood of random issuers cannot keep them out.
    pub(crate) known: HashMap<String, Instant>,
    pub(crate) limiter: Limiter,
}

impl Loads {
    pub(crate) fn new(limiter: Limiter) -> Loads {
        Loads { pending: HashMap::new(), failed: HashMap::new(), known: HashMap::new(), limiter }
    }
}

/// Where an issuer named by a token stands.
enum Standing<'a> {
    /// Its cache is loaded.
    Loaded(&'a Entry),
    /// Not loaded, and a load may be started or joined now: the caller's refresh loads it.
    NotLoaded,
    /// Not loaded, and cannot be now: the error to answer with.
    Refused(AuthError),
}

/// The answer of a lookup for an issuer whose keys are not loaded yet, while a load may
/// start. It is [`ErrorKind::UnknownKey`] because that is how a [`KeyResolver`] tells
/// the verifier that [`KeyResolver::refresh_unknown`] may find the key (here: by loading
/// the issuer); the retried lookup then answers from the loaded cache, or with the
/// reason the issuer could not be loaded.
fn not_loaded_yet() -> AuthError {
    AuthError::with_detail(ErrorKind::UnknownKey, "issuer's keys are not loaded yet")
}

/// A token naming an issuer that is not in canonical form: refused before the registry
/// is asked (see [`IssuerUrl`]).
fn non_canonical(issuer: &str, reason: IssuerUrlError) -> AuthError {
    tracing::debug!(issuer = ?for_log(issuer), %reason, "issuer refused: not a canonical URL");
    AuthError::with_detail(ErrorKind::InvalidIssuer, "issuer is not a canonical URL")
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

    /// Where `issuer` stands; `caches` is the loaded map. Untrusted and non-canonical
    /// issuers are refused before anything is loaded.
    fn standing<'a>(&self, caches: &'a HashMap<Arc<str>, Arc<Entry>>, issuer: &str) -> Standing<'a> {
        if let Some(entry) = caches.get(issuer) {
            return Standing::Loaded(entry);
        }
        let url = match IssuerUrl::parse(issuer) {
            Ok(url) => url,
            Err(reason) => return Standing::Refused(non_canonical(issuer, reason)),
        };
        if !self.registry.is_trusted(&url) {
            return Standing::Refused(untrusted());
        }
        match self.admit(&lock(&self.loads), issuer, Instant::now()) {
            Ok(()) => Standing::NotLoaded,
            Err(error) => Standing::Refused(error),
        }
    }

    /// [`KeyResolver::resolve`] for a token naming `issuer`.
    pub(crate) fn resolve(&self, issuer: &str, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        let caches = self.caches.load();
        match self.standing(&caches, issuer) {
            Standing::Loaded(entry) => {
                let tick = self.tick.load(Ordering::Relaxed);
                if entry.last_used.load(Ordering::Relaxed) != tick {
                    entry.last_used.store(tick, Ordering::Relaxed);
                }
                entry.cache.resolve(query)
            }
            Standing::NotLoaded => Err(not_loaded_yet()),
            Standing::Refused(error) => Err(error),
        }
    }

    /// [`KeyResolver::refresh_unknown`] for a token naming `issuer`.
    pub(crate) fn refresh_unknown(inner: &Arc<Inner>, issuer: &str, query: &KeyQuery<'_>) -> Option<RefreshFuture> {
        let Inner::Dynamic(d) = &**inner else { return None };
        let caches = d.caches.load();
        match d.standing(&caches, issuer) {
            Standing::Loaded(entry) => entry.cache.refresh_unknown(query),
            Standing::NotLoaded => Dynamic::load(inner, issuer),
            // Untrusted, or not a canonical URL: nothing to load.
            Standing::Refused(error) if error.kind() == ErrorKind::InvalidIssuer => None,
            // Refused since the lookup said "not loaded yet" (another token took the last
            // slot or budget): the retried lookup answers with the reason.
            Standing::Refused(_) => Some(Box::pin(std::future::ready(()))),
        }
    }

    /// Whether a load of `issuer` (not loaded) may be started or joined now; if not, the
    /// error to answer with: [`ErrorKind::KeysUnavailable`] for an issuer that has loaded
    /// before (its provider is down), [`ErrorKind::IssuerUnavailable`] for one that never
    /// has (the failure rate limiter counts it: anyone can name random issuers).
    fn admit(&self, loads: &Loads, issuer: &str, now: Instant) -> Result<(), AuthError> {
        if loads.pending.contains_key(issuer) {
            return Ok(());
        }
        let known = loads.known.contains_key(issuer);
        if let Some(at) = loads.failed.get(issuer) {
            let left = self.failure_cooldown.saturating_sub(now.saturating_duration_since(*at));
            if !left.is_zero() {
                let detail = "the issuer's keys could not be loaded; retrying after a cooldown";
                return Err(if known { unavailable(detail, left) } else { issuer_unavailable(detail, left) });
            }
        }
        if known {
            return Ok(());
        }
        if loads.pending.values().filter(|p| p.new).count() >= self.max_pending {
            return Err(issuer_unavailable("too many new issuers are being loaded", Duration::from_secs(1)));
        }
        let wait = loads.limiter.wait(now);
        if !wait.is_zero() {
            return Err(issuer_unavailable("too many new issuers; not loading another yet", wait));
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
            Some(pending) => {
                let rx = pending.done.clone();
                drop(loads);
                rx
            }
            None => {
                let new = !loads.known.contains_key(issuer);
                if d.admit(&loads, issuer, now).is_err() || (new && loads.limiter.take(now).is_err()) {
                    // Refused (cooldown, too many loads): the retried lookup answers
                    // with the same reason.
                    return Some(Box::pin(std::future::ready(())));
                }
                loads.failed.remove(issuer);
                let (tx, rx) = watch::channel(false);
                loads.pending.insert(issuer.to_owned(), Pending { done: rx.clone(), new });
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

    /// Records a successful load: `issuer` is known from now on (the oldest known issuer
    /// makes room when full).
    fn loaded_once(&self, loads: &mut Loads, issuer: &str, now: Instant) {
        if loads.known.len() >= self.max_issuers && !loads.known.contains_key(issuer) {
            let oldest = loads.known.iter().min_by_key(|(_, at)| **at).map(|(iss, _)| iss.clone());
            if let Some(oldest) = oldest {
                loads.known.remove(&oldest);
            }
        }
        loads.known.insert(issuer.to_owned(), now);
    }

    /// Denies `kid` for `issuer`, in its loaded cache and every later one. Returns
    /// whether the loaded cache was serving it.
    pub(crate) fn deny_kid(&self, issuer: &str, kid: &str) -> bool {
        let mut denied = lock(&self.denied);
        denied.entry(issuer.to_owned()).or_default().insert(kid.to_owned());
        self.get(issuer).is_some_and(|cache| cache.deny_kid(kid))
    }

    /// Lifts [`Dynamic::deny_kid`]. Returns whether `kid` was denied for `issuer`.
    pub(crate) fn allow_kid(&self, issuer: &str, kid: &str) -> bool {
        let mut denied = lock(&self.denied);
        let was_denied = denied.get_mut(issuer).is_some_and(|kids| kids.remove(kid));
        if denied.get(issuer).is_some_and(HashSet::is_empty) {
            denied.remove(issuer);
        }
        if let Some(cache) = self.get(issuer) {
            cache.allow_kid(kid);
        }
        was_denied
    }

    /// The kids denied for `issuer` now.
    fn denied_kids(&self, issuer: &str) -> HashSet<String> {
        lock(&self.denied).get(issuer).cloned().unwrap_or_default()
    }

    /// Inserts a newly built cache, first bringing its denials up to date (kids denied or
    /// allowed while it was being built), under the `denied` lock so no deny is missed.
    fn insert_built(&self, issuer: &str, cache: &JwksCache, built_with: &HashSet<String>) -> bool {
        let denied = lock(&self.denied);
        let now_denied = denied.get(issuer);
        for kid in now_denied.into_iter().flatten().filter(|kid| !built_with.contains(*kid)) {
            cache.deny_kid(kid);
        }
        for kid in built_with.iter().filter(|kid| !now_denied.is_some_and(|now| now.contains(*kid))) {
            cache.allow_kid(kid);
        }
        let accepted = self.insert(issuer, cache);
        drop(denied);
        accepted
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
            } else {
                d.loaded_once(&mut loads, &self.issuer, Instant::now());
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
    let denied = d.denied_kids(&issuer);
    // Admitted issuers are canonical; parsed again here, as the task owns only the text.
    let built = match IssuerUrl::parse(&issuer) {
        Ok(url) => match d.registry.builder(&url) {
            Ok(builder) => {
                denied.iter().fold(builder, |b, kid| b.deny_kid(kid.clone())).bind_issuer(issuer.clone()).build().await
            }
            Err(e) => Err(e),
        },
        Err(reason) => Err(JwksError::Config(format!("issuer is not a canonical URL: {reason}"))),
    };
    let loaded = match built {
        Ok(cache) => d.insert_built(&issuer, &cache, &denied),
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
