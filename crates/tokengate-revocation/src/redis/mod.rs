//! [`RedisStore`]: rules shared by every instance through Redis, checked against a local
//! mirror.
//!
//! A write runs one idempotent Lua script that merges the rule into a state hash, indexes
//! its expiry and appends the change to a stream, in one step ([`script`] lists the keys).
//! Every instance keeps a mirror of the state hash that serves the request path: on start it
//! takes a consistent snapshot (the stream's last id, the sequence, every rule), then follows
//! the stream with blocking reads on a connection of its own. It resumes from its last id
//! after a disconnect, and resyncs in full when entries it had not seen were trimmed (a gap in
//! the sequence), when the data set was replaced (a new epoch: a restart without persistence
//! or a failover) or went backwards, and every few minutes (jittered). A resync never drops a
//! rule the mirror holds: rules Redis lost are written back, so an instance started after the
//! loss enforces them too. Pub/sub alone would lose what is sent while a client is away.
//!
//! When the mirror has not confirmed it is current for `max_staleness` (default 30 s),
//! checks fail closed with [`ErrorKind::RevocationUnavailable`] (HTTP 503, gRPC
//! `UNAVAILABLE`), or pass with a warning when [`RedisStoreBuilder::fail_open`] was chosen. A
//! token a rule matches is revoked whatever the staleness. Writes while Redis cannot be
//! reached fail with [`StoreError::Unavailable`]: never a silent success.
//!
//! ```no_run
//! use std::time::Duration;
//! use tokengate_revocation::{RedisStore, RevocationStore, RuleKey};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379")
//!     .max_staleness(Duration::from_secs(30))
//!     .max_token_lifetime(Duration::from_secs(3600))
//!     .connect()
//!     .await?;
//! store.revoke(RuleKey::session("https://issuer.example", "session-7")?, None).await?;
//! # Ok(()) }
//! ```
//!
//! [`ErrorKind::RevocationUnavailable`]: tokengate_core::ErrorKind::RevocationUnavailable

mod mirror;
pub mod script;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use tokengate_core::{AuthError, ErrorKind, RevocationCheck, Verified};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::rule::{Cutoff, Rule, RuleKey};
use crate::store::{Health, RevocationStore, Settings, StoreError, StoreFuture, settings_methods};
use crate::table::RuleTable;
use script::Keys;

/// The default bound past which an unconfirmed mirror fails closed: 30 seconds.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(30);
/// The default key prefix (the hash tag of every key).
pub const DEFAULT_PREFIX: &str = "tokengate:revocations";

/// The Redis-backed store. Cheap to clone; the mirror task stops when the last clone is
/// dropped. See the [module docs](self).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
    _task: Arc<TaskGuard>,
}

pub(crate) struct Inner {
    pub(crate) table: RuleTable,
    pub(crate) settings: Settings,
    pub(crate) options: Options,
    pub(crate) keys: Keys,
    pub(crate) client: Client,
    writer: Mutex<Option<MultiplexedConnection>>,
    /// When the mirror last confirmed it is current, in ms since `origin` (0: never).
    fresh_at: AtomicU64,
    origin: Instant,
    pub(crate) resyncs: AtomicU64,
    pub(crate) written_back: AtomicU64,
    warned_at: AtomicU64,
}

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) max_staleness: Duration,
    pub(crate) fail_open: bool,
    pub(crate) block: Duration,
    pub(crate) timeout: Duration,
    pub(crate) resync_every: Duration,
    pub(crate) stream_max_len: u64,
}

struct TaskGuard(JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl RedisStore {
    /// A builder for the Redis at `url` (`redis://host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            settings: Settings::default(),
            options: Options {
                max_staleness: DEFAULT_MAX_STALENESS,
                fail_open: false,
                block: Duration::from_millis(500),
                timeout: Duration::from_secs(2),
                resync_every: Duration::from_secs(300),
                stream_max_len: 100_000,
            },
        }
    }

    /// Whether the mirror confirmed it is current within `max_staleness`.
    pub fn is_fresh(&self) -> bool {
        self.inner.staleness().is_some_and(|s| s <= self.inner.options.max_staleness)
    }

    /// Waits until the mirror is fresh, up to `timeout`; returns whether it is.
    pub async fn wait_fresh(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_fresh() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    async fn store(&self, rule: Rule) -> Result<Rule, StoreError> {
        let stored = self.inner.write(&rule).await?;
        // Enforced here before the answer; the other instances get it from the stream.
        Ok(self.inner.table.merge(&stored))
    }
}

impl Inner {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX).max(1)
    }

    pub(crate) fn mark_fresh(&self) {
        self.fresh_at.store(self.now_ms(), Ordering::Release);
    }

    /// Time since the mirror was last confirmed current; `None` before the first sync.
    fn staleness(&self) -> Option<Duration> {
        match self.fresh_at.load(Ordering::Acquire) {
            0 => None,
            at => Some(Duration::from_millis(self.now_ms().saturating_sub(at))),
        }
    }

    pub(crate) fn connection_config(&self, response_timeout: Duration) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.timeout))
            .set_response_timeout(Some(response_timeout))
    }

    /// Runs the write script on the writer connection, connecting when needed. A failure
    /// on a kept connection (Redis restarted since) is retried once on a new one.
    pub(crate) async fn write(&self, rule: &Rule) -> Result<Rule, StoreError> {
        let kept = self.writer.lock().await.clone();
        if let Some(mut conn) = kept {
            match mirror::write_rule(self, &mut conn, rule).await {
                Ok((rule, _)) => return Ok(rule),
                Err(e) => tracing::debug!(error = %e, "revocation write failed on a kept connection; reconnecting"),
            }
        }
        *self.writer.lock().await = None;
        let config = self.connection_config(self.options.timeout);
        let mut conn = self.client.get_multiplexed_async_connection_with_config(&config).await.map_err(unavailable)?;
        let (rule, _) = mirror::write_rule(self, &mut conn, rule).await.map_err(unavailable)?;
        *self.writer.lock().await = Some(conn);
        Ok(rule)
    }
}

