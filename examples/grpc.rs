//! # gRPC: a protected tonic service, with a dev issuer over HTTP
//!
//! ```sh
//! cargo run --example grpc
//! ```
//!
//! - **gRPC** on `127.0.0.1:50051` (`TOKENGATE_GRPC_BIND`): `tokengate.example.v1.Orders`
//!   (`examples/proto/orders.proto`). Both methods need scope `orders:read` and a
//!   `tenant_id` claim equal to the request's `tenant_id` (else `PERMISSION_DENIED`); no or
//!   a bad token is `UNAUTHENTICATED`. `WatchOrders` sends an event every 200 ms until the
//!   client cancels or the token ends (exp + leeway: the stream ends with
//!   `UNAUTHENTICATED`). `grpc.health.v1.Health` and server reflection need no token.
//! - **Dev issuer** over HTTP on `127.0.0.1:3002` (`TOKENGATE_BIND`), development only:
//!   `POST /dev/token` with the quickstart's JSON body `{sub, scope, tenant_id, region,
//!   ttl_secs}`, discovery and JWKS. The gRPC service gets its keys from it through the
//!   JWKS cache, by OIDC discovery, like from a real identity provider.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `TOKENGATE_GRPC_BIND` | the gRPC listen address | `127.0.0.1:50051` |
//! | `TOKENGATE_BIND` | the dev issuer's listen address | `127.0.0.1:3002` |
//! | `TOKENGATE_ISSUER` | an external issuer (turns the dev issuer off; keys by discovery) | embedded |
//! | `TOKENGATE_JWKS_URL` | the JWKS URL instead of the discovered one | from discovery |
//! | `TOKENGATE_AUDIENCE` | the accepted audience (required with `TOKENGATE_ISSUER`) | `orders-api` |
//! | `TOKENGATE_ALGORITHMS` | allowed algorithms, comma-separated | `ES256` embedded, every asymmetric one otherwise |
//! | `TOKENGATE_TYP` | the required header `typ` | none |
//! | `TOKENGATE_LEEWAY_SECS` | clock leeway for `exp`/`nbf`, also for ending streams | `30` |
//! | `TOKENGATE_EXPOSE_DEV_ISSUER` | `1` serves the dev issuer on a non-loopback address | `0` |
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::error::Error;
use std::pin::Pin;
use std::time::Duration;

use tokengate::core::{ASYMMETRIC_ALGORITHMS, parse_algorithm};
use tokengate::jwks::JwksCache;
use tokengate::{Algorithm, Verifier};
use tokengate_example_proto::FILE_DESCRIPTOR_SET;
use tokengate_example_proto::orders::orders_server::{Orders, OrdersServer};
use tokengate_example_proto::orders::{ListOrdersRequest, ListOrdersResponse, Order, OrderEvent, WatchOrdersRequest};
use tokengate_issuer::DevIssuer;
use tokengate_tonic::methods::{ClaimEquals, MethodMap, require_scope};
use tokengate_tonic::{GrpcAuthLayer, RequestExt};
use tokio::net::TcpListener;
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status};

type BoxError = Box<dyn Error + Send + Sync>;

const REALM: &str = "orders";
const DEFAULT_GRPC_BIND: &str = "127.0.0.1:50051";
const DEFAULT_BIND: &str = "127.0.0.1:3002";
const DEFAULT_AUDIENCE: &str = "orders-api";
const DEFAULT_LEEWAY_SECS: u64 = 30;
const SERVICE: &str = "tokengate.example.v1.Orders";

