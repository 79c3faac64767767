//! [`CwtMinter`]: CBOR Web Tokens (RFC 8392) signed by the same [`Signer`]s as JWTs, in a
//! `COSE_Sign1` (ES256 or EdDSA) under the CWT tag: `61(18([...]))`. With the `axum`
//! feature, [`dev_cwt_router`] adds the dev issuer's `POST /dev/cwt`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coset::cbor::value::Value;
use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use tokengate_core::Algorithm;

use crate::error::IssuerError;
use crate::mint::{TokenMinter, now};
use crate::signer::SignerSet;

/// The CWT tag (RFC 8392 section 6) written around every minted `COSE_Sign1`.
pub const CWT_TAG: u64 = 61;

/// Mints CWTs with one issuer's signers: claims `iss` (1), `sub` (2), `aud` (3), `exp`
/// (4), `nbf` (5), `iat` (6), `cti` (7, 16 random bytes), `scope` (9) and any text-named
/// extra claims; the active signer's `kid` goes in the unprotected header as UTF-8 bytes
/// (what a verifier looks up as the JWK `kid`).
///
/// ```
/// use tokengate_core::Algorithm;
/// use tokengate_issuer::{CwtMinter, LocalSigner, SignerSet};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let minter = CwtMinter::new(SignerSet::new(LocalSigner::generate(Algorithm::ES256)?), "https://as.example")
///     .audience("telemetry");
/// let cwt: Vec<u8> = minter.cwt().subject("device-7").sign().await?;
/// assert_eq!(&cwt[..3], &[0xd8, 0x3d, 0xd2]); // 61(18(...))
/// # Ok::<(), tokengate_issuer::IssuerError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct CwtMinter {
    signers: SignerSet,
    issuer: String,
    audience: Option<String>,
    ttl: Duration,
}

/// One CWT being minted; see [`CwtMinter::cwt`].
#[must_use]
#[derive(Debug)]
pub struct CwtBuilder<'m> {
    minter: &'m CwtMinter,
    sub: Option<String>,
    scope: Option<String>,
    ttl: Duration,
    extra: Vec<(String, Value)>,
}

impl CwtMinter {
    /// A minter for `issuer` with a 5-minute lifetime and no audience.
    pub fn new(signers: SignerSet, issuer: impl Into<String>) -> CwtMinter {
        CwtMinter { signers, issuer: issuer.into(), audience: None, ttl: Duration::from_secs(300) }
    }

    /// A minter with the signers, issuer, first audience and lifetime of a JWT minter.
    pub fn from_token_minter(minter: &TokenMinter) -> CwtMinter {
        CwtMinter {
            signers: minter.signers().clone(),
            issuer: minter.issuer().to_owned(),
            audience: minter.audiences().first().cloned(),
            ttl: minter.ttl(),
        }
    }

    /// Sets the audience (`aud`, claim 3).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sets the default lifetime.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Starts a CWT.
    pub fn cwt(&self) -> CwtBuilder<'_> {
        CwtBuilder { minter: self, sub: None, scope: None, ttl: self.ttl, extra: Vec::new() }
    }
}

impl CwtBuilder<'_> {
    /// Sets `sub` (claim 2).
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// Sets `scope` (claim 9, RFC 9200), space-separated.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets the lifetime of this CWT.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Adds a claim under a text name; JSON values map to CBOR (numbers, strings,
    /// booleans, arrays, objects).
    pub fn claim(mut self, name: impl Into<String>, value: serde_json::Value) -> Result<Self, IssuerError> {
        let name = name.into();
        if crate::mint::RESERVED_CLAIMS.contains(&name.as_str()) || name == "scope" {
            return Err(IssuerError::ReservedClaim(name));
        }
        self.extra.push((name, json_to_cbor(value)?));
        Ok(self)
    }

    /// Signs: the tagged CBOR bytes, `61(18([protected, unprotected, payload, signature]))`.
    pub async fn sign(self) -> Result<Vec<u8>, IssuerError> {
        let signer = self.minter.signers.active().ok_or_else(|| IssuerError::Signing("no key may sign now".into()))?;
        let alg = match signer.alg() {
            Algorithm::ES256 => iana::Algorithm::ES256,
            Algorithm::EdDSA => iana::Algorithm::EdDSA,
            other => return Err(IssuerError::UnsupportedAlgorithm(tokengate_core::algorithm_name(other))),
        };
        let iat = now();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let mut cti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut cti).map_err(|_| IssuerError::Signing("no randomness for cti".into()))?;
        let mut claims = vec![(Value::from(1), Value::from(self.minter.issuer.clone()))];
        if let Some(sub) = self.sub {
            claims.push((Value::from(2), Value::from(sub)));
        }
        if let Some(aud) = &self.minter.audience {
            claims.push((Value::from(3), Value::from(aud.clone())));
        }
        claims.push((Value::from(4), Value::from(iat.saturating_add(ttl))));
        claims.push((Value::from(5), Value::from(iat)));
        claims.push((Value::from(6), Value::from(iat)));
        claims.push((Value::from(7), Value::Bytes(cti.to_vec())));
        if let Some(scope) = self.scope {
            claims.push((Value::from(9), Value::from(scope)));
        }
        claims.extend(self.extra.into_iter().map(|(k, v)| (Value::from(k), v)));
        let payload = Value::Map(claims).to_vec().map_err(|e| IssuerError::Signing(format!("CBOR: {e}")))?;
        let mut sign1 = CoseSign1Builder::new()
            .protected(HeaderBuilder::new().algorithm(alg).build())
            .unprotected(HeaderBuilder::new().key_id(signer.kid().as_bytes().to_vec()).build())
            .payload(payload)
            .build();
        sign1.signature = signer.sign(&sign1.tbs_data(&[])).await?;
        let cose = sign1.to_tagged_vec().map_err(|e| IssuerError::Signing(format!("CBOR: {e}")))?;
        // 61(...) around the already tagged COSE_Sign1: one head byte pair, then the item.
        let mut out = Vec::with_capacity(cose.len() + 2);
        out.extend_from_slice(&[0xd8, CWT_TAG as u8]);
        out.extend_from_slice(&cose);
        Ok(out)
    }

    /// Signs and encodes in base64url without padding, as sent in `Authorization: Bearer`.
    pub async fn sign_base64url(self) -> Result<String, IssuerError> {
        Ok(URL_SAFE_NO_PAD.encode(self.sign().await?))
    }
}

