//! A revocation rule: (kind, issuer-scoped key) -> cut-off and expiry.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// The longest issuer or value a rule accepts, in bytes.
pub const MAX_PART_LEN: usize = 1024;

/// What a rule matches on.
///
/// ```
/// use tokengate_revocation::RuleKind;
/// assert_eq!(RuleKind::parse("sid"), Some(RuleKind::Sid));
/// assert_eq!(RuleKind::Sid.as_str(), "sid");
/// assert_eq!(RuleKind::parse("everyone"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// One token, by its `jti`: revoked whatever its issue time.
    Jti,
    /// Every token of a subject (`iss`, `sub`) issued at or before the cut-off.
    Sub,
    /// Every token of a session (`iss`, `sid`) issued at or before the cut-off.
    Sid,
    /// Every token verified by a key (`iss`, `kid`) issued at or before the cut-off.
    Kid,
    /// Every token of a tenant (`iss`, tenant claim) issued at or before the cut-off.
    Tenant,
    /// Every token of an issuer, or of every issuer when the rule names none, issued at or
    /// before the cut-off.
    All,
}

impl RuleKind {
    /// Every kind, in a fixed order (the index of a kind in this list is stable).
    pub const ALL: [RuleKind; 6] =
        [RuleKind::Jti, RuleKind::Sub, RuleKind::Sid, RuleKind::Kid, RuleKind::Tenant, RuleKind::All];

    /// The name used in JSON and in Redis.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Jti => "jti",
            RuleKind::Sub => "sub",
            RuleKind::Sid => "sid",
            RuleKind::Kid => "kid",
            RuleKind::Tenant => "tenant",
            RuleKind::All => "all",
        }
    }

    /// The kind of this name.
    pub fn parse(name: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a rule cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// Every kind but `all` needs the issuer its value belongs to.
    #[error("a {0} rule needs an issuer (iss)")]
    MissingIssuer(RuleKind),
    /// Every kind but `all` needs a non-empty value.
    #[error("a {0} rule needs a value")]
    MissingValue(RuleKind),
    /// An `all` rule has no value (it matches every token of its issuer, or of every issuer).
    #[error("an all rule takes no value")]
    UnexpectedValue,
    /// The issuer or the value is longer than [`MAX_PART_LEN`] bytes.
    #[error("the issuer or value is longer than {MAX_PART_LEN} bytes")]
    TooLong,
    /// The kind name is not one of `jti`, `sub`, `sid`, `kid`, `tenant`, `all`.
    #[error("unknown rule kind (expected jti, sub, sid, kid, tenant or all)")]
    UnknownKind,
}

/// What a rule matches: a kind, the issuer, and the value (a `jti`, a subject, ...).
///
/// Stored in one allocation; compared and hashed by its parts.
///
/// ```
/// use tokengate_revocation::{RuleKey, RuleKind};
/// let key = RuleKey::new(RuleKind::Sub, Some("https://issuer.example"), "alice")?;
/// assert_eq!(key.kind(), RuleKind::Sub);
/// assert_eq!(key.issuer(), Some("https://issuer.example"));
/// assert_eq!(key.value(), "alice");
/// assert!(RuleKey::new(RuleKind::Sub, None, "alice").is_err());
/// assert_eq!(RuleKey::all(None).issuer(), None);
/// # Ok::<(), tokengate_revocation::RuleError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RuleKey {
    kind: RuleKind,
    /// `iss` followed by the value.
    text: Box<str>,
    /// Where the value starts in `text`.
    split: u32,
}

impl RuleKey {
    /// A key of `kind`; `iss` is required except for [`RuleKind::All`], whose value must be
    /// empty.
    pub fn new(kind: RuleKind, iss: Option<&str>, value: &str) -> Result<RuleKey, RuleError> {
        let iss = iss.unwrap_or_default();
        if iss.len() > MAX_PART_LEN || value.len() > MAX_PART_LEN {
            return Err(RuleError::TooLong);
        }
        match kind {
            RuleKind::All if !value.is_empty() => return Err(RuleError::UnexpectedValue),
            RuleKind::All => {}
            _ if iss.is_empty() => return Err(RuleError::MissingIssuer(kind)),
            _ if value.is_empty() => return Err(RuleError::MissingValue(kind)),
            _ => {}
        }
        Ok(RuleKey::unchecked(kind, iss, value))
    }

