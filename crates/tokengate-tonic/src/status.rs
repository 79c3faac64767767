//! The one gRPC mapping: [`AuthError`] and policy [`Denial`]s to [`tonic::Status`].
//!
//! | what happened | `Code` | `www-authenticate` metadata |
//! | --- | --- | --- |
//! | no token, a malformed request, any invalid-token kind, expired, revoked, inactive | `UNAUTHENTICATED` | `Bearer realm="…"` (+ `error="invalid_token"`, as over HTTP) |
//! | a policy or scope denial, after the token verified | `PERMISSION_DENIED` | `Bearer realm="…"` (+ `error="insufficient_scope", scope="…"`) |
//! | keys, issuer, revocation status or introspection unavailable | `UNAVAILABLE` | none; `retry-after` |
//! | too many failed attempts | `RESOURCE_EXHAUSTED` | none; `retry-after` |
//! | the server is misconfigured | `INTERNAL` | none |
//!
//! `PERMISSION_DENIED` is only ever produced from a [`Denial`], which exists only for a
//! caller whose token verified: a caller that could not be identified always gets
//! `UNAUTHENTICATED`. Messages are [`ErrorKind::public_message`] (or the denial's public
//! reason): never the token, key material or internal detail.
//!
//! ```
//! use tokengate_core::{AuthError, ErrorKind};
//! use tokengate_tonic::status::to_status;
//! use tokengate_tower::BearerChallenge;
//! use tonic::Code;
//!
//! let status = to_status(&AuthError::new(ErrorKind::Expired), &BearerChallenge::new("orders"));
//! assert_eq!(status.code(), Code::Unauthenticated);
//! assert_eq!(status.message(), "the access token expired");
//! assert_eq!(
//!     status.metadata().get("www-authenticate").unwrap(),
//!     r#"Bearer realm="orders", error="invalid_token", error_description="the access token expired""#
//! );
//! ```

use http::HeaderValue;
use tokengate_core::{AuthError, ErrorKind};
use tokengate_tower::BearerChallenge;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::{Code, Status};

use crate::methods::Denial;

/// The name of the metadata entry that mirrors HTTP's `WWW-Authenticate` challenge.
pub const WWW_AUTHENTICATE: &str = "www-authenticate";
/// The name of the metadata entry that says when to retry an `UNAVAILABLE` (seconds).
pub const RETRY_AFTER: &str = "retry-after";
/// Seconds in `retry-after` for `UNAVAILABLE` when the error does not say.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 5;

/// The gRPC code of an authentication failure.
///
/// Never `PERMISSION_DENIED`: an [`AuthError`] means the caller could not be identified
/// (the scope and policy kinds, [`ErrorKind::InsufficientScope`] and
/// [`ErrorKind::Forbidden`], are only judged after a token verified, and reach gRPC as a
/// [`Denial`] through [`denial_to_status`]). Kinds this version does not know map to
/// `UNAUTHENTICATED` (fail closed).
pub fn code_for(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::KeysUnavailable
        | ErrorKind::IssuerUnavailable
        | ErrorKind::RevocationUnavailable
        | ErrorKind::IntrospectionUnavailable => Code::Unavailable,
        ErrorKind::RateLimited => Code::ResourceExhausted,
        ErrorKind::Internal => Code::Internal,
        _ => Code::Unauthenticated,
    }
}

/// The [`Status`] for an authentication failure: code (see [`code_for`]), the safe public
/// message, and `www-authenticate` / `retry-after` metadata.
pub fn to_status(error: &AuthError, challenge: &BearerChallenge) -> Status {
    let code = code_for(error.kind());
    let mut metadata = MetadataMap::new();
    match code {
        Code::Unauthenticated => {
            // An unidentified caller gets the 401 challenge, whatever the kind says.
            let as_401 = match error.kind() {
                ErrorKind::InsufficientScope | ErrorKind::Forbidden => AuthError::new(ErrorKind::MissingToken),
                _ => error.clone(),
            };
            insert_challenge(&mut metadata, challenge.header_value(&as_401, None));
        }
        Code::Unavailable | Code::ResourceExhausted => {
            let secs = error.retry_after_secs().unwrap_or(match code {
                Code::Unavailable => DEFAULT_RETRY_AFTER_SECS,
                _ => 1,
            });
            metadata.insert(RETRY_AFTER, AsciiMetadataValue::from(secs));
        }
        _ => {}
    }
    Status::with_metadata(code, error.public_message(), metadata)
}

