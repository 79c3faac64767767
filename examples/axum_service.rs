//! A microservice template: an axum API whose tokens come from a real identity provider.
//!
//! ```sh
//! TOKENGATE_ISSUER=https://idp.example.com/ cargo run --example axum_service
//! ```
//!
//! The README's example, compiled with every `cargo test` so it cannot drift.
#![allow(clippy::print_stdout)]

use axum::{Router, routing::get};
use serde::Deserialize;
use tokengate::axum::Claims;
use tokengate::tower::JwtAuthLayer;

#[derive(Deserialize)]
struct MyClaims {
    sub: String,
    tenant_id: String,
}

async fn me(Claims(c): Claims<MyClaims>) -> String {
    format!("{} of {}", c.sub, c.tenant_id)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("TOKENGATE_ISSUER").unwrap_or_else(|_| "https://idp.example.com/".into());
    let verifier = tokengate::discover(&issuer).await?.audience("orders-api").build()?;
    let app = Router::new().route("/me", get(me)).route_layer(JwtAuthLayer::new(verifier)); // route_layer: a 404 stays a 404
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!("listening on http://127.0.0.1:8080/me");
    axum::serve(listener, app).await?;
    Ok(())
}
