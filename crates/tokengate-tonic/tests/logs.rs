//! Tokens never appear in the layer's log lines (captured at TRACE).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tokengate_policy::Scope;
use tokengate_tonic::GrpcAuthLayer;
use tokengate_tonic::methods::MethodMap;
use tonic::Code;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// current_thread runtime: the server's tasks run on this thread, under this subscriber.
#[tokio::test]
async fn no_token_text_in_any_log_line() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();

    let store = SwitchStore::default();
    let methods = MethodMap::new().method("/tokengate.example.v1.Orders/*", Scope::all_of(["orders:read"])).unwrap();
    let layer = GrpcAuthLayer::new(verifier(ES256).build().unwrap())
        .methods(methods)
        .revocation(store.clone())
        .recheck_interval(Duration::from_millis(20));
    let server = serve(layer, TestOrders::default()).await;
    let mut client = client(server.addr).await;

    let tokens = [
        good().signed_by(other_fixture(ES256)).sign(),
        good().claim("exp", now() - 3600).sign(),
        TokenBuilder::new(ES256).claim("scope", "nothing").sign(),
        good().sign(),
    ];
    for token in &tokens[..3] {
        let status = client.list_orders(with_token(list("acme"), token)).await.unwrap_err();
        assert_ne!(status.code(), Code::Ok);
    }
    let mut stream = client.watch_orders(with_token(watch("acme"), &tokens[3])).await.unwrap().into_inner();
    assert!(stream.message().await.unwrap().is_some());
    store.revoked.store(true, std::sync::atomic::Ordering::SeqCst);
    loop {
        match stream.message().await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no status"),
            Err(status) => {
                assert_eq!(status.code(), Code::Unauthenticated);
                break;
            }
        }
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("tokengate: gRPC call refused"), "{logs}");
    assert!(logs.contains("tokengate: gRPC call denied by policy"), "{logs}");
    assert!(logs.contains("tokengate: stream ended"), "{logs}");
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        assert!(!logs.contains(signature), "signature in logs");
        assert!(!logs.contains(payload), "payload in logs");
    }
}
