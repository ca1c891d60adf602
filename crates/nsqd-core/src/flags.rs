//! nsqd's command line: every flag of the reference with its default and config-file key,
//! and the conversion of resolved values into [`Options`] with the reference's startup
//! validations.

use std::time::Duration;

use nsq_cli::{FlagKind as K, FlagSet, FlagSpec, Value as V, Values};

use crate::options::{default_node_id, Options, TlsRequired};

fn s(v: &str) -> V {
    V::Str(v.to_string())
}

fn d(ms: u64) -> V {
    V::Duration(Duration::from_millis(ms))
}

fn check_tls_required(v: &str) -> Result<(), String> {
    parse_tls_required(v)
        .map(|_| ())
        .ok_or_else(|| "parse error".to_string())
}

fn check_tls_min_version(v: &str) -> Result<(), String> {
    parse_tls_min_version(v)
        .map(|_| ())
        .ok_or_else(|| "parse error".to_string())
}

/// `--tls-required` text → value (`true`/`false` in Go's bool words, or `tcp-https`).
pub fn parse_tls_required(v: &str) -> Option<TlsRequired> {
    match v {
        "tcp-https" => Some(TlsRequired::TcpHttps),
        _ => match nsq_cli::strconv::parse_bool(v) {
            Ok(true) => Some(TlsRequired::Yes),
            Ok(false) => Some(TlsRequired::No),
            Err(_) => None,
        },
    }
}

/// `--tls-min-version` text → TLS protocol number; empty means the default TLS 1.0.
pub fn parse_tls_min_version(v: &str) -> Option<u16> {
    match v.to_ascii_lowercase().as_str() {
        "" | "tls1.0" => Some(0x0301),
        "tls1.1" => Some(0x0302),
        "tls1.2" => Some(0x0303),
        "tls1.3" => Some(0x0304),
        _ => None,
    }
}

