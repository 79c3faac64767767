//! [`JwksEndpoint`]: an axum handler serving the public keys of a [`SignerSet`].

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use crate::signer::SignerSet;

/// The path a JWKS is conventionally served at.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The default `Cache-Control: max-age` of the JWKS: 5 minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// Serves `{"keys": [...]}` (the public keys of a [`SignerSet`]) with
/// `Cache-Control: public, max-age=N` and `Content-Type: application/jwk-set+json`.
///
/// ```
/// use axum::body::Body;
/// use axum::http::{Request, StatusCode};
/// use tokengate_core::Algorithm;
/// use tokengate_issuer::{JwksEndpoint, LocalSigner, SignerSet};
/// use tower::ServiceExt;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
/// let app = JwksEndpoint::new(signers).max_age(std::time::Duration::from_secs(60)).router();
/// let request = Request::get("/.well-known/jwks.json").body(Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// assert_eq!(response.headers()["cache-control"], "public, max-age=60");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct JwksEndpoint {
    signers: SignerSet,
    max_age: Duration,
}

impl JwksEndpoint {
    /// Serves the public keys of `signers`, with a max-age of [`DEFAULT_MAX_AGE`].
    pub fn new(signers: SignerSet) -> JwksEndpoint {
        JwksEndpoint { signers, max_age: DEFAULT_MAX_AGE }
    }

    /// How long clients may cache the JWKS. Keep it shorter than the time a new key is
    /// pre-published before it signs. For a scheduled [`SignerSet`] the max-age sent is
    /// also cut short at the next change of the schedule.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> JwksEndpoint {
        self.max_age = max_age;
        self
    }

    /// The response: the current JWKS, serialized now.
    pub fn response(&self) -> Response {
        let body = match serde_json::to_vec(&self.signers.jwks()) {
            Ok(body) => body,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        let cache = format!("public, max-age={}", self.signers.cache_max_age(self.max_age).as_secs());
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
        if let Ok(cache) = HeaderValue::from_str(&cache) {
            headers.insert(header::CACHE_CONTROL, cache);
        }
        response
    }

    /// A `GET` (and `HEAD`) route serving the JWKS, to mount at any path.
    pub fn into_route<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        get(move || std::future::ready(self.response()))
    }

    /// A router serving the JWKS at [`JWKS_PATH`].
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new().route(JWKS_PATH, self.into_route())
    }
}

impl IntoResponse for JwksEndpoint {
    fn into_response(self) -> Response {
        self.response()
    }
}
