//! The compact JWS form: splitting, base64url, and the protected header.

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, MapAccess, Visitor};

use crate::Algorithm;
use crate::error::{AuthError, ErrorKind};
use crate::json::{self, BoolField, CowStrField, Field, KeySeed, Names, StrField, StrListField, Strict};

/// The three segments of a compact JWS, still encoded.
#[derive(Clone, Copy)]
pub(crate) struct Segments<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header.payload`, the bytes that are signed.
    pub(crate) signing_input: &'a str,
}

/// Splits a compact JWS into exactly three segments; header and payload must be
/// non-empty. An empty signature is left for the signature check to refuse.
pub(crate) fn split(token: &str) -> Result<Segments<'_>, AuthError> {
    let malformed = || AuthError::with_detail(ErrorKind::Malformed, "a JWS has exactly three segments");
    // The first and last dots bound the payload, which must hold no other dot.
    let (Some(first), Some(second)) = (token.find('.'), token.rfind('.')) else {
        return Err(malformed());
    };
    if first == second || has_dot(token.as_bytes().get(first + 1..second).unwrap_or_default()) {
        return Err(malformed());
    }
    let header = token.get(..first).unwrap_or_default();
    let payload = token.get(first + 1..second).unwrap_or_default();
    let signature = token.get(second + 1..).unwrap_or_default();
    let signing_input = token.get(..second).unwrap_or_default();
    if header.is_empty() || payload.is_empty() {
        return Err(AuthError::with_detail(ErrorKind::Malformed, "empty segment"));
    }
    Ok(Segments { header, payload, signature, signing_input })
}

/// Whether `bytes` holds a `.`; in 16-byte blocks, which the compiler turns into vector
/// compares (several times faster than a byte loop or `memchr` on payload-sized input).
fn has_dot(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        if block.iter().fold(0u8, |acc, &b| acc | u8::from(b == b'.')) != 0 {
            return true;
        }
    }
    blocks.remainder().contains(&b'.')
}

/// Decodes canonical unpadded base64url; anything else is `InvalidEncoding`.
pub(crate) fn b64(segment: &str, what: &'static str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| AuthError::with_detail(ErrorKind::InvalidEncoding, what))
}

/// Decodes a segment exactly as [`b64`] does (same acceptance, same errors) and hands
/// the bytes to `f`: from a stack buffer when they fit, so that headers and signatures
/// cost no allocation on the request path, else from the heap.
pub(crate) fn with_b64<R>(
    segment: &str,
    what: &'static str,
    f: impl FnOnce(&[u8]) -> Result<R, AuthError>,
) -> Result<R, AuthError> {
    let estimate = base64::decoded_len_estimate(segment.len());
    if estimate <= 128 {
        let mut buf = [0u8; 128];
        f(decode_into(segment, &mut buf, what)?)
    } else if estimate <= 1024 {
        // Up to an RSA-8192 signature.
        let mut buf = [0u8; 1024];
        f(decode_into(segment, &mut buf, what)?)
    } else {
        f(&b64(segment, what)?)
    }
}

fn decode_into<'b>(segment: &str, buf: &'b mut [u8], what: &'static str) -> Result<&'b [u8], AuthError> {
    match URL_SAFE_NO_PAD.decode_slice(segment, buf) {
        Ok(len) => Ok(buf.get(..len).unwrap_or_default()),
        Err(_) => Err(AuthError::with_detail(ErrorKind::InvalidEncoding, what)),
    }
}

/// The parsed protected header of a verified token.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
}

impl Header {
    /// The signing algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }
    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
    /// The media type of the token (`typ`), if any.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }
    /// The content type (`cty`), if any.
    pub fn cty(&self) -> Option<&str> {
        self.cty.as_deref()
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("typ", &self.typ)
            .field("cty", &self.cty)
            .finish()
    }
}

/// What the `alg` member names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AlgName {
    Known(Algorithm),
    None,
    Unknown,
}

/// Parses an `alg` value: exact names only; `none` in any letter case is flagged.
pub fn parse_algorithm(name: &str) -> Option<Algorithm> {
    crate::alg::by_name(name).map(|info| info.alg)
}

fn alg_name(name: &str) -> AlgName {
    match parse_algorithm(name) {
        Some(alg) => AlgName::Known(alg),
        None if name.trim().eq_ignore_ascii_case("none") => AlgName::None,
        None => AlgName::Unknown,
    }
}

/// The header as read, before any decision.
#[derive(Default)]
struct RawHeader<'de> {
    alg: Field<Cow<'de, str>>,
    kid: Field<String>,
    typ: Field<String>,
    cty: Field<String>,
    crit: Field<Vec<String>>,
    b64: Field<bool>,
    zip: bool,
    key_material: Option<&'static str>,
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = RawHeader<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeader<'de>, A::Error> {
        let mut h = RawHeader::default();
        let mut others = Names::default();
        fn set<T, E: de::Error>(slot: &mut Field<T>, value: Field<T>) -> Result<(), E> {
            if slot.is_present() {
                return Err(json::duplicate());
            }
            *slot = value;
            Ok(())
        }
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match &*key {
                "alg" => set(&mut h.alg, map.next_value_seed(CowStrField)?)?,
                "kid" => set(&mut h.kid, map.next_value_seed(StrField)?)?,
                "typ" => set(&mut h.typ, map.next_value_seed(StrField)?)?,
                "cty" => set(&mut h.cty, map.next_value_seed(StrField)?)?,
                "crit" => set(&mut h.crit, map.next_value_seed(StrListField { single: false })?)?,
                "b64" => set(&mut h.b64, map.next_value_seed(BoolField)?)?,
                name => {
                    match name {
                        "zip" => h.zip = true,
                        "jwk" => h.key_material = Some("jwk"),
                        "jku" => h.key_material = Some("jku"),
                        "x5u" => h.key_material = Some("x5u"),
                        "x5c" => h.key_material = Some("x5c"),
                        _ => {}
                    }
                    if !others.insert(key) {
                        return Err(json::duplicate());
                    }
                    map.next_value_seed(Strict { depth: 1 })?;
                }
            }
        }
        Ok(h)
    }
}

/// Header parameters that tokengate understands when they are listed in `crit`: none.
/// RFC 7515 4.1.11: a recipient must reject a token whose `crit` names an extension it
/// does not understand.
const UNDERSTOOD_CRITICAL: &[&str] = &[];

/// Parses and judges the decoded header: every refusal that needs no key happens here.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header, AuthError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(AuthError::with_detail(ErrorKind::InvalidEncoding, "header is not UTF-8"));
    };
    // Already valid UTF-8: the `str` reader borrows member names and skips re-checking.
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = de::Deserializer::deserialize_map(&mut de, HeaderVisitor)
        .and_then(|h| de.end().map(|()| h))
        .map_err(|e| json::classify(&e, "header"))?;
    let alg = match raw.alg {
        Field::Valid(name) => match alg_name(&name) {
            AlgName::Known(alg) => alg,
            AlgName::None => return Err(AuthError::new(ErrorKind::AlgNone)),
            AlgName::Unknown => {
                return Err(AuthError::with_detail(ErrorKind::AlgorithmNotAllowed, "unknown alg"));
            }
        },
        Field::Absent => return Err(AuthError::with_detail(ErrorKind::InvalidJson, "header has no alg")),
        Field::Invalid => return Err(AuthError::with_detail(ErrorKind::InvalidJson, "alg is not a string")),
    };
    match raw.b64 {
        Field::Absent | Field::Valid(true) => {}
        _ => return Err(AuthError::new(ErrorKind::UnencodedPayload)),
    }
    if raw.zip {
        return Err(AuthError::new(ErrorKind::CompressedPayload));
    }
    if let Some(member) = raw.key_material {
        return Err(AuthError::with_detail(ErrorKind::HeaderKeyMaterial, member));
    }
    match raw.crit {
        Field::Absent => {}
        Field::Valid(list) if !list.is_empty() => {
            if let Some(name) = list.iter().find(|n| !UNDERSTOOD_CRITICAL.contains(&n.as_str())) {
                let detail = if name == "b64" { "crit names b64" } else { "crit names an unknown extension" };
                return Err(AuthError::with_detail(ErrorKind::UnsupportedCritical, detail));
            }
        }
        _ => {
            return Err(AuthError::with_detail(
                ErrorKind::UnsupportedCritical,
                "crit is not a non-empty array of names",
            ));
        }
    }
    let text = |field: Field<String>, name: &'static str| match field {
        Field::Valid(s) => Ok(Some(s)),
        Field::Absent => Ok(None),
        Field::Invalid => Err(AuthError::with_detail(ErrorKind::InvalidJson, name)),
    };
    Ok(Header {
        alg,
        kid: text(raw.kid, "kid is not a string")?,
        typ: text(raw.typ, "typ is not a string")?,
        cty: text(raw.cty, "cty is not a string")?,
    })
}

/// Reads the header of a compact token without verifying anything: for logs, routing
/// and diagnostics only. Never decide anything on it.
pub fn peek_header(token: &str) -> Result<Header, AuthError> {
    let segments = split(token)?;
    parse_header(&b64(segments.header, "header")?)
}
