//! The mirror: follows the stream into the local table, resyncs after gaps, data loss
//! and failovers, writes lost rules back, and confirms freshness.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{RedisResult, Script};
use tokio::time::Instant;

use super::Inner;
use super::script::{decode_cutoff, decode_key, encode_key, snapshot_script, write_script};
use crate::rule::{Cutoff, Rule, RuleKey};

/// Expired rules are swept from the mirror this often.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Stream entries read per call.
const READ_COUNT: u64 = 1000;

type StreamReply = Option<Vec<(String, Vec<(String, Vec<String>)>)>>;

pub(crate) struct Mirror {
    inner: Arc<Inner>,
    conn: Option<MultiplexedConnection>,
    epoch: String,
    last_id: String,
    last_seq: u64,
    needs_resync: bool,
    next_resync: Instant,
    next_sweep: Instant,
    write: Script,
}

impl Mirror {
    /// Connects and takes the first snapshot.
    pub(crate) async fn start(inner: Arc<Inner>) -> RedisResult<Mirror> {
        let mut mirror = Mirror {
            conn: None,
            epoch: String::new(),
            last_id: "0-0".to_owned(),
            last_seq: 0,
            needs_resync: true,
            next_resync: Instant::now(),
            next_sweep: Instant::now() + SWEEP_EVERY,
            write: write_script(),
            inner,
        };
        mirror.connect().await?;
        mirror.resync().await?;
        Ok(mirror)
    }

