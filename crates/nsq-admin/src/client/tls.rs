//! TLS settings of the upstream client (`--http-client-tls-*`).
//!
//! nsqadmin always starts with `http://` and switches to `https://` when a TLS-only nsqd
//! answers 403 with its `https_port`; that retry, and `https://` webhook or graphite URLs,
//! use the rustls configuration built here. Startup fails with the reference's messages
//! when a certificate, key or CA file cannot be used.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Where the system CA bundle usually lives (Go's crypto/x509 looks in the same places).
const SYSTEM_CA_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The operator-facing TLS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
    /// CA bundle (PEM) replacing the system roots.
    pub root_ca_file: String,
    /// Client certificate chain (PEM).
    pub cert: String,
    /// Client private key (PEM).
    pub key: String,
}

/// A TLS file that cannot be used; each displays as the reference's startup message
/// (printed after `failed to instantiate nsqadmin - `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsSetupError {
    /// The certificate/key pair could not be loaded.
    #[error("failed to LoadX509KeyPair {cert}, {key} - {reason}")]
    KeyPair {
        /// Certificate path.
        cert: String,
        /// Key path.
        key: String,
        /// Why.
        reason: String,
    },
    /// The CA file could not be read.
    #[error("failed to read TLS root CA file {file} - {reason}")]
    ReadCa {
        /// CA path.
        file: String,
        /// Why.
        reason: String,
    },
    /// The CA file holds no usable certificate.
    #[error("failed to AppendCertsFromPEM {0}")]
    AppendCa(String),
}

fn open_err(path: &str, e: &std::io::Error) -> String {
    format!("open {path}: {}", nsq_http::listen::go_errno_text(e))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut &pem[..])
        .filter_map(Result::ok)
        .collect()
}

fn load_key_pair(
    cert: &str,
    key: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsSetupError> {
    let fail = |reason: String| TlsSetupError::KeyPair {
        cert: cert.to_string(),
        key: key.to_string(),
        reason,
    };
    let cert_pem = std::fs::read(cert).map_err(|e| fail(open_err(cert, &e)))?;
    let key_pem = std::fs::read(key).map_err(|e| fail(open_err(key, &e)))?;
    let chain = pem_certs(&cert_pem);
    if chain.is_empty() {
        return Err(fail(
            "tls: failed to find any PEM data in certificate input".into(),
        ));
    }
    match rustls_pemfile::private_key(&mut &key_pem[..]) {
        Ok(Some(k)) => Ok((chain, k)),
        _ => Err(fail("tls: failed to find any PEM data in key input".into())),
    }
}

fn load_roots(file: &str) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    if file.is_empty() {
        if let Some(pem) = SYSTEM_CA_FILES.iter().find_map(|f| std::fs::read(f).ok()) {
            roots.add_parsable_certificates(pem_certs(&pem));
        }
        return Ok(roots);
    }
    let pem = std::fs::read(file).map_err(|e| TlsSetupError::ReadCa {
        file: file.to_string(),
        reason: open_err(file, &e),
    })?;
    let (added, _) = roots.add_parsable_certificates(pem_certs(&pem));
    if added == 0 {
        return Err(TlsSetupError::AppendCa(file.to_string()));
    }
    Ok(roots)
}

/// Builds the client configuration. Errors name the offending file as the reference does.
pub fn client_config(s: &TlsSettings) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let key_pair = if !s.cert.is_empty() && !s.key.is_empty() {
        Some(load_key_pair(&s.cert, &s.key)?)
    } else {
        None
    };
    let roots = load_roots(&s.root_ca_file)?;
    let provider = provider();
    let builder = match ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b,
        Err(e) => {
            return Err(TlsSetupError::ReadCa {
                file: s.root_ca_file.clone(),
                reason: e.to_string(),
            })
        }
    };
    let builder = if s.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert {
                algorithms: provider.signature_verification_algorithms,
            }))
    } else {
        builder.with_root_certificates(roots)
    };
    let config = match key_pair {
        Some((chain, key)) => {
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsSetupError::KeyPair {
                    cert: s.cert.clone(),
                    key: s.key.clone(),
                    reason: e.to_string(),
                })?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// `--http-client-tls-insecure-skip-verify`: any certificate is accepted, but handshake
/// signatures are still checked.
#[derive(Debug)]
struct AcceptAnyCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_build() {
        assert!(client_config(&TlsSettings::default()).is_ok());
        assert!(client_config(&TlsSettings {
            insecure_skip_verify: true,
            ..Default::default()
        })
        .is_ok());
    }

    #[test]
    fn reference_messages() {
        let e = client_config(&TlsSettings {
            cert: "/nonexistent/c.pem".into(),
            key: "/nonexistent/k.pem".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to LoadX509KeyPair /nonexistent/c.pem, /nonexistent/k.pem - open /nonexistent/c.pem: no such file or directory"
        );
        let e = client_config(&TlsSettings {
            root_ca_file: "/nonexistent/ca.pem".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to read TLS root CA file /nonexistent/ca.pem - open /nonexistent/ca.pem: no such file or directory"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a pem").unwrap();
        let f = f.to_str().unwrap().to_string();
        let e = client_config(&TlsSettings {
            root_ca_file: f.clone(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e, TlsSetupError::AppendCa(f));
    }
}