pub(crate) fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("rules", &self.inner.table.len())
            .field("fresh", &self.is_fresh())
            .finish_non_exhaustive()
    }
}

impl RevocationCheck for RedisStore {
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        self.inner.table.check(token)?;
        let staleness = self.inner.staleness();
        if staleness.is_some_and(|s| s <= self.inner.options.max_staleness) {
            return Ok(());
        }
        if self.inner.options.fail_open {
            // One warning a second at most.
            let now = self.inner.now_ms();
            let last = self.inner.warned_at.load(Ordering::Relaxed);
            if now.saturating_sub(last) >= 1000
                && self.inner.warned_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            {
                tracing::warn!(staleness_ms = ?staleness.map(|s| s.as_millis()), "revocation mirror stale: failing open");
            }
            return Ok(());
        }
        Err(AuthError::with_detail(ErrorKind::RevocationUnavailable, "the revocation mirror is stale").retry_after(1))
    }
}

impl RevocationStore for RedisStore {
    fn revoke(&self, key: RuleKey, not_before: Option<i64>) -> StoreFuture<'_, Rule> {
        let rule = self.inner.settings.rule(key, not_before);
        Box::pin(self.store(rule))
    }

    fn rules(&self) -> Vec<Rule> {
        self.inner.table.rules(self.inner.settings.clock.now())
    }

    fn health(&self) -> Health {
        Health {
            backend: "redis",
            fresh: self.is_fresh(),
            rules: self.inner.table.len(),
            staleness_ms: self.inner.staleness().map(|s| u64::try_from(s.as_millis()).unwrap_or(u64::MAX)),
            max_staleness_ms: Some(u64::try_from(self.inner.options.max_staleness.as_millis()).unwrap_or(u64::MAX)),
            resyncs: Some(self.inner.resyncs.load(Ordering::Relaxed)),
            written_back: Some(self.inner.written_back.load(Ordering::Relaxed)),
        }
    }
}

/// Configures a [`RedisStore`].
#[derive(Debug, Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    settings: Settings,
    options: Options,
}

impl RedisStoreBuilder {
    settings_methods!();

    /// The bound past which an unconfirmed mirror fails closed (default 30 s).
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.options.max_staleness = bound;
        self
    }

    /// Past the staleness bound, let requests pass with a warning instead of failing with
    /// 503. Off by default: choose it only when availability matters more than revocation.
    pub fn fail_open(mut self) -> Self {
        self.options.fail_open = true;
        self
    }

    /// The key prefix, the hash tag of every key (default `tokengate:revocations`):
    /// instances that must share rules use the same one.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a blocking stream read waits (default 500 ms); the mirror confirms it is
    /// current at least this often while Redis answers.
    pub fn block(mut self, block: Duration) -> Self {
        self.options.block = block.max(Duration::from_millis(1));
        self
    }

    /// The connect and command timeout (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// The average interval of full resyncs (default 5 minutes, jittered by up to 20%).
    pub fn resync_every(mut self, interval: Duration) -> Self {
        self.options.resync_every = interval;
        self
    }

    /// The approximate length the stream is trimmed to (default 100,000 entries). A mirror
    /// that falls further behind resyncs in full.
    pub fn stream_max_len(mut self, len: u64) -> Self {
        self.options.stream_max_len = len.max(1);
        self
    }

    /// Connects, loads the rules, and starts the mirror; fails when Redis cannot be reached
    /// (the first sync must succeed, so an instance never starts without its rules).
    /// Must be called within a tokio runtime.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let inner = self.inner()?;
        let mirror = mirror::Mirror::start(Arc::clone(&inner)).await.map_err(unavailable)?;
        let task = tokio::spawn(mirror.run());
        Ok(RedisStore { inner, _task: Arc::new(TaskGuard(task)) })
    }

    pub(crate) fn inner(self) -> Result<Arc<Inner>, StoreError> {
        let client = Client::open(self.url.as_str()).map_err(unavailable)?;
        Ok(Arc::new(Inner {
            table: RuleTable::new(self.settings.matching.clone()),
            settings: self.settings,
            options: self.options,
            keys: Keys::new(&self.prefix),
            client,
            writer: Mutex::new(None),
            fresh_at: AtomicU64::new(0),
            origin: Instant::now(),
            resyncs: AtomicU64::new(0),
            written_back: AtomicU64::new(0),
            warned_at: AtomicU64::new(0),
        }))
    }
}

impl Inner {
    pub(crate) fn merge_loaded(&self, key: RuleKey, cutoff: Cutoff) {
        self.table.merge(&Rule::from_parts(key, cutoff));
    }
}