    /// Follows the stream until the task is aborted; errors reconnect with a backoff.
    pub(crate) async fn run(mut self) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.step().await {
                Ok(()) => backoff = Duration::from_millis(50),
                Err(e) => {
                    tracing::warn!(error = %e, "revocation mirror: Redis error, reconnecting");
                    self.conn = None;
                    let jitter = Duration::from_millis(rand::random_range(0..=backoff.as_millis() as u64 / 2));
                    tokio::time::sleep(backoff + jitter).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    async fn connect(&mut self) -> RedisResult<&mut MultiplexedConnection> {
        if self.conn.is_none() {
            let o = &self.inner.options;
            let config = self.inner.connection_config(o.block + o.timeout);
            self.conn = Some(self.inner.client.get_multiplexed_async_connection_with_config(&config).await?);
        }
        match self.conn.as_mut() {
            Some(conn) => Ok(conn),
            None => Err(redis::RedisError::from((redis::ErrorKind::Io, "not connected"))),
        }
    }

    /// One round: resync when needed, one blocking read, then confirm the data set is the
    /// one followed (same epoch, sequence not behind) and mark the mirror fresh.
    async fn step(&mut self) -> RedisResult<()> {
        if self.needs_resync || Instant::now() >= self.next_resync {
            self.resync().await?;
            self.inner.resyncs.fetch_add(1, Ordering::Relaxed);
        }
        let keys = self.inner.keys.clone();
        let block = u64::try_from(self.inner.options.block.as_millis()).unwrap_or(u64::MAX);
        let last_id = self.last_id.clone();
        let conn = self.connect().await?;
        let reply: StreamReply = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(block)
            .arg("STREAMS")
            .arg(&keys.log)
            .arg(&last_id)
            .query_async(conn)
            .await?;
        for (id, fields) in reply.into_iter().flatten().flat_map(|(_, entries)| entries) {
            match Entry::parse(&fields) {
                Some(entry) if entry.seq == self.last_seq + 1 => {
                    self.inner.merge_loaded(entry.key, entry.cutoff);
                    self.last_seq = entry.seq;
                    self.last_id = id;
                }
                // Entries this mirror had not seen were trimmed, or the sequence restarted.
                _ => {
                    tracing::info!(after = self.last_seq, "revocation mirror: gap in the stream, resyncing");
                    self.needs_resync = true;
                    return Ok(());
                }
            }
        }
        let conn = self.connect().await?;
        let (epoch, seq): (Option<String>, Option<u64>) =
            redis::pipe().get(&keys.epoch).get(&keys.seq).query_async(conn).await?;
        if epoch.as_deref() != Some(self.epoch.as_str()) || seq.unwrap_or(0) < self.last_seq {
            tracing::warn!("revocation mirror: the Redis data set was replaced or went back, resyncing");
            self.needs_resync = true;
            return Ok(());
        }
        self.inner.mark_fresh();
        if Instant::now() >= self.next_sweep {
            self.inner.table.sweep(self.inner.settings.clock.now());
            self.next_sweep = Instant::now() + SWEEP_EVERY;
        }
        Ok(())
    }

    /// Loads a consistent snapshot into the table and writes back every rule the table
    /// holds that Redis lacks (or holds with an earlier cut-off).
    async fn resync(&mut self) -> RedisResult<()> {
        let keys = self.inner.keys.clone();
        let conn = self.connect().await?;
        let (epoch, seq, last_id, flat): (String, u64, String, Vec<String>) = snapshot_script()
            .key(keys.all().as_slice())
            .arg(format!("{:016x}", rand::random::<u64>()))
            .invoke_async(conn)
            .await?;
        let now = self.inner.settings.clock.now();
        let mut remote: HashMap<RuleKey, Cutoff> = HashMap::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            if let [field, value] = pair
                && let (Some(key), Some(cutoff)) = (decode_key(field), decode_cutoff(value))
                && cutoff.expires_at > now
            {
                self.inner.merge_loaded(key.clone(), cutoff);
                remote.insert(key, cutoff);
            }
        }
        let mut written = 0u64;
        for rule in self.inner.table.rules(now) {
            let missing = remote.get(&rule.key).is_none_or(|held| held.merge(rule.cutoff()) != *held);
            if missing {
                self.connect().await?;
                if let Some(conn) = self.conn.as_mut() {
                    let (_, seq) = write_rule_with(&self.inner, &self.write, conn, &rule).await?;
                    written += u64::from(seq > 0);
                }
            }
        }
        if written > 0 {
            tracing::warn!(rules = written, "revocation mirror: Redis had lost rules; written back");
            self.inner.written_back.fetch_add(written, Ordering::Relaxed);
        }
        self.epoch = epoch;
        self.last_seq = seq;
        self.last_id = last_id;
        self.needs_resync = false;
        let every = self.inner.options.resync_every;
        let jitter = every.mul_f64(rand::random_range(0.0..0.2));
        self.next_resync = Instant::now() + every.saturating_sub(every / 10) + jitter;
        self.inner.mark_fresh();
        Ok(())
    }
}

/// One stream entry.
struct Entry {
    key: RuleKey,
    cutoff: Cutoff,
    seq: u64,
}

impl Entry {
    fn parse(fields: &[String]) -> Option<Entry> {
        let (mut key, mut cutoff, mut seq) = (None, None, None);
        for pair in fields.chunks_exact(2) {
            match pair {
                [name, value] if name == "f" => key = decode_key(value),
                [name, value] if name == "r" => cutoff = decode_cutoff(value),
                [name, value] if name == "s" => seq = value.parse().ok(),
                _ => {}
            }
        }
        Some(Entry { key: key?, cutoff: cutoff?, seq: seq? })
    }
}

/// Runs the write script for `rule`; returns the rule as stored and the sequence of the
/// change (0 when it changed nothing).
pub(crate) async fn write_rule(
    inner: &Inner,
    conn: &mut MultiplexedConnection,
    rule: &Rule,
) -> RedisResult<(Rule, u64)> {
    write_rule_with(inner, &write_script(), conn, rule).await
}

async fn write_rule_with(
    inner: &Inner,
    script: &Script,
    conn: &mut MultiplexedConnection,
    rule: &Rule,
) -> RedisResult<(Rule, u64)> {
    let (not_before, expires_at, seq): (i64, i64, u64) = script
        .key(inner.keys.all().as_slice())
        .arg(encode_key(&rule.key))
        .arg(rule.not_before)
        .arg(rule.expires_at)
        .arg(inner.settings.clock.now())
        .arg(inner.options.stream_max_len)
        .arg(format!("{:016x}", rand::random::<u64>()))
        .invoke_async(conn)
        .await?;
    Ok((Rule::from_parts(rule.key.clone(), Cutoff { not_before, expires_at }), seq))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::redis::RedisStore;
    use tokengate_test_support::RedisServer;

    #[tokio::test]
    async fn a_trimmed_stream_forces_a_full_resync() {
        let redis = RedisServer::start();
        let builder = || RedisStore::builder(redis.url()).block(Duration::from_millis(50));
        let writer = builder().inner().unwrap();
        let reader = builder().inner().unwrap();
        let mut mirror = Mirror::start(Arc::clone(&reader)).await.unwrap();
        let rule = |n: usize| writer.settings.rule(RuleKey::jti("https://i", &format!("t-{n}")).unwrap(), None);

        writer.write(&rule(1)).await.unwrap();
        mirror.step().await.unwrap();
        assert_eq!((mirror.last_seq, reader.table.len()), (1, 1));

        // Five more changes, of which the mirror will only find the last two in the stream.
        for n in 2..=6 {
            writer.write(&rule(n)).await.unwrap();
        }
        assert_eq!(redis.command(&["XTRIM", &writer.keys.log, "MAXLEN", "2"]).to_string(), "4");
        mirror.step().await.unwrap();
        assert!(mirror.needs_resync, "the gap was not seen");
        assert_eq!(reader.table.len(), 1, "entries after a gap must not be applied one by one");
        mirror.step().await.unwrap();
        assert_eq!(reader.resyncs.load(Ordering::Relaxed), 1);
        assert_eq!(mirror.last_seq, 6);
        for n in 1..=6 {
            assert!(reader.table.get(&rule(n).key).is_some(), "rule {n} missing after the resync");
        }
        // Nothing was lost, so nothing was written back.
        assert_eq!(reader.written_back.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_replaced_data_set_is_resynced_and_written_back() {
        let redis = RedisServer::start();
        let inner = RedisStore::builder(redis.url()).block(Duration::from_millis(50)).inner().unwrap();
        let mut mirror = Mirror::start(Arc::clone(&inner)).await.unwrap();
        let rule = inner.settings.rule(RuleKey::session("https://i", "s-1").unwrap(), None);
        inner.write(&rule).await.unwrap();
        mirror.step().await.unwrap();
        assert!(inner.table.get(&rule.key).is_some());

        // The data set is lost (as after a restart without persistence).
        redis.command(&["FLUSHALL"]);
        mirror.step().await.unwrap();
        assert!(mirror.needs_resync, "the new epoch was not seen");
        mirror.step().await.unwrap();
        assert_eq!(inner.written_back.load(Ordering::Relaxed), 1);
        let field = super::super::script::encode_key(&rule.key);
        let stored = redis.command(&["HGET", &inner.keys.rules, &field]).to_string();
        assert_eq!(stored, format!("{}:{}", rule.not_before, rule.expires_at));
    }
}
