//! ID tokens validated with keys from the JWKS cache, served over real HTTP on 127.0.0.1:
//! a token naming a newly published `kid` triggers one refresh and then passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jwt_simple::prelude::*;
use serde_json::Value;
use tokengate_core::{Algorithm, ErrorKind};
use tokengate_jwks::{HttpClient, JwksCache, UrlSource};
use tokengate_oidc::{Expected, IdTokenValidator, OidcError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ISSUER: &str = "https://idp.example";
const CLIENT: &str = "notes";
const NONCE: &str = "n-jwks";

/// A JWKS endpoint: answers every request with the published set, counting hits.
struct JwksServer {
    url: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: &[&ES256KeyPair]) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let body = Arc::new(Mutex::new(String::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let server = JwksServer { url, body: Arc::clone(&body), hits: Arc::clone(&hits) };
        server.publish(keys);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let body = body.lock().unwrap().clone();
                hits.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                        body.len(),
                        body
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        server
    }

    fn publish(&self, keys: &[&ES256KeyPair]) {
        let keys: Vec<Value> = keys.iter().map(|k| serde_json::from_str(&k.public_key().to_jwk()).unwrap()).collect();
        *self.body.lock().unwrap() = serde_json::json!({ "keys": keys }).to_string();
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn id_token(key: &ES256KeyPair) -> String {
    let claims = Claims::create(jwt_simple::prelude::Duration::from_secs(300))
        .with_issuer(ISSUER)
        .with_subject("alice")
        .with_audience(CLIENT)
        .with_nonce(NONCE);
    key.sign(claims).unwrap()
}

#[tokio::test]
async fn a_new_kid_is_fetched_once_then_accepted() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let k1 = ES256KeyPair::generate().with_key_id("k1");
        let k2 = ES256KeyPair::generate().with_key_id("k2");
        let server = JwksServer::start(&[&k1]).await;
        let client = HttpClient::new().unwrap().timeout(Duration::from_secs(5));
        let cache = JwksCache::builder(UrlSource::new(&server.url, client).unwrap())
            .retry_backoff(Duration::from_secs(60), Duration::from_secs(60))
            .build()
            .await
            .unwrap();
        let validator = IdTokenValidator::builder(cache)
            .issuer(ISSUER)
            .client_id(CLIENT)
            .algorithms([Algorithm::ES256])
            .build()
            .unwrap();
        let expected = Expected::nonce(NONCE);
        assert_eq!(validator.validate(&id_token(&k1), &expected).await.unwrap().subject(), "alice");
        assert_eq!(server.hits(), 1);

        // Not yet published: without a refresh, the kid is unknown.
        let err = validator.validate_loaded(&id_token(&k2), &expected).unwrap_err();
        assert_eq!(err.auth_error().map(|e| e.kind()), Some(ErrorKind::UnknownKey), "{err:?}");

        // The provider rotates in k2: the first token naming it causes one fetch.
        server.publish(&[&k1, &k2]);
        assert!(validator.validate(&id_token(&k2), &expected).await.is_ok());
        assert_eq!(server.hits(), 2);

        // The OIDC rules still apply to keys from the cache.
        let err = validator.validate(&id_token(&k2), &Expected::nonce("other")).await.unwrap_err();
        assert!(matches!(err, OidcError::NonceMismatch), "{err:?}");
    })
    .await
    .unwrap();
}
