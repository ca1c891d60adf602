//! Everything a connection needs to secure itself, built once at startup from the options:
//! the server TLS configuration (TCP `tls_v1` upgrades and the HTTPS listener) and the auth
//! server client. Shared read-only by every connection.

use std::sync::Arc;

use crate::auth::AuthClient;
use crate::options::Options;
use crate::tls_config;

/// Startup failed; the text is what follows `failed to instantiate nsqd - `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    /// `--tls-cert`/`--tls-key`/`--tls-root-ca-file` could not be loaded.
    #[error("failed to build TLS config - {0}")]
    Server(tls_config::TlsConfigError),
    /// The client side (root CAs for HTTPS auth servers) could not be built.
    #[error("failed to build client TLS config - {0}")]
    Client(tls_config::TlsConfigError),
}

/// TLS and auth settings. Invariants: `tls` is `Some` iff a certificate and key are
/// configured; `auth` is `Some` iff at least one auth server is configured.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// Server TLS configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Auth servers.
    pub auth: Option<AuthClient>,
}

impl Security {
    /// Builds both from the options, in the reference's order (server TLS, then client TLS).
    pub fn from_options(opts: &Options) -> Result<Security, SecurityError> {
        let tls = tls_config::server_config(opts).map_err(SecurityError::Server)?;
        let client = tls_config::client_config(opts).map_err(SecurityError::Client)?;
        Ok(Security {
            tls,
            auth: AuthClient::from_options(opts, client),
        })
    }

    /// No TLS, no auth.
    pub fn disabled() -> Security {
        Security::default()
    }
}
