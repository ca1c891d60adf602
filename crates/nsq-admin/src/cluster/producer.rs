//! nsqd nodes ("producers") as nsqadmin lists them.
//!
//! A [`Producer`] is built from an nsqlookupd `/nodes` or `/lookup` entry, or from an
//! nsqd's own `/info` + `/stats` in nsqd mode, and serialises in the reference's
//! `/api/nodes` layout. Its HTTP address (`broadcast_address:http_port`, IPv6 bracketed)
//! identifies it everywhere in the API.

use serde::{Deserialize, Serialize};

use crate::client::join_host_port;
use crate::semver::Version;

/// One topic on a node and whether the node is tombstoned for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProducerTopic {
    /// Topic name.
    pub topic: String,
    /// Tombstoned in nsqlookupd for this topic.
    pub tombstoned: bool,
}

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// An nsqd node.
///
/// Invariant: `version_obj` is `version` parsed (or `0.0.0`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Producer {
    /// `<lookupd>/<remote_address>` for every lookupd that reported it (`null` in nsqd
    /// mode).
    pub remote_addresses: Option<Vec<String>>,
    /// The node's connection address as the first lookupd saw it.
    pub remote_address: String,
    /// Host name.
    pub hostname: String,
    /// Broadcast address.
    pub broadcast_address: String,
    /// TCP port.
    pub tcp_port: i64,
    /// HTTP port.
    pub http_port: i64,
    /// nsqd version string.
    pub version: String,
    /// Topology zone (omitted when empty).
    #[serde(skip_serializing_if = "is_empty")]
    pub topology_zone: String,
    /// Topology region (omitted when empty).
    #[serde(skip_serializing_if = "is_empty")]
    pub topology_region: String,
    /// Parsed `version`.
    #[serde(skip)]
    pub version_obj: Version,
    /// Topics on the node (`null` when none).
    pub topics: Option<Vec<ProducerTopic>>,
    /// Older than the newest version in the cluster.
    pub out_of_date: bool,
}

/// An entry of nsqlookupd's `/nodes` or `/lookup` `producers`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LookupdPeer {
    /// Connection address.
    pub remote_address: String,
    /// Host name.
    pub hostname: String,
    /// Broadcast address.
    pub broadcast_address: String,
    /// TCP port.
    pub tcp_port: i64,
    /// HTTP port.
    pub http_port: i64,
    /// Version.
    pub version: String,
    /// Topics (only in `/nodes`).
    pub topics: Option<Vec<String>>,
    /// Tombstone flags parallel to `topics`.
    pub tombstones: Option<Vec<bool>>,
    /// Zone.
    pub topology_zone: String,
    /// Region.
    pub topology_region: String,
}

impl From<LookupdPeer> for Producer {
    /// Pairs topics with tombstone flags (a missing flag counts as not tombstoned; the
    /// reference panics instead).
    fn from(p: LookupdPeer) -> Producer {
        let tombstones = p.tombstones.unwrap_or_default();
        let topics = p.topics.and_then(|ts| {
            let v: Vec<ProducerTopic> = ts
                .into_iter()
                .enumerate()
                .map(|(i, topic)| ProducerTopic {
                    topic,
                    tombstoned: tombstones.get(i).copied().unwrap_or(false),
                })
                .collect();
            (!v.is_empty()).then_some(v)
        });
        Producer {
            remote_addresses: None,
            remote_address: p.remote_address,
            hostname: p.hostname,
            broadcast_address: p.broadcast_address,
            tcp_port: p.tcp_port,
            http_port: p.http_port,
            version_obj: Version::parse_or_zero(&p.version),
            version: p.version,
            topology_zone: p.topology_zone,
            topology_region: p.topology_region,
            topics,
            out_of_date: false,
        }
    }
}

/// nsqd's `/info` answer (the fields nsqadmin uses).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NsqdInfo {
    /// Version.
    pub version: String,
    /// Broadcast address.
    pub broadcast_address: String,
    /// Host name.
    pub hostname: String,
    /// HTTP port.
    pub http_port: i64,
    /// TCP port.
    pub tcp_port: i64,
    /// Zone.
    pub topology_zone: String,
    /// Region.
    pub topology_region: String,
}

impl Producer {
    /// A node described by its own `/info`, with the given topics.
    pub fn from_info(info: NsqdInfo, topics: Vec<String>) -> Producer {
        let topics: Vec<ProducerTopic> = topics
            .into_iter()
            .map(|topic| ProducerTopic {
                topic,
                tombstoned: false,
            })
            .collect();
        Producer {
            remote_addresses: None,
            remote_address: String::new(),
            hostname: info.hostname,
            broadcast_address: info.broadcast_address,
            tcp_port: info.tcp_port,
            http_port: info.http_port,
            version_obj: Version::parse_or_zero(&info.version),
            version: info.version,
            topology_zone: info.topology_zone,
            topology_region: info.topology_region,
            topics: (!topics.is_empty()).then_some(topics),
            out_of_date: false,
        }
    }

    /// `broadcast_address:http_port` (IPv6 bracketed): the node's identity in the API.
    pub fn http_address(&self) -> String {
        join_host_port(&self.broadcast_address, self.http_port)
    }

    /// `broadcast_address:tcp_port` (IPv6 bracketed).
    pub fn tcp_address(&self) -> String {
        join_host_port(&self.broadcast_address, self.tcp_port)
    }

    /// The remote address, or `N/A` when unknown.
    pub fn address(&self) -> &str {
        if self.remote_address.is_empty() {
            "N/A"
        } else {
            &self.remote_address
        }
    }
}

/// The producer whose HTTP address is `node`.
pub fn search<'a>(producers: &'a [Producer], node: &str) -> Option<&'a Producer> {
    producers.iter().find(|p| p.http_address() == node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_bracket_ipv6() {
        let mut p = Producer::from(LookupdPeer {
            broadcast_address: "::1".into(),
            http_port: 4151,
            tcp_port: 4150,
            ..Default::default()
        });
        assert_eq!(p.http_address(), "[::1]:4151");
        assert_eq!(p.tcp_address(), "[::1]:4150");
        p.broadcast_address = "h".into();
        assert_eq!(p.http_address(), "h:4151");
        assert_eq!(p.address(), "N/A");
    }

    #[test]
    fn lookupd_node_json() {
        let peer: LookupdPeer = serde_json::from_str(
            r#"{"remote_address":"127.0.0.1:1","hostname":"h","broadcast_address":"b","tcp_port":1,"http_port":2,"version":"1.3.0","tombstones":[true],"topics":["a","b"]}"#,
        )
        .unwrap();
        let p = Producer::from(peer);
        assert_eq!(
            nsq_http::gojson::to_string(&p).unwrap(),
            r#"{"remote_addresses":null,"remote_address":"127.0.0.1:1","hostname":"h","broadcast_address":"b","tcp_port":1,"http_port":2,"version":"1.3.0","topics":[{"topic":"a","tombstoned":true},{"topic":"b","tombstoned":false}],"out_of_date":false}"#
        );
    }
}
