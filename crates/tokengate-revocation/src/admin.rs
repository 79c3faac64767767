//! The admin router (axum): revoke, list the active rules, read the store's health.
//!
//! | route | answers |
//! | --- | --- |
//! | `POST /revocations` | JSON `{"kind": "jti"\|"sub"\|"sid"\|"kid"\|"tenant"\|"all", "iss": "...", "value": "...", "not_before": <unix seconds, optional, default now>}` -> 201 with the rule as stored; 400 `{"error": "invalid_request", "error_description": ...}`; 503 when it cannot be stored |
//! | `GET /revocations` | 200, a JSON array of the active rules |
//! | `GET /health` | the store's [`Health`] as JSON: 200 when fresh, 503 when stale |
//!
//! The router has no authentication of its own: mount it behind the application's admin
//! authentication (the quickstart requires a token with scope `tokengate:admin`), on an
//! address only operators reach.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! use axum::body::Body;
//! use axum::http::{Request, StatusCode};
//! use tower::ServiceExt;
//! use tokengate_revocation::{MemoryStore, admin};
//!
//! let app: axum::Router = admin::router(MemoryStore::new());
//! let request = Request::post("/revocations")
//!     .header("content-type", "application/json")
//!     .body(Body::from(r#"{"kind": "sub", "iss": "https://issuer.example", "value": "alice"}"#))?;
//! assert_eq!(app.clone().oneshot(request).await?.status(), StatusCode::CREATED);
//! let missing_iss = Request::post("/revocations").body(Body::from(r#"{"kind": "sub", "value": "alice"}"#))?;
//! assert_eq!(app.oneshot(missing_iss).await?.status(), StatusCode::BAD_REQUEST);
//! # Ok::<(), Box<dyn std::error::Error>>(()) })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Health`]: crate::Health

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use crate::rule::{RuleKey, RuleKind};
use crate::store::{RevocationStore, StoreError};

type Store = Arc<dyn RevocationStore>;

/// The admin routes over `store`. See the [module docs](self).
pub fn router<S: Clone + Send + Sync + 'static>(store: impl RevocationStore) -> Router<S> {
    let store: Store = Arc::new(store);
    Router::new().route("/revocations", get(list).post(revoke)).route("/health", get(health)).with_state(store)
}

/// The body of `POST /revocations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Revocation {
    kind: String,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    not_before: Option<i64>,
}

fn invalid(description: impl Into<String>) -> Response {
    let body = json!({"error": "invalid_request", "error_description": description.into()});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn revoke(State(store): State<Store>, body: Bytes) -> Response {
    let request: Revocation = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return invalid(format!("the body is not a revocation: {e}")),
    };
    let Some(kind) = RuleKind::parse(&request.kind) else {
        return invalid(crate::RuleError::UnknownKind.to_string());
    };
    let key = match RuleKey::new(kind, request.iss.as_deref(), request.value.as_deref().unwrap_or_default()) {
        Ok(key) => key,
        Err(e) => return invalid(e.to_string()),
    };
    match store.revoke(key, request.not_before).await {
        Ok(rule) => {
            tracing::info!(kind = %rule.key.kind(), iss = rule.key.issuer(), "revocation stored");
            (StatusCode::CREATED, Json(rule)).into_response()
        }
        Err(StoreError::Unavailable(e)) => {
            tracing::warn!(error = %e, "revocation not stored");
            let body = json!({"error": "unavailable", "error_description": "the revocation store is unavailable; nothing was stored"});
            (StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::RETRY_AFTER, "1")], Json(body)).into_response()
        }
    }
}

async fn list(State(store): State<Store>) -> Response {
    Json(store.rules()).into_response()
}

async fn health(State(store): State<Store>) -> Response {
    let health = store.health();
    let status = if health.fresh { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(health)).into_response()
}
