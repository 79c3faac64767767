//! The demo login: argon2id hashes, 5 failed attempts per 15 minutes per (user, client
//! address), then 429 with Retry-After.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::net::IpAddr;

use axum::response::IntoResponse;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokengate_core::FixedClock;
use tokengate_issuer::{DemoLogin, LoginError, LoginRateLimiter, Passwords};

const T0: i64 = 1_700_000_000;

fn login(clock: &FixedClock) -> DemoLogin {
    // argon2id at a test cost; the default is the OWASP baseline.
    let passwords = Passwords::with_cost(256, 1).unwrap();
    DemoLogin::new(passwords, LoginRateLimiter::default().clock(clock.clone()))
        .unwrap()
        .user("alice", "alice-password", "acme", "orders:read orders:write")
        .unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn passwords_are_argon2id_with_a_fresh_salt() {
    let passwords = Passwords::with_cost(256, 1).unwrap();
    let a = passwords.hash("alice-password").unwrap();
    let b = passwords.hash("alice-password").unwrap();
    assert!(a.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{a}");
    assert_ne!(a, b, "salted");
    assert!(passwords.verify("alice-password", &a));
    assert!(!passwords.verify("alice-passwore", &a));
    assert!(!passwords.verify("alice-password", "not a phc string"));
    assert!(format!("{:?}", Passwords::default()).contains("m_cost: 19456"));
}

#[test]
fn five_failures_per_user_and_address_then_429_until_the_window_ends() {
    let clock = FixedClock::new(T0);
    let login = login(&clock);
    let addr = ip("127.0.0.1");
    assert_eq!(login.login("alice", "alice-password", addr).unwrap().tenant, "acme");
    for i in 0..5 {
        clock.set(T0 + i * 10);
        assert_eq!(login.login("alice", "wrong", addr), Err(LoginError::InvalidCredentials));
    }
    clock.set(T0 + 100);
    // Even the right password is refused now; the wait runs from the oldest failure.
    assert_eq!(login.login("alice", "alice-password", addr), Err(LoginError::TooManyAttempts(800)));
    assert_eq!(login.login("alice", "wrong", addr), Err(LoginError::TooManyAttempts(800)));
    // Another address, or another user from this address, is not limited.
    assert_eq!(login.login("alice", "alice-password", ip("127.0.0.2")).unwrap().username, "alice");
    assert_eq!(login.login("bob", "x", addr), Err(LoginError::InvalidCredentials));
    // The oldest failure leaves the window at T0 + 900: one more attempt is allowed.
    clock.set(T0 + 899);
    assert_eq!(login.login("alice", "alice-password", addr), Err(LoginError::TooManyAttempts(1)));
    clock.set(T0 + 900);
    assert_eq!(login.login("alice", "alice-password", addr).unwrap().username, "alice");
}

#[test]
fn an_unknown_user_counts_as_a_failure_too() {
    let clock = FixedClock::new(T0);
    let login = login(&clock);
    let addr = ip("::1");
    for _ in 0..5 {
        assert_eq!(login.login("mallory", "guess", addr), Err(LoginError::InvalidCredentials));
    }
    assert_eq!(login.login("mallory", "guess", addr), Err(LoginError::TooManyAttempts(900)));
}

#[test]
fn a_success_clears_the_failures() {
    let clock = FixedClock::new(T0);
    let login = login(&clock);
    let addr = ip("127.0.0.1");
    for _ in 0..4 {
        login.login("alice", "wrong", addr).unwrap_err();
    }
    login.login("alice", "alice-password", addr).unwrap();
    for _ in 0..4 {
        assert_eq!(login.login("alice", "wrong", addr), Err(LoginError::InvalidCredentials));
    }
}

async fn body(response: axum::response::Response) -> Value {
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn refusals_are_401_and_429_with_retry_after() {
    let response = LoginError::InvalidCredentials.into_response();
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("retry-after").is_none());
    assert_eq!(
        body(response).await,
        json!({"error": "invalid_credentials", "error_description": "invalid username or password"})
    );
    let response = LoginError::TooManyAttempts(800).into_response();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "800");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        body(response).await,
        json!({"error": "too_many_attempts", "error_description": "too many failed logins; retry later"})
    );
}