/// The nsqd flag set.
pub fn flag_set() -> FlagSet {
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let o = Options::default();
    let specs = vec![
        FlagSpec::new("version", K::Bool, V::Bool(false), "print version string").no_cfg(),
        FlagSpec::new("config", K::Str, s(""), "path to config file").no_cfg(),
        FlagSpec::new("log-level", K::LogLevel, s("info"), "set log verbosity: debug, info, warn, error, or fatal"),
        FlagSpec::new("log-prefix", K::Str, s("[nsqd] "), "log message prefix"),
        FlagSpec::new("verbose", K::Bool, V::Bool(false), "[deprecated] has no effect, use --log-level").no_cfg(),
        FlagSpec::new("node-id", K::Int, V::Int(default_node_id(&host)), "unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)").cfg("id"),
        FlagSpec::new("worker-id", K::Bool, V::Bool(false), "[deprecated] use --node-id").no_cfg(),
        FlagSpec::new("https-address", K::Str, s(&o.https_address), "<addr>:<port> to listen on for HTTPS clients"),
        FlagSpec::new("http-address", K::Str, s(&o.http_address), "<addr>:<port> to listen on for HTTP clients"),
        FlagSpec::new("tcp-address", K::Str, s(&o.tcp_address), "<addr>:<port> to listen on for TCP clients"),
        FlagSpec::new("auth-http-address", K::StrList, V::StrList(vec![]), "<addr>:<port> or a full url to query auth server (may be given multiple times)").cfg("auth_http_addresses"),
        FlagSpec::new("auth-http-request-method", K::Str, s("get"), "HTTP method to use for auth server requests"),
        FlagSpec::new("broadcast-address", K::Str, s(&host), "address that will be registered with lookupd (defaults to the OS hostname)"),
        FlagSpec::new("broadcast-tcp-port", K::Int, V::Int(0), "TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on)"),
        FlagSpec::new("broadcast-http-port", K::Int, V::Int(0), "HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on)"),
        FlagSpec::new("lookupd-tcp-address", K::StrList, V::StrList(vec![]), "lookupd TCP address (may be given multiple times)").cfg("nsqlookupd_tcp_addresses"),
        FlagSpec::new("http-client-connect-timeout", K::Duration, d(2000), "timeout for HTTP connect"),
        FlagSpec::new("http-client-request-timeout", K::Duration, d(5000), "timeout for HTTP request"),
        FlagSpec::new("topology-region", K::Str, s(""), "A region represents a larger physical failure domain than a zone"),
        FlagSpec::new("topology-zone", K::Str, s(""), "A zone represents a logical failure domain"),
        FlagSpec::new("data-path", K::Str, s(""), "path to store disk-backed messages"),
        FlagSpec::new("mem-queue-size", K::Int, V::Int(o.mem_queue_size), "number of messages to keep in memory (per topic/channel)"),
        FlagSpec::new("max-bytes-per-file", K::Int, V::Int(o.max_bytes_per_file), "number of bytes per diskqueue file before rolling"),
        FlagSpec::new("sync-every", K::Int, V::Int(o.sync_every), "number of messages per diskqueue fsync"),
        FlagSpec::new("sync-timeout", K::Duration, d(2000), "duration of time per diskqueue fsync"),
        FlagSpec::new("queue-scan-worker-pool-max", K::Int, V::Int(4), "max concurrency for checking in-flight and deferred message timeouts"),
        FlagSpec::new("queue-scan-selection-count", K::Int, V::Int(20), "number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts"),
        FlagSpec::new("msg-timeout", K::Duration, d(60_000), "default duration to wait before auto-requeing a message"),
        FlagSpec::new("max-msg-timeout", K::Duration, d(15 * 60_000), "maximum duration before a message will timeout"),
        FlagSpec::new("max-msg-size", K::Int, V::Int(o.max_msg_size), "maximum size of a single message in bytes"),
        FlagSpec::new("max-req-timeout", K::Duration, d(3_600_000), "maximum requeuing timeout for a message"),
        FlagSpec::new("max-body-size", K::Int, V::Int(o.max_body_size), "maximum size of a single command body"),
        FlagSpec::new("max-heartbeat-interval", K::Duration, d(60_000), "maximum client configurable duration of time between client heartbeats"),
        FlagSpec::new("max-rdy-count", K::Int, V::Int(o.max_rdy_count), "maximum RDY count for a client"),
        FlagSpec::new("max-output-buffer-size", K::Int, V::Int(o.max_output_buffer_size), "maximum client configurable size (in bytes) for a client output buffer"),
        FlagSpec::new("max-output-buffer-timeout", K::Duration, d(30_000), "maximum client configurable duration of time between flushing to a client"),
        FlagSpec::new("min-output-buffer-timeout", K::Duration, d(25), "minimum client configurable duration of time between flushing to a client"),
        FlagSpec::new("output-buffer-timeout", K::Duration, d(250), "default duration of time between flushing data to clients"),
        FlagSpec::new("max-channel-consumers", K::Int, V::Int(0), "maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)"),
        FlagSpec::new("statsd-address", K::Str, s(""), "UDP <addr>:<port> of a statsd daemon for pushing stats"),
        FlagSpec::new("statsd-interval", K::Duration, d(60_000), "duration between pushing to statsd"),
        FlagSpec::new("statsd-mem-stats", K::Bool, V::Bool(true), "toggle sending memory and GC stats to statsd"),
        FlagSpec::new("statsd-prefix", K::Str, s("nsq.%s"), "prefix used for keys sent to statsd (%s for host replacement)"),
        FlagSpec::new("statsd-udp-packet-size", K::Int, V::Int(508), "the size in bytes of statsd UDP packets"),
        FlagSpec::new("statsd-exclude-ephemeral", K::Bool, V::Bool(false), "Skip ephemeral topics and channels when sending stats to statsd"),
        FlagSpec::new("e2e-processing-latency-window-time", K::Duration, d(600_000), "calculate end to end latency quantiles for this duration of time (ie: 60s would only show quantile calculations from the past 60 seconds)"),
        FlagSpec::new("e2e-processing-latency-percentile", K::FloatList, V::FloatList(vec![]), "message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated '1.0,0.99,0.95', default none)").cfg("e2e_processing_latency_percentiles"),
        FlagSpec::new("tls-cert", K::Str, s(""), "path to certificate file"),
        FlagSpec::new("tls-key", K::Str, s(""), "path to key file"),
        FlagSpec::new("tls-client-auth-policy", K::Str, s(""), "client certificate auth policy ('require' or 'require-verify')"),
        FlagSpec::new("tls-root-ca-file", K::Str, s(""), "path to certificate authority file"),
        FlagSpec::new("tls-required", K::BoolStr, s("false"), "require TLS for client connections (true, false, tcp-https)"),
        FlagSpec::new("tls-min-version", K::Str, s("tls1.0"), "minimum SSL/TLS version acceptable ('ssl3.0', 'tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3')"),
        FlagSpec::new("deflate", K::Bool, V::Bool(true), "enable deflate feature negotiation (client compression)"),
        FlagSpec::new("max-deflate-level", K::Int, V::Int(6), "max deflate compression level a client can negotiate (> values == > nsqd CPU usage)"),
        FlagSpec::new("snappy", K::Bool, V::Bool(true), "enable snappy feature negotiation (client compression)"),
        FlagSpec::new("enable-experiment", K::StrList, V::StrList(vec![]), "enable experimental feature (may be given multiple times)").cfg("enable_experiment"),
    ];
    FlagSet::new("nsqd", specs)
        .with_check("tls-required", check_tls_required)
        .with_check("tls-min-version", check_tls_min_version)
}

