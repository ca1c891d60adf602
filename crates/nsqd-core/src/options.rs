//! nsqd's effective configuration, with the reference's defaults.
//!
//! The binary fills this from Go-style flags and the TOML config file; the engine only ever
//! reads it. Durations are kept as [`Duration`]; their wire/JSON renderings (ms in IDENTIFY,
//! ns in /info and /config) are computed where they are sent.

use std::time::Duration;

/// `--tls-required` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsRequired {
    /// TLS optional (0).
    #[default]
    No,
    /// TLS required on TCP, plain HTTP allowed (1, `tcp-https`).
    TcpHttps,
    /// TLS required everywhere (2, `true`).
    Yes,
}

/// Every nsqd option. Field names follow the config-file keys.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--node-id` (config `id`): node bits of message IDs, `[0,1024)`.
    pub id: i64,
    /// `--log-level` (1 debug .. 5 fatal).
    pub log_level: u8,
    /// `--log-prefix`.
    pub log_prefix: String,
    /// `--tcp-address`.
    pub tcp_address: String,
    /// `--http-address` (empty disables HTTP).
    pub http_address: String,
    /// `--https-address`.
    pub https_address: String,
    /// `--broadcast-address` (defaults to the OS hostname).
    pub broadcast_address: String,
    /// `--broadcast-tcp-port` (0 → actual TCP port).
    pub broadcast_tcp_port: i64,
    /// `--broadcast-http-port` (0 → actual HTTP port).
    pub broadcast_http_port: i64,
    /// `--lookupd-tcp-address` (config `nsqlookupd_tcp_addresses`).
    pub nsqlookupd_tcp_addresses: Vec<String>,
    /// `--auth-http-address` (config `auth_http_addresses`).
    pub auth_http_addresses: Vec<String>,
    /// `--auth-http-request-method`: `get` or `post`.
    pub auth_http_request_method: String,
    /// `--http-client-connect-timeout`.
    pub http_client_connect_timeout: Duration,
    /// `--http-client-request-timeout`.
    pub http_client_request_timeout: Duration,
    /// `--topology-region`.
    pub topology_region: String,
    /// `--topology-zone`.
    pub topology_zone: String,
    /// `--data-path` (empty → current directory).
    pub data_path: String,
    /// `--mem-queue-size`: messages kept in memory per topic and per channel.
    pub mem_queue_size: i64,
    /// `--max-bytes-per-file`.
    pub max_bytes_per_file: i64,
    /// `--sync-every`.
    pub sync_every: i64,
    /// `--sync-timeout`.
    pub sync_timeout: Duration,
    /// `--queue-scan-worker-pool-max` (accepted; our timers are per channel).
    pub queue_scan_worker_pool_max: i64,
    /// `--queue-scan-selection-count` (accepted; our timers are per channel).
    pub queue_scan_selection_count: i64,
    /// `--queue-scan-interval` internal constant, kept for /config.
    pub queue_scan_interval: Duration,
    /// `--queue-scan-refresh-interval` internal constant, kept for /config.
    pub queue_scan_refresh_interval: Duration,
    /// `--queue-scan-dirty-percent` internal constant, kept for /config.
    pub queue_scan_dirty_percent: f64,
    /// `--msg-timeout`: default in-flight timeout.
    pub msg_timeout: Duration,
    /// `--max-msg-timeout`.
    pub max_msg_timeout: Duration,
    /// `--max-msg-size` (inclusive).
    pub max_msg_size: i64,
    /// `--max-body-size`.
    pub max_body_size: i64,
    /// `--max-req-timeout`.
    pub max_req_timeout: Duration,
    /// Fixed 60 s; the default heartbeat is half of it.
    pub client_timeout: Duration,
    /// `--max-heartbeat-interval`.
    pub max_heartbeat_interval: Duration,
    /// `--max-rdy-count`.
    pub max_rdy_count: i64,
    /// `--max-output-buffer-size`.
    pub max_output_buffer_size: i64,
    /// `--max-output-buffer-timeout`.
    pub max_output_buffer_timeout: Duration,
    /// `--min-output-buffer-timeout`.
    pub min_output_buffer_timeout: Duration,
    /// `--output-buffer-timeout`.
    pub output_buffer_timeout: Duration,
    /// `--max-channel-consumers` (0 = unlimited).
    pub max_channel_consumers: i64,
    /// `--statsd-address`.
    pub statsd_address: String,
    /// `--statsd-prefix` (resolved: `%s` replaced, trailing `.`).
    pub statsd_prefix: String,
    /// `--statsd-interval`.
    pub statsd_interval: Duration,
    /// `--statsd-mem-stats`.
    pub statsd_mem_stats: bool,
    /// `--statsd-udp-packet-size`.
    pub statsd_udp_packet_size: i64,
    /// `--statsd-exclude-ephemeral`.
    pub statsd_exclude_ephemeral: bool,
    /// `--e2e-processing-latency-window-time`.
    pub e2e_processing_latency_window_time: Duration,
    /// `--e2e-processing-latency-percentile`, sorted descending.
    pub e2e_processing_latency_percentiles: Vec<f64>,
    /// `--tls-cert`.
    pub tls_cert: String,
    /// `--tls-key`.
    pub tls_key: String,
    /// `--tls-client-auth-policy`.
    pub tls_client_auth_policy: String,
    /// `--tls-root-ca-file`.
    pub tls_root_ca_file: String,
    /// `--tls-required`.
    pub tls_required: TlsRequired,
    /// `--tls-min-version` as the TLS protocol number (0x0301 = TLS 1.0).
    pub tls_min_version: u16,
    /// `--deflate`.
    pub deflate: bool,
    /// `--max-deflate-level`.
    pub max_deflate_level: i64,
    /// `--snappy`.
    pub snappy: bool,
    /// `--enable-experiment`.
    pub enable_experiment: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        let host = hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        Options {
            id: default_node_id(&host),
            log_level: 2,
            log_prefix: "[nsqd] ".into(),
            tcp_address: "0.0.0.0:4150".into(),
            http_address: "0.0.0.0:4151".into(),
            https_address: "0.0.0.0:4152".into(),
            broadcast_address: host,
            broadcast_tcp_port: 0,
            broadcast_http_port: 0,
            nsqlookupd_tcp_addresses: Vec::new(),
            auth_http_addresses: Vec::new(),
            auth_http_request_method: "get".into(),
            http_client_connect_timeout: Duration::from_secs(2),
            http_client_request_timeout: Duration::from_secs(5),
            topology_region: String::new(),
            topology_zone: String::new(),
            data_path: String::new(),
            mem_queue_size: 10_000,
            max_bytes_per_file: 100 * 1024 * 1024,
            sync_every: 2500,
            sync_timeout: Duration::from_secs(2),
            queue_scan_worker_pool_max: 4,
            queue_scan_selection_count: 20,
            queue_scan_interval: Duration::from_millis(100),
            queue_scan_refresh_interval: Duration::from_secs(5),
            queue_scan_dirty_percent: 0.25,
            msg_timeout: Duration::from_secs(60),
            max_msg_timeout: Duration::from_secs(15 * 60),
            max_msg_size: 1024 * 1024,
            max_body_size: 5 * 1024 * 1024,
            max_req_timeout: Duration::from_secs(3600),
            client_timeout: Duration::from_secs(60),
            max_heartbeat_interval: Duration::from_secs(60),
            max_rdy_count: 2500,
            max_output_buffer_size: 64 * 1024,
            max_output_buffer_timeout: Duration::from_secs(30),
            min_output_buffer_timeout: Duration::from_millis(25),
            output_buffer_timeout: Duration::from_millis(250),
            max_channel_consumers: 0,
            statsd_address: String::new(),
            statsd_prefix: "nsq.%s".into(),
            statsd_interval: Duration::from_secs(60),
            statsd_mem_stats: true,
            statsd_udp_packet_size: 508,
            statsd_exclude_ephemeral: false,
            e2e_processing_latency_window_time: Duration::from_secs(600),
            e2e_processing_latency_percentiles: Vec::new(),
            tls_cert: String::new(),
            tls_key: String::new(),
            tls_client_auth_policy: String::new(),
            tls_root_ca_file: String::new(),
            tls_required: TlsRequired::No,
            tls_min_version: 0x0301,
            deflate: true,
            max_deflate_level: 6,
            snappy: true,
            enable_experiment: Vec::new(),
        }
    }
}

/// The reference's default node ID: `crc32(md5(hostname)) % 1024`.
pub fn default_node_id(host: &str) -> i64 {
    use md5::Digest;
    let digest = md5::Md5::digest(host.as_bytes());
    i64::from(crc32fast::hash(&digest) % 1024)
}

impl Options {
    /// The default heartbeat interval (half the fixed client timeout).
    pub fn default_heartbeat(&self) -> Duration {
        self.client_timeout / 2
    }

    /// True iff the topology-aware-consumption experiment is enabled.
    pub fn topology_experiment(&self) -> bool {
        self.enable_experiment
            .iter()
            .any(|e| e == "topology-aware-consumption")
    }

    /// The effective data directory (`--data-path`, or the working directory).
    pub fn data_dir(&self) -> std::path::PathBuf {
        if self.data_path.is_empty() {
            std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."))
        } else {
            std::path::PathBuf::from(&self.data_path)
        }
    }

    /// True iff TLS is configured (cert and key given).
    pub fn tls_enabled(&self) -> bool {
        !self.tls_cert.is_empty() && !self.tls_key.is_empty()
    }
}
