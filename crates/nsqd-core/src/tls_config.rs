//! TLS configuration built once at startup from the `--tls-*` options: the server side used
//! by the TCP `tls_v1` upgrade and the HTTPS listener, and the client side used to reach
//! HTTPS auth servers.
//!
//! Policy mapping (spec §5.2 item 4): no `--tls-client-auth-policy` → no client certificate
//! is requested; `require` → a certificate is required but not verified (its handshake
//! signature still is, so the peer must hold the key); `require-verify` → required and
//! verified against `--tls-root-ca-file` (or the system roots when none is given).
//!
//! rustls speaks TLS 1.2 and 1.3 only, so `--tls-min-version=tls1.0`/`tls1.1` (the
//! reference's default is 1.0) offers 1.2 and 1.3; `tls1.3` offers 1.3 only.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};
use rustls::{SignatureScheme, SupportedProtocolVersion};

use crate::options::Options;

/// A TLS configuration could not be built; the text follows Go's wording where the reference
/// has a well-known one (`open <path>: no such file or directory`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TlsConfigError(pub String);

/// The process-wide crypto provider (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The protocol versions offered for a `--tls-min-version` value (TLS protocol number).
pub fn protocol_versions(min_version: u16) -> &'static [&'static SupportedProtocolVersion] {
    static ALL: [&SupportedProtocolVersion; 2] = [&rustls::version::TLS12, &rustls::version::TLS13];
    static ONLY13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    if min_version >= 0x0304 {
        &ONLY13
    } else {
        &ALL
    }
}

/// Renders an IO error the way Go prints an `os.Open` failure:
/// `open <path>: no such file or directory`.
fn open_error(path: &str, e: &std::io::Error) -> TlsConfigError {
    let text = match e.raw_os_error() {
        Some(code) => {
            // Rust renders "No such file or directory (os error 2)"; Go lowercases the
            // strerror text and drops the code.
            let full = std::io::Error::from_raw_os_error(code).to_string();
            let bare = full.split(" (os error").next().unwrap_or(&full).to_string();
            let mut chars = bare.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => bare,
            }
        }
        None => e.to_string(),
    };
    TlsConfigError(format!("open {path}: {text}"))
}

fn read_file(path: &str) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|e| open_error(path, &e))
}

/// Every certificate in a PEM bundle (non-certificate blocks are skipped).
fn pem_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut &pem[..])
        .filter_map(Result::ok)
        .collect()
}

/// Loads a PEM certificate chain and private key, like Go's `tls.LoadX509KeyPair`.
fn load_key_pair(
    cert_path: &str,
    key_path: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsConfigError> {
    let cert_pem = read_file(cert_path)?;
    let key_pem = read_file(key_path)?;
    let certs = pem_certs(&cert_pem);
    if certs.is_empty() {
        return Err(TlsConfigError(
            "tls: failed to find any PEM data in certificate input".into(),
        ));
    }
    let key = match rustls_pemfile::private_key(&mut &key_pem[..]) {
        Ok(Some(k)) => k,
        Ok(None) => {
            return Err(TlsConfigError(
                "tls: failed to find any PEM data in key input".into(),
            ))
        }
        Err(e) => return Err(TlsConfigError(format!("tls: {e}"))),
    };
    Ok((certs, key))
}

/// The CA pool from `--tls-root-ca-file`; like Go, a file without a single usable
/// certificate is an error.
fn load_root_ca_file(path: &str) -> Result<RootCertStore, TlsConfigError> {
    let pem = read_file(path)?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(pem_certs(&pem));
    if added == 0 {
        return Err(TlsConfigError(
            "failed to append certificate to pool".into(),
        ));
    }
    Ok(roots)
}

/// The operating system's trust store, found where Go looks for it on Linux
/// (`$SSL_CERT_FILE`, the usual bundle files, `$SSL_CERT_DIR`). Unreadable or unparsable
/// entries are skipped; the result may be empty.
pub fn system_roots() -> RootCertStore {
    const FILES: [&str; 6] = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/tls/cacert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ];
    let mut roots = RootCertStore::empty();
    let file = std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|f| !f.is_empty())
        .or_else(|| {
            FILES
                .iter()
                .find(|f| Path::new(f).is_file())
                .map(|f| f.to_string())
        });
    if let Some(f) = file {
        if let Ok(pem) = std::fs::read(&f) {
            roots.add_parsable_certificates(pem_certs(&pem));
        }
    }
    if let Ok(dirs) = std::env::var("SSL_CERT_DIR") {
        for dir in dirs.split(':').filter(|d| !d.is_empty()) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if let Ok(pem) = std::fs::read(entry.path()) {
                    roots.add_parsable_certificates(pem_certs(&pem));
                }
            }
        }
    }
    roots
}

