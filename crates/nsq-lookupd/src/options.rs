//! nsqlookupd's runtime options and their defaults.
//!
//! The binary fills these from flags and the TOML config file; tests build them directly
//! (usually with `127.0.0.1:0` addresses). Defaults are the reference's.

use std::time::Duration;

/// Default `--tcp-address`.
pub const DEFAULT_TCP_ADDRESS: &str = "0.0.0.0:4160";
/// Default `--http-address`.
pub const DEFAULT_HTTP_ADDRESS: &str = "0.0.0.0:4161";
/// Default `--inactive-producer-timeout` (300 s, printed by Go as `5m0s`).
pub const DEFAULT_INACTIVE_PRODUCER_TIMEOUT: Duration = Duration::from_secs(300);
/// Default `--tombstone-lifetime`.
pub const DEFAULT_TOMBSTONE_LIFETIME: Duration = Duration::from_secs(45);

/// What an nsqlookupd instance needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// TCP (protocol V1) listen address, Go `host:port`.
    pub tcp_address: String,
    /// HTTP listen address, Go `host:port`.
    pub http_address: String,
    /// The address this lookupd reports to nsqd in the IDENTIFY response.
    pub broadcast_address: String,
    /// A producer not refreshed (IDENTIFY/PING) for longer than this is left out of
    /// `/lookup` and `/nodes`.
    pub inactive_producer_timeout: Duration,
    /// How long a tombstone hides a producer of a topic from `/lookup`.
    pub tombstone_lifetime: Duration,
}

impl Default for Options {
    /// The reference defaults; the broadcast address is the OS host name (empty if it
    /// cannot be read).
    fn default() -> Self {
        Options {
            tcp_address: DEFAULT_TCP_ADDRESS.to_string(),
            http_address: DEFAULT_HTTP_ADDRESS.to_string(),
            broadcast_address: os_hostname().unwrap_or_default(),
            inactive_producer_timeout: DEFAULT_INACTIVE_PRODUCER_TIMEOUT,
            tombstone_lifetime: DEFAULT_TOMBSTONE_LIFETIME,
        }
    }
}

/// The OS host name, as Go's `os.Hostname` reports it.
pub fn os_hostname() -> std::io::Result<String> {
    hostname::get().map(|h| h.to_string_lossy().into_owned())
}
