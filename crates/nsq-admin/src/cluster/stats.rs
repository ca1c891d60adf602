//! Topic, channel and client statistics as nsqadmin re-emits them.
//!
//! The structs deserialise nsqd's `/stats?format=json` objects (missing fields default to
//! zero) and serialise in the reference's `/api` field order, with the reference's `null`
//! versus `[]` distinctions kept through `Option<Vec<_>>`. Per-node figures are
//! post-processed (node address, memory depth, client connect duration) by
//! [`super::fetch`]; [`TopicStats::add`] and [`ChannelStats::add`] merge nodes.

use serde::{Deserialize, Serialize};

use super::e2e::E2e;

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// One topic on one node (`node` = its `broadcast_address:http_port`) or merged over all
/// nodes (`node == "*"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TopicStats {
    /// The node's HTTP address, or `*` on merged figures.
    pub node: String,
    /// The node's host name (empty on merged figures).
    pub hostname: String,
    /// Topic name.
    pub topic_name: String,
    /// Messages queued (memory + disk).
    pub depth: i64,
    /// `depth - backend_depth`.
    pub memory_depth: i64,
    /// Messages on disk.
    pub backend_depth: i64,
    /// Messages published.
    pub message_count: i64,
    /// Sum of the zone-local, region-local and global delivery counts.
    pub delivery_msg_count: i64,
    /// Topology-aware delivery counts (omitted when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub zone_local_msg_count: i64,
    /// See `zone_local_msg_count`.
    #[serde(skip_serializing_if = "is_zero")]
    pub region_local_msg_count: i64,
    /// See `zone_local_msg_count`.
    #[serde(skip_serializing_if = "is_zero")]
    pub global_msg_count: i64,
    /// Per-node figures behind a merged entry (`null` on per-node entries).
    pub nodes: Option<Vec<TopicStats>>,
    /// The topic's channels.
    pub channels: Option<Vec<ChannelStats>>,
    /// Paused on this node (merged: on any node).
    pub paused: bool,
    /// Latency percentiles (`null` if never reported).
    pub e2e_processing_latency: Option<E2e>,
}

/// One channel on one node or merged over all nodes (`node == "*"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ChannelStats {
    /// The node's HTTP address, or `*` on merged figures.
    pub node: String,
    /// The node's host name.
    pub hostname: String,
    /// Topic name.
    pub topic_name: String,
    /// Channel name.
    pub channel_name: String,
    /// Messages queued (memory + disk).
    pub depth: i64,
    /// `depth - backend_depth`.
    pub memory_depth: i64,
    /// Messages on disk.
    pub backend_depth: i64,
    /// Messages delivered and not yet finished.
    pub in_flight_count: i64,
    /// Messages deferred.
    pub deferred_count: i64,
    /// Requeues.
    pub requeue_count: i64,
    /// In-flight timeouts.
    pub timeout_count: i64,
    /// Messages received by the channel.
    pub message_count: i64,
    /// Sum of the topology-aware delivery counts (omitted when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub delivery_msg_count: i64,
    /// Topology-aware delivery counts (omitted when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub zone_local_msg_count: i64,
    /// See `zone_local_msg_count`.
    #[serde(skip_serializing_if = "is_zero")]
    pub region_local_msg_count: i64,
    /// See `zone_local_msg_count`.
    #[serde(skip_serializing_if = "is_zero")]
    pub global_msg_count: i64,
    /// Connected consumers.
    pub client_count: i64,
    /// Per-node figures behind a merged entry.
    pub nodes: Option<Vec<ChannelStats>>,
    /// Connected consumers (`null` when not requested or none on any node).
    pub clients: Option<Vec<ClientStats>>,
    /// Paused on this node (merged: on any node).
    pub paused: bool,
    /// Latency percentiles.
    pub e2e_processing_latency: Option<E2e>,
}

