//! What nsqd writes to and reads from an nsqlookupd (lookup protocol V1, nsqd side).
//!
//! Commands use the client command encoding (`NAME[ param]*\n`, optionally followed by a
//! `[u32 BE size][body]`); the only body nsqd sends is the IDENTIFY JSON, whose keys are in
//! Go's map order (sorted) with Go's string escaping so the bytes equal the reference's.
//! The answer to IDENTIFY is decoded with Go `encoding/json` rules for the four fields nsqd
//! keeps, because that decides whether the connection is kept.

use std::fmt;

use nsq_protocol::gostr::push_json_string;
use serde_json::Value;

/// One command for nsqlookupd.
///
/// Invariant: `params` never contain a space or newline for commands built from valid
/// topic/channel names, so [`Command::encode`] yields exactly one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    name: &'static str,
    params: Vec<String>,
    body: Option<Vec<u8>>,
}

impl Command {
    /// `IDENTIFY` with a JSON body (see [`identify_body`]).
    pub fn identify(body: String) -> Command {
        Command {
            name: "IDENTIFY",
            params: Vec::new(),
            body: Some(body.into_bytes()),
        }
    }

    /// `REGISTER <topic>` or, with a channel, `REGISTER <topic> <channel>`.
    pub fn register(topic: &str, channel: Option<&str>) -> Command {
        Command::with_names("REGISTER", topic, channel)
    }

    /// `UNREGISTER <topic>` or, with a channel, `UNREGISTER <topic> <channel>`.
    pub fn unregister(topic: &str, channel: Option<&str>) -> Command {
        Command::with_names("UNREGISTER", topic, channel)
    }

    /// `PING` (the 15 s keep-alive).
    pub fn ping() -> Command {
        Command {
            name: "PING",
            params: Vec::new(),
            body: None,
        }
    }

    fn with_names(name: &'static str, topic: &str, channel: Option<&str>) -> Command {
        let mut params = vec![topic.to_string()];
        if let Some(c) = channel.filter(|c| !c.is_empty()) {
            params.push(c.to_string());
        }
        Command {
            name,
            params,
            body: None,
        }
    }

    /// The command's bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body.as_ref().map_or(0, Vec::len));
        out.extend_from_slice(self.name.as_bytes());
        for p in &self.params {
            out.push(b' ');
            out.extend_from_slice(p.as_bytes());
        }
        out.push(b'\n');
        if let Some(body) = &self.body {
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            out.extend_from_slice(body);
        }
        out
    }
}

/// Renders like go-nsq's `Command.String()` (name and params, no body), for log lines.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        for p in &self.params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// What nsqd tells each nsqlookupd about itself in IDENTIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfInfo {
    /// `--broadcast-address`.
    pub broadcast_address: String,
    /// The OS hostname.
    pub hostname: String,
    /// `--broadcast-http-port`, or the HTTP listener's port.
    pub http_port: i64,
    /// `--broadcast-tcp-port`, or the TCP listener's port.
    pub tcp_port: i64,
    /// `--topology-region`.
    pub topology_region: String,
    /// `--topology-zone`.
    pub topology_zone: String,
    /// The version nsqd claims (`1.3.0`).
    pub version: String,
}

/// The IDENTIFY JSON exactly as the reference marshals its map: keys sorted, compact,
/// Go string escaping.
pub fn identify_body(info: &SelfInfo) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"broadcast_address\":");
    push_json_string(&mut out, &info.broadcast_address);
    out.push_str(",\"hostname\":");
    push_json_string(&mut out, &info.hostname);
    out.push_str(&format!(",\"http_port\":{}", info.http_port));
    out.push_str(&format!(",\"tcp_port\":{}", info.tcp_port));
    out.push_str(",\"topology_region\":");
    push_json_string(&mut out, &info.topology_region);
    out.push_str(",\"topology_zone\":");
    push_json_string(&mut out, &info.topology_zone);
    out.push_str(",\"version\":");
    push_json_string(&mut out, &info.version);
    out.push('}');
    out
}

/// What an nsqlookupd says about itself in its IDENTIFY answer (the fields nsqd keeps).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupdInfo {
    /// Its TCP port.
    pub tcp_port: i64,
    /// Its HTTP port (used for channel pre-creation queries).
    pub http_port: i64,
    /// Its version.
    pub version: String,
    /// Its broadcast address (empty: it cannot be queried over HTTP).
    pub broadcast_address: String,
}

/// Why an IDENTIFY answer was not accepted (the connection is then closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyReplyError {
    /// The answer was exactly `E_INVALID`.
    #[error("lookupd returned E_INVALID")]
    Invalid,
    /// The answer is not a JSON object of the expected shape.
    #[error("parsing response - {0}")]
    Parse(String),
}

