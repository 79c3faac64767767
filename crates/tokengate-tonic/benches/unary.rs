//! Per-call cost of `GrpcAuthLayer` on a unary tonic call, in process: the generated
//! `OrdersServer` without the layer and with it (the request encoded, the response body with
//! its trailers collected), against a bare `Verifier::verify` of the same ES256 token.
//!
//! Run: `cargo bench -p tokengate-tonic --bench unary -- --warm-up-time 1 --measurement-time 3`
//!
//! layer cost = (call with layer) - (call without layer); its ratio to the bare verify is the
//! layer's overhead over the crypto and claim checks themselves (target <= 1.10).
//! cache hit cost = (call with a caching layer) - (call without layer) (target <= 0.15 of
//! the bare verify).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use prost::Message;
use tokengate_core::Algorithm::ES256;
use tokengate_example_proto::orders::orders_server::{Orders, OrdersServer};
use tokengate_example_proto::orders::{ListOrdersRequest, ListOrdersResponse, Order, OrderEvent, WatchOrdersRequest};
use tokengate_test_support::{TokenBuilder, verifier};
use tokengate_tonic::GrpcAuthLayer;
use tokengate_tower::Authenticator;
use tower::{Layer, Service, ServiceExt};

struct BenchOrders;

#[tonic::async_trait]
impl Orders for BenchOrders {
    async fn list_orders(
        &self,
        request: tonic::Request<ListOrdersRequest>,
    ) -> Result<tonic::Response<ListOrdersResponse>, tonic::Status> {
        let tenant = request.into_inner().tenant_id;
        Ok(tonic::Response::new(ListOrdersResponse { orders: vec![Order { id: tenant, item: "widgets".into() }] }))
    }

    type WatchOrdersStream = tokio_stream::Empty<Result<OrderEvent, tonic::Status>>;

    async fn watch_orders(
        &self,
        _: tonic::Request<WatchOrdersRequest>,
    ) -> Result<tonic::Response<Self::WatchOrdersStream>, tonic::Status> {
        Err(tonic::Status::unimplemented(""))
    }
}

/// Polls a future that is ready at once (an in-process call does no I/O).
fn now<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the call did not complete at once"),
    }
}

fn frame() -> Bytes {
    let message = ListOrdersRequest { tenant_id: "acme".into() }.encode_to_vec();
    let mut buf = BytesMut::with_capacity(5 + message.len());
    buf.put_u8(0);
    buf.put_u32(u32::try_from(message.len()).unwrap());
    buf.put_slice(&message);
    buf.freeze()
}

/// One unary call; the `grpc-status` it ended with.
fn call<S, B>(service: &S, frame: &Bytes, authorization: &HeaderValue) -> String
where
    S: Service<Request<tonic::body::Body>, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let request = Request::post("/tokengate.example.v1.Orders/ListOrders")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", authorization.clone())
        .body(tonic::body::Body::new(Full::new(frame.clone())))
        .unwrap();
    let response = now(service.clone().oneshot(request)).unwrap();
    if let Some(status) = response.headers().get("grpc-status") {
        return status.to_str().unwrap().to_owned();
    }
    let collected = now(response.into_body().collect()).unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    trailers.get("grpc-status").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let token = TokenBuilder::new(ES256).claim("exp", tokengate_test_support::now() + 3600).sign();
    let authorization = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    let verifier = verifier(ES256).build().unwrap();
    let frame = frame();

    let bare = OrdersServer::new(BenchOrders);
    let layered = GrpcAuthLayer::new(verifier.clone()).layer(OrdersServer::new(BenchOrders));
    let cached = GrpcAuthLayer::from_authenticator(
        Authenticator::builder(verifier.clone()).cache_verified_tokens(10_000).build(),
    )
    .layer(OrdersServer::new(BenchOrders));
    assert_eq!(call(&cached, &frame, &authorization), "0");
    assert_eq!(call(&bare, &frame, &authorization), "0");
    assert_eq!(call(&layered, &frame, &authorization), "0");
    assert_eq!(call(&layered, &frame, &HeaderValue::from_static("Bearer a.b.c")), "16");

    let mut group = c.benchmark_group("ES256 unary");
    group.bench_function("verify (bare Verifier::verify)", |b| b.iter(|| verifier.verify(black_box(&token)).unwrap()));
    group.bench_function("call without layer", |b| b.iter(|| call(&bare, &frame, black_box(&authorization))));
    group.bench_function("call with layer", |b| b.iter(|| call(&layered, &frame, black_box(&authorization))));
    group.bench_function("call with layer, cache hit", |b| {
        b.iter(|| call(&cached, &frame, black_box(&authorization)));
    });
    group.finish();

    // Interleaved rounds, the order flipping every round; ratios within each round, then
    // the median over rounds (robust to load drift on a shared machine).
    const ROUNDS: usize = 201;
    const ITERS: u32 = 50;
    let mut rounds: Vec<[f64; 4]> = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let mut times = [0.0; 4];
        for step in 0..4 {
            let which = if round % 2 == 0 { step } else { 3 - step };
            let start = Instant::now();
            for _ in 0..ITERS {
                match which {
                    0 => drop(black_box(verifier.verify(black_box(&token)))),
                    1 => drop(black_box(call(&bare, &frame, &authorization))),
                    2 => drop(black_box(call(&layered, &frame, &authorization))),
                    _ => drop(black_box(call(&cached, &frame, &authorization))),
                }
            }
            times[which] = start.elapsed().as_secs_f64() * 1e6 / f64::from(ITERS);
        }
        rounds.push(times);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let column = |i: usize| median(rounds.iter().map(|r| r[i]).collect());
    let ratio = median(rounds.iter().map(|[v, without, with, _]| (with - without) / v).collect());
    let hit = median(rounds.iter().map(|[v, without, _, hit]| (hit - without) / v).collect());
    #[allow(clippy::print_stdout)]
    {
        println!(
            "ES256 unary paired ({ROUNDS} rounds x {ITERS}), medians in us: verify {:.2}, call without layer {:.2}, \
             call with layer {:.2}, cache hit {:.2} | layer cost / verify = {ratio:.3} | cache hit cost / verify = \
             {hit:.4}",
            column(0),
            column(1),
            column(2),
            column(3),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
