//! [`IntrospectionEndpoint`]: RFC 7662 token introspection for the issuer's tokens.
//!
//! The caller authenticates as a registered client with HTTP Basic
//! (`client_secret_basic`, RFC 6749 section 2.3.1). A token that verifies and is not
//! revoked answers `{"active": true, ...its claims}`; anything else (malformed, badly
//! signed, expired, of another issuer, revoked) answers exactly `{"active": false}`,
//! with no detail. Responses carry `Cache-Control: no-store`.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tokengate_core::{RevocationCheck, Verifier};

use crate::oauth_error::OAuthError;

/// The conventional path of the introspection endpoint.
pub const INTROSPECTION_PATH: &str = "/introspect";

/// The largest request body read (form with one token): 16 KiB.
const MAX_BODY: usize = 16 * 1024;

/// Serves RFC 7662 introspection over a [`Verifier`] and an optional revocation check.
/// Cheap to clone. Client secrets are kept as SHA-256 digests and compared in
/// constant time.
#[derive(Clone)]
pub struct IntrospectionEndpoint {
    verifier: Verifier,
    clients: Arc<Vec<(String, [u8; 32])>>,
    revocation: Option<Arc<dyn RevocationCheck>>,
}

impl fmt::Debug for IntrospectionEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionEndpoint")
            .field("clients", &self.clients.iter().map(|(id, _)| id).collect::<Vec<_>>())
            .field("revocation", &self.revocation.is_some())
            .finish_non_exhaustive()
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    no_store(response)
}

fn invalid_client() -> Response {
    let mut response = OAuthError::new(401, "invalid_client", "client authentication failed").into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"introspection\""));
    response
}

impl IntrospectionEndpoint {
    /// Introspects tokens that `verifier` accepts; no client is allowed until
    /// [`IntrospectionEndpoint::client`].
    pub fn new(verifier: Verifier) -> IntrospectionEndpoint {
        IntrospectionEndpoint { verifier, clients: Arc::new(Vec::new()), revocation: None }
    }

    /// Allows the client `id` authenticating with `secret`.
    #[must_use]
    pub fn client(mut self, id: impl Into<String>, secret: impl AsRef<[u8]>) -> IntrospectionEndpoint {
        Arc::make_mut(&mut self.clients).push((id.into(), sha256(secret.as_ref())));
        self
    }

    /// Answers `active: false` for tokens `check` revokes.
    #[must_use]
    pub fn revocation(mut self, check: impl RevocationCheck) -> IntrospectionEndpoint {
        self.revocation = Some(Arc::new(check));
        self
    }

    fn authenticated(&self, headers: &HeaderMap) -> bool {
        let Some(credentials) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        else {
            return false;
        };
        let Some((id, secret)) = std::str::from_utf8(&credentials).ok().and_then(|c| c.split_once(':')) else {
            return false;
        };
        // RFC 6749 2.3.1: both parts are form-urlencoded.
        let decode = |s: &str| form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        let (Some(id), Some(secret)) = (decode(id), decode(secret)) else {
            return false;
        };
        let presented = sha256(secret.as_bytes());
        let mut ok = false;
        for (client, digest) in self.clients.iter() {
            let matches = verify_slices_are_equal(digest, &presented).is_ok();
            ok |= client == &id && matches;
        }
        ok
    }

    /// The claims of `token` with `active: true`, or `None` when it is not active.
    pub fn introspect(&self, token: &str) -> Option<Map<String, Value>> {
        let verified = self.verifier.verify(token).ok()?;
        if let Some(check) = &self.revocation {
            check.check(&verified).ok()?;
        }
        let mut claims: Map<String, Value> = verified.claims_as().ok()?;
        claims.insert("active".into(), Value::Bool(true));
        claims.entry("token_type").or_insert_with(|| "Bearer".into());
        Some(claims)
    }

    /// Handles one request: `headers` for the client's credentials, `body` the form.
    pub fn respond(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        if !self.authenticated(headers) {
            return invalid_client();
        }
        if body.len() > MAX_BODY {
            return OAuthError::invalid_request("the request body is too large").into_response();
        }
        let mut token = None;
        for (name, value) in form_urlencoded::parse(body) {
            if name == "token" {
                if token.is_some() {
                    return OAuthError::invalid_request("token is repeated").into_response();
                }
                token = Some(value.into_owned());
            }
        }
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return OAuthError::invalid_request("token is required").into_response();
        };
        match self.introspect(&token) {
            Some(claims) => json_response(StatusCode::OK, &Value::Object(claims)),
            None => json_response(StatusCode::OK, &json!({ "active": false })),
        }
    }

    /// A `POST` route serving introspection, to mount at any path.
    pub fn into_route<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        post(move |headers: HeaderMap, body: Bytes| std::future::ready(self.respond(&headers, &body)))
    }

    /// A router serving introspection at [`INTROSPECTION_PATH`].
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new().route(INTROSPECTION_PATH, self.into_route())
    }
}
