//! DPoP (RFC 9449) through the HTTP layer: valid proofs accepted, every refusal with its
//! exact status and `WWW-Authenticate` challenge.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::body::Body;
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tokengate_core::{Algorithm, FixedClock, KeySet, Verified, Verifier};
use tokengate_issuer::{LocalSigner, SignerSet, TokenMinter};
use tokengate_pop::dpop::{DpopLayer, DpopScheme, DpopVerifier, jwk_thumbprint};
use tokengate_tower::{JwtAuthLayer, TokenSources};
use tower::ServiceExt;

const NOW: i64 = 1_700_000_000;
const ORIGIN: &str = "https://api.example";

struct Holder {
    pair: EcdsaKeyPair,
}

impl Holder {
    fn new() -> Holder {
        Holder { pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap() }
    }

    fn jwk(&self) -> serde_json::Map<String, Value> {
        let point = self.pair.public_key().as_ref();
        let b = |s: &[u8]| URL_SAFE_NO_PAD.encode(s);
        json!({"kty": "EC", "crv": "P-256", "x": b(&point[1..33]), "y": b(&point[33..65])}).as_object().unwrap().clone()
    }

    fn jkt(&self) -> String {
        jwk_thumbprint(&self.jwk()).unwrap()
    }

    /// A proof with this header and claims, signed by `signer` (this holder by default).
    fn sign(&self, header: Value, claims: Value) -> String {
        let b = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b(&header), b(&claims));
        let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()})
    }

    fn claims(method: &str, url: &str, token: &str) -> Value {
        let mut jti = [0u8; 12];
        aws_lc_rs::rand::fill(&mut jti).unwrap();
        let ath = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()));
        json!({"jti": URL_SAFE_NO_PAD.encode(jti), "htm": method, "htu": url, "iat": NOW, "ath": ath})
    }

    fn proof(&self, method: &str, url: &str, token: &str) -> String {
        self.sign(self.header(), Holder::claims(method, url, token))
    }
}

struct Api {
    app: Router,
    minter: TokenMinter,
}

fn api() -> Api {
    let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    let (keys, _) = KeySet::from_jwks_json(&serde_json::to_vec(&signers.jwks()).unwrap()).unwrap();
    let minter = TokenMinter::builder(signers, "https://as.example").audience("api").build().unwrap();
    let verifier = Verifier::builder(keys)
        .issuer("https://as.example")
        .audience("api")
        .algorithms([Algorithm::ES256])
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    let dpop = DpopVerifier::new(ORIGIN).algorithms([Algorithm::ES256, Algorithm::EdDSA]).clock(FixedClock::new(NOW));
    let me = |Extension(t): Extension<Arc<Verified>>| async move { t.subject().unwrap_or_default().to_owned() };
    let app =
        Router::new().route("/me", get(me)).route("/orders", post(me)).route_layer(DpopLayer::new(dpop)).route_layer(
            JwtAuthLayer::new(verifier).realm("api").token_sources(TokenSources::bearer().then(DpopScheme)),
        );
    Api { app, minter }
}

impl Api {
    async fn token(&self, jkt: Option<&str>) -> String {
        let mut token = self.minter.token().subject("alice").issued_at(NOW);
        if let Some(jkt) = jkt {
            token = token.claim("cnf", json!({ "jkt": jkt })).unwrap();
        }
        token.sign().await.unwrap()
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        authorization: &str,
        proofs: &[&str],
    ) -> (StatusCode, Option<String>) {
        let mut request = Request::builder().method(method).uri(path).header("authorization", authorization);
        for proof in proofs {
            request = request.header("dpop", *proof);
        }
        let response = self.app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let www = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        (response.status(), www)
    }
}

