//! `--tlsverify`: a tcp listener that only clients with a certificate
//! signed by `--tlscacert` may use (dockerd's mutual TLS).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::error::ServeError;
use crate::server::TlsFiles;

pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServeError> {
    let err = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        ServeError::Tls(format!("{what} {}: {e}", path.display()))
    };
    let certs = |path: &std::path::Path| -> Result<Vec<CertificateDer<'static>>, ServeError> {
        CertificateDer::pem_file_iter(path)
            .map_err(|e| err("reading", path, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err("reading", path, &e))
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(&files.ca)? {
        roots
            .add(c)
            .map_err(|e| err("adding the CA of", &files.ca, &e))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| err("client verification with", &files.ca, &e))?;
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| err("reading", &files.key, &e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&files.cert)?, key)
        .map_err(|e| err("using", &files.cert, &e))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