    pub(crate) fn unchecked(kind: RuleKind, iss: &str, value: &str) -> RuleKey {
        let mut text = String::with_capacity(iss.len() + value.len());
        text.push_str(iss);
        text.push_str(value);
        // Both parts are at most MAX_PART_LEN long.
        let split = u32::try_from(iss.len()).unwrap_or(u32::MAX);
        RuleKey { kind, text: text.into_boxed_str(), split }
    }

    /// One token of `iss`, by its `jti`.
    pub fn jti(iss: &str, jti: &str) -> Result<RuleKey, RuleError> {
        RuleKey::new(RuleKind::Jti, Some(iss), jti)
    }

    /// Every token of subject `sub` of `iss`.
    pub fn subject(iss: &str, sub: &str) -> Result<RuleKey, RuleError> {
        RuleKey::new(RuleKind::Sub, Some(iss), sub)
    }

    /// Every token of session `sid` of `iss`.
    pub fn session(iss: &str, sid: &str) -> Result<RuleKey, RuleError> {
        RuleKey::new(RuleKind::Sid, Some(iss), sid)
    }

    /// Every token of `iss` verified by the key `kid`.
    pub fn kid(iss: &str, kid: &str) -> Result<RuleKey, RuleError> {
        RuleKey::new(RuleKind::Kid, Some(iss), kid)
    }

    /// Every token of `iss` whose tenant claim is `tenant`.
    pub fn tenant(iss: &str, tenant: &str) -> Result<RuleKey, RuleError> {
        RuleKey::new(RuleKind::Tenant, Some(iss), tenant)
    }

    /// Every token of `iss`, or of every issuer with `None`.
    pub fn all(iss: Option<&str>) -> RuleKey {
        RuleKey::unchecked(RuleKind::All, iss.filter(|i| i.len() <= MAX_PART_LEN).unwrap_or_default(), "")
    }

    /// The kind.
    pub fn kind(&self) -> RuleKind {
        self.kind
    }

    /// The issuer (`None` for an `all` rule over every issuer).
    pub fn issuer(&self) -> Option<&str> {
        Some(self.iss()).filter(|i| !i.is_empty())
    }

    pub(crate) fn iss(&self) -> &str {
        self.text.get(..self.split as usize).unwrap_or_default()
    }

    /// The value (empty for `all`).
    pub fn value(&self) -> &str {
        self.text.get(self.split as usize..).unwrap_or_default()
    }

    pub(crate) fn as_ref(&self) -> KeyRef<'_> {
        KeyRef { kind: self.kind, iss: self.iss(), value: self.value() }
    }

    /// The heap bytes this key holds.
    pub(crate) fn heap_len(&self) -> usize {
        self.text.len()
    }
}

impl Hash for RuleKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_ref().hash(state);
    }
}

impl fmt::Debug for RuleKey {
    // Subjects, sessions and token ids are personal data: the value is not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleKey")
            .field("kind", &self.kind)
            .field("iss", &self.iss())
            .field("value_len", &self.value().len())
            .finish()
    }
}

/// A borrowed key, to look a token up without allocating. Hashes like [`RuleKey`].
#[derive(Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    pub(crate) kind: RuleKind,
    pub(crate) iss: &'a str,
    pub(crate) value: &'a str,
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(self.kind as u8);
        state.write(self.iss.as_bytes());
        state.write_u8(0xff); // never in UTF-8: the boundary between the parts
        state.write(self.value.as_bytes());
    }
}

impl papaya::Equivalent<RuleKey> for KeyRef<'_> {
    fn equivalent(&self, key: &RuleKey) -> bool {
        self.kind == key.kind && self.iss == key.iss() && self.value == key.value()
    }
}

/// When a rule applies and until when it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cutoff {
    pub(crate) not_before: i64,
    pub(crate) expires_at: i64,
}

impl Cutoff {
    /// The merge of two deliveries of the same rule: the later of each, so duplicates
    /// and out-of-order deliveries are harmless.
    pub(crate) fn merge(self, other: Cutoff) -> Cutoff {
        Cutoff { not_before: self.not_before.max(other.not_before), expires_at: self.expires_at.max(other.expires_at) }
    }
}

