//! Redaction: how tokens appear in logs. Never the signature; sensitive claims masked.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What a masked value is shown as.
pub const MASK: &str = "<redacted>";

/// Claims whose values are masked by default: personal data and secrets.
pub const SENSITIVE_CLAIMS: &[&str] = &[
    "sub",
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "address",
    "birthdate",
    "upn",
    "unique_name",
    "oid",
    "nonce",
    "at_hash",
    "c_hash",
    "sid",
    "client_secret",
    "password",
];

/// Displays a compact token as its decoded header and claims, with sensitive claims
/// masked and the signature left out. Anything that cannot be decoded shows as a
/// placeholder, never as the raw text.
///
/// ```
/// use tokengate_core::RedactedToken;
/// // {"alg":"HS256"} . {"sub":"alice","scope":"read"} . signature
/// let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInNjb3BlIjoicmVhZCJ9.c2lnbmF0dXJl";
/// let shown = RedactedToken::new(token).to_string();
/// assert!(shown.contains("\"scope\":\"read\""));
/// assert!(!shown.contains("alice"));
/// assert!(!shown.contains("c2lnbmF0dXJl"));
/// ```
#[derive(Clone, Copy)]
pub struct RedactedToken<'a> {
    token: &'a str,
}

impl<'a> RedactedToken<'a> {
    /// Wraps a token for display.
    pub fn new(token: &'a str) -> Self {
        RedactedToken { token }
    }
}

fn decode_object(segment: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    if segment.len() > 16 * 1024 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    crate::json::check_strict(&bytes).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Masks sensitive members of a claims object in place.
///
/// Nested objects are masked too (an `act` claim's `sub`, a `user` object's `email`).
pub(crate) fn mask_claims(claims: &mut serde_json::Map<String, serde_json::Value>) {
    for (name, value) in claims.iter_mut() {
        if SENSITIVE_CLAIMS.contains(&name.as_str()) {
            *value = serde_json::Value::String(MASK.to_owned());
        } else {
            mask_value(value);
        }
    }
}

fn mask_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => mask_claims(map),
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_value),
        _ => {}
    }
}

impl fmt::Display for RedactedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = self.token.split('.');
        let header = parts.next().and_then(decode_object);
        let claims = parts.next().and_then(decode_object).map(|mut c| {
            mask_claims(&mut c);
            c
        });
        let show = |v: Option<serde_json::Map<String, serde_json::Value>>| match v {
            Some(map) => serde_json::Value::Object(map).to_string(),
            None => "<undecodable>".to_owned(),
        };
        write!(f, "{}.{}.<signature>", show(header), show(claims))
    }
}

impl fmt::Debug for RedactedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
