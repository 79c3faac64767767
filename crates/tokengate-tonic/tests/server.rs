//! The server layer over real sockets: a tonic server on 127.0.0.1:0, a tonic client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use tokengate_core::{AuthError, ErrorKind, Key, KeyQuery, KeyResolver, Verifier};
use tokengate_tonic::methods::{MethodMap, require_scope};
use tokengate_tonic::{AuthInterceptor, GrpcAuthLayer};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const REALM: &str = "orders";

fn layer() -> GrpcAuthLayer {
    GrpcAuthLayer::new(verifier(ES256).build().unwrap()).realm(REALM)
}

fn orders_map() -> MethodMap {
    MethodMap::new().method("/tokengate.example.v1.Orders/ListOrders", require_scope("orders:read")).unwrap()
}

async fn unary(
    layer: GrpcAuthLayer,
    request: tonic::Request<tokengate_example_proto::orders::ListOrdersRequest>,
) -> Result<tokengate_example_proto::orders::ListOrdersResponse, tonic::Status> {
    let server = serve(layer, TestOrders::default()).await;
    let mut client = client(server.addr).await;
    client.list_orders(request).await.map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let response = unary(layer().methods(orders_map()), with_token(list("acme"), &good().sign())).await.unwrap();
    assert_eq!(response.orders.len(), 1);
    assert_eq!(response.orders[0].id, SUBJECT);
    assert_eq!(response.orders[0].item, "acme");
}

