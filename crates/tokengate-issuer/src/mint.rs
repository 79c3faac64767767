//! [`TokenMinter`]: compact JWS tokens with `kid`, `typ` and the registered claims.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::IssuerError;
use crate::signer::SignerSet;

/// The default lifetime of a minted (access) token: 5 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// The claims a [`TokenMinter`] sets itself; extra claims may not use these names.
pub const RESERVED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// Mints compact JWS tokens for one issuer, signed by the active signer of a
/// [`SignerSet`]. Cheap to clone.
///
/// ```
/// use tokengate_core::{Algorithm, Key, Verifier};
/// use tokengate_issuer::{LocalSigner, Signer, SignerSet, TokenMinter};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let signer = LocalSigner::generate(Algorithm::ES256)?;
/// let jwk = serde_json::to_string(&signer.public_jwk()).unwrap();
/// let minter = TokenMinter::builder(SignerSet::new(signer), "https://issuer.example")
///     .audience("orders-api")
///     .build()?;
/// let token = minter.token().subject("alice").claim("scope", "orders:read")?.sign().await?;
///
/// let verifier = Verifier::builder(Key::from_jwk_json(&jwk).unwrap())
///     .issuer("https://issuer.example")
///     .audience("orders-api")
///     .algorithms([Algorithm::ES256])
///     .build()
///     .unwrap();
/// let verified = verifier.verify(&token).unwrap();
/// assert_eq!(verified.subject(), Some("alice"));
/// assert!(verified.has_scope("orders:read"));
/// # Ok::<(), tokengate_issuer::IssuerError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct TokenMinter {
    signers: SignerSet,
    issuer: String,
    audiences: Vec<String>,
    ttl: Duration,
    typ: Option<String>,
}

impl fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenMinter")
            .field("signers", &self.signers)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("ttl", &self.ttl)
            .field("typ", &self.typ)
            .finish()
    }
}

/// Configures a [`TokenMinter`]; see [`TokenMinter::builder`].
#[must_use]
#[derive(Debug)]
pub struct TokenMinterBuilder {
    signers: SignerSet,
    issuer: String,
    audiences: Vec<String>,
    ttl: Duration,
    typ: Option<String>,
}

impl TokenMinter {
    /// Starts a minter for `issuer` (the `iss` of every token) signing with `signers`.
    pub fn builder(signers: SignerSet, issuer: impl Into<String>) -> TokenMinterBuilder {
        TokenMinterBuilder { signers, issuer: issuer.into(), audiences: Vec::new(), ttl: DEFAULT_TTL, typ: None }
    }

    /// Starts one token with the minter's defaults.
    pub fn token(&self) -> TokenBuilder<'_> {
        TokenBuilder {
            minter: self,
            subject: None,
            audiences: None,
            ttl: self.ttl,
            issued_at: None,
            not_before: None,
            typ: self.typ.clone(),
            jti: None,
            extra: Map::new(),
        }
    }

    /// The `iss` of every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The default audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The default lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The signers; the JWKS endpoint publishes the same set.
    pub fn signers(&self) -> &SignerSet {
        &self.signers
    }
}

impl TokenMinterBuilder {
    /// Adds a default audience (`aud`); tokens may replace the list.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The default lifetime (`exp - iat`), 5 minutes unless set.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The header `typ` of every token, e.g. `at+jwt` for RFC 9068 access tokens.
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Finishes the minter. Errors when the issuer is empty or the lifetime is zero.
    pub fn build(self) -> Result<TokenMinter, IssuerError> {
        if self.issuer.is_empty() {
            return Err(IssuerError::Config("the issuer is empty".into()));
        }
        if self.ttl.is_zero() {
            return Err(IssuerError::Config("the token lifetime is zero".into()));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(IssuerError::Config("an audience is empty".into()));
        }
        Ok(TokenMinter {
            signers: self.signers,
            issuer: self.issuer,
            audiences: self.audiences,
            ttl: self.ttl,
            typ: self.typ,
        })
    }
}

/// One token being minted; see [`TokenMinter::token`]. Finish with
/// [`TokenBuilder::sign`].
#[must_use]
pub struct TokenBuilder<'m> {
    minter: &'m TokenMinter,
    subject: Option<String>,
    audiences: Option<Vec<String>>,
    ttl: Duration,
    issued_at: Option<i64>,
    not_before: Option<i64>,
    typ: Option<String>,
    jti: Option<String>,
    extra: Map<String, Value>,
}

