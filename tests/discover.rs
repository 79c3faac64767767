//! `tokengate::discover`: the two-statement setup against a real issuer over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use tokengate::core::ASYMMETRIC_ALGORITHMS;
use tokengate::{Algorithm, ErrorKind};
use tokengate_issuer::{DevIssuer, LocalSigner};
use tokio::net::TcpListener;

#[tokio::test]
async fn discovery_binds_the_issuer_and_allows_every_asymmetric_algorithm() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let idp = DevIssuer::builder(issuer.clone())
        .audience("orders-api")
        .signer(LocalSigner::generate(Algorithm::ES256).unwrap())
        .build()
        .unwrap();
    let app: axum::Router = idp.router();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let discovered = tokengate::discover(&issuer).await.unwrap();
    assert_eq!(discovered.issuer(), issuer);
    let verifier = discovered.audience("orders-api").build().unwrap();
    assert_eq!(verifier.algorithms(), ASYMMETRIC_ALGORITHMS);

    let token = idp.minter().token().subject("alice").sign().await.unwrap();
    let verified = verifier.verify(&token).unwrap();
    assert_eq!(verified.issuer(), Some(issuer.as_str()));

    // The audience is checked: a verifier for another audience refuses the same token.
    let other = tokengate::discover(&issuer).await.unwrap().audience("billing-api").build().unwrap();
    assert_eq!(other.verify(&token).unwrap_err().kind(), ErrorKind::InvalidAudience);
    // HMAC is not in the allowlist: an HS256 token is refused before any key is looked up.
    let hs = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    assert_eq!(verifier.verify(hs).unwrap_err().kind(), ErrorKind::AlgorithmNotAllowed);
    server.abort();
}

#[tokio::test]
async fn an_unreachable_issuer_is_an_error() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    assert!(tokengate::discover(&format!("http://{closed}")).await.is_err());
}