/// A revocation rule: tokens matching [`Rule::key`] whose basis time (`iat`, or
/// `auth_time`) is at or before [`Rule::not_before`] are revoked (a `jti` rule revokes its
/// token whatever its time). The rule is kept until [`Rule::expires_at`], when every token
/// it could match has expired.
///
/// Serialized as `{"kind", "iss", "value", "not_before", "expires_at"}` (`iss` absent for an
/// `all` rule over every issuer, `value` absent for `all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What the rule matches.
    pub key: RuleKey,
    /// The cut-off, seconds since the epoch: tokens issued at or before it are revoked.
    pub not_before: i64,
    /// When the rule may be forgotten, seconds since the epoch.
    pub expires_at: i64,
}

impl Rule {
    pub(crate) fn from_parts(key: RuleKey, cutoff: Cutoff) -> Rule {
        Rule { key, not_before: cutoff.not_before, expires_at: cutoff.expires_at }
    }

    pub(crate) fn cutoff(&self) -> Cutoff {
        Cutoff { not_before: self.not_before, expires_at: self.expires_at }
    }
}

#[derive(Serialize, Deserialize)]
struct RuleJson<'a> {
    kind: RuleKind,
    #[serde(default, skip_serializing_if = "Option::is_none", borrow)]
    iss: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "str::is_empty", borrow)]
    value: std::borrow::Cow<'a, str>,
    not_before: i64,
    expires_at: i64,
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RuleJson {
            kind: self.key.kind(),
            iss: self.key.issuer().map(Into::into),
            value: self.key.value().into(),
            not_before: self.not_before,
            expires_at: self.expires_at,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = RuleJson::deserialize(deserializer)?;
        let key = RuleKey::new(json.kind, json.iss.as_deref(), &json.value).map_err(serde::de::Error::custom)?;
        Ok(Rule { key, not_before: json.not_before, expires_at: json.expires_at })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parts_are_kept_apart() {
        // "ab" + "c" and "a" + "bc" are different keys.
        let a = RuleKey::subject("ab", "c").unwrap();
        let b = RuleKey::subject("a", "bc").unwrap();
        assert_ne!(a, b);
        assert!(!papaya::Equivalent::equivalent(&a.as_ref(), &b));
        assert!(papaya::Equivalent::equivalent(&a.as_ref(), &a));
    }

    #[test]
    fn validation() {
        assert_eq!(RuleKey::new(RuleKind::Jti, None, "x"), Err(RuleError::MissingIssuer(RuleKind::Jti)));
        assert_eq!(RuleKey::new(RuleKind::Sid, Some("i"), ""), Err(RuleError::MissingValue(RuleKind::Sid)));
        assert_eq!(RuleKey::new(RuleKind::All, Some("i"), "x"), Err(RuleError::UnexpectedValue));
        let long = "x".repeat(MAX_PART_LEN + 1);
        assert_eq!(RuleKey::new(RuleKind::Kid, Some("i"), &long), Err(RuleError::TooLong));
        assert!(RuleKey::new(RuleKind::All, None, "").is_ok());
    }

    #[test]
    fn merge_takes_the_later_of_each() {
        let a = Cutoff { not_before: 10, expires_at: 50 };
        let b = Cutoff { not_before: 20, expires_at: 40 };
        assert_eq!(a.merge(b), Cutoff { not_before: 20, expires_at: 50 });
        assert_eq!(b.merge(a), a.merge(b));
    }

    #[test]
    fn json_round_trip() {
        let rule = Rule { key: RuleKey::session("https://i", "s1").unwrap(), not_before: 5, expires_at: 9 };
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "sid", "iss": "https://i", "value": "s1", "not_before": 5, "expires_at": 9})
        );
        assert_eq!(serde_json::from_value::<Rule>(json).unwrap(), rule);
        let global = Rule { key: RuleKey::all(None), not_before: 1, expires_at: 2 };
        assert_eq!(
            serde_json::to_value(&global).unwrap(),
            serde_json::json!({"kind": "all", "not_before": 1, "expires_at": 2})
        );
    }

    #[test]
    fn debug_hides_the_value() {
        let key = RuleKey::subject("https://i", "alice@example.com").unwrap();
        assert!(!format!("{key:?}").contains("alice"));
    }
}
