//! [`DpopVerifier`]: checks a DPoP proof (RFC 9449 section 4.3) against the request and
//! the access token it accompanies.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tokengate_core::{ASYMMETRIC_ALGORITHMS, Algorithm, Clock, Key, SystemClock, algorithm_name, parse_algorithm};

/// Why a DPoP request was refused: the RFC 9449 error code and a detail for logs (never
/// a token, a proof or a key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// `invalid_dpop_proof`: the proof is missing, malformed, or does not fit the request.
    #[error("invalid_dpop_proof: {0}")]
    InvalidProof(&'static str),
    /// `invalid_token`: the access token is not usable this way (a DPoP-bound token sent
    /// as a bearer token, or a proof made with another key than the one it is bound to).
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
}

impl DpopError {
    /// The RFC 9449 / RFC 6750 error code.
    pub fn code(&self) -> &'static str {
        match self {
            DpopError::InvalidProof(_) => "invalid_dpop_proof",
            DpopError::InvalidToken(_) => "invalid_token",
        }
    }

    /// The detail.
    pub fn detail(&self) -> &'static str {
        match self {
            DpopError::InvalidProof(d) | DpopError::InvalidToken(d) => d,
        }
    }
}

fn proof(detail: &'static str) -> DpopError {
    DpopError::InvalidProof(detail)
}

/// The request a proof must match.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The HTTP method (`htm`).
    pub method: &'a str,
    /// The request path, without query (`htu` is the verifier's origin plus this).
    pub path: &'a str,
    /// The access token sent with the `DPoP` scheme (`ath` is its SHA-256).
    pub access_token: &'a str,
    /// The token's `cnf.jkt`, when it is DPoP-bound.
    pub jkt: Option<&'a str>,
}

/// Checks DPoP proofs: `typ: dpop+jwt`; an asymmetric `alg` from the allowlist; the
/// embedded public `jwk` (a private key, or a symmetric one, is refused) verifies the
/// signature; `htm` and `htu` match the request (`htu` compared without query and
/// fragment, scheme and host case-insensitively, default ports dropped); `iat` within
/// the window; `jti` not seen before (a bounded in-memory replay cache, entries kept for
/// twice the window); `ath` is the SHA-256 of the access token; and the key's RFC 7638
/// thumbprint equals the token's `cnf.jkt`. Server-provided nonces are not used.
///
/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct DpopVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    origin: String,
    algorithms: Vec<Algorithm>,
    window: i64,
    replay: moka::sync::Cache<String, ()>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifier")
            .field("origin", &self.inner.origin)
            .field("algorithms", &self.inner.algorithms)
            .field("window", &self.inner.window)
            .finish_non_exhaustive()
    }
}

/// The default `iat` window: a proof may be this much older or newer than now.
pub const DEFAULT_IAT_WINDOW: Duration = Duration::from_secs(60);
/// The default number of `jti`s remembered.
pub const DEFAULT_REPLAY_CAPACITY: u64 = 100_000;

impl DpopVerifier {
    /// A verifier for requests to `origin` (`https://api.example`, no path), accepting
    /// every asymmetric algorithm, a 60 s `iat` window and 100 000 remembered `jti`s.
    pub fn new(origin: impl Into<String>) -> DpopVerifier {
        DpopVerifier::build(
            origin.into(),
            ASYMMETRIC_ALGORITHMS.to_vec(),
            DEFAULT_IAT_WINDOW,
            DEFAULT_REPLAY_CAPACITY,
            Arc::new(SystemClock),
        )
    }

    fn build(
        origin: String,
        algorithms: Vec<Algorithm>,
        window: Duration,
        capacity: u64,
        clock: Arc<dyn Clock>,
    ) -> DpopVerifier {
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        let ttl = Duration::from_secs(u64::try_from(window.saturating_mul(2)).unwrap_or(u64::MAX).max(1));
        let replay = moka::sync::Cache::builder().max_capacity(capacity).time_to_live(ttl).build();
        let origin = normalize(&origin).unwrap_or(origin).trim_end_matches('/').to_owned();
        DpopVerifier { inner: Arc::new(Inner { origin, algorithms, window, replay, clock }) }
    }

    fn rebuild(self, f: impl FnOnce(&mut (Vec<Algorithm>, Duration, u64, Arc<dyn Clock>))) -> DpopVerifier {
        let i = &self.inner;
        let mut parts = (
            i.algorithms.clone(),
            Duration::from_secs(u64::try_from(i.window).unwrap_or(0)),
            i.replay.policy().max_capacity().unwrap_or(DEFAULT_REPLAY_CAPACITY),
            Arc::clone(&i.clock),
        );
        f(&mut parts);
        DpopVerifier::build(i.origin.clone(), parts.0, parts.1, parts.2, parts.3)
    }

    /// Only these algorithms (symmetric ones are ignored: a proof needs a public key).
    pub fn algorithms(self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let algs: Vec<_> = algorithms.into_iter().filter(|a| ASYMMETRIC_ALGORITHMS.contains(a)).collect();
        self.rebuild(|p| p.0 = algs)
    }

    /// The `iat` window (default 60 s).
    pub fn iat_window(self, window: Duration) -> Self {
        self.rebuild(|p| p.1 = window)
    }

