//! The certificate-binding rule of RFC 8705 section 3, as one function over a verified
//! token and the connection's certificate, so any transport (or a future policy) can call it.

use serde::Deserialize;
use tokengate_core::{AuthError, ErrorKind, Verified};

use crate::peer::PeerCertificate;

/// The `cnf` claim's certificate thumbprint member (RFC 8705 section 3.1).
pub const X5T_S256: &str = "x5t#S256";

#[derive(Deserialize)]
struct Confirmation {
    cnf: Option<Cnf>,
}

#[derive(Deserialize)]
struct Cnf {
    #[serde(rename = "x5t#S256")]
    x5t_s256: Option<serde_json::Value>,
}

/// The token's `cnf.x5t#S256`, if it has one. A `cnf.x5t#S256` that is not a string
/// is an error ([`ErrorKind::InvalidClaim`]).
pub fn bound_thumbprint(token: &Verified) -> Result<Option<String>, AuthError> {
    let confirmation: Confirmation = token.claims_as()?;
    match confirmation.cnf.and_then(|c| c.x5t_s256) {
        None => Ok(None),
        Some(serde_json::Value::String(t)) => Ok(Some(t)),
        Some(_) => Err(AuthError::with_detail(ErrorKind::InvalidClaim, "cnf.x5t#S256 is not a string")),
    }
}

/// Checks that `token` may be used over a connection whose client certificate is `peer`:
///
/// - a token with `cnf.x5t#S256` needs a client certificate with exactly that SHA-256
///   thumbprint (compared in constant time);
/// - a token without it passes, unless `require_binding` is set.
///
/// Every refusal is [`ErrorKind::InvalidClaim`] (HTTP 401 `invalid_token`, RFC 8705
/// section 3), with a detail for logs that never contains the thumbprints.
///
/// ```
/// use tokengate_core::{ErrorKind, RegisteredClaims, Verified};
/// use tokengate_pop::{PeerCertificate, check_certificate_binding};
/// let cert = PeerCertificate::from_der(b"cert".to_vec());
/// let claims = format!(r#"{{"cnf":{{"x5t#S256":"{}"}}}}"#, cert.thumbprint_s256());
/// let token: Verified = tokengate_core::unchecked::verified_from_parts(None, RegisteredClaims::default(), claims.into(), None, 0);
/// assert!(check_certificate_binding(&token, Some(&cert), false).is_ok());
/// let other = PeerCertificate::from_der(b"other".to_vec());
/// assert_eq!(check_certificate_binding(&token, Some(&other), false).unwrap_err().kind(), ErrorKind::InvalidClaim);
/// assert_eq!(check_certificate_binding(&token, None, false).unwrap_err().kind(), ErrorKind::InvalidClaim);
/// ```
pub fn check_certificate_binding(
    token: &Verified,
    peer: Option<&PeerCertificate>,
    require_binding: bool,
) -> Result<(), AuthError> {
    let Some(bound) = bound_thumbprint(token)? else {
        return if require_binding {
            Err(AuthError::with_detail(ErrorKind::InvalidClaim, "the route needs a certificate-bound token"))
        } else {
            Ok(())
        };
    };
    let Some(peer) = peer else {
        return Err(AuthError::with_detail(
            ErrorKind::InvalidClaim,
            "certificate-bound token without a client certificate",
        ));
    };
    if aws_lc_rs::constant_time::verify_slices_are_equal(bound.as_bytes(), peer.thumbprint_s256().as_bytes()).is_ok() {
        Ok(())
    } else {
        Err(AuthError::with_detail(
            ErrorKind::InvalidClaim,
            "the client certificate is not the one the token is bound to",
        ))
    }
}
