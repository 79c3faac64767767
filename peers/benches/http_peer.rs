//! The per-request cost of JWT verification in an HTTP router, side by side in one run:
//! a bare axum 0.8 router, the same router with tokengate's `JwtAuthLayer` (verified-token
//! cache off and on), an axum 0.7 router with jwt-authorizer 0.15 configured the same way
//! (same key, `iss`, `aud`, `exp`, `nbf` checks) and its own bare axum 0.7 router, plus
//! tokengate's bare `Verifier::verify` for reference; for RS256 and ES256.
//!
//! Every request is driven in-process with `oneshot` on a current-thread runtime. After
//! criterion's groups, the same variants run again interleaved (a batch of each, round
//! after round) and the medians and ratios are printed: on a shared machine, load drift
//! then hits every variant alike.
//!
//! Run: `cd peers && cargo bench --bench http_peer`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tokengate_core::{Algorithm, Key, KeySet, Verifier};
use tokengate_issuer::{LocalSigner, Signer, SignerSet, TokenMinter};

const ISS: &str = "https://issuer.bench";
const AUD: &str = "orders-api";
/// Rounds of the interleaved pass.
const ROUNDS: usize = 101;

struct Fixture {
    token: String,
    pem: String,
    verifier: Verifier,
}

fn fixture(rt: &tokio::runtime::Runtime, alg: Algorithm) -> Fixture {
    let signer = LocalSigner::generate(alg).unwrap();
    let pem = signer.public_key_pem().unwrap();
    let jwk = serde_json::to_string(&signer.public_jwk()).unwrap();
    let keys = KeySet::new([Key::from_jwk_json(&jwk).unwrap()]).unwrap();
    let verifier = Verifier::builder(keys).issuer(ISS).audience(AUD).algorithms([alg]).build().unwrap();
    let minter =
        TokenMinter::builder(SignerSet::new(signer), ISS).audience(AUD).ttl(Duration::from_secs(3600)).build().unwrap();
    let token =
        rt.block_on(minter.token().subject("bench-user").claim("scope", "orders:read").unwrap().sign()).unwrap();
    verifier.verify(&token).unwrap();
    Fixture { token, pem, verifier }
}

/// axum 0.8 routers: bare, with tokengate's layer, with the layer and its cache.
mod ours {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::routing::get;
    use tokengate_core::Verifier;
    use tokengate_tower::JwtAuthLayer;
    use tower::ServiceExt;

    async fn handler() -> &'static str {
        "ok"
    }

    pub(crate) fn bare() -> Router {
        Router::new().route("/orders", get(handler))
    }

    pub(crate) fn with_layer(verifier: Verifier) -> Router {
        Router::new().route("/orders", get(handler)).route_layer(JwtAuthLayer::new(verifier))
    }

    pub(crate) fn with_cached_layer(verifier: Verifier) -> Router {
        let layer = JwtAuthLayer::new(verifier).cache_verified_tokens(10_000);
        Router::new().route("/orders", get(handler)).route_layer(layer)
    }

    pub(crate) fn request(bearer: &header::HeaderValue) -> Request<Body> {
        let mut request = Request::get("/orders").body(Body::empty()).unwrap();
        request.headers_mut().insert(header::AUTHORIZATION, bearer.clone());
        request
    }

    pub(crate) async fn call(router: &Router, bearer: &header::HeaderValue) {
        let response = router.clone().oneshot(request(bearer)).await.unwrap();
        debug_assert_eq!(response.status(), StatusCode::OK);
        std::hint::black_box(response);
    }

    pub(crate) async fn status(router: &Router, bearer: &header::HeaderValue) -> StatusCode {
        router.clone().oneshot(request(bearer)).await.unwrap().status()
    }
}

