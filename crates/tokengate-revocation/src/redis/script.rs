//! What tokengate keeps in Redis, and the Lua scripts that write and read it.
//!
//! Five keys share one hash tag, so every script runs on one node of a Redis Cluster:
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{prefix}:rules` | hash | field = the encoded rule key, value = `not_before:expires_at` |
//! | `{prefix}:expiry` | sorted set | the same fields, scored by `expires_at` |
//! | `{prefix}:log` | stream | one entry per change: `f` (field), `r` (value), `s` (sequence) |
//! | `{prefix}:seq` | string | the sequence of the last change (consecutive: a gap means trimmed entries) |
//! | `{prefix}:epoch` | string | a random id set when the data set starts; a new one means the data was lost |

use redis::Script;

use crate::rule::{Cutoff, RuleKey, RuleKind};

/// The names of the keys, all under one hash tag.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) rules: String,
    pub(crate) expiry: String,
    pub(crate) log: String,
    pub(crate) seq: String,
    pub(crate) epoch: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Keys {
        let tag = format!("{{{prefix}}}");
        Keys {
            rules: format!("{tag}:rules"),
            expiry: format!("{tag}:expiry"),
            log: format!("{tag}:log"),
            seq: format!("{tag}:seq"),
            epoch: format!("{tag}:epoch"),
        }
    }

    /// The keys in the order the scripts take them.
    pub(crate) fn all(&self) -> [&str; 5] {
        [&self.rules, &self.expiry, &self.log, &self.seq, &self.epoch]
    }
}

/// Merges one rule (the later cut-off and expiry win), forgets up to 100 expired rules,
/// and appends the change to the stream with the next sequence. A delivery that changes
/// nothing, or a rule already expired, writes nothing.
///
/// ARGV: field, not_before, expires_at, now, stream max length, an epoch candidate.
/// Returns `{not_before, expires_at, seq}` as stored (`seq` 0 when nothing was written).
const WRITE: &str = r#"
redis.call('SET', KEYS[5], ARGV[6], 'NX')
local now = tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, f in ipairs(expired) do
  redis.call('HDEL', KEYS[1], f)
  redis.call('ZREM', KEYS[2], f)
end
local field = ARGV[1]
local nb = tonumber(ARGV[2])
local exp = tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[1], field)
if old then
  local sep = string.find(old, ':', 1, true)
  local onb = tonumber(string.sub(old, 1, sep - 1))
  local oexp = tonumber(string.sub(old, sep + 1))
  if onb >= nb and oexp >= exp then
    return {string.format('%d', onb), string.format('%d', oexp), 0}
  end
  nb = math.max(nb, onb)
  exp = math.max(exp, oexp)
end
if exp <= now then
  return {string.format('%d', nb), string.format('%d', exp), 0}
end
local value = string.format('%d:%d', nb, exp)
redis.call('HSET', KEYS[1], field, value)
redis.call('ZADD', KEYS[2], exp, field)
local seq = redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'f', field, 'r', value, 's', seq)
return {string.format('%d', nb), string.format('%d', exp), seq}
"#;

/// A consistent snapshot: the epoch (set to ARGV[1] when missing), the sequence, the id of
/// the stream's last entry (`0-0` when empty) and every rule.
const SNAPSHOT: &str = r#"
redis.call('SET', KEYS[5], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[5])
local seq = redis.call('GET', KEYS[4]) or '0'
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
return {epoch, seq, id, redis.call('HGETALL', KEYS[1])}
"#;

pub(crate) fn write_script() -> Script {
    Script::new(WRITE)
}

pub(crate) fn snapshot_script() -> Script {
    Script::new(SNAPSHOT)
}

/// `kind:issuer_length:issuer value`: unambiguous whatever the parts contain.
pub(crate) fn encode_key(key: &RuleKey) -> String {
    let iss = key.iss();
    format!("{}:{}:{iss}{}", key.kind().as_str(), iss.len(), key.value())
}

pub(crate) fn decode_key(field: &str) -> Option<RuleKey> {
    let (kind, rest) = field.split_once(':')?;
    let (len, rest) = rest.split_once(':')?;
    let len: usize = len.parse().ok()?;
    let (iss, value) = (rest.get(..len)?, rest.get(len..)?);
    let kind = RuleKind::parse(kind)?;
    RuleKey::new(kind, Some(iss).filter(|i| !i.is_empty()), value).ok()
}

#[cfg(test)]
pub(crate) fn encode_cutoff(cutoff: Cutoff) -> String {
    format!("{}:{}", cutoff.not_before, cutoff.expires_at)
}

pub(crate) fn decode_cutoff(value: &str) -> Option<Cutoff> {
    let (nb, exp) = value.split_once(':')?;
    Some(Cutoff { not_before: nb.parse().ok()?, expires_at: exp.parse().ok()? })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_round_trip() {
        for key in [
            RuleKey::subject("https://i:1/x", "a:b").unwrap(),
            RuleKey::jti("i", "5:x").unwrap(),
            RuleKey::all(None),
            RuleKey::all(Some("https://i")),
        ] {
            assert_eq!(decode_key(&encode_key(&key)), Some(key));
        }
        assert_eq!(decode_key("sub:99:x"), None);
        assert_eq!(decode_key("nope:1:xy"), None);
        let cutoff = Cutoff { not_before: -5, expires_at: 1_800_000_000 };
        assert_eq!(decode_cutoff(&encode_cutoff(cutoff)), Some(cutoff));
    }

    #[test]
    fn one_hash_tag() {
        let keys = Keys::new("tokengate:revocations");
        assert!(keys.all().iter().all(|k| k.starts_with("{tokengate:revocations}:")));
    }
}
