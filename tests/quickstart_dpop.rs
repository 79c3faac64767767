//! The quickstart's `/me` accepts DPoP (RFC 9449) over real sockets: a token with
//! `cnf.jkt` needs the DPoP scheme and a valid proof; a token without `cnf` keeps working
//! as a bearer token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use quickstart::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokengate_pop::dpop::jwk_thumbprint;
use tokio::net::TcpListener;

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

struct Holder(EcdsaKeyPair);

impl Holder {
    fn jwk(&self) -> serde_json::Map<String, Value> {
        let p = self.0.public_key().as_ref();
        let b = |s: &[u8]| URL_SAFE_NO_PAD.encode(s);
        json!({"kty": "EC", "crv": "P-256", "x": b(&p[1..33]), "y": b(&p[33..65])}).as_object().unwrap().clone()
    }

    fn proof(&self, method: &str, url: &str, token: &str, jti: &str) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()});
        let ath = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()));
        let claims = json!({"jti": jti, "htm": method, "htu": url, "iat": now(), "ath": ath});
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.0.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

async fn mint(client: &reqwest::Client, base: &str, body: Value) -> String {
    let response = client.post(format!("{base}/dev/token")).body(body.to_string()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_str::<Value>(&response.text().await.unwrap()).unwrap()["access_token"].as_str().unwrap().to_owned()
}

async fn me(
    client: &reqwest::Client,
    base: &str,
    authorization: &str,
    proof: Option<&str>,
) -> (StatusCode, Option<String>) {
    let mut request = client.get(format!("{base}/me")).header("authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    let response = request.send().await.unwrap();
    let www = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    (response.status(), www)
}

const ALGS: &str = r#"DPoP algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA""#;

#[tokio::test]
async fn me_accepts_dpop_bound_tokens_with_a_proof() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = quickstart::start(listener, Config::embedded()).await.unwrap();
    let base = running.base_url.as_str();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let holder = Holder(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap());
    let jkt = jwk_thumbprint(&holder.jwk()).unwrap();
    let token = mint(&client, base, json!({"sub": "alice", "cnf": {"jkt": jkt}})).await;
    let url = format!("{base}/me");

    let proof = holder.proof("GET", &url, &token, "p1");
    assert_eq!(me(&client, base, &format!("DPoP {token}"), Some(&proof)).await, (StatusCode::OK, None));
    // The same proof again.
    let (status, www) = me(&client, base, &format!("DPoP {token}"), Some(&proof)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        www.unwrap(),
        format!(r#"{ALGS}, error="invalid_dpop_proof", error_description="the proof was already used (jti replayed)""#)
    );
    // No proof.
    let (status, www) = me(&client, base, &format!("DPoP {token}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        www.unwrap(),
        format!(r#"{ALGS}, error="invalid_dpop_proof", error_description="exactly one DPoP header is required""#)
    );
    // The bound token as a bearer token.
    let (status, www) = me(&client, base, &format!("Bearer {token}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        www.unwrap(),
        format!(r#"{ALGS}, error="invalid_token", error_description="a DPoP-bound token sent with the Bearer scheme""#)
    );
    // A token without cnf keeps working as a bearer token.
    let plain = mint(&client, base, json!({"sub": "bob"})).await;
    assert_eq!(me(&client, base, &format!("Bearer {plain}"), None).await, (StatusCode::OK, None));
    running.server.abort();
}
