//! nsqadmin's runtime options, their defaults and the `/config/:opt` view of them.
//!
//! The binary fills [`Options`] from flags and the TOML config file (see [`crate::flags`]);
//! tests build it directly. Two options can change at runtime through `PUT /config/:opt`
//! (`nsqlookupd_http_addresses` and `log_level`), so the daemon keeps the current value
//! behind a lock and every request reads a snapshot.

use std::time::Duration;

use nsq_cli::LogLevel;
use serde_json::Value as Json;

/// Default `--http-address`.
pub const DEFAULT_HTTP_ADDRESS: &str = "0.0.0.0:4171";
/// Default `--log-prefix`.
pub const DEFAULT_LOG_PREFIX: &str = "[nsqadmin] ";
/// Default `--statsd-prefix`.
pub const DEFAULT_STATSD_PREFIX: &str = "nsq.%s";
/// Default `--statsd-counter-format`.
pub const DEFAULT_STATSD_COUNTER_FORMAT: &str = "stats.counters.%s.count";
/// Default `--statsd-gauge-format`.
pub const DEFAULT_STATSD_GAUGE_FORMAT: &str = "stats.gauges.%s";
/// Default `--statsd-interval`.
pub const DEFAULT_STATSD_INTERVAL: Duration = Duration::from_secs(60);
/// Default `--http-client-connect-timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default `--http-client-request-timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `--allow-config-from-cidr`.
pub const DEFAULT_ALLOW_CONFIG_FROM_CIDR: &str = "127.0.0.1/8";
/// Default `--acl-http-header`.
pub const DEFAULT_ACL_HTTP_HEADER: &str = "X-Forwarded-User";

/// Everything an nsqadmin instance runs with. Field names are the config-file keys.
///
/// Invariant after [`crate::validate::validate`]: exactly one of
/// `nsqlookupd_http_addresses` / `nsqd_http_addresses` is non-empty and `base_path` is
/// normalised (see [`normalize_base_path`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Current log level (`/config/log_level` reports it as 1..5).
    pub log_level: LogLevel,
    /// Log line prefix.
    pub log_prefix: String,
    /// HTTP listen address (`host:port`).
    pub http_address: String,
    /// URL prefix every route lives under.
    pub base_path: String,
    /// Serve `/static/*` from this directory instead of the embedded UI (development).
    pub dev_static_dir: String,
    /// Graphite base URL; non-empty enables graphite graphs in the UI.
    pub graphite_url: String,
    /// Serve `GET <base>/render` as a reverse proxy to graphite.
    pub proxy_graphite: bool,
    /// statsd key prefix (`%s` = host), for UI graph targets.
    pub statsd_prefix: String,
    /// statsd counter key format, for UI graph targets.
    pub statsd_counter_format: String,
    /// statsd gauge key format, for UI graph targets.
    pub statsd_gauge_format: String,
    /// statsd push interval of the nsqds (graph summarisation and rate divisor).
    pub statsd_interval: Duration,
    /// nsqlookupd HTTP addresses (lookupd mode).
    pub nsqlookupd_http_addresses: Vec<String>,
    /// nsqd HTTP addresses (nsqd mode).
    pub nsqd_http_addresses: Vec<String>,
    /// Upstream connect timeout.
    pub http_client_connect_timeout: Duration,
    /// Upstream whole-request timeout.
    pub http_client_request_timeout: Duration,
    /// Skip upstream TLS certificate verification.
    pub http_client_tls_insecure_skip_verify: bool,
    /// CA bundle for upstream TLS.
    pub http_client_tls_root_ca_file: String,
    /// Client certificate for upstream TLS.
    pub http_client_tls_cert: String,
    /// Client key for upstream TLS.
    pub http_client_tls_key: String,
    /// CIDR allowed to use `/config`; empty disables the check.
    pub allow_config_from_cidr: String,
    /// Admin-action webhook URL; empty disables notifications.
    pub notification_http_endpoint: String,
    /// Header naming the authenticated user.
    pub acl_http_header: String,
    /// Users allowed to act; empty means everyone.
    pub admin_users: Vec<String>,
}

impl Default for Options {
    /// The reference defaults (no upstream addresses).
    fn default() -> Self {
        Options {
            log_level: LogLevel::Info,
            log_prefix: DEFAULT_LOG_PREFIX.to_string(),
            http_address: DEFAULT_HTTP_ADDRESS.to_string(),
            base_path: "/".to_string(),
            dev_static_dir: String::new(),
            graphite_url: String::new(),
            proxy_graphite: false,
            statsd_prefix: DEFAULT_STATSD_PREFIX.to_string(),
            statsd_counter_format: DEFAULT_STATSD_COUNTER_FORMAT.to_string(),
            statsd_gauge_format: DEFAULT_STATSD_GAUGE_FORMAT.to_string(),
            statsd_interval: DEFAULT_STATSD_INTERVAL,
            nsqlookupd_http_addresses: Vec::new(),
            nsqd_http_addresses: Vec::new(),
            http_client_connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            http_client_request_timeout: DEFAULT_REQUEST_TIMEOUT,
            http_client_tls_insecure_skip_verify: false,
            http_client_tls_root_ca_file: String::new(),
            http_client_tls_cert: String::new(),
            http_client_tls_key: String::new(),
            allow_config_from_cidr: DEFAULT_ALLOW_CONFIG_FROM_CIDR.to_string(),
            notification_http_endpoint: String::new(),
            acl_http_header: DEFAULT_ACL_HTTP_HEADER.to_string(),
            admin_users: Vec::new(),
        }
    }
}