/// Builds the server configuration, or `None` when neither `--tls-cert` nor `--tls-key` is
/// set (TLS not configured). Setting only one of them is an error, as in the reference.
pub fn server_config(opts: &Options) -> Result<Option<Arc<ServerConfig>>, TlsConfigError> {
    if opts.tls_cert.is_empty() && opts.tls_key.is_empty() {
        return Ok(None);
    }
    let (certs, key) = load_key_pair(&opts.tls_cert, &opts.tls_key)?;
    let provider = provider();
    let roots = if opts.tls_root_ca_file.is_empty() {
        None
    } else {
        Some(load_root_ca_file(&opts.tls_root_ca_file)?)
    };
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(protocol_versions(opts.tls_min_version))
        .map_err(|e| TlsConfigError(e.to_string()))?;
    let builder = match opts.tls_client_auth_policy.as_str() {
        "require" => builder.with_client_cert_verifier(Arc::new(AcceptAnyClientCert {
            algorithms: provider.signature_verification_algorithms,
        })),
        "require-verify" => {
            let roots = roots.unwrap_or_else(system_roots);
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| TlsConfigError(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsConfigError(format!("tls: {e}")))?;
    Ok(Some(Arc::new(config)))
}

/// Builds the client configuration for HTTPS auth servers: roots from
/// `--tls-root-ca-file`, else the system trust store; versions from `--tls-min-version`.
pub fn client_config(opts: &Options) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let roots = if opts.tls_root_ca_file.is_empty() {
        system_roots()
    } else {
        load_root_ca_file(&opts.tls_root_ca_file)?
    };
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(protocol_versions(opts.tls_min_version))
        .map_err(|e| TlsConfigError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `--tls-client-auth-policy=require`: the client must present a certificate and prove it
/// holds the key, but the certificate is not checked against any root (Go's
/// `RequireAnyClientCert`).
#[derive(Debug)]
struct AcceptAnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AcceptAnyClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
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
    fn not_configured_without_cert_and_key() {
        let o = Options::default();
        assert!(matches!(server_config(&o), Ok(None)));
    }

    #[test]
    fn go_like_open_errors() {
        let o = Options {
            tls_cert: "/nonexistent/cert.pem".into(),
            ..Options::default()
        };
        assert_eq!(
            server_config(&o).err(),
            Some(TlsConfigError(
                "open /nonexistent/cert.pem: no such file or directory".into()
            ))
        );
    }

    #[test]
    fn empty_pem_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("empty.pem");
        std::fs::write(&f, b"not pem").expect("write");
        let p = f.to_string_lossy().into_owned();
        let o = Options {
            tls_cert: p.clone(),
            tls_key: p.clone(),
            ..Options::default()
        };
        assert_eq!(
            server_config(&o).err(),
            Some(TlsConfigError(
                "tls: failed to find any PEM data in certificate input".into()
            ))
        );
        let o = Options {
            tls_root_ca_file: p,
            ..Options::default()
        };
        assert_eq!(
            client_config(&o).err(),
            Some(TlsConfigError(
                "failed to append certificate to pool".into()
            ))
        );
    }

    #[test]
    fn versions_follow_min_version() {
        assert_eq!(protocol_versions(0x0301).len(), 2);
        assert_eq!(protocol_versions(0x0303).len(), 2);
        assert_eq!(protocol_versions(0x0304).len(), 1);
    }
}
