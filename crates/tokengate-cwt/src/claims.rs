//! The CWT claims set (RFC 8392 section 3): a CBOR map read into the registered claims
//! and a JSON object under the JWT claim names, so policies and extractors that read
//! claims JSON work unchanged (the name table is in the crate docs).
//!
//! Other values: byte strings become base64url text, maps become objects (integer keys
//! as decimal strings), tags are dropped around their content. A map that repeats a key,
//! a float that is not finite, or nesting deeper than [`MAX_DEPTH`] is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coset::cbor::value::Value;
use serde_json::{Map, Number, Value as Json};
use tokengate_core::{AuthError, ErrorKind, MAX_DEPTH, MAX_NUMERIC_DATE, RegisteredClaims};

/// The claims as read from the payload.
pub(crate) struct Claims {
    pub(crate) registered: RegisteredClaims,
    pub(crate) json: Map<String, Json>,
}

impl Claims {
    pub(crate) fn has(&self, name: &str) -> bool {
        self.json.contains_key(name)
    }
}

fn invalid(detail: &'static str) -> AuthError {
    AuthError::with_detail(ErrorKind::InvalidClaim, detail)
}

/// The JSON name of a claim key.
fn name(key: &Value) -> Result<String, AuthError> {
    match key {
        Value::Integer(i) => {
            let n = i128::from(*i);
            Ok(match n {
                1 => "iss".into(),
                2 => "sub".into(),
                3 => "aud".into(),
                4 => "exp".into(),
                5 => "nbf".into(),
                6 => "iat".into(),
                7 => "jti".into(),
                8 => "cnf".into(),
                9 => "scope".into(),
                other => other.to_string(),
            })
        }
        Value::Text(t) => Ok(t.clone()),
        _ => Err(AuthError::with_detail(ErrorKind::InvalidJson, "a claim key is not an integer or text")),
    }
}

/// Reads the payload: a CBOR map of claims.
pub(crate) fn parse(payload: &[u8]) -> Result<Claims, AuthError> {
    use coset::CborSerializable;
    let value = Value::from_slice(payload)
        .map_err(|_| AuthError::with_detail(ErrorKind::InvalidJson, "the payload is not one CBOR item"))?;
    let Value::Map(entries) = value else {
        return Err(AuthError::with_detail(ErrorKind::InvalidJson, "the claims are not a CBOR map"));
    };
    let mut registered = RegisteredClaims::default();
    let mut json = Map::with_capacity(entries.len());
    for (key, value) in entries {
        let name = name(&key)?;
        match name.as_str() {
            "iss" => registered.iss = Some(text(&value, "iss is not text")?),
            "sub" => registered.sub = Some(text(&value, "sub is not text")?),
            "aud" => registered.aud = texts(&value, "aud is not text or an array of text")?,
            "exp" => registered.exp = Some(date(&value, "exp is not a valid NumericDate")?),
            "nbf" => registered.nbf = Some(date(&value, "nbf is not a valid NumericDate")?),
            "iat" => registered.iat = Some(date(&value, "iat is not a valid NumericDate")?),
            "jti" => match &value {
                Value::Bytes(b) => registered.jti = Some(URL_SAFE_NO_PAD.encode(b)),
                _ => return Err(invalid("cti is not a byte string")),
            },
            _ => {}
        }
        let converted = match name.as_str() {
            "exp" | "nbf" | "iat" => Json::from(date(&value, "not a NumericDate")?),
            _ => to_json(value, 1)?,
        };
        if json.insert(name, converted).is_some() {
            return Err(AuthError::with_detail(ErrorKind::DuplicateMember, "a claim appears twice"));
        }
    }
    Ok(Claims { registered, json })
}

fn text(value: &Value, detail: &'static str) -> Result<String, AuthError> {
    match value {
        Value::Text(t) => Ok(t.clone()),
        _ => Err(invalid(detail)),
    }
}

fn texts(value: &Value, detail: &'static str) -> Result<Vec<String>, AuthError> {
    match value {
        Value::Text(t) => Ok(vec![t.clone()]),
        Value::Array(items) => items.iter().map(|v| text(v, detail)).collect(),
        _ => Err(invalid(detail)),
    }
}

/// A NumericDate: a non-negative integer or finite float (truncated), untagged (RFC
/// 8392 section 2), at most [`MAX_NUMERIC_DATE`].
fn date(value: &Value, detail: &'static str) -> Result<i64, AuthError> {
    let secs = match value {
        Value::Integer(i) => i64::try_from(i128::from(*i)).map_err(|_| invalid(detail))?,
        Value::Float(f) if f.is_finite() && *f >= 0.0 && *f <= MAX_NUMERIC_DATE as f64 => f.trunc() as i64,
        _ => return Err(invalid(detail)),
    };
    if (0..=MAX_NUMERIC_DATE).contains(&secs) { Ok(secs) } else { Err(invalid(detail)) }
}

fn to_json(value: Value, depth: usize) -> Result<Json, AuthError> {
    if depth > MAX_DEPTH {
        return Err(AuthError::with_detail(ErrorKind::NestingTooDeep, "claims nest too deep"));
    }
    Ok(match value {
        Value::Integer(i) => {
            let n = i128::from(i);
            match (i64::try_from(n), u64::try_from(n)) {
                (Ok(v), _) => Json::from(v),
                (_, Ok(v)) => Json::from(v),
                _ => return Err(invalid("an integer claim is out of range")),
            }
        }
        Value::Float(f) => Json::Number(Number::from_f64(f).ok_or_else(|| invalid("a float claim is not finite"))?),
        Value::Text(t) => Json::String(t),
        Value::Bytes(b) => Json::String(URL_SAFE_NO_PAD.encode(b)),
        Value::Bool(b) => Json::Bool(b),
        Value::Null => Json::Null,
        Value::Tag(_, inner) => to_json(*inner, depth)?,
        Value::Array(items) => Json::Array(items.into_iter().map(|v| to_json(v, depth + 1)).collect::<Result<_, _>>()?),
        Value::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (key, value) in entries {
                let key = match key {
                    Value::Integer(i) => i128::from(i).to_string(),
                    Value::Text(t) => t,
                    _ => return Err(invalid("a map key is not an integer or text")),
                };
                if map.insert(key, to_json(value, depth + 1)?).is_some() {
                    return Err(AuthError::with_detail(ErrorKind::DuplicateMember, "a map repeats a key"));
                }
            }
            Json::Object(map)
        }
        _ => return Err(invalid("unsupported CBOR value")),
    })
}
