//! HTTPS for an axum router on rustls, with client certificates requested (not required)
//! and the peer's certificate placed into each request's extensions.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::peer::PeerCertificate;

/// How long a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{what}: {reason}")]
    Pem {
        /// Which file.
        what: &'static str,
        /// Why (never the file's content).
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

fn pem_error(what: &'static str) -> impl Fn(rustls::pki_types::pem::Error) -> TlsError {
    move |e| TlsError::Pem { what, reason: e.to_string() }
}

/// A rustls server configuration with the aws-lc-rs provider set explicitly: the server
/// certificate chain and key from PEM, client certificates asked for and verified
/// against `client_ca` when presented, but not required (a request without one can
/// still carry an unbound token). HTTP/1.1 only.
///
/// ```no_run
/// let config = tokengate_pop::server_config_from_pem_files("cert.pem", "key.pem", "client-ca.pem")?;
/// # Ok::<(), tokengate_pop::TlsError>(())
/// ```
pub fn server_config(cert_chain_pem: &[u8], key_pem: &[u8], client_ca_pem: &[u8]) -> Result<ServerConfig, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error("TLS certificate"))?;
    if chain.is_empty() {
        return Err(TlsError::Pem { what: "TLS certificate", reason: "no CERTIFICATE block".into() });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(pem_error("TLS key"))?;
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(client_ca_pem) {
        roots.add(ca.map_err(pem_error("client CA"))?).map_err(|e| TlsError::Rustls(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(TlsError::Pem { what: "client CA", reason: "no CERTIFICATE block".into() });
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// [`server_config`] from three PEM files.
pub fn server_config_from_pem_files(
    cert_chain: impl AsRef<Path>,
    key: impl AsRef<Path>,
    client_ca: impl AsRef<Path>,
) -> Result<ServerConfig, TlsError> {
    let read = |path: &Path, what: &'static str| {
        std::fs::read(path).map_err(|e| TlsError::Pem { what, reason: e.kind().to_string() })
    };
    server_config(
        &read(cert_chain.as_ref(), "TLS certificate")?,
        &read(key.as_ref(), "TLS key")?,
        &read(client_ca.as_ref(), "client CA")?,
    )
}

/// Serves `router` over TLS on `listener` until the listener fails. Each connection's
/// client certificate (when one was presented and verified) is inserted into every
/// request's extensions as a [`PeerCertificate`]; failed handshakes are dropped.
pub async fn serve_tls(listener: TcpListener, config: Arc<ServerConfig>, router: Router) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Per-connection errors (reset before accept, too many files): keep serving.
            Err(e) if e.kind() != io::ErrorKind::InvalidInput => {
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(<[_]>::first)
                .map(|c| PeerCertificate::from_der(c.to_vec()));
            let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                if let Some(peer) = &peer {
                    request.extensions_mut().insert(peer.clone());
                }
                let mut router = router.clone();
                router.call(request.map(Body::new))
            });
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service);
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "TLS connection ended with an error");
            }
        });
    }
}
