//! OpenID Connect Back-Channel Logout 1.0: logout tokens become `sid` or `sub` rules.

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::{Map, Value};
use tokengate_core::Verifier;

use super::IntakeError;
use crate::rule::{Rule, RuleKey};
use crate::store::RevocationStore;

/// The event a logout token carries in `events`.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A refused logout token: the body `{"error": "invalid_request", "error_description": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error} ({error_description})")]
pub struct LogoutError {
    /// Always `invalid_request`.
    pub error: &'static str,
    /// Why (never token text).
    pub error_description: String,
}

impl LogoutError {
    fn new(description: impl Into<String>) -> LogoutError {
        LogoutError { error: "invalid_request", error_description: description.into() }
    }
}

/// Validates logout tokens (section 2.6) and turns them into rules: a `sid` rule when the
/// token names a session, else a `sub` rule, with the token's `iat` as cut-off.
///
/// The verifier is the OpenID Provider's: issuer, keys, the client id as audience; build it
/// with `.require(["iat", "exp"])` (and `.typ("logout+jwt")` when the provider sets it). The
/// receiver checks the `events` member, `sub` or `sid`, and that there is no `nonce`.
pub struct LogoutReceiver {
    verifier: Verifier,
    store: Arc<dyn RevocationStore>,
}

impl fmt::Debug for LogoutReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutReceiver").finish_non_exhaustive()
    }
}

impl LogoutReceiver {
    /// A receiver verifying logout tokens with `verifier` and storing rules in `store`.
    pub fn new(verifier: Verifier, store: impl RevocationStore) -> LogoutReceiver {
        LogoutReceiver { verifier, store: Arc::new(store) }
    }

    /// Validates `token` and returns the rule it asks for (not stored yet), as (key, cut-off).
    pub fn rule_of(&self, token: &str) -> Result<(RuleKey, i64), LogoutError> {
        let verified = self
            .verifier
            .verify(token)
            .map_err(|e| LogoutError::new(format!("the logout token does not verify: {}", e.public_message())))?;
        let claims = verified.registered();
        let raw: Map<String, Value> = serde_json::from_str(verified.raw_claims())
            .map_err(|_| LogoutError::new("the claims are not a JSON object"))?;
        if raw.contains_key("nonce") {
            return Err(LogoutError::new("a logout token must not contain a nonce"));
        }
        match raw.get("events").and_then(Value::as_object).and_then(|e| e.get(LOGOUT_EVENT)) {
            Some(Value::Object(_)) => {}
            _ => return Err(LogoutError::new("the events claim has no back-channel logout event")),
        }
        let iat = claims.iat.ok_or_else(|| LogoutError::new("the logout token has no iat"))?;
        let iss = claims.iss.as_deref().ok_or_else(|| LogoutError::new("the logout token has no iss"))?;
        let invalid = |e: crate::RuleError| LogoutError::new(e.to_string());
        let key = match (raw.get("sid"), claims.sub.as_deref()) {
            (Some(Value::String(sid)), _) => RuleKey::session(iss, sid).map_err(invalid)?,
            (Some(_), _) => return Err(LogoutError::new("sid is not a string")),
            (None, Some(sub)) => RuleKey::subject(iss, sub).map_err(invalid)?,
            (None, None) => return Err(LogoutError::new("the logout token has neither sub nor sid")),
        };
        Ok((key, iat))
    }

    /// Validates `token` and stores its rule.
    pub async fn receive(&self, token: &str) -> Result<Rule, IntakeError<LogoutError>> {
        let (key, cutoff) = self.rule_of(token).map_err(IntakeError::Rejected)?;
        self.store.revoke(key, Some(cutoff)).await.map_err(IntakeError::Unavailable)
    }

    /// An axum router serving `POST path` with the form field `logout_token`.
    pub fn router<S: Clone + Send + Sync + 'static>(self, path: &str) -> Router<S> {
        Router::new().route(path, post(logout)).with_state(Arc::new(self))
    }
}

async fn logout(State(receiver): State<Arc<LogoutReceiver>>, body: Bytes) -> Response {
    let token = form_urlencoded::parse(&body).find(|(name, _)| name == "logout_token").map(|(_, value)| value);
    let result = match token {
        None => Err(IntakeError::Rejected(LogoutError::new("the logout_token form field is missing"))),
        Some(token) => receiver.receive(&token).await.map(drop),
    };
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    match result {
        Ok(()) => (StatusCode::OK, no_store).into_response(),
        Err(IntakeError::Rejected(e)) => {
            tracing::info!(description = %e.error_description, "logout token refused");
            (StatusCode::BAD_REQUEST, no_store, axum::Json(e)).into_response()
        }
        Err(IntakeError::Unavailable(e)) => {
            tracing::warn!(error = %e, "logout not stored");
            (StatusCode::SERVICE_UNAVAILABLE, no_store, [(header::RETRY_AFTER, "1")]).into_response()
        }
    }
}
