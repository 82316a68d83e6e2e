//! TLS on the collector port (feature `tls`): rustls with the ring provider.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::collector::StartError;

/// A server configuration from a PEM certificate chain and a PEM private key.
pub(crate) fn server_config(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let tls = |reason: String| StartError::Tls { reason };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| {
            tls(format!(
                "cannot read the certificate file {}: {e}",
                cert.display()
            ))
        })?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            tls(format!(
                "the certificate file {} holds a malformed certificate: {e}",
                cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(tls(format!(
            "the certificate file {} holds no PEM certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        tls(format!(
            "cannot read a PEM private key from {}: {e}",
            key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls(format!("the certificate and key do not work together: {e}")))?;
    Ok(Arc::new(config))
}
