//! The HTTP mapping of a policy [`Denial`]: status, `WWW-Authenticate` and an RFC 9457
//! `application/problem+json` body, in one place.
//!
//! | [`DenialKind`] | status | `WWW-Authenticate` |
//! | --- | --- | --- |
//! | `InsufficientScope` | 403 | `Bearer error="insufficient_scope", scope="a b"` |
//! | `StepUp` | 401 | `Bearer error="insufficient_user_authentication", max_age="N", acr_values="a b"` (RFC 9470; each parameter when required) |
//! | `Forbidden` | 403 | none (`Bearer realm="…"` when a realm is set) |
//!
//! With [`DenialResponse::realm`] set, every challenge starts with `realm="…"`. The body
//! is `{"type": "about:blank", "title", "status", "detail", "policy"}`: `detail` is the
//! denial's safe reason and `policy` the name of the policy that refused. Every response
//! carries `Cache-Control: no-store`, the [`Denial`] in its extensions, and the
//! [`AfterAuthentication`] marker: the token verified, so the failure rate limiter never
//! counts a denial as a failed token.
//!
//! ```
//! use http::{Response, StatusCode};
//! use tokengate_core::Denial;
//! use tokengate_tower::denial::DenialResponse;
//!
//! let response: Response<String> = DenialResponse::new().respond(&Denial::insufficient_scope("scope", ["orders:read"]));
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer error="insufficient_scope", scope="orders:read""#);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//!
//! let step_up = Denial::step_up("zero_trust", "the authentication is too old").max_age(300);
//! let response: Response<String> = DenialResponse::new().respond(&step_up);
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     response.headers()["www-authenticate"],
//!     r#"Bearer error="insufficient_user_authentication", max_age="300""#
//! );
//! ```

use std::fmt::Write as _;
use std::sync::Arc;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use tokengate_core::{Denial, DenialKind};

use crate::response::AfterAuthentication;
pub use crate::response::PROBLEM_JSON;

/// The `detail` of the 500 answered when no verified token is in the request: the
/// authentication layer is missing in front of a policy (a server bug, not the client's).
pub const MISSING_AUTHENTICATION: &str =
    "the authentication layer is missing: a policy ran on a request that carries no verified token";

/// Builds the HTTP response for a [`Denial`] (see the [module docs](self)). Cheap to clone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DenialResponse {
    realm: Option<Arc<str>>,
}

/// Escapes a value for a quoted-string (RFC 9110 section 5.6.4); drops control and
/// non-ASCII characters so the header is always valid.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || !c.is_ascii() => {}
            c => out.push(c),
        }
    }
    out
}

impl DenialResponse {
    /// Responses with no realm in their challenges.
    pub fn new() -> Self {
        DenialResponse { realm: None }
    }

    /// Starts every challenge with `realm="…"` (use the authentication layer's realm).
    pub fn realm(mut self, realm: impl AsRef<str>) -> Self {
        self.realm = Some(quoted(realm.as_ref()).into());
        self
    }

