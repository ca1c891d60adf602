//! What a client tells nsqd in `IDENTIFY`, and what nsqd answers with feature negotiation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Connection settings. The IDENTIFY fields follow the reference's JSON keys; `None` leaves a
/// field out so the server keeps its default.
///
/// Invariant: [`Config::identify_json`] never asks for TLS, Snappy or Deflate (this client
/// cannot speak them), so a conforming server never upgrades the connection.
#[derive(Debug, Clone)]
pub struct Config {
    /// `client_id` (shown in /stats).
    pub client_id: String,
    /// `hostname` (shown in /stats).
    pub hostname: String,
    /// `user_agent` (shown in /stats).
    pub user_agent: String,
    /// `feature_negotiation`: when true the server answers IDENTIFY with JSON.
    pub feature_negotiation: bool,
    /// `heartbeat_interval` in ms (-1 disables heartbeats).
    pub heartbeat_interval_ms: Option<i64>,
    /// `output_buffer_size` in bytes (-1: unbuffered).
    pub output_buffer_size: Option<i64>,
    /// `output_buffer_timeout` in ms (-1: no timer flush).
    pub output_buffer_timeout_ms: Option<i64>,
    /// `msg_timeout` in ms.
    pub msg_timeout_ms: Option<i64>,
    /// `sample_rate` (0..99).
    pub sample_rate: Option<i32>,
    /// Upper bound on establishing the TCP connection and completing IDENTIFY.
    pub connect_timeout: Duration,
    /// Room offered to each socket read, bytes (not sent to the server).
    pub read_buffer_size: usize,
}

impl Default for Config {
    /// Like go-nsq's defaults: feature negotiation on, heartbeat 30 s, output buffer 16 KiB
    /// flushed at least every 250 ms.
    fn default() -> Self {
        Config {
            client_id: "nsq-client".into(),
            hostname: "localhost".into(),
            user_agent: format!("nsq-client/{}", env!("CARGO_PKG_VERSION")),
            feature_negotiation: true,
            heartbeat_interval_ms: Some(30_000),
            output_buffer_size: Some(16_384),
            output_buffer_timeout_ms: Some(250),
            msg_timeout_ms: None,
            sample_rate: None,
            connect_timeout: Duration::from_secs(5),
            read_buffer_size: crate::io::DEFAULT_READ_CHUNK,
        }
    }
}

impl Config {
    /// A config that sends only `client_id`, `hostname` and `user_agent`, like the
    /// reference's bench_writer/bench_reader: the server answers `OK` and keeps every default.
    pub fn minimal(name: &str) -> Config {
        Config {
            client_id: name.into(),
            hostname: name.into(),
            user_agent: format!("{name}/{}", env!("CARGO_PKG_VERSION")),
            feature_negotiation: false,
            heartbeat_interval_ms: None,
            output_buffer_size: None,
            output_buffer_timeout_ms: None,
            msg_timeout_ms: None,
            sample_rate: None,
            connect_timeout: Duration::from_secs(5),
            read_buffer_size: crate::io::DEFAULT_READ_CHUNK,
        }
    }

    /// The IDENTIFY body.
    pub fn identify_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            client_id: &'a str,
            hostname: &'a str,
            user_agent: &'a str,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            feature_negotiation: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            heartbeat_interval: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            output_buffer_size: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            output_buffer_timeout: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            msg_timeout: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sample_rate: Option<i32>,
        }
        let body = Body {
            client_id: &self.client_id,
            hostname: &self.hostname,
            user_agent: &self.user_agent,
            feature_negotiation: self.feature_negotiation,
            heartbeat_interval: self.heartbeat_interval_ms,
            output_buffer_size: self.output_buffer_size,
            output_buffer_timeout: self.output_buffer_timeout_ms,
            msg_timeout: self.msg_timeout_ms,
            sample_rate: self.sample_rate,
        };
        // Serializing plain strings and integers cannot fail.
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
    }
}

