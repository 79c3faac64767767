//! [`PeerCertificate`]: the client certificate of the TLS connection a request came over.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The DER of the end-entity certificate the client presented in the TLS handshake,
/// placed in the request extensions by [`serve_tls`](crate::serve_tls) (or by any server
/// that terminates TLS itself). Cheap to clone.
///
/// ```
/// use tokengate_pop::PeerCertificate;
/// let cert = PeerCertificate::from_der(b"not really DER".to_vec());
/// assert_eq!(cert.thumbprint_s256().len(), 43); // base64url of 32 bytes
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    der: Arc<[u8]>,
    thumbprint: Arc<str>,
}

impl PeerCertificate {
    /// Wraps a certificate's DER; its SHA-256 thumbprint is computed once, here.
    pub fn from_der(der: impl Into<Arc<[u8]>>) -> PeerCertificate {
        let der = der.into();
        let thumbprint = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &der)).into();
        PeerCertificate { der, thumbprint }
    }

    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The RFC 8705 `x5t#S256` value: base64url (no padding) of the SHA-256 of the DER.
    pub fn thumbprint_s256(&self) -> &str {
        &self.thumbprint
    }
}

impl fmt::Debug for PeerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerCertificate").field("x5t#S256", &self.thumbprint).finish_non_exhaustive()
    }
}