/// One consumer connection as nsqadmin re-emits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ClientStats {
    /// HTTP address of the nsqd the client is connected to.
    pub node: String,
    /// The client's `ip:port`.
    pub remote_address: String,
    /// Protocol version (`V2`).
    pub version: String,
    /// Client ID from IDENTIFY.
    pub client_id: String,
    /// Host name from IDENTIFY.
    pub hostname: String,
    /// User agent from IDENTIFY.
    pub user_agent: String,
    /// Connect time, unix seconds.
    pub connect_ts: i64,
    /// Time connected in nanoseconds (now truncated to the second minus `connect_ts`).
    pub connected: i64,
    /// Messages in flight.
    pub in_flight_count: i64,
    /// RDY count.
    pub ready_count: i64,
    /// FINs.
    pub finish_count: i64,
    /// REQs.
    pub requeue_count: i64,
    /// Messages sent.
    pub message_count: i64,
    /// Sample rate (percent, 0 = off).
    pub sample_rate: i64,
    /// Deflate negotiated.
    pub deflate: bool,
    /// Snappy negotiated.
    pub snappy: bool,
    /// Authorised through the auth server.
    pub authed: bool,
    /// Auth identity.
    pub auth_identity: String,
    /// Auth identity URL.
    pub auth_identity_url: String,
    /// Region of the client's nsqd (omitted when empty).
    #[serde(skip_serializing_if = "is_empty")]
    pub node_topology_region: String,
    /// Zone of the client's nsqd (omitted when empty).
    #[serde(skip_serializing_if = "is_empty")]
    pub node_topology_zone: String,
    /// Region the client announced (omitted when empty).
    #[serde(skip_serializing_if = "is_empty")]
    pub topology_region: String,
    /// Zone the client announced (omitted when empty).
    #[serde(skip_serializing_if = "is_empty")]
    pub topology_zone: String,
    /// TLS negotiated.
    pub tls: bool,
    /// TLS cipher suite name.
    pub tls_cipher_suite: String,
    /// TLS version name.
    pub tls_version: String,
    /// ALPN protocol.
    pub tls_negotiated_protocol: String,
    /// ALPN mutual.
    pub tls_negotiated_protocol_is_mutual: bool,
}

/// Appends `b` to `a` the way Go's `append(a, b...)` treats nil: nothing appended to
/// nothing stays `None`.
fn append_clients(a: &mut Option<Vec<ClientStats>>, b: &Option<Vec<ClientStats>>) {
    match (a.as_mut(), b) {
        (Some(v), Some(more)) => v.extend(more.iter().cloned()),
        (None, Some(more)) if !more.is_empty() => *a = Some(more.clone()),
        _ => {}
    }
}

/// Sorts by host name, keeping the existing order of equal names.
///
/// (All sums in this module saturate: figures come from peers and must not be able to
/// overflow-panic a debug build.)
pub fn sort_by_hostname<T>(v: &mut [T], hostname: impl Fn(&T) -> &str) {
    v.sort_by(|a, b| hostname(a).cmp(hostname(b)));
}

impl ChannelStats {
    /// An empty merged entry, as the reference starts one (node = the first node seen).
    pub fn merged(node: &str, topic: &str, channel: &str) -> ChannelStats {
        ChannelStats {
            node: node.to_string(),
            topic_name: topic.to_string(),
            channel_name: channel.to_string(),
            ..Default::default()
        }
    }