impl fmt::Debug for TokenBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("audiences", &self.audiences)
            .field("ttl", &self.ttl)
            .field("typ", &self.typ)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn random_jti() -> Result<String, IssuerError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| IssuerError::Signing("no randomness for jti".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[derive(serde::Serialize)]
struct Header<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
    kid: &'a str,
}

impl TokenBuilder<'_> {
    /// The subject (`sub`).
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.subject = Some(sub.into());
        self
    }

    /// Replaces the audiences (`aud`) for this token.
    pub fn audiences<I: IntoIterator<Item = S>, S: Into<String>>(mut self, audiences: I) -> Self {
        self.audiences = Some(audiences.into_iter().map(Into::into).collect());
        self
    }

    /// The lifetime of this token (`exp = iat + ttl`).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets `iat` (seconds since the epoch) instead of the current time; `exp` and the
    /// default `nbf` follow it. For tests of expiry.
    pub fn issued_at(mut self, iat: i64) -> Self {
        self.issued_at = Some(iat);
        self
    }

    /// Sets `nbf` (default: equal to `iat`).
    pub fn not_before(mut self, nbf: i64) -> Self {
        self.not_before = Some(nbf);
        self
    }

    /// Sets the header `typ` for this token.
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Sets `jti` (default: 128 random bits, base64url).
    pub fn jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// Adds one extra claim. Errors with [`IssuerError::ReservedClaim`] for a name in
    /// [`RESERVED_CLAIMS`].
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Result<Self, IssuerError> {
        let name = name.into();
        if RESERVED_CLAIMS.contains(&name.as_str()) {
            return Err(IssuerError::ReservedClaim(name));
        }
        self.extra.insert(name, value.into());
        Ok(self)
    }

    /// Adds extra claims from a JSON object map; same rules as [`TokenBuilder::claim`].
    pub fn claims(mut self, claims: Map<String, Value>) -> Result<Self, IssuerError> {
        for (name, value) in claims {
            self = self.claim(name, value)?;
        }
        Ok(self)
    }

    /// The claims as they will be signed.
    fn claims_json(&self, now: i64) -> Result<Map<String, Value>, IssuerError> {
        let iat = self.issued_at.unwrap_or(now);
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        if ttl == 0 {
            return Err(IssuerError::InvalidRequest("the token lifetime is zero".into()));
        }
        let audiences = self.audiences.as_deref().unwrap_or(&self.minter.audiences);
        let mut claims = Map::new();
        claims.insert("iss".into(), self.minter.issuer.clone().into());
        if let Some(sub) = &self.subject {
            if sub.is_empty() {
                return Err(IssuerError::InvalidRequest("sub is empty".into()));
            }
            claims.insert("sub".into(), sub.clone().into());
        }
        match audiences {
            [] => {}
            [one] => {
                claims.insert("aud".into(), one.clone().into());
            }
            many => {
                claims.insert("aud".into(), many.to_vec().into());
            }
        }
        claims.insert("iat".into(), iat.into());
        claims.insert("nbf".into(), self.not_before.unwrap_or(iat).into());
        claims.insert("exp".into(), iat.saturating_add(ttl).into());
        let jti = match &self.jti {
            Some(jti) => jti.clone(),
            None => random_jti()?,
        };
        claims.insert("jti".into(), jti.into());
        for (name, value) in &self.extra {
            claims.insert(name.clone(), value.clone());
        }
        Ok(claims)
    }

    /// Signs the token with the active signer and returns its compact serialization.
    pub async fn sign(self) -> Result<String, IssuerError> {
        let now = self.minter.signers.now();
        let claims = self.claims_json(now)?;
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(i64::MAX);
        let signer = self.minter.signers.signer_for(now, exp)?;
        let header =
            Header { alg: tokengate_core::algorithm_name(signer.alg()), typ: self.typ.as_deref(), kid: signer.kid() };
        let json = |e: serde_json::Error| IssuerError::InvalidRequest(format!("claims do not serialize: {e}"));
        let header = serde_json::to_vec(&header).map_err(json)?;
        let claims = serde_json::to_vec(&claims).map_err(json)?;
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let signature = signer.sign(token.as_bytes()).await?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}
