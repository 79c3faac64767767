//! One fetch for many callers: unknown `kid`s and [`crate::JwksCache::refresh_now`] join
//! the fetch in flight or queue one, at most one per cooldown for unknown `kid`s, and a
//! `kid` still missing after a fetch that started after it was asked for is remembered.

use std::collections::HashSet;
use std::sync::Arc;

use tokengate_core::RefreshFuture;
use tokio::time::Instant;

use super::Shared;
use crate::JwksError;
use crate::log::for_log;
use crate::sync::lock;

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
    /// When an unknown kid last caused a fetch: the start of the cooldown.
    pub(crate) last_unknown_refresh: Option<Instant>,
    /// Kids still missing after a fetch that started after they were asked for.
    pub(crate) negative: HashSet<String>,
    /// Kids kept out of every key set ([`crate::JwksCache::deny_kid`]).
    pub(crate) denied: HashSet<String>,
    /// The generation of the source's last key set (before binding and denials).
    pub(crate) source_generation: u64,
}

impl Shared {
    /// Records that fetch `seq` has finished; forgets the unknown kids of the last period.
    pub(crate) fn complete(&self, seq: u64) {
        let mut control = lock(&self.control);
        control.completed = control.completed.max(seq);
        control.negative.clear();
    }

    /// Joins the fetch in flight or queued, or asks for one; returns the sequence number
    /// to wait for.
    pub(crate) fn join(&self, control: &mut Control) -> u64 {
        if control.requested <= control.completed {
            control.requested = control.completed + 1;
            self.wake.notify_one();
        }
        control.requested
    }

    /// Asks for a fetch that starts after this call: queued behind the one in flight.
    pub(crate) fn fresh(&self, control: &mut Control) -> u64 {
        let seq = control.started + 1;
        if control.requested < seq {
            control.requested = seq;
            self.wake.notify_one();
        }
        seq
    }

    pub(crate) async fn wait(&self, seq: u64) -> Result<(), JwksError> {
        let mut done = self.done.clone();
        let outcome = done.wait_for(|o| o.seq >= seq).await.map_err(|_| JwksError::Stopped)?.clone();
        outcome.result
    }

    /// Remembers `kid` as missing after fetch `seq`, unless a later fetch has been asked
    /// for or has finished since. Called only when fetch `seq` started after `kid` was
    /// asked for: a fetch already running may have read the source before `kid` was
    /// published.
    pub(crate) fn forget_after(&self, kid: &str, seq: u64) {
        let mut control = lock(&self.control);
        let still_unknown = self.current.load().keys.get(kid).is_none();
        let fresh = control.completed == seq && control.requested == seq;
        if still_unknown && fresh && control.negative.len() < self.config.negative_cache_size {
            control.negative.insert(kid.to_owned());
        }
    }

    /// The refresh an unknown `kid` may cause (see [`crate::JwksCache`]): joins the fetch
    /// in flight, or starts one if the cooldown is over; `None` when refused.
    pub(crate) fn refresh_unknown_kid(shared: &Arc<Shared>, kid: &str) -> Option<RefreshFuture> {
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
                crate::metrics::unknown_kid_refresh(&shared.name);
                tracing::debug!(source = %shared.name, kid = ?for_log(kid), "unknown kid: refreshing");
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
