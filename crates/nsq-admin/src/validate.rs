//! Startup validation, in the reference's order and with its messages.
//!
//! A misconfigured nsqadmin must refuse to start with the same
//! `failed to instantiate nsqadmin - <msg>` line the Go binary prints, so that existing
//! runbooks and supervisors recognise it. [`validate`] checks everything except binding
//! the listener (done by [`crate::server`]) and returns the parsed pieces.

use std::sync::Arc;

use crate::cidr::{Cidr, CidrError};
use crate::client::tls::{client_config, TlsSettings, TlsSetupError};
use crate::client::{Url, UrlError};
use crate::options::{normalize_base_path, Options};

/// A configuration nsqadmin refuses; `Display` is the reference's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    /// No upstream configured.
    #[error("--nsqd-http-address or --lookupd-http-address required")]
    NoUpstream,
    /// Both kinds of upstream configured.
    #[error("use --nsqd-http-address or --lookupd-http-address not both")]
    BothUpstreams,
    /// A certificate without a key.
    #[error("--http-client-tls-key must be specified with --http-client-tls-cert")]
    KeyWithoutCert,
    /// A key without a certificate.
    #[error("--http-client-tls-cert must be specified with --http-client-tls-key")]
    CertWithoutKey,
    /// TLS files unusable.
    #[error("{0}")]
    Tls(#[from] TlsSetupError),
    /// A lookupd address that does not resolve.
    #[error("failed to resolve --lookupd-http-address ({0}) - {1}")]
    LookupdAddress(String, String),
    /// An nsqd address that does not resolve.
    #[error("failed to resolve --nsqd-http-address ({0}) - {1}")]
    NsqdAddress(String, String),
    /// `--graphite-url` unusable while proxying.
    #[error("failed to parse --graphite-url ({0}) - {1}")]
    GraphiteUrl(String, UrlError),
    /// `--allow-config-from-cidr` unparsable.
    #[error("failed to parse --allow-config-from-cidr ({0}) - {1}")]
    Cidr(String, CidrError),
    /// The listener could not be bound: `listen (<addr>) failed - <err>`.
    #[error("listen ({0}) failed - {1}")]
    Listen(String, String),
}

/// What validation produced besides the (normalised) options.
pub struct Validated {
    /// Options with `base_path` normalised.
    pub opts: Options,
    /// Upstream TLS configuration.
    pub tls: Arc<rustls::ClientConfig>,
    /// Parsed `--allow-config-from-cidr` (`None` when empty).
    pub cidr: Option<Cidr>,
    /// Parsed `--graphite-url` when `--proxy-graphite` is on.
    pub graphite: Option<Url>,
}

/// Resolves a Go `host:port` like `net.ResolveTCPAddr("tcp", addr)`; `Err` is Go's text.
pub fn resolve_tcp(addr: &str) -> Result<(), String> {
    let (host, port) = nsq_http::listen::split_host_port(addr).map_err(|e| e.to_string())?;
    let port_num: u16 = if port.is_empty() {
        0
    } else if port.bytes().all(|b| b.is_ascii_digit()) {
        port.parse()
            .map_err(|_| format!("address {addr}: invalid port"))?
    } else {
        return Err(format!("lookup tcp/{port}: unknown port"));
    };
    if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    match std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port_num)) {
        Ok(it) if it.len() > 0 => Ok(()),
        _ => Err(format!("lookup {host}: no such host")),
    }
}

/// Checks `opts` in the reference's order (see the module docs).
pub fn validate(mut opts: Options) -> Result<Validated, StartupError> {
    if opts.nsqd_http_addresses.is_empty() && opts.nsqlookupd_http_addresses.is_empty() {
        return Err(StartupError::NoUpstream);
    }
    if !opts.nsqd_http_addresses.is_empty() && !opts.nsqlookupd_http_addresses.is_empty() {
        return Err(StartupError::BothUpstreams);
    }
    if !opts.http_client_tls_cert.is_empty() && opts.http_client_tls_key.is_empty() {
        return Err(StartupError::KeyWithoutCert);
    }
    if !opts.http_client_tls_key.is_empty() && opts.http_client_tls_cert.is_empty() {
        return Err(StartupError::CertWithoutKey);
    }
    let tls = client_config(&TlsSettings {
        insecure_skip_verify: opts.http_client_tls_insecure_skip_verify,
        root_ca_file: opts.http_client_tls_root_ca_file.clone(),
        cert: opts.http_client_tls_cert.clone(),
        key: opts.http_client_tls_key.clone(),
    })?;
    for a in &opts.nsqlookupd_http_addresses {
        resolve_tcp(a).map_err(|e| StartupError::LookupdAddress(a.clone(), e))?;
    }
    for a in &opts.nsqd_http_addresses {
        resolve_tcp(a).map_err(|e| StartupError::NsqdAddress(a.clone(), e))?;
    }
    let graphite = if opts.proxy_graphite {
        Some(
            Url::parse(&opts.graphite_url)
                .map_err(|e| StartupError::GraphiteUrl(opts.graphite_url.clone(), e))?,
        )
    } else {
        None
    };
    let cidr = if opts.allow_config_from_cidr.is_empty() {
        None
    } else {
        Some(
            Cidr::parse(&opts.allow_config_from_cidr)
                .map_err(|e| StartupError::Cidr(opts.allow_config_from_cidr.clone(), e))?,
        )
    };
    opts.base_path = normalize_base_path(&opts.base_path);
    Ok(Validated {
        opts,
        tls,
        cidr,
        graphite,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(o: Options) -> String {
        match validate(o) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn order_and_messages() {
        let mut o = Options::default();
        assert_eq!(
            msg(o.clone()),
            "--nsqd-http-address or --lookupd-http-address required"
        );
        o.nsqd_http_addresses = vec!["127.0.0.1:4151".into()];
        o.nsqlookupd_http_addresses = vec!["127.0.0.1:4161".into()];
        assert_eq!(
            msg(o.clone()),
            "use --nsqd-http-address or --lookupd-http-address not both"
        );
        o.nsqd_http_addresses.clear();
        o.http_client_tls_cert = "c".into();
        assert_eq!(
            msg(o.clone()),
            "--http-client-tls-key must be specified with --http-client-tls-cert"
        );
        o.http_client_tls_cert.clear();
        o.nsqlookupd_http_addresses = vec!["127.0.0.1".into()];
        assert_eq!(
            msg(o.clone()),
            "failed to resolve --lookupd-http-address (127.0.0.1) - address 127.0.0.1: missing port in address"
        );
        o.nsqlookupd_http_addresses = vec!["127.0.0.1:4161".into()];
        o.allow_config_from_cidr = "bogus".into();
        assert_eq!(
            msg(o.clone()),
            "failed to parse --allow-config-from-cidr (bogus) - invalid CIDR address: bogus"
        );
        o.allow_config_from_cidr = String::new();
        o.base_path = "adm/".into();
        let v = validate(o).unwrap();
        assert_eq!(v.opts.base_path, "/adm");
        assert!(v.cidr.is_none());
    }
}
