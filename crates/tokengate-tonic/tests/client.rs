//! Token propagation: a two-hop chain forwarding the caller's token, the static providers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::*;
use tokengate_example_proto::orders::orders_client::OrdersClient;
use tokengate_example_proto::orders::orders_server::{Orders, OrdersServer};
use tokengate_example_proto::orders::{ListOrdersRequest, ListOrdersResponse, Order, OrderEvent, WatchOrdersRequest};
use tokengate_tonic::client::{AuthorizeLayer, BearerInterceptor, ForwardIncoming, StaticToken};
use tokengate_tonic::{GrpcAuthLayer, RequestExt};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Response, Status};
use tower::ServiceBuilder;

type Downstream = OrdersClient<tokengate_tonic::client::Authorize<Channel, ForwardIncoming>>;

/// Service A: answers `ListOrders` by asking service B with the caller's own token, and
/// adds what it saw itself.
struct Front {
    downstream: Downstream,
    forward: bool,
}

#[tonic::async_trait]
impl Orders for Front {
    async fn list_orders(&self, request: Request<ListOrdersRequest>) -> Result<Response<ListOrdersResponse>, Status> {
        let mine = request.token()?.subject().unwrap_or_default().to_owned();
        let message = request.get_ref().clone();
        let downstream = if self.forward { request.forward(message) } else { Request::new(message) };
        let mut answer = self.downstream.clone().list_orders(downstream).await?.into_inner();
        answer.orders.push(Order { id: mine, item: "seen by A".into() });
        Ok(Response::new(answer))
    }

    type WatchOrdersStream = tokio_stream::Empty<Result<OrderEvent, Status>>;

    async fn watch_orders(&self, _: Request<WatchOrdersRequest>) -> Result<Response<Self::WatchOrdersStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

async fn front(b: std::net::SocketAddr, forward: bool) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let downstream =
        OrdersClient::new(ServiceBuilder::new().layer(AuthorizeLayer::new(ForwardIncoming)).service(channel(b).await));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layer = GrpcAuthLayer::new(verifier(ES256).build().unwrap());
    let router = Server::builder().layer(layer).add_service(OrdersServer::new(Front { downstream, forward }));
    let task = tokio::spawn(async move { router.serve_with_incoming(TcpListenerStream::new(listener)).await.unwrap() });
    (addr, task)
}

#[tokio::test]
async fn a_two_hop_chain_forwards_the_callers_token() {
    let b = serve(GrpcAuthLayer::new(verifier(ES256).build().unwrap()), TestOrders::default()).await;
    let (a, task) = front(b.addr, true).await;
    let token = good().claim("sub", "alice").sign();
    let answer = client(a).await.list_orders(with_token(list("acme"), &token)).await.unwrap().into_inner();
    // B answered with the subject of the token it verified: the caller's.
    assert_eq!(answer.orders[0].id, "alice");
    assert_eq!(answer.orders[0].item, "acme");
    assert_eq!(answer.orders[1].id, "alice");
    assert_eq!(b.service.calls.load(Ordering::SeqCst), 1);
    task.abort();
}

#[tokio::test]
async fn without_forward_the_downstream_call_is_not_made() {
    let b = serve(GrpcAuthLayer::new(verifier(ES256).build().unwrap()), TestOrders::default()).await;
    let (a, task) = front(b.addr, false).await;
    let status = client(a).await.list_orders(with_token(list("acme"), &good().sign())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert!(status.message().contains("no incoming token to forward"), "{}", status.message());
    assert_eq!(b.service.calls.load(Ordering::SeqCst), 0);
    task.abort();
}

#[tokio::test]
async fn static_tokens_through_the_layer_and_the_interceptor() {
    let server = serve(GrpcAuthLayer::new(verifier(ES256).build().unwrap()), TestOrders::default()).await;
    let token = good().sign();
    let layered = ServiceBuilder::new().layer(AuthorizeLayer::new(StaticToken::new(token.clone()).unwrap()));
    let mut client = OrdersClient::new(layered.service(channel(server.addr).await));
    assert_eq!(client.list_orders(list("acme")).await.unwrap().into_inner().orders[0].id, SUBJECT);

    let interceptor = BearerInterceptor::new(token).unwrap();
    let mut client = OrdersClient::with_interceptor(channel(server.addr).await, interceptor);
    assert_eq!(client.list_orders(list("acme")).await.unwrap().into_inner().orders[0].id, SUBJECT);
    assert_eq!(server.service.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_same_layer_serves_an_http_client() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    // An HTTP endpoint that echoes the Authorization header it got.
    let app = axum::Router::new().route(
        "/echo",
        axum::routing::get(|headers: http::HeaderMap| async move {
            headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("none").to_owned()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let provider = Arc::new(StaticToken::new("abc.def.ghi").unwrap());
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let mut http = ServiceBuilder::new().layer(AuthorizeLayer::shared(provider)).service(http);
    let request = http::Request::get(format!("http://{addr}/echo")).body(Empty::new()).unwrap();
    let response = tower::ServiceExt::oneshot(&mut http, request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"Bearer abc.def.ghi");
    task.abort();
}
