//! Strict JSON reading for untrusted header and claims: no duplicate member names at any
//! level, nesting bounded, in a single pass with no intermediate tree.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{AuthError, ErrorKind};

/// How deep objects and arrays may nest in a header or claims set (the top level is 1).
pub const MAX_DEPTH: usize = 16;

const DUPLICATE: &str = "tokengate: duplicate member";
const TOO_DEEP: &str = "tokengate: nesting too deep";

pub(crate) fn duplicate<E: de::Error>() -> E {
    E::custom(DUPLICATE)
}

/// Maps a serde_json error from the strict readers to the matching kind.
pub(crate) fn classify(err: &serde_json::Error, what: &'static str) -> AuthError {
    let msg = err.to_string();
    if msg.starts_with(DUPLICATE) {
        AuthError::with_detail(ErrorKind::DuplicateMember, what)
    } else if msg.starts_with(TOO_DEEP) {
        AuthError::with_detail(ErrorKind::NestingTooDeep, what)
    } else {
        AuthError::with_detail(ErrorKind::InvalidJson, what)
    }
}

/// The member names seen in one JSON object, for duplicate detection in document order.
///
/// A short list is scanned linearly (the common case: a handful of claims, no hashing);
/// past [`Names::LINEAR`] names it moves to a `HashSet` with std's randomly keyed SipHash,
/// so that a token packed with thousands of distinct names (parsed before its signature
/// is checked) costs linear time, not quadratic.
#[derive(Default)]
pub(crate) struct Names<'de> {
    list: Vec<Cow<'de, str>>,
    set: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> Names<'de> {
    const LINEAR: usize = 16;

    /// Adds `name`; `false` when it was already present.
    pub(crate) fn insert(&mut self, name: Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert(name);
        }
        if self.list.contains(&name) {
            return false;
        }
        if self.list.len() < Self::LINEAR {
            self.list.push(name);
        } else {
            let mut set = HashSet::with_capacity(8 * Self::LINEAR);
            set.extend(self.list.drain(..));
            set.insert(name);
            self.set = Some(set);
        }
        true
    }

    /// Whether `name` was seen.
    pub(crate) fn contains(&self, name: &str) -> bool {
        match &self.set {
            Some(set) => set.contains(name),
            None => self.list.iter().any(|n| n == name),
        }
    }
}

/// A member name, borrowed from the input when it has no escapes.
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// Consumes any value, checking duplicates and depth; `depth` is the depth of the
/// container this value sits in.
#[derive(Clone, Copy)]
pub(crate) struct Strict {
    pub(crate) depth: usize,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Drains a map at `depth` (its own depth), checking member names.
pub(crate) fn drain_map<'de, A: MapAccess<'de>>(mut map: A, depth: usize) -> Result<(), A::Error> {
    if depth > MAX_DEPTH {
        return Err(de::Error::custom(TOO_DEEP));
    }
    let mut seen = Names::default();
    while let Some(key) = map.next_key_seed(KeySeed)? {
        if !seen.insert(key) {
            return Err(duplicate());
        }
        map.next_value_seed(Strict { depth })?;
    }
    Ok(())
}

/// Drains a sequence at `depth` (its own depth).
pub(crate) fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A, depth: usize) -> Result<(), A::Error> {
    if depth > MAX_DEPTH {
        return Err(de::Error::custom(TOO_DEEP));
    }
    while seq.next_element_seed(Strict { depth })?.is_some() {}
    Ok(())
}

/// One `visit_*` method for a JSON type the reader did not expect: the value is consumed
/// (maps and arrays still drained and checked, at depth `$depth`) and `$ret` answered.
macro_rules! otherwise {
    (bool => $ret:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
    (i64 => $ret:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
    (u64 => $ret:expr) => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
    (f64 => $ret:expr) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
    (str => $ret:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
    (unit => $ret:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
    (map $depth:literal => $ret:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map, $depth).map(|()| $ret)
        }
    };
    (seq $depth:literal => $ret:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq, $depth).map(|()| $ret)
        }
    };
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    otherwise!(bool => ());
    otherwise!(i64 => ());
    otherwise!(u64 => ());
    otherwise!(f64 => ());
    otherwise!(str => ());
    otherwise!(unit => ());
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        drain_map(map, self.depth + 1)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        drain_seq(seq, self.depth + 1)
    }
}

/// A member value that is read as `T` when it has the expected JSON type, and noted as
/// invalid (but still consumed and checked) when it does not.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Field<T> {
    #[default]
    Absent,
    Valid(T),
    Invalid,
}

impl<T> Field<T> {
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }
}

/// Reads a string member.
pub(crate) struct StrField;

impl<'de> Visitor<'de> for StrField {
    type Value = Field<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Valid(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Valid(v))
    }
    otherwise!(bool => Field::Invalid);
    otherwise!(i64 => Field::Invalid);
    otherwise!(u64 => Field::Invalid);
    otherwise!(f64 => Field::Invalid);
    otherwise!(unit => Field::Invalid);
    otherwise!(map 2 => Field::Invalid);
    otherwise!(seq 2 => Field::Invalid);
}

/// Reads a string member, borrowed from the input when it has no escapes.
pub(crate) struct CowStrField;

impl<'de> Visitor<'de> for CowStrField {
    type Value = Field<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Valid(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Valid(Cow::Owned(v.to_owned())))
    }
    otherwise!(bool => Field::Invalid);
    otherwise!(i64 => Field::Invalid);
    otherwise!(u64 => Field::Invalid);
    otherwise!(f64 => Field::Invalid);
    otherwise!(unit => Field::Invalid);
    otherwise!(map 2 => Field::Invalid);
    otherwise!(seq 2 => Field::Invalid);
}