    /// How many `jti`s the replay cache remembers (default 100 000).
    pub fn replay_capacity(self, capacity: u64) -> Self {
        self.rebuild(|p| p.2 = capacity)
    }

    /// The clock (default: the system clock).
    pub fn clock(self, clock: impl Clock + 'static) -> Self {
        self.rebuild(|p| p.3 = Arc::new(clock))
    }

    /// The `algs` parameter of the `WWW-Authenticate: DPoP` challenge.
    pub fn algs(&self) -> String {
        self.inner.algorithms.iter().map(|a| algorithm_name(*a)).collect::<Vec<_>>().join(" ")
    }

    /// Checks `proof` (the `DPoP` header) for `request`.
    pub fn check(&self, proof_jwt: &str, request: &DpopRequest<'_>) -> Result<(), DpopError> {
        let inner = &*self.inner;
        if proof_jwt.len() > 8 * 1024 {
            return Err(proof("the proof is too large"));
        }
        let mut parts = proof_jwt.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(proof("not a compact JWS"));
        };
        let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| proof("a segment is not base64url"));
        let header: ProofHeader =
            serde_json::from_slice(&b64(h)?).map_err(|_| proof("the header is not a DPoP header"))?;
        if !header.typ.eq_ignore_ascii_case("dpop+jwt") {
            return Err(proof("typ is not dpop+jwt"));
        }
        let alg =
            parse_algorithm(&header.alg).filter(|a| inner.algorithms.contains(a)).ok_or(proof("alg not allowed"))?;
        let serde_json::Value::Object(mut jwk) = header.jwk else { return Err(proof("jwk is not an object")) };
        if jwk.keys().any(|k| matches!(k.as_str(), "d" | "p" | "q" | "dp" | "dq" | "qi" | "oth" | "k")) {
            return Err(proof("the jwk holds private or symmetric key material"));
        }
        let thumbprint = jwk_thumbprint(&jwk).ok_or(proof("the jwk is not a public key"))?;
        jwk.entry("alg").or_insert_with(|| algorithm_name(alg).into());
        let key = Key::from_jwk_value(serde_json::Value::Object(jwk))
            .map_err(|_| proof("the jwk is not a usable public key"))?;
        if key.algorithm() != alg {
            return Err(proof("alg does not fit the jwk"));
        }
        let signing_input = proof_jwt.get(..h.len() + 1 + c.len()).unwrap_or_default();
        key.verify(signing_input.as_bytes(), &b64(s)?).map_err(|_| proof("the proof's signature is invalid"))?;
        let claims: ProofClaims =
            serde_json::from_slice(&b64(c)?).map_err(|_| proof("the claims are not DPoP claims"))?;
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(proof("jti is empty or too long"));
        }
        if claims.htm != request.method {
            return Err(proof("htm is not the request method"));
        }
        let htu = normalize(&claims.htu).ok_or(proof("htu is not an http(s) URL"))?;
        if htu.strip_prefix(inner.origin.as_str()) != Some(request.path) {
            return Err(proof("htu is not the request URL"));
        }
        let now = inner.clock.now();
        if (now - claims.iat).abs() > inner.window {
            return Err(proof("iat is outside the accepted window"));
        }
        let ath = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, request.access_token.as_bytes()));
        if claims.ath.as_deref() != Some(ath.as_str()) {
            return Err(proof("ath is not the hash of the access token"));
        }
        match request.jkt {
            Some(jkt) if jkt == thumbprint => {}
            Some(_) => return Err(DpopError::InvalidToken("the proof's key is not the one the token is bound to")),
            None => return Err(DpopError::InvalidToken("the DPoP scheme with a token that is not DPoP-bound")),
        }
        // Last, so that refused proofs do not fill the cache.
        if !inner.replay.entry(format!("{}|{}", claims.jti, htu)).or_insert(()).is_fresh() {
            return Err(proof("the proof was already used (jti replayed)"));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct ProofHeader {
    typ: String,
    alg: String,
    jwk: serde_json::Value,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: Option<String>,
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 of its required members in
/// lexicographic order, no whitespace.
pub fn jwk_thumbprint(jwk: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
    let canonical = match member("kty")? {
        "EC" => serde_json::json!({"crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")?}),
        "OKP" => serde_json::json!({"crv": member("crv")?, "kty": "OKP", "x": member("x")?}),
        "RSA" => serde_json::json!({"e": member("e")?, "kty": "RSA", "n": member("n")?}),
        _ => return None,
    };
    // serde_json's map is ordered by key: the object serializes in lexicographic order.
    Some(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.to_string().as_bytes())))
}

/// `scheme://host[:port]/path`, lower-cased scheme and host, default port dropped, query
/// and fragment removed; `None` for anything but http(s).
fn normalize(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}{path}"))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn htu_normalization() {
        assert_eq!(normalize("HTTPS://API.Example:443/a/b?x=1#f").as_deref(), Some("https://api.example/a/b"));
        assert_eq!(normalize("http://h:8080").as_deref(), Some("http://h:8080/"));
        assert_eq!(normalize("ftp://h/"), None);
        assert_eq!(normalize("https://user@h/"), None);
    }
}
