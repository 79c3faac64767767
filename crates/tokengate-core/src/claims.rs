//! Registered claims (RFC 7519 section 4.1), read eagerly in one strict pass.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};

use crate::error::{AuthError, ErrorKind};
use crate::json::{self, DateField, Field, KeySeed, Names, StrField, StrListField, Strict};

/// The registered claims of a token, parsed once.
///
/// `sub` is masked in `Debug` output; see [`crate::redact`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RegisteredClaims {
    /// `iss`: the issuer.
    pub iss: Option<String>,
    /// `sub`: the subject.
    pub sub: Option<String>,
    /// `aud`: the audiences (a single string is read as a one-element list).
    pub aud: Vec<String>,
    /// `exp`: expiry, seconds since the epoch.
    pub exp: Option<i64>,
    /// `nbf`: not before, seconds since the epoch.
    pub nbf: Option<i64>,
    /// `iat`: issued at, seconds since the epoch.
    pub iat: Option<i64>,
    /// `jti`: the token id.
    pub jti: Option<String>,
}

impl fmt::Debug for RegisteredClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredClaims")
            .field("iss", &self.iss)
            .field("sub", &self.sub.as_ref().map(|_| crate::redact::MASK))
            .field("aud", &self.aud)
            .field("exp", &self.exp)
            .field("nbf", &self.nbf)
            .field("iat", &self.iat)
            .field("jti", &self.jti)
            .finish()
    }
}

/// The claims as read: registered ones typed, the names of all others kept (borrowed
/// from the input) for `required` checks.
pub(crate) struct ParsedClaims<'de> {
    pub(crate) registered: RegisteredClaims,
    pub(crate) present_aud: bool,
    pub(crate) others: Names<'de>,
}

impl ParsedClaims<'_> {
    /// Whether a claim of this name is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        let r = &self.registered;
        match name {
            "iss" => r.iss.is_some(),
            "sub" => r.sub.is_some(),
            "aud" => self.present_aud,
            "exp" => r.exp.is_some(),
            "nbf" => r.nbf.is_some(),
            "iat" => r.iat.is_some(),
            "jti" => r.jti.is_some(),
            other => self.others.contains(other),
        }
    }
}

struct ClaimsVisitor;

fn set<T, E: de::Error>(slot: &mut Field<T>, value: Field<T>) -> Result<(), E> {
    if slot.is_present() {
        return Err(json::duplicate());
    }
    *slot = value;
    Ok(())
}

#[derive(Default)]
struct RawClaims<'de> {
    iss: Field<String>,
    sub: Field<String>,
    aud: Field<Vec<String>>,
    exp: Field<i64>,
    nbf: Field<i64>,
    iat: Field<i64>,
    jti: Field<String>,
    others: Names<'de>,
}

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = RawClaims<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims<'de>, A::Error> {
        let mut c = RawClaims::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match &*key {
                "iss" => set(&mut c.iss, map.next_value_seed(StrField)?)?,
                "sub" => set(&mut c.sub, map.next_value_seed(StrField)?)?,
                "aud" => set(&mut c.aud, map.next_value_seed(StrListField { single: true })?)?,
                "exp" => set(&mut c.exp, map.next_value_seed(DateField)?)?,
                "nbf" => set(&mut c.nbf, map.next_value_seed(DateField)?)?,
                "iat" => set(&mut c.iat, map.next_value_seed(DateField)?)?,
                "jti" => set(&mut c.jti, map.next_value_seed(StrField)?)?,
                _ => {
                    if !c.others.insert(key) {
                        return Err(json::duplicate());
                    }
                    map.next_value_seed(Strict { depth: 1 })?;
                }
            }
        }
        Ok(c)
    }
}

fn typed<T>(field: Field<T>, name: &'static str) -> Result<Option<T>, AuthError> {
    match field {
        Field::Absent => Ok(None),
        Field::Valid(v) => Ok(Some(v)),
        Field::Invalid => Err(AuthError::with_detail(ErrorKind::InvalidClaim, name)),
    }
}

/// Parses the decoded claims JSON strictly.
pub(crate) fn parse_claims(text: &str) -> Result<ParsedClaims<'_>, AuthError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = de::Deserializer::deserialize_map(&mut de, ClaimsVisitor)
        .and_then(|c| de.end().map(|()| c))
        .map_err(|e| json::classify(&e, "claims"))?;
    let present_aud = raw.aud.is_present();
    Ok(ParsedClaims {
        registered: RegisteredClaims {
            iss: typed(raw.iss, "iss is not a string")?,
            sub: typed(raw.sub, "sub is not a string")?,
            aud: typed(raw.aud, "aud is not a string or array of strings")?.unwrap_or_default(),
            exp: typed(raw.exp, "exp is not a valid NumericDate")?,
            nbf: typed(raw.nbf, "nbf is not a valid NumericDate")?,
            iat: typed(raw.iat, "iat is not a valid NumericDate")?,
            jti: typed(raw.jti, "jti is not a string")?,
        },
        present_aud,
        others: raw.others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_registered_claims() {
        let c = parse_claims(r#"{"iss":"i","sub":"s","aud":"a","exp":10,"nbf":1.5,"iat":2,"jti":"j","x":{"y":[1]}}"#)
            .map_err(|e| e.kind());
        let c = match c {
            Ok(c) => c,
            Err(k) => panic!("{k:?}"),
        };
        let want = RegisteredClaims {
            iss: Some("i".into()),
            sub: Some("s".into()),
            aud: vec!["a".into()],
            exp: Some(10),
            // A fractional NumericDate is read down to the second.
            nbf: Some(1),
            iat: Some(2),
            jti: Some("j".into()),
        };
        assert_eq!(c.registered, want);
        assert_eq!(c.registered.sub.as_deref(), Some("s"));
        assert!(c.present_aud);
        assert!(c.has("x") && c.has("aud") && !c.has("y"));
        // An array `aud` keeps every audience in order; absent claims stay `None`.
        let c = match parse_claims(r#"{"aud":["a","b"]}"#) {
            Ok(c) => c,
            Err(e) => panic!("{:?}", e.kind()),
        };
        assert!(c.present_aud);
        let want = RegisteredClaims { aud: vec!["a".into(), "b".into()], ..RegisteredClaims::default() };
        assert_eq!(c.registered, want);
        let c = match parse_claims("{}") {
            Ok(c) => c,
            Err(e) => panic!("{:?}", e.kind()),
        };
        assert!(!c.present_aud);
        assert_eq!(c.registered, RegisteredClaims::default());
    }

    #[test]
    fn wrong_types_are_invalid_claims() {
        for bad in [r#"{"exp":"10"}"#, r#"{"exp":-1}"#, r#"{"exp":1e300}"#, r#"{"aud":[1]}"#, r#"{"iss":{}}"#] {
            assert_eq!(parse_claims(bad).err().map(|e| e.kind()), Some(ErrorKind::InvalidClaim), "{bad}");
        }
        for dup in [r#"{"exp":1,"exp":2}"#, r#"{"x":1,"x":2}"#] {
            assert_eq!(parse_claims(dup).err().map(|e| e.kind()), Some(ErrorKind::DuplicateMember), "{dup}");
        }
        assert_eq!(parse_claims("[1]").err().map(|e| e.kind()), Some(ErrorKind::InvalidJson));
    }
}
