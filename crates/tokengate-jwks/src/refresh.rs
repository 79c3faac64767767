//! The background refresh task: the only place a cache fetches from its source.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, oneshot, watch};
use tokio::time::Instant;

use crate::cache::{Config, Outcome, Shared, after, fetch_from};

/// When to fetch next, and the retry state.
#[derive(Debug)]
pub(crate) struct Schedule {
    next_fetch: Instant,
    backoff: Duration,
    stale_at: Instant,
    failing: bool,
    expired: bool,
}

/// A random duration in `[d/2, d]`: spreads the refreshes of a fleet and the retries
/// after an outage.
fn jitter(d: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let half = d / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let extra = if nanos == 0 { 0 } else { random % nanos.saturating_add(1) };
    half + Duration::from_nanos(extra)
}

/// A random duration in `[0.9 d, d]` for the regular interval.
fn spread(d: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let tenth = u64::try_from((d / 10).as_nanos()).unwrap_or(u64::MAX);
    let less = if tenth == 0 { 0 } else { random % tenth };
    d.saturating_sub(Duration::from_nanos(less))
}

impl Schedule {
    pub(crate) fn new(config: &Config, now: Instant, hint: Option<Duration>) -> Schedule {
        Schedule {
            next_fetch: after(now, spread(config.interval(hint))),
            backoff: config.retry_initial,
            stale_at: after(now, config.max_stale),
            failing: false,
            expired: false,
        }
    }

    fn next_wake(&self) -> Instant {
        if self.failing && !self.expired { self.next_fetch.min(self.stale_at) } else { self.next_fetch }
    }

    fn succeeded(&mut self, config: &Config, now: Instant, hint: Option<Duration>) {
        self.next_fetch = after(now, spread(config.interval(hint)));
        self.backoff = config.retry_initial;
        self.stale_at = after(now, config.max_stale);
        self.failing = false;
        self.expired = false;
    }

    fn failed(&mut self, config: &Config, now: Instant) {
        self.next_fetch = after(now, jitter(self.backoff));
        self.backoff = self.backoff.saturating_mul(2).min(config.retry_max);
        self.failing = true;
    }
}

/// The task: sleeps until the next fetch, a request (unknown kid, `refresh_now`) or the
/// `max_stale` deadline; stops when the cache is dropped (`stop` resolves) or gone.
pub(crate) async fn run(
    cache: Weak<Shared>,
    wake: Arc<Notify>,
    mut stop: oneshot::Receiver<()>,
    done: watch::Sender<Outcome>,
    mut schedule: Schedule,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = wake.notified() => {}
            () = tokio::time::sleep_until(schedule.next_wake()) => {}
        }
        let Some(shared) = cache.upgrade() else { return };
        let now = Instant::now();
        let seq = {
            let mut control = shared.control.lock().unwrap_or_else(PoisonError::into_inner);
            if control.requested > control.started {
                control.started = control.requested;
                Some(control.started)
            } else if now >= schedule.next_fetch {
                control.started += 1;
                control.requested = control.started;
                Some(control.started)
            } else {
                None
            }
        };
        match seq {
            Some(seq) => {
                let result = fetch_once(&shared, &mut schedule).await;
                shared.complete(seq);
                done.send_replace(Outcome { seq, result });
            }
            None => {
                if schedule.failing && !schedule.expired && now >= schedule.stale_at {
                    schedule.expired = true;
                    shared.mark_unavailable();
                }
            }
        }
    }
}

async fn fetch_once(shared: &Shared, schedule: &mut Schedule) -> Result<(), crate::JwksError> {
    let config = &shared.config;
    let fetched = fetch_from(&*shared.source, config.fetch_timeout).await;
    let hint = fetched.as_ref().ok().and_then(|f| f.refresh_in);
    let result = fetched.and_then(|f| shared.apply(f));
    let now = Instant::now();
    let mut health = shared.health.lock().unwrap_or_else(PoisonError::into_inner);
    match &result {
        Ok(()) => {
            if health.consecutive_failures > 0 {
                tracing::info!(source = %shared.name, failures = health.consecutive_failures, "key fetch recovered");
            }
            health.consecutive_failures = 0;
            health.last_success = Some(SystemTime::now());
            health.last_success_at = now;
            schedule.succeeded(config, now, hint);
        }
        Err(error) => {
            health.consecutive_failures = health.consecutive_failures.saturating_add(1);
            health.last_failure = Some(SystemTime::now());
            health.last_error = Some(error.clone());
            schedule.failed(config, now);
            let stale_for = now.saturating_duration_since(health.last_success_at);
            tracing::warn!(source = %shared.name, %error, failures = health.consecutive_failures,
                serving_stale_for = ?stale_for, "key fetch failed; serving the last good keys");
            drop(health);
            if now >= schedule.stale_at {
                schedule.expired = true;
                shared.mark_unavailable();
            }
        }
    }
    result
}