/// What the environment configures.
#[derive(Debug)]
struct Config {
    issuer: Option<String>,
    jwks_url: Option<String>,
    audience: String,
    algorithms: Vec<Algorithm>,
    typ: Option<String>,
    leeway: Duration,
    expose_dev_issuer: bool,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let issuer = var("TOKENGATE_ISSUER");
        let jwks_url = var("TOKENGATE_JWKS_URL");
        if jwks_url.is_some() && issuer.is_none() {
            return Err("TOKENGATE_JWKS_URL needs TOKENGATE_ISSUER (the issuer tokens must carry)".into());
        }
        let audience = match (var("TOKENGATE_AUDIENCE"), &issuer) {
            (Some(audience), _) => audience,
            (None, None) => DEFAULT_AUDIENCE.to_owned(),
            (None, Some(_)) => return Err("TOKENGATE_AUDIENCE is required with TOKENGATE_ISSUER".into()),
        };
        let algorithms = match var("TOKENGATE_ALGORITHMS") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| parse_algorithm(name).ok_or_else(|| format!("TOKENGATE_ALGORITHMS: unknown {name:?}")))
                .collect::<Result<Vec<_>, _>>()?,
            None if issuer.is_none() => vec![Algorithm::ES256],
            None => ASYMMETRIC_ALGORITHMS.to_vec(),
        };
        if algorithms.is_empty() {
            return Err("TOKENGATE_ALGORITHMS is empty".into());
        }
        let leeway = match var("TOKENGATE_LEEWAY_SECS") {
            Some(secs) => {
                secs.parse().map_err(|_| format!("TOKENGATE_LEEWAY_SECS: not a number of seconds: {secs:?}"))?
            }
            None => DEFAULT_LEEWAY_SECS,
        };
        let expose_dev_issuer = match var("TOKENGATE_EXPOSE_DEV_ISSUER").as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => return Err(format!("TOKENGATE_EXPOSE_DEV_ISSUER must be 0 or 1, not {other:?}")),
        };
        Ok(Config {
            issuer,
            jwks_url,
            audience,
            algorithms,
            typ: var("TOKENGATE_TYP"),
            leeway: Duration::from_secs(leeway),
            expose_dev_issuer,
        })
    }
}

/// The `Orders` service: the tenant in each request must be the token's.
#[derive(Debug, Default)]
struct OrdersService;

fn same_tenant<T>(request: &Request<T>, tenant: &str) -> Result<(), Status> {
    request.authorize(&ClaimEquals::new("tenant_id"), tenant)
}