/// axum 0.7 routers: bare, and with jwt-authorizer 0.15.
mod peer {
    use axum07::Router;
    use axum07::body::Body;
    use axum07::http::{Request, StatusCode, header};
    use axum07::routing::get;
    use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, RegisteredClaims, Validation};
    use tokengate_core::Algorithm;
    use tower::ServiceExt;

    async fn handler() -> &'static str {
        "ok"
    }

    pub(crate) fn bare() -> Router {
        Router::new().route("/orders", get(handler))
    }

    pub(crate) async fn with_jwt_authorizer(alg: Algorithm, pem: &str, iss: &str, aud: &str) -> Router {
        let (builder, alg): (JwtAuthorizer<RegisteredClaims>, _) = match alg {
            Algorithm::RS256 => (JwtAuthorizer::from_rsa_pem_text(pem), jsonwebtoken9::Algorithm::RS256),
            Algorithm::ES256 => (JwtAuthorizer::from_ec_pem_text(pem), jsonwebtoken9::Algorithm::ES256),
            other => panic!("not benchmarked: {other:?}"),
        };
        // The same checks as tokengate's verifier: signature with one algorithm, iss,
        // aud, exp (required) and nbf.
        let validation = Validation::new().iss(&[iss]).aud(&[aud]).exp(true).nbf(true).algs(vec![alg]);
        let authorizer: Authorizer<RegisteredClaims> = builder.validation(validation).build().await.unwrap();
        Router::new().route("/orders", get(handler)).layer(authorizer.into_layer())
    }

    pub(crate) fn request(bearer: &header::HeaderValue) -> Request<Body> {
        let mut request = Request::get("/orders").body(Body::empty()).unwrap();
        request.headers_mut().insert(header::AUTHORIZATION, bearer.clone());
        request
    }

    pub(crate) async fn call(router: &Router, bearer: &header::HeaderValue) {
        let response = router.clone().oneshot(request(bearer)).await.unwrap();
        debug_assert_eq!(response.status(), StatusCode::OK);
        std::hint::black_box(response);
    }

    pub(crate) async fn status(router: &Router, bearer: &header::HeaderValue) -> StatusCode {
        router.clone().oneshot(request(bearer)).await.unwrap().status()
    }

    /// jsonwebtoken 9's `decode` as jwt-authorizer calls it: the raw check underneath
    /// its middleware, with the same validation.
    pub(crate) struct Decoder {
        key: jsonwebtoken9::DecodingKey,
        validation: jsonwebtoken9::Validation,
    }

    impl Decoder {
        pub(crate) fn new(alg: Algorithm, pem: &str, iss: &str, aud: &str) -> Decoder {
            let (key, alg) = match alg {
                Algorithm::RS256 => {
                    (jsonwebtoken9::DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap(), jsonwebtoken9::Algorithm::RS256)
                }
                Algorithm::ES256 => {
                    (jsonwebtoken9::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap(), jsonwebtoken9::Algorithm::ES256)
                }
                other => panic!("not benchmarked: {other:?}"),
            };
            let mut validation = jsonwebtoken9::Validation::new(alg);
            validation.set_issuer(&[iss]);
            validation.set_audience(&[aud]);
            validation.validate_nbf = true;
            Decoder { key, validation }
        }
    }

    pub(crate) fn decode(token: &str, d: &Decoder) -> Result<RegisteredClaims, jsonwebtoken9::errors::Error> {
        jsonwebtoken9::decode::<RegisteredClaims>(token, &d.key, &d.validation).map(|data| data.claims)
    }
}

