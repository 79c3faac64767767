//! Security Event Tokens (RFC 8417) pushed per RFC 8935: CAEP and RISC events become rules.

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::{Map, Value};
use tokengate_core::{ErrorKind, Verified, Verifier};

use super::IntakeError;
use crate::rule::{Rule, RuleKey};
use crate::store::RevocationStore;

/// The event types that become rules.
pub mod event_types {
    /// CAEP: a session was revoked (a `sid` rule, or a `sub` rule for a user subject).
    pub const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
    /// CAEP: a credential changed (a `sub` rule).
    pub const CREDENTIAL_CHANGE: &str = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
    /// CAEP: the claims of issued tokens changed (a `sub` rule: tokens issued before carry
    /// stale claims).
    pub const TOKEN_CLAIMS_CHANGE: &str = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change";
    /// RISC: the account was disabled (a `sub` rule).
    pub const ACCOUNT_DISABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
    /// RISC: the account was deleted (a `sub` rule).
    pub const ACCOUNT_PURGED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-purged";

    /// Every event type that becomes a rule.
    pub const ALL: [&str; 5] =
        [SESSION_REVOKED, CREDENTIAL_CHANGE, TOKEN_CLAIMS_CHANGE, ACCOUNT_DISABLED, ACCOUNT_PURGED];
}

/// The RFC 8935 section 2.4 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SetErrorCode {
    /// The request or the SET is malformed, or not a SET.
    InvalidRequest,
    /// The SET's signature does not verify, or its key is unknown.
    InvalidKey,
    /// The SET's issuer is not the expected one.
    InvalidIssuer,
    /// The SET's audience is not this receiver.
    InvalidAudience,
    /// The transmitter could not be authenticated.
    AuthenticationFailed,
    /// The transmitter may not deliver this SET.
    AccessDenied,
}

impl SetErrorCode {
    /// The code as sent in `err`.
    pub fn as_str(self) -> &'static str {
        match self {
            SetErrorCode::InvalidRequest => "invalid_request",
            SetErrorCode::InvalidKey => "invalid_key",
            SetErrorCode::InvalidIssuer => "invalid_issuer",
            SetErrorCode::InvalidAudience => "invalid_audience",
            SetErrorCode::AuthenticationFailed => "authentication_failed",
            SetErrorCode::AccessDenied => "access_denied",
        }
    }
}

/// A refused SET: the RFC 8935 error body `{"err": ..., "description": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{} ({description})", err.as_str())]
pub struct SetError {
    /// The error code.
    pub err: SetErrorCode,
    /// A human-readable description (never token text).
    pub description: String,
}

impl SetError {
    fn new(err: SetErrorCode, description: impl Into<String>) -> SetError {
        SetError { err, description: description.into() }
    }

    fn request(description: impl Into<String>) -> SetError {
        SetError::new(SetErrorCode::InvalidRequest, description)
    }
}

/// Verifies pushed Security Event Tokens and turns their events into rules.
///
/// The verifier is the transmitter's: its issuer, keys and the receiver's audience; build
/// it with `.typ("secevent+jwt")` and `.allow_missing_exp()` (a SET has no `exp`). The
/// receiver checks `typ` itself too, and refuses `sub` and `exp` at the top level (SSF).
///
/// Subjects (RFC 9493 and SSF): `iss_sub` -> a `sub` rule under that `iss`; `email` and
/// `opaque` -> a `sub` rule under the SET's issuer (tokens whose `sub` is that value);
/// `complex` -> its `session` member (a `sid` rule), else its `user` member (a `sub` rule),
/// else its `tenant` member (a `tenant` rule). The subject is the event's `subject`, else the
/// SET's `sub_id`. The cut-off is the event's `event_timestamp`, else `toe`, else `iat`.
/// Events of other types are acknowledged and ignored.
pub struct SetReceiver {
    verifier: Verifier,
    store: Arc<dyn RevocationStore>,
}

impl fmt::Debug for SetReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetReceiver").finish_non_exhaustive()
    }
}

impl SetReceiver {
    /// A receiver verifying SETs with `verifier` and storing rules in `store`.
    pub fn new(verifier: Verifier, store: impl RevocationStore) -> SetReceiver {
        SetReceiver { verifier, store: Arc::new(store) }
    }

    /// Verifies `token` and returns the rules its events ask for (not stored yet), as
    /// (key, cut-off) pairs.
    pub fn rules_of(&self, token: &str) -> Result<Vec<(RuleKey, i64)>, SetError> {
        let header = tokengate_core::peek_header(token).map_err(|_| SetError::request("not a JWS"))?;
        let typ = header.typ().unwrap_or_default();
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case("secevent+jwt") {
            return Err(SetError::request("the typ header is not secevent+jwt"));
        }
        let verified = self.verifier.verify(token).map_err(|e| verify_error(e.kind()))?;
        events(&verified)
    }

    /// Verifies `token` and stores its rules.
    pub async fn receive(&self, token: &str) -> Result<Vec<Rule>, IntakeError<SetError>> {
        let rules = self.rules_of(token).map_err(IntakeError::Rejected)?;
        let mut out = Vec::with_capacity(rules.len());
        for (key, cutoff) in rules {
            out.push(self.store.revoke(key, Some(cutoff)).await.map_err(IntakeError::Unavailable)?);
        }
        Ok(out)
    }

