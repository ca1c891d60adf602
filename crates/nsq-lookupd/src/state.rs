//! What the TCP protocol and the HTTP API of one nsqlookupd share.

use std::sync::Arc;

use serde::Serialize;

use crate::db::RegistrationDb;
use crate::options::Options;

/// The state of one running nsqlookupd.
///
/// Invariant: `identify_reply` is the exact IDENTIFY response body for this instance (it
/// depends only on values fixed at startup: broadcast address, host name, real ports).
#[derive(Debug)]
pub struct State {
    /// The registration database.
    pub db: RegistrationDb,
    /// The options the instance runs with.
    pub opts: Options,
    /// The OS host name, read once at startup.
    pub hostname: String,
    /// The IDENTIFY response body.
    pub identify_reply: Vec<u8>,
}

/// The IDENTIFY response: a Go map, so keys come out sorted.
#[derive(Serialize)]
struct IdentifyReply<'a> {
    broadcast_address: &'a str,
    hostname: &'a str,
    http_port: u16,
    tcp_port: u16,
    version: &'a str,
}

impl State {
    /// Builds the state for an instance whose listeners are bound to `tcp_port` and
    /// `http_port`.
    pub fn new(opts: Options, hostname: String, tcp_port: u16, http_port: u16) -> Arc<State> {
        let reply = IdentifyReply {
            broadcast_address: &opts.broadcast_address,
            hostname: &hostname,
            http_port,
            tcp_port,
            version: nsq_protocol::NSQ_VERSION,
        };
        // A struct of strings and integers always serializes.
        let identify_reply = nsq_http::gojson::to_vec(&reply).unwrap_or_else(|_| b"OK".to_vec());
        Arc::new(State {
            db: RegistrationDb::new(),
            opts,
            hostname,
            identify_reply,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_reply_is_sorted_go_json() {
        let opts = Options {
            broadcast_address: "b<1>".into(),
            ..Options::default()
        };
        let s = State::new(opts, "h".into(), 4160, 4161);
        assert_eq!(
            String::from_utf8(s.identify_reply.clone()).unwrap(),
            r#"{"broadcast_address":"b\u003c1\u003e","hostname":"h","http_port":4161,"tcp_port":4160,"version":"1.3.0"}"#
        );
    }
}