/// Startup failure; the binary prints `failed to instantiate nsqd - <this>` and exits 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OptionsError(pub String);

/// Builds [`Options`] from resolved flag values, applying the reference's validations in
/// its order (§5.2 of the spec; listener and TLS checks happen when serving starts).
pub fn options_from_values(v: &Values) -> Result<Options, OptionsError> {
    let mut percentiles: Vec<f64> = v.float_list("e2e-processing-latency-percentile").to_vec();
    percentiles.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
    let mut o = Options {
        id: v.int("node-id"),
        log_level: v.log_level("log-level").as_int() as u8,
        log_prefix: v.str("log-prefix").to_string(),
        tcp_address: v.str("tcp-address").to_string(),
        http_address: v.str("http-address").to_string(),
        https_address: v.str("https-address").to_string(),
        broadcast_address: v.str("broadcast-address").to_string(),
        broadcast_tcp_port: v.int("broadcast-tcp-port"),
        broadcast_http_port: v.int("broadcast-http-port"),
        nsqlookupd_tcp_addresses: v.str_list("lookupd-tcp-address").to_vec(),
        auth_http_addresses: v.str_list("auth-http-address").to_vec(),
        auth_http_request_method: v.str("auth-http-request-method").to_string(),
        http_client_connect_timeout: v.duration("http-client-connect-timeout"),
        http_client_request_timeout: v.duration("http-client-request-timeout"),
        topology_region: v.str("topology-region").to_string(),
        topology_zone: v.str("topology-zone").to_string(),
        data_path: v.str("data-path").to_string(),
        mem_queue_size: v.int("mem-queue-size"),
        max_bytes_per_file: v.int("max-bytes-per-file"),
        sync_every: v.int("sync-every"),
        sync_timeout: v.duration("sync-timeout"),
        queue_scan_worker_pool_max: v.int("queue-scan-worker-pool-max"),
        queue_scan_selection_count: v.int("queue-scan-selection-count"),
        msg_timeout: v.duration("msg-timeout"),
        max_msg_timeout: v.duration("max-msg-timeout"),
        max_msg_size: v.int("max-msg-size"),
        max_req_timeout: v.duration("max-req-timeout"),
        max_body_size: v.int("max-body-size"),
        max_heartbeat_interval: v.duration("max-heartbeat-interval"),
        max_rdy_count: v.int("max-rdy-count"),
        max_output_buffer_size: v.int("max-output-buffer-size"),
        max_output_buffer_timeout: v.duration("max-output-buffer-timeout"),
        min_output_buffer_timeout: v.duration("min-output-buffer-timeout"),
        output_buffer_timeout: v.duration("output-buffer-timeout"),
        max_channel_consumers: v.int("max-channel-consumers"),
        statsd_address: v.str("statsd-address").to_string(),
        statsd_prefix: v.str("statsd-prefix").to_string(),
        statsd_interval: v.duration("statsd-interval"),
        statsd_mem_stats: v.bool("statsd-mem-stats"),
        statsd_udp_packet_size: v.int("statsd-udp-packet-size"),
        statsd_exclude_ephemeral: v.bool("statsd-exclude-ephemeral"),
        e2e_processing_latency_window_time: v.duration("e2e-processing-latency-window-time"),
        e2e_processing_latency_percentiles: percentiles,
        tls_cert: v.str("tls-cert").to_string(),
        tls_key: v.str("tls-key").to_string(),
        tls_client_auth_policy: v.str("tls-client-auth-policy").to_string(),
        tls_root_ca_file: v.str("tls-root-ca-file").to_string(),
        tls_required: parse_tls_required(v.str("tls-required")).unwrap_or_default(),
        tls_min_version: parse_tls_min_version(v.str("tls-min-version")).unwrap_or(0x0301),
        deflate: v.bool("deflate"),
        max_deflate_level: v.int("max-deflate-level"),
        snappy: v.bool("snappy"),
        enable_experiment: v.str_list("enable-experiment").to_vec(),
        ..Options::default()
    };
    if !(1..=9).contains(&o.max_deflate_level) {
        return Err(OptionsError("--max-deflate-level must be [1,9]".into()));
    }
    if !(0..1024).contains(&o.id) {
        return Err(OptionsError("--node-id must be [0,1024)".into()));
    }
    if !o.tls_client_auth_policy.is_empty() && o.tls_required == TlsRequired::No {
        o.tls_required = TlsRequired::Yes;
    }
    if o.tls_required != TlsRequired::No && !o.tls_enabled() {
        return Err(OptionsError(
            "cannot require TLS client connections without TLS key and cert".into(),
        ));
    }
    if o.auth_http_request_method != "post" && o.auth_http_request_method != "get" {
        return Err(OptionsError(
            "--auth-http-request-method must be post or get".into(),
        ));
    }
    for p in &o.e2e_processing_latency_percentiles {
        if *p <= 0.0 || *p > 1.0 {
            return Err(OptionsError(format!(
                "invalid E2E processing latency percentile: {}",
                nsq_cli::strconv::format_float(*p)
            )));
        }
    }
    Ok(o)
}