/// The server's answer to IDENTIFY. Without feature negotiation the server only says `OK`;
/// then `negotiated` is false and the other fields hold the reference's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct IdentifyResponse {
    /// False when the server answered `OK` instead of JSON.
    #[serde(skip)]
    pub negotiated: bool,
    /// Largest RDY the server accepts.
    pub max_rdy_count: i64,
    /// Server version (`1.3.0`).
    pub version: String,
    /// Longest `msg_timeout` a client may ask for, ms.
    pub max_msg_timeout: i64,
    /// This connection's message timeout, ms.
    pub msg_timeout: i64,
    /// TLS negotiated (never, with this client).
    pub tls_v1: bool,
    /// Deflate negotiated (never, with this client).
    pub deflate: bool,
    /// Snappy negotiated (never, with this client).
    pub snappy: bool,
    /// Effective sample rate.
    pub sample_rate: i32,
    /// Whether the server wants AUTH before other commands.
    pub auth_required: bool,
    /// Effective output buffer size, bytes.
    pub output_buffer_size: i64,
    /// Effective output buffer timeout, ms (0 = disabled).
    pub output_buffer_timeout: i64,
}

impl Default for IdentifyResponse {
    fn default() -> Self {
        IdentifyResponse {
            negotiated: false,
            max_rdy_count: 2500,
            version: String::new(),
            max_msg_timeout: 900_000,
            msg_timeout: 60_000,
            tls_v1: false,
            deflate: false,
            snappy: false,
            sample_rate: 0,
            auth_required: false,
            output_buffer_size: 16_384,
            output_buffer_timeout: 250,
        }
    }
}

impl IdentifyResponse {
    /// Interprets the data of the response frame that answered IDENTIFY.
    ///
    /// Like go-nsq, a body not starting with `{` means "no feature negotiation" and must be
    /// `OK`. A negotiated upgrade is refused because this client cannot perform it.
    pub fn parse(data: &[u8]) -> Result<IdentifyResponse, Error> {
        if data.first() != Some(&b'{') {
            return if data == b"OK" {
                Ok(IdentifyResponse::default())
            } else {
                Err(Error::Unexpected(format!(
                    "IDENTIFY answered {:?}",
                    String::from_utf8_lossy(data)
                )))
            };
        }
        let mut r: IdentifyResponse = serde_json::from_slice(data)
            .map_err(|e| Error::Protocol(format!("IDENTIFY response: {e}")))?;
        r.negotiated = true;
        if r.tls_v1 {
            return Err(Error::Unsupported("server negotiated TLS"));
        }
        if r.snappy || r.deflate {
            return Err(Error::Unsupported("server negotiated compression"));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_json_matches_bench_tools() {
        let j = Config::minimal("writer").identify_json();
        let v: serde_json::Value = serde_json::from_slice(&j).expect("json");
        assert_eq!(v["client_id"], "writer");
        assert!(v.get("feature_negotiation").is_none());
        assert!(v.get("heartbeat_interval").is_none());
    }

    #[test]
    fn default_json_like_go_nsq() {
        let v: serde_json::Value =
            serde_json::from_slice(&Config::default().identify_json()).expect("json");
        assert_eq!(v["feature_negotiation"], true);
        assert_eq!(v["output_buffer_timeout"], 250);
        assert_eq!(v["heartbeat_interval"], 30000);
    }

    #[test]
    fn parses_reference_response() {
        let data = br#"{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250,"topology_region":"","topology_zone":""}"#;
        let r = IdentifyResponse::parse(data).expect("valid");
        assert!(r.negotiated);
        assert_eq!(r.max_rdy_count, 2500);
        assert_eq!(r.version, "1.3.0");
        assert_eq!(r.output_buffer_timeout, 250);
        assert!(!IdentifyResponse::parse(b"OK").expect("ok").negotiated);
        assert!(IdentifyResponse::parse(b"{not json").is_err());
        assert!(IdentifyResponse::parse(b"NOPE").is_err());
        assert!(IdentifyResponse::parse(br#"{"snappy":true}"#).is_err());
    }
}