type EventStream = Pin<Box<dyn Stream<Item = Result<OrderEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Orders for OrdersService {
    async fn list_orders(&self, request: Request<ListOrdersRequest>) -> Result<Response<ListOrdersResponse>, Status> {
        same_tenant(&request, &request.get_ref().tenant_id)?;
        let tenant = &request.get_ref().tenant_id;
        let orders = vec![
            Order { id: format!("{tenant}-1"), item: "widgets".into() },
            Order { id: format!("{tenant}-2"), item: "gadgets".into() },
        ];
        Ok(Response::new(ListOrdersResponse { orders }))
    }

    type WatchOrdersStream = EventStream;

    async fn watch_orders(&self, request: Request<WatchOrdersRequest>) -> Result<Response<EventStream>, Status> {
        same_tenant(&request, &request.get_ref().tenant_id)?;
        let tenant = request.into_inner().tenant_id;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            for n in 1u64.. {
                tick.tick().await;
                let kind = if n % 3 == 0 { "shipped" } else { "created" };
                let event = OrderEvent { order_id: format!("{tenant}-{n}"), kind: kind.into() };
                // The client cancelled, or the layer ended the stream (token expired or
                // revoked): the receiver is gone.
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// The lines printed at start: how to call the service.
fn grpcurl_lines(grpc: &str, http: Option<&str>, audience: &str) -> String {
    let mut out = String::new();
    match http {
        Some(base) => out.push_str(&format!(
            "# Mint a token from the dev issuer (development only):\n\
             TOKEN=$(curl -s -X POST {base}/dev/token -H 'content-type: application/json' \\\n  \
             -d '{{\"sub\":\"alice\",\"scope\":\"orders:read\",\"tenant_id\":\"acme\",\"ttl_secs\":60}}' \\\n  \
             | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n\n"
        )),
        None => {
            out.push_str(&format!("# Get an access token for audience {audience:?} from your issuer:\nTOKEN=...\n\n"))
        }
    }
    out.push_str(&format!(
        "# Health and reflection, no token needed:\n\
         grpcurl -plaintext {grpc} grpc.health.v1.Health/Check\n\
         grpcurl -plaintext {grpc} list\n\n\
         # No token: UNAUTHENTICATED\n\
         grpcurl -plaintext -d '{{\"tenant_id\":\"acme\"}}' {grpc} {SERVICE}/ListOrders\n\n\
         # Your tenant's orders:\n\
         grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{\"tenant_id\":\"acme\"}}' {grpc} {SERVICE}/ListOrders\n\n\
         # Another tenant: PERMISSION_DENIED\n\
         grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{\"tenant_id\":\"globex\"}}' {grpc} {SERVICE}/ListOrders\n\n\
         # A stream of events every 200 ms, ended with UNAUTHENTICATED when the token expires (exp + leeway):\n\
         grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{\"tenant_id\":\"acme\"}}' {grpc} {SERVICE}/WatchOrders\n"
    ));
    out
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let config = Config::from_env()?;
    let grpc_bind = std::env::var("TOKENGATE_GRPC_BIND").unwrap_or_else(|_| DEFAULT_GRPC_BIND.to_owned());
    let http_bind = std::env::var("TOKENGATE_BIND").unwrap_or_else(|_| DEFAULT_BIND.to_owned());

    // The embedded dev issuer, over HTTP.
    let mut dev_task = None;
    let mut http_base = None;
    let issuer = match &config.issuer {
        Some(issuer) => issuer.clone(),
        None => {
            let listener =
                TcpListener::bind(&http_bind).await.map_err(|e| format!("cannot listen on {http_bind}: {e}"))?;
            let local = listener.local_addr()?;
            if !local.ip().is_loopback() && !config.expose_dev_issuer {
                return Err(format!(
                    "refusing to serve the dev issuer on {local}: it mints tokens for anyone who asks. \
                     Bind to 127.0.0.1, set TOKENGATE_ISSUER, or set TOKENGATE_EXPOSE_DEV_ISSUER=1"
                )
                .into());
            }
            let base = format!("http://{local}");
            let mut dev = DevIssuer::builder(base.clone()).audience(config.audience.clone());
            if let Some(typ) = &config.typ {
                dev = dev.typ(typ.clone());
            }
            let dev = dev.build()?;
            let app: axum::Router = dev.router();
            dev_task = Some(tokio::spawn(async move { axum::serve(listener, app).await }));
            http_base = Some(base.clone());
            base
        }
    };

    // Keys through the JWKS cache, like from a real identity provider.
    let keys = match &config.jwks_url {
        Some(url) => JwksCache::from_url(url).await?,
        None => JwksCache::discover(&issuer).await?,
    };
    let mut verifier = Verifier::builder(keys)
        .issuer(issuer.clone())
        .audience(config.audience.clone())
        .algorithms(config.algorithms.iter().copied())
        .leeway(config.leeway);
    if let Some(typ) = &config.typ {
        verifier = verifier.typ(typ.clone());
    }
    let methods = MethodMap::new().method(&format!("/{SERVICE}/*"), require_scope("orders:read"))?;
    let layer = GrpcAuthLayer::new(verifier.build()?).realm(REALM).stream_leeway(config.leeway).methods(methods);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<OrdersServer<OrdersService>>().await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let listener = TcpListener::bind(&grpc_bind).await.map_err(|e| format!("cannot listen on {grpc_bind}: {e}"))?;
    let grpc_addr = listener.local_addr()?;
    let server = tonic::transport::Server::builder()
        .layer(layer)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(OrdersServer::new(OrdersService))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
            let _ = tokio::signal::ctrl_c().await;
        });

    match &http_base {
        Some(base) => println!("tokengate gRPC example: gRPC on {grpc_addr}, dev issuer on {base}\n"),
        None => println!("tokengate gRPC example: gRPC on {grpc_addr} (keys from {issuer})\n"),
    }
    println!("{}", grpcurl_lines(&grpc_addr.to_string(), http_base.as_deref(), &config.audience));
    server.await?;
    if let Some(task) = dev_task {
        task.abort();
    }
    Ok(())
}
