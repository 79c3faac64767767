//! [`DiscoveryEndpoint`]: an OIDC / RFC 8414 metadata document with a `Cache-Control`
//! that follows the key schedule.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use crate::jwks_endpoint::DEFAULT_MAX_AGE;
use crate::signer::SignerSet;

/// Serves a discovery document (`/.well-known/openid-configuration` or
/// `/.well-known/oauth-authorization-server`) with `Cache-Control: public, max-age=N`,
/// where N is the same as the JWKS's: a client that re-reads the discovery document
/// when its cache ends never holds it longer than the JWKS schedule allows.
///
/// ```
/// use std::time::Duration;
/// use tokengate_core::Algorithm;
/// use tokengate_issuer::{DiscoveryEndpoint, LocalSigner, SignerSet};
/// let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
/// let doc = serde_json::json!({"issuer": "https://issuer.example"});
/// let response = DiscoveryEndpoint::new(doc, signers).max_age(Duration::from_secs(60)).response();
/// assert_eq!(response.headers()["cache-control"], "public, max-age=60");
/// ```
#[derive(Clone, Debug)]
pub struct DiscoveryEndpoint {
    body: axum::body::Bytes,
    signers: SignerSet,
    max_age: Duration,
}

impl DiscoveryEndpoint {
    /// Serves `document`; the max-age follows `signers` (at most [`DEFAULT_MAX_AGE`]).
    pub fn new(document: serde_json::Value, signers: SignerSet) -> DiscoveryEndpoint {
        let body = serde_json::to_vec(&document).unwrap_or_default().into();
        DiscoveryEndpoint { body, signers, max_age: DEFAULT_MAX_AGE }
    }

    /// The longest max-age sent (use the JWKS endpoint's).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> DiscoveryEndpoint {
        self.max_age = max_age;
        self
    }

    /// The response now.
    pub fn response(&self) -> Response {
        if self.body.is_empty() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        let mut response = Response::new(Body::from(self.body.clone()));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let cache = format!("public, max-age={}", self.signers.cache_max_age(self.max_age).as_secs());
        if let Ok(cache) = HeaderValue::from_str(&cache) {
            headers.insert(header::CACHE_CONTROL, cache);
        }
        response
    }

    /// A `GET` route serving the document.
    pub fn into_route<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        get(move || std::future::ready(self.response()))
    }
}
