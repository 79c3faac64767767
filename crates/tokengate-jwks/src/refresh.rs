//! The background refresh task: the only place a cache fetches from its source.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, oneshot, watch};
use tokio::time::Instant;

use crate::JwksError;
use crate::cache::Shared;
use crate::cache::config::{Config, after};
use crate::cache::single_flight::Outcome;
use crate::cache::stale::stale_deadline;
use crate::retry::{backoff, jitter, spread};
use crate::source::{Fetched, KeySource};
use crate::sync::lock;

/// Fetches from a source within a time limit.
pub(crate) async fn fetch_from(source: &dyn KeySource, limit: Duration) -> Result<Fetched, JwksError> {
    tokio::time::timeout(limit, source.fetch()).await.unwrap_or(Err(JwksError::Timeout(limit)))
}

/// When to fetch next, and the retry state.
#[derive(Debug)]
pub(crate) struct Schedule {
    next_fetch: Instant,
    backoff: Duration,
    /// When the keys of the last successful fetch stop serving unless another fetch
    /// succeeds ([`stale_deadline`]); `None`: never (no regular fetch is ever due).
    stale_at: Option<Instant>,
    failing: bool,
    expired: bool,
}

impl Schedule {
    /// The schedule after a successful fetch at `now`, whose source hinted `hint`.
    pub(crate) fn new(config: &Config, now: Instant, hint: Option<Duration>) -> Schedule {
        let interval = config.interval(hint);
        let next_fetch = after(now, spread(interval));
        Schedule {
            next_fetch,
            backoff: config.retry_initial,
            stale_at: stale_deadline(config, next_fetch, interval),
            failing: false,
            expired: false,
        }
    }

    /// The stale deadline of the keys of the last successful fetch.
    pub(crate) fn stale_at(&self) -> Option<Instant> {
        self.stale_at
    }

    fn past_stale(&self, now: Instant) -> bool {
        self.stale_at.is_some_and(|at| now >= at)
    }

    fn next_wake(&self) -> Instant {
        match self.stale_at {
            Some(stale_at) if self.failing && !self.expired => self.next_fetch.min(stale_at),
            _ => self.next_fetch,
        }
    }

    fn failed(&mut self, config: &Config, now: Instant) {
        self.next_fetch = after(now, jitter(self.backoff));
        self.backoff = backoff(self.backoff, config.retry_max);
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
            let mut control = lock(&shared.control);
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
                if schedule.failing && !schedule.expired && schedule.past_stale(now) {
                    schedule.expired = true;
                    shared.mark_unavailable();
                }
            }
        }
    }
}

async fn fetch_once(shared: &Shared, schedule: &mut Schedule) -> Result<(), JwksError> {
    let config = &shared.config;
    let fetched = fetch_from(&*shared.source, config.fetch_timeout).await;
    let now = Instant::now();
    // On success, the next schedule and its stale deadline, published with the keys.
    let result = fetched.and_then(|f| {
        let next = Schedule::new(config, now, f.refresh_in);
        shared.apply(f, next.stale_at)?;
        Ok(next)
    });
    crate::metrics::fetch(&shared.name, result.is_ok());
    let mut health = lock(&shared.health);
    match result {
        Ok(next) => {
            if health.consecutive_failures > 0 {
                tracing::info!(source = %shared.name, failures = health.consecutive_failures, "key fetch recovered");
            }
            health.consecutive_failures = 0;
            health.last_success = Some(SystemTime::now());
            health.last_success_at = now;
            *schedule = next;
            crate::metrics::state(&shared.name, Duration::ZERO, false);
            Ok(())
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
            crate::metrics::state(&shared.name, stale_for, true);
            if schedule.past_stale(now) {
                schedule.expired = true;
                shared.mark_unavailable();
            }
            Err(error)
        }
    }
}