/// The [`Status`] for a policy denial of an authenticated caller: `PERMISSION_DENIED`
/// with the denial's public reason and a `www-authenticate` challenge
/// (`error="insufficient_scope", scope="…"` when a scope was missing).
pub fn denial_to_status(denial: &Denial, challenge: &BearerChallenge) -> Status {
    let kind = if denial.required_scope().is_some() { ErrorKind::InsufficientScope } else { ErrorKind::Forbidden };
    let mut metadata = MetadataMap::new();
    insert_challenge(&mut metadata, challenge.header_value(&AuthError::new(kind), denial.required_scope()));
    Status::with_metadata(Code::PermissionDenied, denial.public_reason(), metadata)
}

fn insert_challenge(metadata: &mut MetadataMap, value: Option<HeaderValue>) {
    if let Some(value) = value
        && let Ok(value) = value.to_str()
        && let Ok(value) = AsciiMetadataValue::try_from(value)
    {
        metadata.insert(WWW_AUTHENTICATE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn www(status: &Status) -> Option<&str> {
        status.metadata().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn every_kind_has_its_code() {
        let unauthenticated = [
            ErrorKind::MissingToken,
            ErrorKind::InvalidRequest,
            ErrorKind::TokenTooLarge,
            ErrorKind::Malformed,
            ErrorKind::AlgNone,
            ErrorKind::UnknownKey,
            ErrorKind::InvalidSignature,
            ErrorKind::Expired,
            ErrorKind::InvalidAudience,
            ErrorKind::Revoked,
            ErrorKind::Inactive,
            // never PERMISSION_DENIED through an AuthError: the caller is not identified
            ErrorKind::InsufficientScope,
            ErrorKind::Forbidden,
        ];
        for kind in unauthenticated {
            assert_eq!(code_for(kind), Code::Unauthenticated, "{kind:?}");
        }
        for kind in [
            ErrorKind::KeysUnavailable,
            ErrorKind::IssuerUnavailable,
            ErrorKind::RevocationUnavailable,
            ErrorKind::IntrospectionUnavailable,
        ] {
            assert_eq!(code_for(kind), Code::Unavailable, "{kind:?}");
        }
        assert_eq!(code_for(ErrorKind::RateLimited), Code::ResourceExhausted);
        assert_eq!(code_for(ErrorKind::Internal), Code::Internal);
    }

    #[test]
    fn metadata_mirrors_the_http_challenge() {
        let c = BearerChallenge::new("r");
        let missing = to_status(&AuthError::new(ErrorKind::MissingToken), &c);
        assert_eq!(missing.message(), "no access token was presented");
        assert_eq!(www(&missing), Some(r#"Bearer realm="r""#));
        let revoked = to_status(&AuthError::new(ErrorKind::Revoked), &c);
        assert_eq!(
            www(&revoked),
            Some(r#"Bearer realm="r", error="invalid_token", error_description="the access token has been revoked""#)
        );
        let forbidden = to_status(&AuthError::new(ErrorKind::Forbidden), &c);
        assert_eq!(forbidden.code(), Code::Unauthenticated);
        assert_eq!(www(&forbidden), Some(r#"Bearer realm="r""#));

        let keys = to_status(&AuthError::new(ErrorKind::KeysUnavailable), &c);
        assert_eq!(keys.message(), "signing keys are temporarily unavailable");
        assert_eq!(www(&keys), None);
        assert_eq!(keys.metadata().get(RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
        let revocation = to_status(&AuthError::new(ErrorKind::RevocationUnavailable).retry_after(2), &c);
        assert_eq!(revocation.metadata().get(RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("2"));
    }

    #[test]
    fn denials_are_permission_denied() {
        let c = BearerChallenge::new("r");
        let scope = denial_to_status(&Denial::insufficient_scope("orders:read"), &c);
        assert_eq!(scope.code(), Code::PermissionDenied);
        assert_eq!(scope.message(), "the access token lacks the required scope");
        assert_eq!(
            www(&scope),
            Some(
                r#"Bearer realm="r", error="insufficient_scope", error_description="the access token lacks the required scope", scope="orders:read""#
            )
        );
        let other = denial_to_status(&Denial::forbidden("the tenant does not match"), &c);
        assert_eq!(other.code(), Code::PermissionDenied);
        assert_eq!(other.message(), "the tenant does not match");
        assert_eq!(www(&other), Some(r#"Bearer realm="r""#));
    }

    #[test]
    fn details_never_reach_the_client() {
        let error = AuthError::with_detail(ErrorKind::InvalidSignature, "kid k1 secret detail");
        let status = to_status(&error, &BearerChallenge::default());
        assert_eq!(status.message(), "the token's signature is invalid");
        assert!(!format!("{status:?}").contains("secret detail"));
    }
}