fn refused(code: &str, description: &str) -> (StatusCode, Option<String>) {
    let challenge = format!(r#"DPoP algs="ES256 EdDSA", error="{code}", error_description="{description}""#);
    (StatusCode::UNAUTHORIZED, Some(challenge))
}

#[tokio::test]
async fn a_valid_proof_is_accepted_once() {
    let (api, holder) = (api(), Holder::new());
    let token = api.token(Some(&holder.jkt())).await;
    let proof = holder.proof("GET", "https://api.example/me", &token);
    let auth = format!("DPoP {token}");
    assert_eq!(api.call("GET", "/me", &auth, &[&proof]).await, (StatusCode::OK, None));
    // Replayed.
    assert_eq!(
        api.call("GET", "/me", &auth, &[&proof]).await,
        refused("invalid_dpop_proof", "the proof was already used (jti replayed)")
    );
    // htu is compared without query and fragment, scheme and host case-insensitively.
    let proof = holder.proof("GET", "HTTPS://API.example:443/me?page=2#top", &token);
    assert_eq!(api.call("GET", "/me?page=2", &auth, &[&proof]).await, (StatusCode::OK, None));
}

#[tokio::test]
async fn each_bad_proof_is_refused_with_its_reason() {
    let (api, holder) = (api(), Holder::new());
    let token = api.token(Some(&holder.jkt())).await;
    let auth = format!("DPoP {token}");
    let url = "https://api.example/me";
    let bad = |code: &'static str, description: &'static str| refused(code, description);

    let wrong_method = holder.proof("POST", url, &token);
    assert_eq!(
        api.call("GET", "/me", &auth, &[&wrong_method]).await,
        bad("invalid_dpop_proof", "htm is not the request method")
    );
    let wrong_url = holder.proof("GET", "https://api.example/orders", &token);
    assert_eq!(
        api.call("GET", "/me", &auth, &[&wrong_url]).await,
        bad("invalid_dpop_proof", "htu is not the request URL")
    );
    let other_host = holder.proof("GET", "https://evil.example/me", &token);
    assert_eq!(
        api.call("GET", "/me", &auth, &[&other_host]).await,
        bad("invalid_dpop_proof", "htu is not the request URL")
    );

    let mut stale = Holder::claims("GET", url, &token);
    stale["iat"] = json!(NOW - 61);
    let stale = holder.sign(holder.header(), stale);
    assert_eq!(
        api.call("GET", "/me", &auth, &[&stale]).await,
        bad("invalid_dpop_proof", "iat is outside the accepted window")
    );

    let mut wrong_ath = Holder::claims("GET", url, &token);
    wrong_ath["ath"] = json!("AAAA");
    let wrong_ath = holder.sign(holder.header(), wrong_ath);
    assert_eq!(
        api.call("GET", "/me", &auth, &[&wrong_ath]).await,
        bad("invalid_dpop_proof", "ath is not the hash of the access token")
    );

    // Signed by another key than the jwk it carries.
    let other = Holder::new();
    let forged = other.sign(holder.header(), Holder::claims("GET", url, &token));
    assert_eq!(
        api.call("GET", "/me", &auth, &[&forged]).await,
        bad("invalid_dpop_proof", "the proof's signature is invalid")
    );
    // A consistent proof from another key: not the key the token is bound to.
    let stranger = other.proof("GET", url, &token);
    assert_eq!(
        api.call("GET", "/me", &auth, &[&stranger]).await,
        bad("invalid_token", "the proof's key is not the one the token is bound to")
    );

    // A private key in the jwk.
    let mut header = holder.header();
    header["jwk"]["d"] = json!("AAAA");
    let private = holder.sign(header, Holder::claims("GET", url, &token));
    assert_eq!(
        api.call("GET", "/me", &auth, &[&private]).await,
        bad("invalid_dpop_proof", "the jwk holds private or symmetric key material")
    );

    let mut header = holder.header();
    header["typ"] = json!("JWT");
    let typ = holder.sign(header, Holder::claims("GET", url, &token));
    assert_eq!(api.call("GET", "/me", &auth, &[&typ]).await, bad("invalid_dpop_proof", "typ is not dpop+jwt"));
    let mut header = holder.header();
    header["alg"] = json!("HS256");
    let hs = holder.sign(header, Holder::claims("GET", url, &token));
    assert_eq!(api.call("GET", "/me", &auth, &[&hs]).await, bad("invalid_dpop_proof", "alg not allowed"));

    // No proof, two proofs, garbage.
    assert_eq!(
        api.call("GET", "/me", &auth, &[]).await,
        bad("invalid_dpop_proof", "exactly one DPoP header is required")
    );
    let (a, b) = (holder.proof("GET", url, &token), holder.proof("GET", url, &token));
    assert_eq!(
        api.call("GET", "/me", &auth, &[&a, &b]).await,
        bad("invalid_dpop_proof", "exactly one DPoP header is required")
    );
    assert_eq!(api.call("GET", "/me", &auth, &["x.y"]).await, bad("invalid_dpop_proof", "not a compact JWS"));
}

#[tokio::test]
async fn bearer_and_dpop_schemes_are_not_interchangeable() {
    let (api, holder) = (api(), Holder::new());
    let bound = api.token(Some(&holder.jkt())).await;
    // A DPoP-bound token sent as a bearer token (even with a valid proof).
    let proof = holder.proof("GET", "https://api.example/me", &bound);
    assert_eq!(
        api.call("GET", "/me", &format!("Bearer {bound}"), &[&proof]).await,
        refused("invalid_token", "a DPoP-bound token sent with the Bearer scheme")
    );
    // An unbound token keeps working as a bearer token...
    let plain = api.token(None).await;
    assert_eq!(api.call("GET", "/me", &format!("Bearer {plain}"), &[]).await, (StatusCode::OK, None));
    // ...but is not accepted with the DPoP scheme.
    let proof = holder.proof("GET", "https://api.example/me", &plain);
    assert_eq!(
        api.call("GET", "/me", &format!("DPoP {plain}"), &[&proof]).await,
        refused("invalid_token", "the DPoP scheme with a token that is not DPoP-bound")
    );
    // The POST route checks htm against POST.
    let proof = holder.proof("POST", "https://api.example/orders", &bound);
    assert_eq!(api.call("POST", "/orders", &format!("DPoP {bound}"), &[&proof]).await, (StatusCode::OK, None));
}

#[tokio::test]
async fn without_the_authentication_layer_it_is_a_500() {
    let dpop = DpopVerifier::new(ORIGIN);
    let app: Router = Router::new().route("/me", get(|| async { "unreachable" })).route_layer(DpopLayer::new(dpop));
    let request = Request::builder().uri("/me").header("authorization", "Bearer x").body(Body::empty()).unwrap();
    assert_eq!(app.oneshot(request).await.unwrap().status(), StatusCode::INTERNAL_SERVER_ERROR);
}
