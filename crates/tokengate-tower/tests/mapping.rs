//! The HTTP mapping of every `ErrorKind`: status, RFC 6750 code, `WWW-Authenticate`,
//! `Retry-After` and the RFC 9457 problem body (issue 16: every kind, where status lives).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use tokengate_core::{AuthError, ErrorKind};
use tokengate_tower::response::{BearerChallenge, OnRejection, Problem, Rejection, Rfc6750, error_code};

/// The expected answer for each kind, written out by hand (not derived from the code).
fn expected(kind: ErrorKind) -> (u16, Option<&'static str>) {
    use ErrorKind as K;
    match kind {
        K::MissingToken => (401, None),
        K::InvalidRequest => (400, Some("invalid_request")),
        K::TokenTooLarge
        | K::Malformed
        | K::InvalidEncoding
        | K::InvalidJson
        | K::DuplicateMember
        | K::NestingTooDeep
        | K::AlgNone
        | K::AlgorithmNotAllowed
        | K::AlgorithmMismatch
        | K::UnsupportedCritical
        | K::UnencodedPayload
        | K::CompressedPayload
        | K::HeaderKeyMaterial
        | K::UnknownKey
        | K::InvalidSignature
        | K::MissingClaim
        | K::InvalidClaim
        | K::Expired
        | K::NotYetValid
        | K::IssuedInFuture
        | K::TooOld
        | K::LifetimeTooLong
        | K::InvalidIssuer
        | K::InvalidAudience
        | K::InvalidType
        | K::Revoked
        | K::Inactive => (401, Some("invalid_token")),
        K::KeysUnavailable | K::IssuerUnavailable | K::RevocationUnavailable | K::IntrospectionUnavailable => {
            (503, None)
        }
        K::InsufficientScope => (403, Some("insufficient_scope")),
        K::Forbidden => (403, None),
        K::RateLimited => (429, None),
        K::Internal => (500, None),
        other => panic!("no expectation written for {other:?}: add it"),
    }
}

#[test]
fn every_kind_maps_to_its_status_code_challenge_and_problem_body() {
    let challenge = BearerChallenge::new("orders");
    assert!(ErrorKind::ALL.len() >= 37);
    for &kind in ErrorKind::ALL {
        let (status, code) = expected(kind);
        let rejection = Rejection::new(AuthError::with_detail(kind, "internal detail"), challenge.clone());
        let response: Response<String> = Problem.on_rejection(&rejection);
        let message = kind.public_message();

        assert_eq!(response.status().as_u16(), status, "{kind:?}");
        assert_eq!(error_code(kind).map(|c| c.as_str()), code, "{kind:?}");
        let www = response.headers().get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
        let want_www = match (status, code) {
            (400 | 401 | 403, Some(code)) => {
                Some(format!(r#"Bearer realm="orders", error="{code}", error_description="{message}""#))
            }
            (401 | 403, None) => Some(r#"Bearer realm="orders""#.to_owned()),
            _ => None,
        };
        assert_eq!(www, want_www, "{kind:?}");
        let retry = response.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
        let want_retry = match status {
            503 => Some("5".to_owned()),
            429 => Some("1".to_owned()),
            _ => None,
        };
        assert_eq!(retry, want_retry, "{kind:?}");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json", "{kind:?}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{kind:?}");
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        let title = StatusCode::from_u16(status).unwrap().canonical_reason().unwrap();
        assert_eq!(
            body,
            serde_json::json!({"type": "about:blank", "title": title, "status": status, "detail": message}),
            "{kind:?}"
        );
        assert!(!response.body().contains("internal detail"), "{kind:?}: the detail is for logs only");
        assert_eq!(response.extensions().get::<AuthError>().map(AuthError::kind), Some(kind));

        // The empty-body variant: the same headers, no body.
        let empty: Response<String> = Rfc6750.on_rejection(&rejection);
        assert_eq!(empty.status().as_u16(), status);
        assert_eq!(empty.headers().get(WWW_AUTHENTICATE), response.headers().get(WWW_AUTHENTICATE));
        assert!(empty.body().is_empty());
        assert_eq!(empty.headers().get(CONTENT_TYPE), None);
    }
}

#[test]
fn insufficient_scope_names_the_scope() {
    let rejection = Rejection::new(AuthError::new(ErrorKind::InsufficientScope), BearerChallenge::new("r"))
        .with_required_scope("admin");
    let response: Response<String> = Problem.on_rejection(&rejection);
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="r", error="insufficient_scope", error_description="the access token lacks the required scope", scope="admin""#
    );
}