    /// An axum router serving `POST path` (RFC 8935 push delivery).
    pub fn router<S: Clone + Send + Sync + 'static>(self, path: &str) -> Router<S> {
        Router::new().route(path, post(push)).with_state(Arc::new(self))
    }
}

fn verify_error(kind: ErrorKind) -> SetError {
    let code = match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::UnknownKey
        | ErrorKind::AlgNone
        | ErrorKind::AlgorithmNotAllowed
        | ErrorKind::AlgorithmMismatch
        | ErrorKind::HeaderKeyMaterial => SetErrorCode::InvalidKey,
        ErrorKind::InvalidIssuer => SetErrorCode::InvalidIssuer,
        ErrorKind::InvalidAudience => SetErrorCode::InvalidAudience,
        _ => SetErrorCode::InvalidRequest,
    };
    SetError::new(code, kind_description(kind))
}

fn kind_description(kind: ErrorKind) -> String {
    format!("the SET does not verify: {}", tokengate_core::AuthError::new(kind).public_message())
}

fn events(verified: &Verified) -> Result<Vec<(RuleKey, i64)>, SetError> {
    let claims = verified.registered();
    if claims.sub.is_some() {
        return Err(SetError::request("sub at the top level of a SET (the subject belongs in sub_id or the event)"));
    }
    if claims.exp.is_some() {
        return Err(SetError::request("exp at the top level of a SET"));
    }
    let iss = claims.iss.as_deref().ok_or_else(|| SetError::request("the SET has no iss"))?;
    let raw: Map<String, Value> =
        serde_json::from_str(verified.raw_claims()).map_err(|_| SetError::request("claims are not a JSON object"))?;
    let Some(Value::Object(events)) = raw.get("events") else {
        return Err(SetError::request("the SET has no events object"));
    };
    if events.is_empty() {
        return Err(SetError::request("the SET's events object is empty"));
    }
    let toe = raw.get("toe").and_then(Value::as_i64);
    let mut out = Vec::new();
    for (event_type, payload) in events {
        let Value::Object(payload) = payload else {
            return Err(SetError::request("an event payload is not a JSON object"));
        };
        if !event_types::ALL.contains(&event_type.as_str()) {
            continue;
        }
        let subject = payload
            .get("subject")
            .or_else(|| raw.get("sub_id"))
            .ok_or_else(|| SetError::request("the event has no subject (subject or sub_id)"))?;
        let key = subject_key(subject, iss)?;
        let cutoff = payload
            .get("event_timestamp")
            .and_then(Value::as_i64)
            .or(toe)
            .or(claims.iat)
            .ok_or_else(|| SetError::request("the event has no time (event_timestamp, toe or iat)"))?;
        out.push((key, cutoff));
    }
    Ok(out)
}

fn text<'a>(subject: &'a Map<String, Value>, member: &str) -> Result<&'a str, SetError> {
    subject
        .get(member)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SetError::request(format!("the subject has no {member}")))
}

/// The rule key of a subject identifier (RFC 9493, SSF complex subjects).
fn subject_key(subject: &Value, set_iss: &str) -> Result<RuleKey, SetError> {
    let Value::Object(subject) = subject else {
        return Err(SetError::request("the subject is not a JSON object"));
    };
    let invalid = |e: crate::RuleError| SetError::request(format!("the subject: {e}"));
    match subject.get("format").and_then(Value::as_str) {
        Some("iss_sub") => RuleKey::subject(text(subject, "iss")?, text(subject, "sub")?).map_err(invalid),
        Some("email") => RuleKey::subject(set_iss, text(subject, "email")?).map_err(invalid),
        Some("opaque") => RuleKey::subject(set_iss, text(subject, "id")?).map_err(invalid),
        // SSF complex subject: the most specific member wins.
        Some("complex") | None => {
            if let Some(session) = subject.get("session") {
                let key = subject_key(session, set_iss)?;
                return RuleKey::session(key.issuer().unwrap_or(set_iss), key.value()).map_err(invalid);
            }
            if let Some(user) = subject.get("user") {
                return subject_key(user, set_iss);
            }
            if let Some(tenant) = subject.get("tenant") {
                let key = subject_key(tenant, set_iss)?;
                return RuleKey::tenant(key.issuer().unwrap_or(set_iss), key.value()).map_err(invalid);
            }
            Err(SetError::request("the complex subject has no session, user or tenant"))
        }
        Some(_) => Err(SetError::request("unsupported subject format")),
    }
}

async fn push(State(receiver): State<Arc<SetReceiver>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/secevent+jwt") {
        return rejected(SetError::request("the content type is not application/secevent+jwt"));
    }
    let Ok(token) = std::str::from_utf8(&body) else {
        return rejected(SetError::request("the body is not UTF-8"));
    };
    match receiver.receive(token.trim()).await {
        Ok(rules) => {
            tracing::info!(rules = rules.len(), "security event received");
            StatusCode::ACCEPTED.into_response()
        }
        Err(IntakeError::Rejected(e)) => {
            tracing::info!(err = e.err.as_str(), description = %e.description, "security event refused");
            rejected(e)
        }
        Err(IntakeError::Unavailable(e)) => {
            tracing::warn!(error = %e, "security event not stored");
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")]).into_response()
        }
    }
}

fn rejected(error: SetError) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(error)).into_response()
}