/// The statsd prefix with `%s` replaced by the host key and a trailing `.` (§5.2 step 11).
pub fn resolve_statsd_prefix(prefix: &str, broadcast_address: &str, http_port: i64) -> String {
    if prefix.is_empty() {
        return String::new();
    }
    let hostport = if broadcast_address.contains(':') {
        format!("[{broadcast_address}]:{http_port}")
    } else {
        format!("{broadcast_address}:{http_port}")
    };
    let key = hostport.replace(['.', ':'], "_");
    let mut p = prefix.replace("%s", &key);
    if !p.ends_with('.') {
        p.push('.');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, OptionsError> {
        let set = flag_set();
        let parsed = set
            .parse(args.iter().map(|s| s.to_string()))
            .map_err(|e| OptionsError(e.to_string()))?;
        let values =
            nsq_cli::resolve(&set, &parsed, None).map_err(|e| OptionsError(e.to_string()))?;
        options_from_values(&values)
    }

    #[test]
    fn defaults_match_reference() {
        let o = parse(&[]).expect("defaults are valid");
        assert_eq!(o.tcp_address, "0.0.0.0:4150");
        assert_eq!(o.http_address, "0.0.0.0:4151");
        assert_eq!(o.mem_queue_size, 10_000);
        assert_eq!(o.msg_timeout, Duration::from_secs(60));
        assert_eq!(o.max_rdy_count, 2500);
        assert!(o.deflate && o.snappy);
    }

    #[test]
    fn flag_forms_and_lists() {
        let o = parse(&[
            "-tcp-address",
            ":4150",
            "--http-address=127.0.0.1:1",
            "--mem-queue-size",
            "0x10",
            "-max-rdy-count=010",
            "--lookupd-tcp-address=a:1",
            "-lookupd-tcp-address",
            "b:2",
            "--e2e-processing-latency-percentile=0.5",
            "--e2e-processing-latency-percentile",
            "0.99,0.9",
            "--msg-timeout=1m30s",
            "--snappy=false",
        ])
        .expect("valid");
        assert_eq!(o.tcp_address, ":4150");
        assert_eq!(o.http_address, "127.0.0.1:1");
        assert_eq!(o.mem_queue_size, 16);
        assert_eq!(o.max_rdy_count, 8);
        assert_eq!(o.nsqlookupd_tcp_addresses, vec!["a:1", "b:2"]);
        assert_eq!(o.e2e_processing_latency_percentiles, vec![0.99, 0.9, 0.5]);
        assert_eq!(o.msg_timeout, Duration::from_secs(90));
        assert!(!o.snappy);
    }

    #[test]
    fn startup_validation_texts() {
        assert_eq!(
            parse(&["--max-deflate-level=0"]).unwrap_err().0,
            "--max-deflate-level must be [1,9]"
        );
        assert_eq!(
            parse(&["--node-id=1024"]).unwrap_err().0,
            "--node-id must be [0,1024)"
        );
        assert_eq!(
            parse(&["--tls-required"]).unwrap_err().0,
            "cannot require TLS client connections without TLS key and cert"
        );
        assert_eq!(
            parse(&["--auth-http-request-method=put"]).unwrap_err().0,
            "--auth-http-request-method must be post or get"
        );
        assert_eq!(
            parse(&["--e2e-processing-latency-percentile=1.5"])
                .unwrap_err()
                .0,
            "invalid E2E processing latency percentile: 1.5"
        );
    }

    #[test]
    fn config_file_precedence() {
        let set = flag_set();
        let cfg = nsq_cli::parse_config_str("max_rdy_count = 77\nmsg_timeout = 5000\nmem_queue_size = \"20\"\nnsqlookupd_tcp_addresses = [\"x:1\"]\n").expect("toml");
        let parsed = set
            .parse(vec!["--max-rdy-count=99".to_string()])
            .expect("args");
        let values = nsq_cli::resolve(&set, &parsed, Some(&cfg)).expect("resolve");
        let o = options_from_values(&values).expect("valid");
        assert_eq!(o.max_rdy_count, 99);
        assert_eq!(o.msg_timeout, Duration::from_secs(5));
        assert_eq!(o.mem_queue_size, 20);
        assert_eq!(o.nsqlookupd_tcp_addresses, vec!["x:1"]);
    }

    #[test]
    fn statsd_prefix() {
        assert_eq!(
            resolve_statsd_prefix("nsq.%s", "my.host", 29151),
            "nsq.my_host_29151."
        );
        assert_eq!(resolve_statsd_prefix("", "h", 1), "");
    }
}