impl LookupdInfo {
    /// Decodes an IDENTIFY answer as the reference does: `E_INVALID` is a refusal; anything
    /// else must decode (Go `encoding/json` rules) into the previous info, which it updates:
    /// keys match case-insensitively, unknown keys and `null`s are ignored, a top-level
    /// `null` changes nothing, and a value of the wrong type rejects the answer.
    pub fn decode(previous: &LookupdInfo, data: &[u8]) -> Result<LookupdInfo, IdentifyReplyError> {
        if data == b"E_INVALID" {
            return Err(IdentifyReplyError::Invalid);
        }
        let text = String::from_utf8_lossy(data);
        let parse_err = || IdentifyReplyError::Parse(text.to_string());
        let value: Value = serde_json::from_str(&text).map_err(|_| parse_err())?;
        let mut info = previous.clone();
        let obj = match value {
            Value::Null => return Ok(info),
            Value::Object(m) => m,
            _ => return Err(parse_err()),
        };
        let mut type_error = false;
        for (key, v) in &obj {
            if v.is_null() {
                continue;
            }
            let int = |v: &Value| v.as_i64();
            let string = |v: &Value| v.as_str().map(str::to_string);
            if key.eq_ignore_ascii_case("tcp_port") {
                match int(v) {
                    Some(n) => info.tcp_port = n,
                    None => type_error = true,
                }
            } else if key.eq_ignore_ascii_case("http_port") {
                match int(v) {
                    Some(n) => info.http_port = n,
                    None => type_error = true,
                }
            } else if key.eq_ignore_ascii_case("version") {
                match string(v) {
                    Some(s) => info.version = s,
                    None => type_error = true,
                }
            } else if key.eq_ignore_ascii_case("broadcast_address") {
                match string(v) {
                    Some(s) => info.broadcast_address = s,
                    None => type_error = true,
                }
            }
        }
        if type_error {
            return Err(parse_err());
        }
        Ok(info)
    }

    /// `broadcast_address:http_port` (IPv6 literals bracketed, as Go's `JoinHostPort`), or
    /// `None` when the lookupd announced no broadcast address.
    pub fn http_address(&self) -> Option<String> {
        if self.broadcast_address.is_empty() {
            return None;
        }
        Some(join_host_port(&self.broadcast_address, self.http_port))
    }
}

/// Go's `net.JoinHostPort`.
pub fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> SelfInfo {
        SelfInfo {
            broadcast_address: "n1".into(),
            hostname: "h<1>".into(),
            http_port: 4151,
            tcp_port: 4150,
            topology_region: "r".into(),
            topology_zone: "".into(),
            version: "1.3.0".into(),
        }
    }

    #[test]
    fn identify_bytes_match_go_map_marshalling() {
        let body = identify_body(&me());
        assert_eq!(
            body,
            r#"{"broadcast_address":"n1","hostname":"h\u003c1\u003e","http_port":4151,"tcp_port":4150,"topology_region":"r","topology_zone":"","version":"1.3.0"}"#
        );
        let cmd = Command::identify(body.clone()).encode();
        assert!(cmd.starts_with(b"IDENTIFY\n"));
        assert_eq!(&cmd[9..13], &(body.len() as u32).to_be_bytes());
        assert_eq!(&cmd[13..], body.as_bytes());
    }

    #[test]
    fn command_lines() {
        assert_eq!(Command::register("t", None).encode(), b"REGISTER t\n");
        assert_eq!(Command::register("t", Some("")).encode(), b"REGISTER t\n");
        assert_eq!(
            Command::register("t", Some("c")).encode(),
            b"REGISTER t c\n"
        );
        assert_eq!(Command::unregister("t", None).encode(), b"UNREGISTER t\n");
        assert_eq!(
            Command::unregister("t", Some("c#ephemeral")).encode(),
            b"UNREGISTER t c#ephemeral\n"
        );
        assert_eq!(Command::ping().encode(), b"PING\n");
        assert_eq!(
            Command::register("t", Some("c")).to_string(),
            "REGISTER t c"
        );
        assert_eq!(Command::identify("{}".into()).to_string(), "IDENTIFY");
    }

    #[test]
    fn identify_reply_decoding() {
        let prev = LookupdInfo::default();
        assert_eq!(
            LookupdInfo::decode(&prev, b"E_INVALID"),
            Err(IdentifyReplyError::Invalid)
        );
        let ok = LookupdInfo::decode(
            &prev,
            br#"{"tcp_port":4160,"http_port":4161,"version":"1.3.0","broadcast_address":"lk","hostname":"x"}"#,
        )
        .expect("valid");
        assert_eq!(ok.http_address().as_deref(), Some("lk:4161"));
        assert_eq!(ok.tcp_port, 4160);
        // Go: case-insensitive keys, nulls ignored, previous values kept.
        let upd = LookupdInfo::decode(&ok, br#"{"HTTP_PORT":1,"version":null}"#).expect("valid");
        assert_eq!((upd.http_port, upd.version.as_str()), (1, "1.3.0"));
        assert_eq!(LookupdInfo::decode(&ok, b"null"), Ok(ok.clone()));
        for bad in [
            &b"OK"[..],
            b"E_BAD_BODY IDENTIFY missing fields",
            b"[]",
            b"\"x\"",
            br#"{"tcp_port":"1"}"#,
            br#"{"http_port":1.5}"#,
            br#"{"broadcast_address":5}"#,
            b"{",
        ] {
            assert!(
                matches!(
                    LookupdInfo::decode(&prev, bad),
                    Err(IdentifyReplyError::Parse(_))
                ),
                "{bad:?}"
            );
        }
        let no_bcast = LookupdInfo::decode(&prev, br#"{"http_port":4161}"#).expect("valid");
        assert_eq!(no_bcast.http_address(), None);
        let v6 = LookupdInfo {
            broadcast_address: "::1".into(),
            http_port: 4161,
            ..LookupdInfo::default()
        };
        assert_eq!(v6.http_address().as_deref(), Some("[::1]:4161"));
    }
}
