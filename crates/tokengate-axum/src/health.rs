//! Liveness and readiness endpoints (feature `health`): [`router`] serves
//!
//! - `GET /healthz`: liveness, always `200 {"status":"ok"}` while the process answers;
//! - `GET /readyz`: readiness, `200 {"ready":true,"checks":[...]}` when every
//!   [`ReadinessCheck`](tokengate_core::readiness::ReadinessCheck) passes, else `503` with the same body naming what is not ready
//!   (`{"name": ..., "ready": false, "reason": ...}`).
//!
//! Mount it where the application serves operations endpoints (not on the public API);
//! it needs no token.
//!
//! ```
//! use axum::body::Body;
//! use http::{Request, StatusCode};
//! use tokengate_core::readiness::{Deferred, ReadinessChecks};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let keys = Deferred::new("keys"); // filled once the key cache is built
//! let app = tokengate_axum::health::router(ReadinessChecks::new().check(keys));
//! let get = |uri| Request::get(uri).body(Body::empty()).unwrap();
//! assert_eq!(app.clone().oneshot(get("/healthz")).await.unwrap().status(), StatusCode::OK);
//! assert_eq!(app.oneshot(get("/readyz")).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
//! # });
//! ```

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use tokengate_core::readiness::{Readiness, ReadinessChecks};

/// A router serving `/healthz` and `/readyz` for `checks` (see the [module docs](self)).
pub fn router<S: Clone + Send + Sync + 'static>(checks: ReadinessChecks) -> Router<S> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz).with_state(checks))
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn healthz() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(checks): State<ReadinessChecks>) -> Response {
    let report = checks.report();
    let ready = report.iter().all(|(_, r)| r.is_ready());
    let entries: Vec<serde_json::Value> = report
        .into_iter()
        .map(|(name, readiness)| match readiness {
            Readiness::Ready => serde_json::json!({ "name": name, "ready": true }),
            Readiness::NotReady(reason) => serde_json::json!({ "name": name, "ready": false, "reason": reason }),
        })
        .collect();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json(status, &serde_json::json!({ "ready": ready, "checks": entries }))
}
