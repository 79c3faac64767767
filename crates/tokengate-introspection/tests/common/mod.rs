//! A local introspection endpoint on `127.0.0.1:0` that records what it received and
//! answers what each test tells it to.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, header};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What one request carried.
#[derive(Debug, Clone)]
pub struct Seen {
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Seen {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the endpoint answers.
#[derive(Clone)]
pub enum Answer {
    Json(String),
    Status(u16, String),
    Typed(&'static str, String),
    /// Never answers.
    Hang,
    /// A body of `n` bytes, streamed without a length.
    Chunked(usize),
}

type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

pub struct Server {
    pub base: String,
    pub endpoint: String,
    pub calls: Arc<AtomicUsize>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests wait for a permit when the server is gated.
    pub gate: Arc<Semaphore>,
    pub in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().expect("no request seen")
    }
}

/// An endpoint at `/introspect`, answering through `handler`; with `gated`, each request
/// waits for a permit of `Server::gate`. The discovery document names it.
pub async fn serve(gated: bool, handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Server {
    serve_with_metadata(gated, handler, None).await
}

/// As [`serve`], with a discovery document of our own (`{base}` replaced).
pub async fn serve_with_metadata(
    gated: bool,
    handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
    metadata: Option<&str>,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(Semaphore::new(if gated { 0 } else { Semaphore::MAX_PERMITS }));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let handler: Handler = Arc::new(handler);
    let metadata = metadata.unwrap_or(r#"{"issuer":"{base}","introspection_endpoint":"{base}/introspect"}"#);
    let metadata = metadata.replace("{base}", &base);

    let state = (calls.clone(), seen.clone(), gate.clone(), in_flight.clone(), max_in_flight.clone(), handler);
    let introspect = move |headers: HeaderMap, body: String| {
        let (calls, seen, gate, in_flight, max_in_flight, handler) = state.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            max_in_flight.fetch_max(now, Ordering::SeqCst);
            let _permit = gate.acquire().await.unwrap();
            let text = |name| headers.get(name).map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned());
            let record = Seen {
                authorization: text(header::AUTHORIZATION),
                accept: text(header::ACCEPT),
                content_type: text(header::CONTENT_TYPE),
                form: form_urlencoded::parse(body.as_bytes()).into_owned().collect(),
            };
            seen.lock().unwrap().push(record.clone());
            let answer = handler(&record);
            in_flight.fetch_sub(1, Ordering::SeqCst);
            match answer {
                Answer::Json(body) => typed(200, "application/json", body),
                Answer::Status(status, body) => typed(status, "application/json", body),
                Answer::Typed(content_type, body) => typed(200, content_type, body),
                Answer::Hang => std::future::pending().await,
                Answer::Chunked(n) => {
                    let chunks = (0..n.div_ceil(1024)).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024]));
                    let stream = futures_util::stream::iter(chunks);
                    Response::builder().status(200).body(Body::from_stream(stream)).unwrap()
                }
            }
        }
    };
    let app = Router::new().route("/introspect", post(introspect)).route(
        "/.well-known/openid-configuration",
        get(move || async move { typed(200, "application/json", metadata) }),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server { endpoint: format!("{base}/introspect"), base, calls, seen, gate, in_flight, max_in_flight, task }
}

fn typed(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}
