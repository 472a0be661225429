//! The TLS client both mail connections use where they start encrypted (IMAPS, SMTPS):
//! rustls with the Mozilla roots, so the binary needs no system certificate store.

use std::sync::{Arc, LazyLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

static CONFIG: LazyLock<Result<Arc<rustls::ClientConfig>, String>> = LazyLock::new(|| {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
});

/// Runs the TLS handshake over `tcp`, checking the certificate against `host` (a name or an
/// address). The error names `server`, as the person reading it configured it.
pub async fn handshake(host: &str, server: &str, tcp: TcpStream) -> Result<TlsStream<TcpStream>, String> {
    let config = CONFIG.clone()?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|_| format!("{host:?} is not a host name TLS can check a certificate for"))?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("the TLS handshake with {server} failed: {e}"))
}
