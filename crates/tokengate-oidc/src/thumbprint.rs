//! RFC 7638 JWK thumbprints (SHA-256).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::OidcError;

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded: the hash of the
/// JSON object of its required members only (`RSA`: `e`, `kty`, `n`; `EC`: `crv`, `kty`,
/// `x`, `y`; `OKP`: `crv`, `kty`, `x`), in lexicographic order, without whitespace.
///
/// ```
/// // The example of RFC 7638 section 3.1.
/// let jwk = serde_json::json!({
///     "kty": "RSA",
///     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
///     "e": "AQAB",
///     "alg": "RS256",
///     "kid": "2011-04-29"
/// });
/// assert_eq!(tokengate_oidc::jwk_thumbprint(&jwk)?, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
/// # Ok::<(), tokengate_oidc::OidcError>(())
/// ```
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, OidcError> {
    let kty = member(jwk, "kty")?;
    let names: &[&str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        other => return Err(OidcError::InvalidSubJwk(format!("kty {other:?} has no public-key thumbprint"))),
    };
    let mut required = BTreeMap::new();
    for name in names {
        required.insert(*name, member(jwk, name)?);
    }
    let canonical = serde_json::to_string(&required).map_err(|e| OidcError::InvalidSubJwk(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

fn member<'a>(jwk: &'a Value, name: &str) -> Result<&'a str, OidcError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| OidcError::InvalidSubJwk(format!("member {name:?} is missing or not a string")))
}
