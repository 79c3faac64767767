//! [`ClientAuth`]: how the resource server authenticates itself to the introspection
//! endpoint (RFC 7662 section 2.1 requires it).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tokengate_core::{AuthError, ErrorKind};
use tokengate_issuer::Signer;

/// The `client_assertion_type` of `private_key_jwt` (RFC 7523 section 2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a `private_key_jwt` assertion is valid: 60 s.
const ASSERTION_TTL: i64 = 60;

/// The client authentication sent with every introspection request.
///
/// - [`ClientAuth::secret_basic`]: `Authorization: Basic` with the form-encoded id and
///   secret (RFC 6749 section 2.3.1), the method most servers expect by default;
/// - [`ClientAuth::secret_post`]: `client_id` and `client_secret` in the form body;
/// - [`ClientAuth::private_key_jwt`]: a fresh JWT assertion signed by a
///   [`Signer`] (a local key or a KMS) for every call (RFC 7523, OpenID Connect Core
///   section 9), with a random `jti`, a 60 s lifetime and `aud` = the issuer.
///
/// `Debug` never shows a secret.
///
/// ```
/// use tokengate_introspection::ClientAuth;
/// let auth = ClientAuth::secret_basic("orders-api", "s3cr3t");
/// assert_eq!(auth.client_id(), "orders-api");
/// assert!(!format!("{auth:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct ClientAuth {
    client_id: String,
    method: Method,
}

#[derive(Clone)]
enum Method {
    Basic(String),
    Post(String),
    PrivateKeyJwt(Arc<dyn Signer>),
}

/// What one request carries: an `Authorization` value and form parameters.
pub(crate) struct Credentials {
    pub(crate) authorization: Option<String>,
    pub(crate) params: Vec<(&'static str, String)>,
}

fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl ClientAuth {
    /// `client_secret_basic`.
    pub fn secret_basic(client_id: impl Into<String>, secret: impl Into<String>) -> ClientAuth {
        ClientAuth { client_id: client_id.into(), method: Method::Basic(secret.into()) }
    }

    /// `client_secret_post`.
    pub fn secret_post(client_id: impl Into<String>, secret: impl Into<String>) -> ClientAuth {
        ClientAuth { client_id: client_id.into(), method: Method::Post(secret.into()) }
    }

    /// `private_key_jwt`, signing with `signer` (whose public key the authorization server
    /// knows, e.g. from the client's registered `jwks`).
    pub fn private_key_jwt(client_id: impl Into<String>, signer: impl Signer) -> ClientAuth {
        ClientAuth { client_id: client_id.into(), method: Method::PrivateKeyJwt(Arc::new(signer)) }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The method's registered name (`client_secret_basic`, ...).
    pub fn method_name(&self) -> &'static str {
        match self.method {
            Method::Basic(_) => "client_secret_basic",
            Method::Post(_) => "client_secret_post",
            Method::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }

    /// The credentials of one request; `audience` is the `aud` of a JWT assertion.
    pub(crate) async fn credentials(&self, audience: &str, now: i64) -> Result<Credentials, AuthError> {
        let id = &self.client_id;
        Ok(match &self.method {
            Method::Basic(secret) => {
                let pair = format!("{}:{}", form_encode(id), form_encode(secret));
                Credentials { authorization: Some(format!("Basic {}", STANDARD.encode(pair))), params: Vec::new() }
            }
            Method::Post(secret) => Credentials {
                authorization: None,
                params: vec![("client_id", id.clone()), ("client_secret", secret.clone())],
            },
            Method::PrivateKeyJwt(signer) => {
                let assertion = assertion(signer.as_ref(), id, audience, now).await?;
                Credentials {
                    authorization: None,
                    params: vec![
                        ("client_id", id.clone()),
                        ("client_assertion_type", JWT_BEARER_ASSERTION.to_owned()),
                        ("client_assertion", assertion),
                    ],
                }
            }
        })
    }
}

/// A signed client assertion: `iss` = `sub` = the client id.
async fn assertion(signer: &dyn Signer, client_id: &str, audience: &str, now: i64) -> Result<String, AuthError> {
    let unavailable = |what: &'static str| AuthError::with_detail(ErrorKind::IntrospectionUnavailable, what);
    let mut jti = [0u8; 16];
    SystemRandom::new().fill(&mut jti).map_err(|_| unavailable("no randomness for the client assertion"))?;
    let header = serde_json::json!({
        "alg": tokengate_core::algorithm_name(signer.alg()),
        "kid": signer.kid(),
        "typ": "JWT",
    });
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": URL_SAFE_NO_PAD.encode(jti),
        "iat": now,
        "exp": now.saturating_add(ASSERTION_TTL),
    });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature =
        signer.sign(input.as_bytes()).await.map_err(|_| unavailable("the client assertion could not be signed"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ClientAuth");
        d.field("client_id", &self.client_id).field("method", &self.method_name());
        if let Method::PrivateKeyJwt(signer) = &self.method {
            d.field("kid", &signer.kid());
        }
        d.finish()
    }
}
