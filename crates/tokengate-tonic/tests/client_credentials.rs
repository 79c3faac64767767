//! The client-credentials provider against a local token endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use common::*;
use tokengate_example_proto::orders::orders_client::OrdersClient;
use tokengate_tonic::GrpcAuthLayer;
use tokengate_tonic::client::{AuthorizeLayer, ClientCredentials, ProviderError, TokenProvider};
use tower::ServiceBuilder;

#[derive(Clone, Default)]
struct Endpoint {
    requests: Arc<AtomicUsize>,
}

/// `POST /token`: client `svc` with secret `s3cr3t: x` (form-encoded in Basic), grant
/// `client_credentials`; answers a fresh token valid 300 s. Slow on purpose, so that
/// concurrent callers pile up behind the one refresh.
async fn token(State(endpoint): State<Endpoint>, headers: HeaderMap, body: String) -> Response {
    endpoint.requests.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // base64("svc:s3cr3t%3A+x")
    let expected = "Basic c3ZjOnMzY3IzdCUzQSt4";
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected) {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"error": "invalid_client"}))).into_response();
    }
    if !body.split('&').any(|p| p == "grant_type=client_credentials") || !body.contains("scope=orders%3Aread") {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"error": "invalid_request"}))).into_response();
    }
    let access_token = good().claim("sub", "svc").sign();
    Json(serde_json::json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 300})).into_response()
}

async fn endpoint() -> (String, Endpoint, tokio::task::JoinHandle<()>) {
    let state = Endpoint::default();
    let app = axum::Router::new().route("/token", axum::routing::post(token)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state, task)
}

#[tokio::test]
async fn one_refresh_for_a_hundred_concurrent_calls() {
    let (url, state, task) = endpoint().await;
    let server = serve(GrpcAuthLayer::new(verifier(ES256).build().unwrap()), TestOrders::default()).await;
    let provider = ClientCredentials::builder(url, "svc", "s3cr3t: x").scope("orders:read").build().unwrap();
    let channel = ServiceBuilder::new().layer(AuthorizeLayer::new(provider)).service(channel(server.addr).await);
    let client = OrdersClient::new(channel);

    let calls = (0..100).map(|_| {
        let mut client = client.clone();
        tokio::spawn(async move { client.list_orders(list("acme")).await })
    });
    let results = futures_join(calls).await;
    for result in results {
        assert_eq!(result.unwrap().into_inner().orders[0].id, "svc");
    }
    assert_eq!(state.requests.load(Ordering::SeqCst), 1);
    assert_eq!(server.service.calls.load(Ordering::SeqCst), 100);

    // Cached: the next call fetches nothing.
    client.clone().list_orders(list("acme")).await.unwrap();
    assert_eq!(state.requests.load(Ordering::SeqCst), 1);
    task.abort();
}

async fn futures_join<T: Send + 'static>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_refused_client_gets_the_oauth_error_and_no_call_is_made() {
    let (url, state, task) = endpoint().await;
    let provider = ClientCredentials::builder(url, "svc", "wrong").scope("orders:read").build().unwrap();
    let error = provider.token(&http::Extensions::new()).await.unwrap_err();
    assert_eq!(error, ProviderError::Refused { status: 401, error: Some("invalid_client".into()) });
    assert!(!error.to_string().contains("wrong"));
    assert_eq!(state.requests.load(Ordering::SeqCst), 1);
    // Refusals are not cached: the next call asks again.
    assert!(provider.token(&http::Extensions::new()).await.is_err());
    assert_eq!(state.requests.load(Ordering::SeqCst), 2);
    task.abort();
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    drop(listener);
    let provider = ClientCredentials::builder(url, "svc", "s").build().unwrap();
    let error = provider.token(&http::Extensions::new()).await.unwrap_err();
    assert!(matches!(error, ProviderError::Unavailable(_)), "{error:?}");
}