/// How `/config/:opt` renders one option: strings go out raw (as Go's V1 writer does for a
/// `string` value), everything else as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum OptValue {
    /// A string option, written as the raw body.
    Text(String),
    /// Any other option, JSON-encoded (durations as integer nanoseconds).
    Json(Json),
}

impl Options {
    /// The option whose config key is `key`, as `/config/:opt` reports it, or `None` for an
    /// unknown key (the caller answers 400 `INVALID_OPTION`).
    pub fn get_by_cfg_name(&self, key: &str) -> Option<OptValue> {
        let text = |s: &str| Some(OptValue::Text(s.to_string()));
        let list = |v: &[String]| Some(OptValue::Json(Json::from(v.to_vec())));
        let dur = |d: Duration| {
            let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
            Some(OptValue::Json(Json::from(ns)))
        };
        let boolean = |b: bool| Some(OptValue::Json(Json::Bool(b)));
        match key {
            "log_level" => Some(OptValue::Json(Json::from(self.log_level.as_int()))),
            "log_prefix" => text(&self.log_prefix),
            "http_address" => text(&self.http_address),
            "base_path" => text(&self.base_path),
            "dev_static_dir" => text(&self.dev_static_dir),
            "graphite_url" => text(&self.graphite_url),
            "proxy_graphite" => boolean(self.proxy_graphite),
            "statsd_prefix" => text(&self.statsd_prefix),
            "statsd_counter_format" => text(&self.statsd_counter_format),
            "statsd_gauge_format" => text(&self.statsd_gauge_format),
            "statsd_interval" => dur(self.statsd_interval),
            "nsqlookupd_http_addresses" => list(&self.nsqlookupd_http_addresses),
            "nsqd_http_addresses" => list(&self.nsqd_http_addresses),
            "http_client_connect_timeout" => dur(self.http_client_connect_timeout),
            "http_client_request_timeout" => dur(self.http_client_request_timeout),
            "http_client_tls_insecure_skip_verify" => {
                boolean(self.http_client_tls_insecure_skip_verify)
            }
            "http_client_tls_root_ca_file" => text(&self.http_client_tls_root_ca_file),
            "http_client_tls_cert" => text(&self.http_client_tls_cert),
            "http_client_tls_key" => text(&self.http_client_tls_key),
            "allow_config_from_cidr" => text(&self.allow_config_from_cidr),
            "notification_http_endpoint" => text(&self.notification_http_endpoint),
            "acl_http_header" => text(&self.acl_http_header),
            "admin_users" => list(&self.admin_users),
            _ => None,
        }
    }

    /// Whether the daemon discovers nsqds through nsqlookupd (otherwise it talks to the
    /// configured nsqds directly).
    pub fn lookupd_mode(&self) -> bool {
        !self.nsqlookupd_http_addresses.is_empty()
    }

    /// `--statsd-interval` in whole seconds, as the UI receives it.
    pub fn statsd_interval_secs(&self) -> u64 {
        self.statsd_interval.as_secs()
    }
}

/// Normalises `--base-path` as the reference does: empty → `/`, a leading `/` is added,
/// then Go's `path.Clean` (which also drops a trailing slash: `adm/` → `/adm`).
pub fn normalize_base_path(p: &str) -> String {
    if p.is_empty() {
        return "/".to_string();
    }
    let with_slash = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    };
    go_path_clean(&with_slash)
}

/// Go's `path.Clean` for an absolute path: like httprouter's cleaning, but a trailing
/// slash is dropped (except for the root).
fn go_path_clean(p: &str) -> String {
    let cleaned = nsq_http::path::clean_path(p);
    match cleaned.strip_suffix('/') {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => cleaned,
    }
}

/// Joins the base path and a route like Go's `path.Join(base, route)`: `/` + `/api/x` is
/// `/api/x`, `/adm` + `/` is `/adm`, `/adm` + `` is `/adm`.
pub fn join_base(base: &str, route: &str) -> String {
    if route.is_empty() {
        return go_path_clean(base);
    }
    go_path_clean(&format!("{base}/{route}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_path_normalisation() {
        assert_eq!(normalize_base_path(""), "/");
        assert_eq!(normalize_base_path("adm/"), "/adm");
        assert_eq!(normalize_base_path("/a//b/../c/"), "/a/c");
        assert_eq!(normalize_base_path("/"), "/");
        assert_eq!(join_base("/", "/api/topics"), "/api/topics");
        assert_eq!(join_base("/adm", "/"), "/adm");
        assert_eq!(join_base("/adm", ""), "/adm");
        assert_eq!(join_base("/", ""), "/");
        assert_eq!(join_base("/adm", "/static/x.js"), "/adm/static/x.js");
    }

    #[test]
    fn config_view() {
        let o = Options::default();
        assert_eq!(
            o.get_by_cfg_name("log_level"),
            Some(OptValue::Json(2.into()))
        );
        assert_eq!(
            o.get_by_cfg_name("statsd_interval"),
            Some(OptValue::Json(60_000_000_000i64.into()))
        );
        assert_eq!(
            o.get_by_cfg_name("admin_users"),
            Some(OptValue::Json(Json::Array(vec![])))
        );
        assert_eq!(
            o.get_by_cfg_name("log_prefix"),
            Some(OptValue::Text("[nsqadmin] ".into()))
        );
        assert_eq!(o.get_by_cfg_name("log-level"), None);
        assert_eq!(o.get_by_cfg_name("config"), None);
    }
}