fn http_layers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let f = fixture(&rt, alg);
        let bearer = axum::http::HeaderValue::from_str(&format!("Bearer {}", f.token)).unwrap();
        let bearer07 = axum07::http::HeaderValue::from_str(&format!("Bearer {}", f.token)).unwrap();

        let bare = ours::bare();
        let layered = ours::with_layer(f.verifier.clone());
        let cached = ours::with_cached_layer(f.verifier.clone());
        let bare07 = peer::bare();
        let authorizer = rt.block_on(peer::with_jwt_authorizer(alg, &f.pem, ISS, AUD));
        let decoder = peer::Decoder::new(alg, &f.pem, ISS, AUD);

        // Every router accepts the token before anything is measured.
        for router in [&bare, &layered, &cached] {
            assert_eq!(rt.block_on(ours::status(router, &bearer)), axum::http::StatusCode::OK);
        }
        for router in [&bare07, &authorizer] {
            assert_eq!(rt.block_on(peer::status(router, &bearer07)), axum07::http::StatusCode::OK);
        }
        // And rejects a token with a broken signature.
        let mut forged = f.token.clone();
        forged.truncate(forged.len() - 4);
        forged.push_str("AAAA");
        let forged_bearer = axum::http::HeaderValue::from_str(&format!("Bearer {forged}")).unwrap();
        let forged_bearer07 = axum07::http::HeaderValue::from_str(&format!("Bearer {forged}")).unwrap();
        assert_eq!(rt.block_on(ours::status(&layered, &forged_bearer)), axum::http::StatusCode::UNAUTHORIZED);
        assert_ne!(rt.block_on(peer::status(&authorizer, &forged_bearer07)), axum07::http::StatusCode::OK);

        let name = tokengate_core::algorithm_name(alg);
        let mut group = c.benchmark_group(format!("http/{name}"));
        group.bench_function("verifier_verify", |b| b.iter(|| f.verifier.verify(std::hint::black_box(&f.token))));
        group.bench_function("jsonwebtoken9_decode", |b| {
            b.iter(|| peer::decode(std::hint::black_box(&f.token), &decoder).unwrap())
        });
        group.bench_function("axum08_bare", |b| b.iter(|| rt.block_on(ours::call(&bare, &bearer))));
        group.bench_function("axum08_tokengate", |b| b.iter(|| rt.block_on(ours::call(&layered, &bearer))));
        group.bench_function("axum08_tokengate_cached", |b| b.iter(|| rt.block_on(ours::call(&cached, &bearer))));
        group.bench_function("axum07_bare", |b| b.iter(|| rt.block_on(peer::call(&bare07, &bearer07))));
        group.bench_function("axum07_jwt_authorizer", |b| b.iter(|| rt.block_on(peer::call(&authorizer, &bearer07))));
        group.finish();

        // The same variants again, interleaved: round after round, a batch of each, so
        // that a change in machine load hits every variant alike. The medians per
        // request and the ratios the issue sets targets for.
        let mut variants: Vec<Variant<'_, '_>> = vec![
            ("verifier_verify", Box::new(|| drop(std::hint::black_box(f.verifier.verify(&f.token))))),
            ("jsonwebtoken9_decode", Box::new(|| drop(std::hint::black_box(peer::decode(&f.token, &decoder))))),
            ("axum08_bare", Box::new(|| rt.block_on(ours::call(&bare, &bearer)))),
            ("axum08_tokengate", Box::new(|| rt.block_on(ours::call(&layered, &bearer)))),
            ("axum08_tokengate_cached", Box::new(|| rt.block_on(ours::call(&cached, &bearer)))),
            ("axum07_bare", Box::new(|| rt.block_on(peer::call(&bare07, &bearer07)))),
            ("axum07_jwt_authorizer", Box::new(|| rt.block_on(peer::call(&authorizer, &bearer07)))),
        ];
        let medians = interleaved(&mut variants, ROUNDS, 100);
        let get = |name: &str| medians.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).unwrap();
        let verify = get("verifier_verify");
        let ours_cost = get("axum08_tokengate") - get("axum08_bare");
        let cached_cost = get("axum08_tokengate_cached") - get("axum08_bare");
        let theirs_cost = get("axum07_jwt_authorizer") - get("axum07_bare");
        println!("\ninterleaved medians, {name} ({ROUNDS} rounds x 100 requests per variant):");
        for (variant, ns) in &medians {
            println!("  {variant:<26} {:>9.2} us", ns / 1000.0);
        }
        println!("  tokengate layer cost over bare axum 0.8     {:>9.2} us", ours_cost / 1000.0);
        println!("  tokengate cached cost over bare axum 0.8    {:>9.2} us", cached_cost / 1000.0);
        println!("  jwt-authorizer cost over bare axum 0.7      {:>9.2} us", theirs_cost / 1000.0);
        println!("  tokengate layer cost / Verifier::verify     {:>9.3}  (target <= 1.10)", ours_cost / verify);
        println!(
            "  jwt-authorizer cost / tokengate layer cost  {:>9.3}  (target >= 1.35 on RS256)",
            theirs_cost / ours_cost
        );
        println!("  cached cost / Verifier::verify              {:>9.3}  (target <= 0.10)", cached_cost / verify);
        println!("  jwt-authorizer cost / jsonwebtoken9 decode  {:>9.3}", theirs_cost / get("jsonwebtoken9_decode"));
    }
}

/// A named variant of the interleaved pass: one request (or one verification) per call.
type Variant<'n, 'f> = (&'n str, Box<dyn FnMut() + 'f>);

/// Runs `rounds` rounds of `batch` calls of every variant, in turn, and returns each
/// variant's median time per call in nanoseconds.
fn interleaved<'a>(variants: &mut [Variant<'a, '_>], rounds: usize, batch: u32) -> Vec<(&'a str, f64)> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); variants.len()];
    for (_, run) in variants.iter_mut() {
        for _ in 0..batch {
            run(); // warm up
        }
    }
    for _ in 0..rounds {
        for (i, (_, run)) in variants.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..batch {
                run();
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / f64::from(batch));
        }
    }
    variants
        .iter()
        .zip(samples)
        .map(|((name, _), mut s)| {
            s.sort_by(f64::total_cmp);
            (*name, s[s.len() / 2])
        })
        .collect()
}

/// Short runs: the differences measured here are several times the noise.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .without_plots()
}

criterion_group! { name = benches; config = config(); targets = http_layers }
criterion_main!(benches);
