//! TLS to the collector (feature `tls`): rustls with the ring provider, trusting the CA
//! certificates of a PEM file, as Appdash's `tls.Dial` with a server name and root pool.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::BuildError;

/// A TLS connector and the name the server's certificate must match.
#[derive(Clone)]
pub(crate) struct TlsConnect {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl fmt::Debug for TlsConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnect")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConnect {
    /// Trusts the certificates in the PEM file `ca_file`; verifies the server as `server_name`
    /// (a DNS name or an IP address).
    pub(crate) fn new(ca_file: &Path, server_name: &str) -> Result<TlsConnect, BuildError> {
        let tls_err = |reason: String| BuildError::Tls { reason };
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(ca_file).map_err(|e| {
            tls_err(format!(
                "cannot read the CA file {}: {e}",
                ca_file.display()
            ))
        })?;
        for cert in certs {
            let cert = cert.map_err(|e| {
                tls_err(format!(
                    "the CA file {} holds a malformed certificate: {e}",
                    ca_file.display()
                ))
            })?;
            roots.add(cert).map_err(|e| {
                tls_err(format!(
                    "the CA file {} holds a certificate rustls cannot use: {e}",
                    ca_file.display()
                ))
            })?;
        }
        if roots.is_empty() {
            return Err(tls_err(format!(
                "the CA file {} holds no PEM certificate",
                ca_file.display()
            )));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let server_name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
            tls_err(format!(
                "{server_name:?} is not a valid TLS server name (a DNS name or an IP address)"
            ))
        })?;
        Ok(TlsConnect {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    /// Runs the handshake over `tcp`.
    pub(crate) async fn connect(&self, tcp: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        self.connector.connect(self.server_name.clone(), tcp).await
    }
}
