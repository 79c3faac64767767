//! A real tonic server on 127.0.0.1:0 running the example's `Orders` service behind a layer,
//! and a real tonic client.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokengate_core::{AuthError, ErrorKind, RevocationCheck, Verified};
use tokengate_example_proto::orders::orders_client::OrdersClient;
use tokengate_example_proto::orders::orders_server::{Orders, OrdersServer};
use tokengate_example_proto::orders::{ListOrdersRequest, ListOrdersResponse, Order, OrderEvent, WatchOrdersRequest};
use tokengate_tonic::RequestExt;
use tokengate_tonic::methods::ClaimEquals;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub use tokengate_core::Algorithm::ES256;
pub use tokengate_test_support::{AUDIENCE, ISSUER, SUBJECT, TokenBuilder, now, other_fixture, verifier};

/// The `Orders` service of the tests: `ListOrders` answers with the subject and tenant it
/// read from the verified token; `WatchOrders` sends an event every `interval`.
#[derive(Clone)]
pub struct TestOrders {
    pub interval: Duration,
    /// Set when the handler's stream found its receiver gone (the stream was dropped).
    pub stream_dropped: Arc<AtomicBool>,
    /// How many calls reached a handler.
    pub calls: Arc<AtomicUsize>,
}

impl Default for TestOrders {
    fn default() -> Self {
        TestOrders { interval: Duration::from_millis(50), stream_dropped: Arc::default(), calls: Arc::default() }
    }
}

#[derive(serde::Deserialize)]
struct MyClaims {
    sub: String,
    tenant_id: Option<String>,
}

type EventStream = Pin<Box<dyn Stream<Item = Result<OrderEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Orders for TestOrders {
    async fn list_orders(&self, request: Request<ListOrdersRequest>) -> Result<Response<ListOrdersResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let claims: MyClaims = request.claims()?;
        request.authorize(&ClaimEquals::new("tenant_id"), request.get_ref().tenant_id.as_str())?;
        let token = request.token()?;
        assert_eq!(token.subject(), Some(claims.sub.as_str()));
        Ok(Response::new(ListOrdersResponse {
            orders: vec![Order { id: claims.sub, item: claims.tenant_id.unwrap_or_default() }],
        }))
    }

    type WatchOrdersStream = EventStream;

    async fn watch_orders(&self, request: Request<WatchOrdersRequest>) -> Result<Response<EventStream>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        request.token()?;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let (interval, dropped) = (self.interval, Arc::clone(&self.stream_dropped));
        tokio::spawn(async move {
            for n in 0u64.. {
                let event = OrderEvent { order_id: format!("o-{n}"), kind: "created".into() };
                if tx.send(Ok(event)).await.is_err() {
                    dropped.store(true, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub service: TestOrders,
    pub task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `service` behind `layer` (plus the health service) on 127.0.0.1:0.
pub async fn serve<L>(layer: L, service: TestOrders) -> Running
where
    L: tower::Layer<tonic::service::Routes> + Clone + Send + Sync + 'static,
    L::Service: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tokengate_tonic::AuthBody<tonic::body::Body>>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    <L::Service as tower::Service<http::Request<tonic::body::Body>>>::Future: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let router = Server::builder().layer(layer).add_service(health).add_service(OrdersServer::new(service.clone()));
    let task = tokio::spawn(async move {
        router.serve_with_incoming(TcpListenerStream::new(listener)).await.unwrap();
    });
    Running { addr, service, task }
}

pub async fn channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

pub async fn client(addr: SocketAddr) -> OrdersClient<Channel> {
    OrdersClient::new(channel(addr).await)
}

/// A request with `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

pub fn list(tenant: &str) -> ListOrdersRequest {
    ListOrdersRequest { tenant_id: tenant.into() }
}

pub fn watch(tenant: &str) -> WatchOrdersRequest {
    WatchOrdersRequest { tenant_id: tenant.into() }
}

/// A token with scope `orders:read` and tenant `acme`.
pub fn good() -> TokenBuilder {
    TokenBuilder::new(ES256).claim("scope", "orders:read").claim("tenant_id", "acme")
}

/// The `www-authenticate` metadata of a status.
pub fn www(status: &Status) -> Option<String> {
    status.metadata().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// A revocation store for tests: revokes everything once `revoked` is set, or says it
/// cannot answer once `down` is set.
#[derive(Clone, Default)]
pub struct SwitchStore {
    pub revoked: Arc<AtomicBool>,
    pub down: Arc<AtomicBool>,
    pub checks: Arc<AtomicUsize>,
}

impl RevocationCheck for SwitchStore {
    fn check(&self, _token: &Verified) -> Result<(), AuthError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(AuthError::new(ErrorKind::RevocationUnavailable));
        }
        if self.revoked.load(Ordering::SeqCst) {
            return Err(AuthError::new(ErrorKind::Revoked));
        }
        Ok(())
    }
}

/// Polls `f` until it is true, for at most 20 s.
pub async fn eventually(mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "condition not met within 20 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