    /// The status of `denial`: 401 for a step-up, 403 otherwise.
    pub fn status(denial: &Denial) -> StatusCode {
        match denial.kind() {
            DenialKind::StepUp => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// The `WWW-Authenticate` value for `denial`, if it carries one.
    pub fn www_authenticate(&self, denial: &Denial) -> Option<HeaderValue> {
        let mut v = String::from("Bearer");
        let mut sep = " ";
        if let Some(realm) = &self.realm {
            let _ = write!(v, "{sep}realm=\"{realm}\"");
            sep = ", ";
        }
        match denial.kind() {
            DenialKind::InsufficientScope => {
                let _ = write!(v, "{sep}error=\"insufficient_scope\"");
                if !denial.scopes().is_empty() {
                    let _ = write!(v, ", scope=\"{}\"", quoted(&denial.scopes().join(" ")));
                }
            }
            DenialKind::StepUp => {
                let _ = write!(v, "{sep}error=\"insufficient_user_authentication\"");
                if let Some(max_age) = denial.required_max_age() {
                    let _ = write!(v, ", max_age=\"{max_age}\"");
                }
                if !denial.acr_values().is_empty() {
                    let _ = write!(v, ", acr_values=\"{}\"", quoted(&denial.acr_values().join(" ")));
                }
            }
            _ if self.realm.is_some() => {}
            _ => return None,
        }
        HeaderValue::from_str(&v).ok()
    }

    /// The response for `denial`: status, challenge, problem body, `no-store`, and the
    /// [`Denial`] and [`AfterAuthentication`] in the extensions.
    pub fn respond<B: From<String>>(&self, denial: &Denial) -> Response<B> {
        let status = DenialResponse::status(denial);
        let mut response = problem(status, denial.reason(), Some(denial.policy()));
        if let Some(challenge) = self.www_authenticate(denial) {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response.extensions_mut().insert(denial.clone());
        response
    }

    /// The 500 answered when a policy finds no verified token in the request
    /// ([`MISSING_AUTHENTICATION`]).
    pub fn missing_authentication<B: From<String>>() -> Response<B> {
        problem(StatusCode::INTERNAL_SERVER_ERROR, MISSING_AUTHENTICATION, None)
    }
}

fn problem<B: From<String>>(status: StatusCode, detail: &str, policy: Option<&str>) -> Response<B> {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some(policy), Some(object)) = (policy, body.as_object_mut()) {
        object.insert("policy".into(), policy.into());
    }
    let mut response = Response::new(B::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(AfterAuthentication);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn www(r: &DenialResponse, d: &Denial) -> Option<String> {
        r.www_authenticate(d).and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    #[test]
    fn challenges_per_kind() {
        let plain = DenialResponse::new();
        let realm = DenialResponse::new().realm("saas\"x");
        let scope = Denial::insufficient_scope("scope", ["a", "b"]);
        assert_eq!(www(&plain, &scope).as_deref(), Some(r#"Bearer error="insufficient_scope", scope="a b""#));
        assert_eq!(
            www(&realm, &scope).as_deref(),
            Some(r#"Bearer realm="saas\"x", error="insufficient_scope", scope="a b""#)
        );
        let both = Denial::step_up("zt", "r").max_age(60).acr(["mfa", "hwk"]);
        assert_eq!(
            www(&plain, &both).as_deref(),
            Some(r#"Bearer error="insufficient_user_authentication", max_age="60", acr_values="mfa hwk""#)
        );
        let acr = Denial::step_up("zt", "r").acr(["mfa"]);
        assert_eq!(
            www(&plain, &acr).as_deref(),
            Some(r#"Bearer error="insufficient_user_authentication", acr_values="mfa""#)
        );
        let forbidden = Denial::forbidden("tenant", "no");
        assert_eq!(www(&plain, &forbidden), None);
        assert_eq!(www(&realm, &forbidden).as_deref(), Some(r#"Bearer realm="saas\"x""#));
        let odd = Denial::insufficient_scope("scope", ["a\"b\nc"]);
        assert_eq!(www(&plain, &odd).as_deref(), Some(r#"Bearer error="insufficient_scope", scope="a\"bc""#));
    }

    #[test]
    fn responses_carry_status_body_and_markers() {
        let denial = Denial::forbidden("tenant", "the token's tenant_id does not match the requested tenant");
        let response: Response<String> = DenialResponse::new().respond(&denial);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        assert_eq!(response.extensions().get::<Denial>(), Some(&denial));
        assert!(response.extensions().get::<AfterAuthentication>().is_some());
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({"type": "about:blank", "title": "Forbidden", "status": 403,
                "detail": "the token's tenant_id does not match the requested tenant", "policy": "tenant"})
        );

        let response: Response<String> = DenialResponse::new().respond(&Denial::step_up("zt", "again").acr(["mfa"]));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap_or_default();
        assert_eq!(body["title"], "Unauthorized");
        assert_eq!(body["status"], 401);

        let response: Response<String> = DenialResponse::missing_authentication();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap_or_default();
        assert_eq!(body["detail"], MISSING_AUTHENTICATION);
        assert_eq!(body.get("policy"), None);
    }
}
