//! The claims a revocation check reads beyond the registered ones (`sid`, the tenant
//! claim, `auth_time`), picked out of the raw claims in one pass, only when a rule of
//! that kind exists.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// What the check needs from the raw claims.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Extra<'a> {
    pub(crate) sid: Option<Cow<'a, str>>,
    pub(crate) tenant: Option<Cow<'a, str>>,
    pub(crate) auth_time: Option<i64>,
}

impl<'a> Extra<'a> {
    /// Reads `sid`, `tenant_claim` and `auth_time` from `raw` (a JSON object). Members of
    /// another type than expected are ignored: no rule can name them.
    pub(crate) fn read(raw: &'a str, tenant_claim: &str) -> Extra<'a> {
        let mut de = serde_json::Deserializer::from_str(raw);
        ExtraSeed { tenant_claim }.deserialize(&mut de).unwrap_or_default()
    }
}

struct ExtraSeed<'n> {
    tenant_claim: &'n str,
}

impl<'de> DeserializeSeed<'de> for ExtraSeed<'_> {
    type Value = Extra<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ExtraSeed<'_> {
    type Value = Extra<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Extra::default();
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            if name == "sid" {
                out.sid = map.next_value::<Loose<'de>>()?.text();
            } else if name == self.tenant_claim {
                out.tenant = map.next_value::<Loose<'de>>()?.text();
            } else if name == "auth_time" {
                out.auth_time = map.next_value::<Loose<'de>>()?.int();
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// A string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A member's value when it is a string or an integer; anything else is skipped without
/// allocating.
enum Loose<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    Other,
}

impl<'a> Loose<'a> {
    fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Loose::Text(t) => Some(t),
            _ => None,
        }
    }

    fn int(self) -> Option<i64> {
        match self {
            Loose::Int(i) => Some(i),
            _ => None,
        }
    }
}

impl<'de> de::Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Loose::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Loose::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Loose::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v).map_or(Loose::Other, Loose::Int))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Loose::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose::Other)
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_members_it_needs() {
        let raw = r#"{"sub":"a","sid":"s-1","tid":"acme","auth_time":17,"nested":{"sid":"no"}}"#;
        let extra = Extra::read(raw, "tid");
        assert_eq!(extra.sid.as_deref(), Some("s-1"));
        assert_eq!(extra.tenant.as_deref(), Some("acme"));
        assert_eq!(extra.auth_time, Some(17));
    }

    #[test]
    fn wrong_types_are_ignored_and_escapes_decoded() {
        let raw = r#"{"sid":5,"tenant_id":"a\u0063me","auth_time":"soon"}"#;
        let extra = Extra::read(raw, "tenant_id");
        assert_eq!(extra.sid, None);
        assert_eq!(extra.tenant.as_deref(), Some("acme"));
        assert_eq!(extra.auth_time, None);
    }
}