/// Reads an array of strings (or a single string, when `single` allows it).
pub(crate) struct StrListField {
    pub(crate) single: bool,
}

struct StrListElem;

impl<'de> Visitor<'de> for StrListElem {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    otherwise!(bool => None);
    otherwise!(i64 => None);
    otherwise!(u64 => None);
    otherwise!(f64 => None);
    otherwise!(unit => None);
    otherwise!(map 3 => None);
    otherwise!(seq 3 => None);
}

impl<'de> Visitor<'de> for StrListField {
    type Value = Field<Vec<String>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(if self.single { Field::Valid(vec![v.to_owned()]) } else { Field::Invalid })
    }
    otherwise!(bool => Field::Invalid);
    otherwise!(i64 => Field::Invalid);
    otherwise!(u64 => Field::Invalid);
    otherwise!(f64 => Field::Invalid);
    otherwise!(unit => Field::Invalid);
    otherwise!(map 2 => Field::Invalid);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        let mut ok = true;
        while let Some(item) = seq.next_element_seed(StrListElem)? {
            match item {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        Ok(if ok { Field::Valid(out) } else { Field::Invalid })
    }
}

/// Reads a NumericDate (RFC 7519 section 2): a non-negative number of seconds, possibly
/// fractional (truncated), no later than the year 9999.
pub(crate) struct DateField;

/// The largest accepted NumericDate: 9999-12-31T23:59:59Z.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

impl<'de> Visitor<'de> for DateField {
    type Value = Field<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NumericDate")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(if (0..=MAX_NUMERIC_DATE).contains(&v) { Field::Valid(v) } else { Field::Invalid })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(match i64::try_from(v) {
            Ok(v) if v <= MAX_NUMERIC_DATE => Field::Valid(v),
            _ => Field::Invalid,
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        Ok(if v.is_finite() && v >= 0.0 && v <= MAX_NUMERIC_DATE as f64 {
            Field::Valid(v.trunc() as i64)
        } else {
            Field::Invalid
        })
    }
    otherwise!(str => Field::Invalid);
    otherwise!(bool => Field::Invalid);
    otherwise!(unit => Field::Invalid);
    otherwise!(map 2 => Field::Invalid);
    otherwise!(seq 2 => Field::Invalid);
}

/// Reads a boolean member.
pub(crate) struct BoolField;

impl<'de> Visitor<'de> for BoolField {
    type Value = Field<bool>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Field::Valid(v))
    }
    otherwise!(i64 => Field::Invalid);
    otherwise!(u64 => Field::Invalid);
    otherwise!(f64 => Field::Invalid);
    otherwise!(str => Field::Invalid);
    otherwise!(unit => Field::Invalid);
    otherwise!(map 2 => Field::Invalid);
    otherwise!(seq 2 => Field::Invalid);
}

/// `DeserializeSeed` for visitors that read any JSON value (`deserialize_any`).
macro_rules! seed_from_visitor {
    ($($visitor:ty),* $(,)?) => {$(
        impl<'de> DeserializeSeed<'de> for $visitor {
            type Value = <$visitor as Visitor<'de>>::Value;
            fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }
    )*};
}

seed_from_visitor!(StrField, CowStrField, StrListElem, StrListField, DateField, BoolField);

/// Describes a serde_json error without quoting the input (which may hold key material):
/// its category and position only.
pub(crate) fn describe_error(err: &serde_json::Error) -> String {
    let what = match err.classify() {
        serde_json::error::Category::Data => "unexpected structure or member type",
        serde_json::error::Category::Eof => "truncated JSON",
        _ => "not valid JSON",
    };
    format!("{what} (line {}, column {})", err.line(), err.column())
}

/// What [`check_strict`] found, in words for the operator reading a key-set error (not
/// the client-facing message of the error's kind, which speaks of access tokens).
pub(crate) fn strict_problem(error: &AuthError) -> &'static str {
    match error.kind() {
        ErrorKind::DuplicateMember => "duplicate member name",
        ErrorKind::NestingTooDeep => "nesting too deep",
        _ => "not valid JSON",
    }
}

/// Checks that `bytes` is one JSON value with no duplicate member names and bounded
/// nesting. Used for JSON that is not otherwise read member by member.
pub fn check_strict(bytes: &[u8]) -> Result<(), AuthError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Strict { depth: 0 }.deserialize(&mut de).and_then(|()| de.end()).map_err(|e| classify(&e, "json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_at_any_level_are_found() {
        assert_eq!(check_strict(br#"{"a":1,"a":2}"#).map_err(|e| e.kind()), Err(ErrorKind::DuplicateMember));
        assert_eq!(check_strict(br#"{"a":{"b":1,"b":2}}"#).map_err(|e| e.kind()), Err(ErrorKind::DuplicateMember));
        assert_eq!(
            check_strict(br#"{"a":[{"b":1,"\u0062":2}]}"#).map_err(|e| e.kind()),
            Err(ErrorKind::DuplicateMember)
        );
        assert!(check_strict(br#"{"a":{"a":1},"b":[1,2,{"a":1}]}"#).is_ok());
    }

    #[test]
    fn errors_never_quote_the_input() {
        let secret = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ";
        for bad in [format!(r#"{{"k": "{secret}"}}"#), format!(r#"{{"k": ["{secret}"#)] {
            let err = serde_json::from_str::<std::collections::HashMap<String, u32>>(&bad).unwrap_err();
            assert!(!describe_error(&err).contains(secret), "{}", describe_error(&err));
        }
    }

    #[test]
    fn depth_is_bounded() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(check_strict(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(check_strict(deep.as_bytes()).map_err(|e| e.kind()), Err(ErrorKind::NestingTooDeep));
        let very_deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(check_strict(very_deep.as_bytes()).is_err());
    }
}