    /// Adds one node's channel figures: counters sum, `paused` ORs, the node joins `nodes`
    /// (sorted by host name), clients are appended (sorted by host name) and latencies
    /// merge.
    pub fn add(&mut self, a: &ChannelStats) {
        self.node = "*".to_string();
        self.depth = self.depth.saturating_add(a.depth);
        self.memory_depth = self.memory_depth.saturating_add(a.memory_depth);
        self.backend_depth = self.backend_depth.saturating_add(a.backend_depth);
        self.in_flight_count = self.in_flight_count.saturating_add(a.in_flight_count);
        self.deferred_count = self.deferred_count.saturating_add(a.deferred_count);
        self.requeue_count = self.requeue_count.saturating_add(a.requeue_count);
        self.timeout_count = self.timeout_count.saturating_add(a.timeout_count);
        self.message_count = self.message_count.saturating_add(a.message_count);
        self.delivery_msg_count = self.delivery_msg_count.saturating_add(a.delivery_msg_count);
        self.zone_local_msg_count = self
            .zone_local_msg_count
            .saturating_add(a.zone_local_msg_count);
        self.region_local_msg_count = self
            .region_local_msg_count
            .saturating_add(a.region_local_msg_count);
        self.global_msg_count = self.global_msg_count.saturating_add(a.global_msg_count);
        self.client_count = self.client_count.saturating_add(a.client_count);
        self.paused |= a.paused;
        let nodes = self.nodes.get_or_insert_with(Vec::new);
        nodes.push(a.clone());
        sort_by_hostname(nodes, |c| &c.hostname);
        self.e2e_processing_latency
            .get_or_insert_with(|| E2e::aggregate(&self.topic_name, &self.channel_name))
            .add(a.e2e_processing_latency.as_ref());
        append_clients(&mut self.clients, &a.clients);
        if let Some(c) = self.clients.as_mut() {
            sort_by_hostname(c, |c| &c.hostname);
        }
    }
}

impl TopicStats {
    /// An empty merged entry for `topic` (what the API answers when no node has it).
    pub fn merged(topic: &str) -> TopicStats {
        TopicStats {
            topic_name: topic.to_string(),
            ..Default::default()
        }
    }

    /// Adds one node's topic figures: counters sum, `paused` ORs, the node joins `nodes`
    /// (sorted by host name), channels merge by name and latencies merge.
    ///
    /// A channel present on a single node is listed as that node's own entry (as the
    /// reference does); one present on several nodes becomes a merged entry whose figures
    /// are the sums over all of them (the reference's aliasing drops the first node).
    pub fn add(&mut self, a: &TopicStats) {
        self.node = "*".to_string();
        self.depth = self.depth.saturating_add(a.depth);
        self.memory_depth = self.memory_depth.saturating_add(a.memory_depth);
        self.backend_depth = self.backend_depth.saturating_add(a.backend_depth);
        self.message_count = self.message_count.saturating_add(a.message_count);
        self.delivery_msg_count = self.delivery_msg_count.saturating_add(a.delivery_msg_count);
        self.zone_local_msg_count = self
            .zone_local_msg_count
            .saturating_add(a.zone_local_msg_count);
        self.region_local_msg_count = self
            .region_local_msg_count
            .saturating_add(a.region_local_msg_count);
        self.global_msg_count = self.global_msg_count.saturating_add(a.global_msg_count);
        self.paused |= a.paused;
        for ch in a.channels.iter().flatten() {
            let list = self.channels.get_or_insert_with(Vec::new);
            match list.iter_mut().find(|c| c.channel_name == ch.channel_name) {
                None => list.push(ch.clone()),
                Some(existing) => {
                    if existing.node != "*" {
                        let first = existing.clone();
                        let mut merged = ChannelStats::merged(
                            &first.node,
                            &first.topic_name,
                            &first.channel_name,
                        );
                        merged.hostname = first.hostname.clone();
                        merged.add(&first);
                        *existing = merged;
                    }
                    existing.add(ch);
                }
            }
        }
        let nodes = self.nodes.get_or_insert_with(Vec::new);
        nodes.push(a.clone());
        sort_by_hostname(nodes, |t| &t.hostname);
        self.e2e_processing_latency
            .get_or_insert_with(|| E2e::aggregate(&self.topic_name, ""))
            .add(a.e2e_processing_latency.as_ref());
    }
}

#[cfg(test)]
mod tests;