#[tokio::test]
async fn no_token_is_unauthenticated_with_a_challenge() {
    let server = serve(layer(), TestOrders::default()).await;
    let mut client = client(server.addr).await;
    let status = client.list_orders(list("acme")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "no access token was presented");
    assert_eq!(www(&status).as_deref(), Some(r#"Bearer realm="orders""#));
    assert_eq!(server.service.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_with_invalid_token() {
    let cases = [
        (good().signed_by(other_fixture(ES256)).sign(), "the token's signature is invalid"),
        (good().claim("exp", now() - 3600).sign(), "the access token expired"),
        (good().claim("aud", "someone-else").sign(), "the token's audience is not accepted"),
        ("not-a-jwt".to_owned(), "the access token is malformed"),
    ];
    let server = serve(layer(), TestOrders::default()).await;
    let mut client = client(server.addr).await;
    for (token, message) in cases {
        let status = client.list_orders(with_token(list("acme"), &token)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{message}");
        assert_eq!(status.message(), message);
        assert_eq!(
            www(&status),
            Some(format!(r#"Bearer realm="orders", error="invalid_token", error_description="{message}""#))
        );
        // No token text anywhere in what the client sees.
        let seen = format!("{status:?} {:?}", status.metadata());
        assert!(!seen.contains(&token), "{seen}");
    }
    assert_eq!(server.service.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn two_tokens_are_an_invalid_request() {
    let token = good().sign();
    let mut request = with_token(list("acme"), &token);
    request.metadata_mut().append("authorization", format!("Bearer {token}").parse().unwrap());
    let status = unary(layer(), request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the request carrying the token is malformed");
    assert_eq!(
        www(&status).as_deref(),
        Some(
            r#"Bearer realm="orders", error="invalid_request", error_description="the request carrying the token is malformed""#
        )
    );
}

#[tokio::test]
async fn a_revoked_token_is_unauthenticated() {
    let store = SwitchStore::default();
    store.revoked.store(true, Ordering::SeqCst);
    let status = unary(layer().revocation(store), with_token(list("acme"), &good().sign())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the access token has been revoked");
    assert_eq!(
        www(&status).as_deref(),
        Some(r#"Bearer realm="orders", error="invalid_token", error_description="the access token has been revoked""#)
    );
}

#[tokio::test]
async fn unknown_revocation_status_is_unavailable() {
    let store = SwitchStore::default();
    store.down.store(true, Ordering::SeqCst);
    let status = unary(layer().revocation(store), with_token(list("acme"), &good().sign())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "revocation status is temporarily unavailable");
    assert_eq!(www(&status), None);
    assert_eq!(status.metadata().get("retry-after").unwrap(), "5");
}

/// Keys that cannot be had.
struct Down;

impl KeyResolver for Down {
    fn resolve(&self, _query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        Err(AuthError::new(ErrorKind::KeysUnavailable))
    }
}

#[tokio::test]
async fn unavailable_keys_are_unavailable() {
    let verifier = Verifier::builder(Down).issuer(ISSUER).audience(AUDIENCE).algorithms([ES256]).build().unwrap();
    let layer = GrpcAuthLayer::new(verifier);
    let status = unary(layer, with_token(list("acme"), &good().sign())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "signing keys are temporarily unavailable");
}

#[tokio::test]
async fn a_missing_scope_is_permission_denied() {
    let token = TokenBuilder::new(ES256).claim("scope", "orders:write").claim("tenant_id", "acme").sign();
    let status = unary(layer().methods(orders_map()), with_token(list("acme"), &token)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.message(), "the access token lacks the required scope");
    assert_eq!(
        www(&status).as_deref(),
        Some(
            r#"Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks the required scope", scope="orders:read""#
        )
    );
}

#[tokio::test]
async fn another_tenant_in_the_message_is_permission_denied() {
    let status = unary(layer().methods(orders_map()), with_token(list("globex"), &good().sign())).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.message(), "the token's tenant_id does not match the request");
    // A token without the claim is denied the same way.
    let token = TokenBuilder::new(ES256).claim("scope", "orders:read").sign();
    let status = unary(layer().methods(orders_map()), with_token(list("acme"), &token)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn unlisted_methods_are_denied_but_never_to_an_unidentified_caller() {
    let server = serve(layer().methods(orders_map()), TestOrders::default()).await;
    let mut client = client(server.addr).await;
    let status = client.watch_orders(with_token(watch("acme"), &good().sign())).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.message(), "the access token does not permit this request");
    assert_eq!(www(&status).as_deref(), Some(r#"Bearer realm="orders""#));
    let status = client.watch_orders(watch("acme")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client.watch_orders(with_token(watch("acme"), "bad.token.here")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(server.service.calls.load(Ordering::SeqCst), 0);

    // A service-wide entry covers the method.
    let map = orders_map().method("/tokengate.example.v1.Orders/*", require_scope("orders:read")).unwrap();
    let server = serve(layer().methods(map), TestOrders::default()).await;
    let mut client = common::client(server.addr).await;
    let mut stream = client.watch_orders(with_token(watch("acme"), &good().sign())).await.unwrap().into_inner();
    assert!(stream.message().await.unwrap().is_some());
}

#[tokio::test]
async fn health_is_served_without_a_token() {
    let server = serve(layer().methods(orders_map()), TestOrders::default()).await;
    let mut health = HealthClient::new(channel(server.addr).await);
    let answer = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner();
    assert_eq!(answer.status, 1); // SERVING
    // A bad token on an exempt call is not looked at either.
    let answer = health.check(with_token(HealthCheckRequest { service: String::new() }, "garbage")).await.unwrap();
    assert_eq!(answer.into_inner().status, 1);

    // Without the default exemptions, health needs a token too.
    let server = serve(layer().exemptions(tokengate_tonic::methods::Exemptions::none()), TestOrders::default()).await;
    let mut health = HealthClient::new(channel(server.addr).await);
    let status = health.check(HealthCheckRequest { service: String::new() }).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn another_metadata_key() {
    let layer = layer().metadata_key(http::HeaderName::from_static("x-access-token"));
    let server = serve(layer, TestOrders::default()).await;
    let mut client = client(server.addr).await;
    let mut request = tonic::Request::new(list("acme"));
    request.metadata_mut().insert("x-access-token", good().sign().parse().unwrap());
    assert!(client.list_orders(request).await.is_ok());
    let status = client.list_orders(with_token(list("acme"), &good().sign())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "no access token was presented");
}

#[tokio::test]
async fn a_stream_is_cut_with_unauthenticated_when_its_token_expires() {
    // exp in 2 s, no leeway: the stream runs, then ends with a status in the trailers.
    let token = good().claim("exp", now() + 2).sign();
    let server = serve(layer().stream_leeway(Duration::ZERO), TestOrders::default()).await;
    let mut client = client(server.addr).await;
    let mut stream = client.watch_orders(with_token(watch("acme"), &token)).await.unwrap().into_inner();
    let mut received = 0;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(20), stream.message()).await.unwrap() {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert!(received >= 2, "{received}");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the access token expired");
    assert_eq!(
        www(&status).as_deref(),
        Some(r#"Bearer realm="orders", error="invalid_token", error_description="the access token expired""#)
    );
    // The handler's stream was dropped.
    let dropped = std::sync::Arc::clone(&server.service.stream_dropped);
    eventually(|| dropped.load(Ordering::SeqCst)).await;
}

#[tokio::test]
async fn a_stream_is_cut_soon_after_its_token_is_revoked() {
    let store = SwitchStore::default();
    let layer = layer().revocation(store.clone()).recheck_interval(Duration::from_millis(100));
    let server = serve(layer, TestOrders::default()).await;
    let mut client = client(server.addr).await;
    let mut stream = client.watch_orders(with_token(watch("acme"), &good().sign())).await.unwrap().into_inner();
    for _ in 0..5 {
        assert!(stream.message().await.unwrap().is_some());
    }
    // Still re-checked while it runs, and still fine.
    let checks = std::sync::Arc::clone(&store.checks);
    eventually(|| checks.load(Ordering::SeqCst) >= 3).await;
    store.revoked.store(true, Ordering::SeqCst);
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(20), stream.message()).await.unwrap() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the access token has been revoked");
    let dropped = std::sync::Arc::clone(&server.service.stream_dropped);
    eventually(|| dropped.load(Ordering::SeqCst)).await;
}

#[tokio::test]
async fn a_stream_whose_store_goes_down_ends_unavailable() {
    let store = SwitchStore::default();
    let layer = layer().revocation(store.clone()).recheck_interval(Duration::from_millis(50));
    let server = serve(layer, TestOrders::default()).await;
    let mut client = client(server.addr).await;
    let mut stream = client.watch_orders(with_token(watch("acme"), &good().sign())).await.unwrap().into_inner();
    assert!(stream.message().await.unwrap().is_some());
    store.down.store(true, Ordering::SeqCst);
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(20), stream.message()).await.unwrap() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "revocation status is temporarily unavailable");
}

#[tokio::test]
async fn the_interceptor_verifies_with_loaded_keys() {
    use tokengate_example_proto::orders::orders_server::OrdersServer;
    use tokio_stream::wrappers::TcpListenerStream;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let interceptor = AuthInterceptor::new(verifier(ES256).build().unwrap()).realm(REALM);
    let service = OrdersServer::with_interceptor(TestOrders::default(), interceptor);
    let task = tokio::spawn(
        tonic::transport::Server::builder().add_service(service).serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let mut client = client(addr).await;
    let response = client.list_orders(with_token(list("acme"), &good().sign())).await.unwrap().into_inner();
    assert_eq!(response.orders[0].id, SUBJECT);
    let status = client.list_orders(list("acme")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(www(&status).as_deref(), Some(r#"Bearer realm="orders""#));
    let status =
        client.list_orders(with_token(list("acme"), &good().claim("exp", now() - 3600).sign())).await.unwrap_err();
    assert_eq!(status.message(), "the access token expired");
    task.abort();
}

#[tokio::test]
async fn a_handler_without_the_layer_is_internal() {
    use tokengate_example_proto::orders::orders_server::OrdersServer;
    use tokio_stream::wrappers::TcpListenerStream;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(OrdersServer::new(TestOrders::default()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let status = client(addr).await.list_orders(with_token(list("acme"), &good().sign())).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(status.message(), "the authentication layer is missing");
    task.abort();
}

/// Keys that are unknown until a refresh has run: the slow path of the layer.
struct LateKeys {
    refreshed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    refreshes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl KeyResolver for LateKeys {
    fn resolve(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        if self.refreshed.load(Ordering::SeqCst) {
            tokengate_test_support::fixture(ES256).key_set().resolve(query)
        } else {
            Err(AuthError::new(ErrorKind::UnknownKey))
        }
    }

    fn refresh_unknown(&self, _query: &KeyQuery<'_>) -> Option<tokengate_core::RefreshFuture> {
        let (refreshed, refreshes) = (std::sync::Arc::clone(&self.refreshed), std::sync::Arc::clone(&self.refreshes));
        Some(Box::pin(async move {
            refreshes.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            refreshed.store(true, Ordering::SeqCst);
        }))
    }
}

#[tokio::test]
async fn an_unknown_kid_refreshes_the_keys_then_the_call_goes_through() {
    let keys = LateKeys { refreshed: Default::default(), refreshes: Default::default() };
    let refreshes = std::sync::Arc::clone(&keys.refreshes);
    let verifier = Verifier::builder(keys).issuer(ISSUER).audience(AUDIENCE).algorithms([ES256]).build().unwrap();
    let store = SwitchStore::default();
    let layer = GrpcAuthLayer::new(verifier).methods(orders_map()).revocation(store.clone());
    let server = serve(layer, TestOrders::default()).await;
    let mut client = client(server.addr).await;
    let response = client.list_orders(with_token(list("acme"), &good().sign())).await.unwrap().into_inner();
    assert_eq!(response.orders[0].id, SUBJECT);
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    // The slow path also runs the revocation check and the method policy.
    assert_eq!(store.checks.load(Ordering::SeqCst), 1);
    let token = TokenBuilder::new(ES256).claim("tenant_id", "acme").sign();
    let status = client.list_orders(with_token(list("acme"), &token)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_cached_token_is_still_checked_for_revocation_and_policy() {
    let auth =
        tokengate_tower::Authenticator::builder(verifier(ES256).build().unwrap()).cache_verified_tokens(100).build();
    let store = SwitchStore::default();
    let layer = GrpcAuthLayer::from_authenticator(auth).methods(orders_map()).revocation(store.clone());
    let server = serve(layer, TestOrders::default()).await;
    let mut client = client(server.addr).await;
    let token = good().sign();
    for _ in 0..3 {
        client.list_orders(with_token(list("acme"), &token)).await.unwrap();
    }
    assert_eq!(store.checks.load(Ordering::SeqCst), 3);
    store.revoked.store(true, Ordering::SeqCst);
    let status = client.list_orders(with_token(list("acme"), &token)).await.unwrap_err();
    assert_eq!(status.message(), "the access token has been revoked");
    store.revoked.store(false, Ordering::SeqCst);
    let status = client.list_orders(with_token(list("globex"), &token)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}