fn json_to_cbor(value: serde_json::Value) -> Result<Value, IssuerError> {
    use serde_json::Value as J;
    Ok(match value {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::from(i),
            (_, Some(u), _) => Value::from(u),
            (_, _, Some(f)) => Value::Float(f),
            _ => return Err(IssuerError::InvalidRequest("a number claim cannot be encoded".into())),
        },
        J::String(s) => Value::Text(s),
        J::Array(items) => Value::Array(items.into_iter().map(json_to_cbor).collect::<Result<_, _>>()?),
        J::Object(map) => Value::Map(
            map.into_iter().map(|(k, v)| Ok((Value::Text(k), json_to_cbor(v)?))).collect::<Result<_, IssuerError>>()?,
        ),
    })
}

#[cfg(feature = "axum")]
pub use dev::{DEV_CWT_PATH, DevCwtRequest, dev_cwt_router};

#[cfg(feature = "axum")]
mod dev {
    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::CwtMinter;
    use crate::dev::{DevIssuer, DevTokenResponse, MAX_DEV_TTL_SECS, MAX_REQUEST_BYTES};

    /// The path of the dev issuer's CWT endpoint.
    pub const DEV_CWT_PATH: &str = "/dev/cwt";

    /// The JSON body of `POST /dev/cwt`. Unknown fields are refused.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct DevCwtRequest {
        /// The device's subject (`sub`); required, non-empty.
        pub sub: String,
        /// Space-separated scopes (`scope`, claim 9).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scope: Option<String>,
        /// The lifetime in seconds, `1..=86400` (default: the issuer's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ttl_secs: Option<u64>,
    }

    /// `POST /dev/cwt` for a [`DevIssuer`]: mints a CWT (ES256 with the dev issuer's key,
    /// its issuer and audience) for whoever asks, answered as `{access_token (base64url
    /// CBOR), token_type: "Bearer", expires_in}`. Development only, like the dev issuer.
    pub fn dev_cwt_router<S: Clone + Send + Sync + 'static>(dev: &DevIssuer) -> Router<S> {
        let minter = CwtMinter::from_token_minter(dev.minter()).audience(dev.audience());
        Router::new().route(
            DEV_CWT_PATH,
            post(move |body: Bytes| endpoint(minter.clone(), body))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
    }

    fn respond(status: StatusCode, value: serde_json::Value) -> Response {
        let mut response = (status, value.to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    fn bad_request(description: &str) -> Response {
        respond(StatusCode::BAD_REQUEST, json!({ "error": "invalid_request", "error_description": description }))
    }

    async fn endpoint(minter: CwtMinter, body: Bytes) -> Response {
        let Ok(request) = serde_json::from_slice::<DevCwtRequest>(&body) else {
            return bad_request("expected a JSON object {sub, scope?, ttl_secs?} with no other fields");
        };
        if request.sub.is_empty() || request.sub.len() > 1024 {
            return bad_request("sub must be 1 to 1024 bytes");
        }
        let mut cwt = minter.cwt().subject(request.sub);
        if let Some(scope) = request.scope {
            cwt = cwt.scope(scope);
        }
        let ttl = match request.ttl_secs {
            Some(secs @ 1..=MAX_DEV_TTL_SECS) => secs,
            Some(_) => return bad_request("ttl_secs must be 1 to 86400"),
            None => minter.ttl.as_secs(),
        };
        cwt = cwt.ttl(std::time::Duration::from_secs(ttl));
        match cwt.sign_base64url().await {
            Ok(access_token) => {
                let answer = DevTokenResponse { access_token, token_type: "Bearer".into(), expires_in: ttl };
                respond(StatusCode::OK, serde_json::to_value(answer).unwrap_or_default())
            }
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}
