//! Fetching `/stats` from nsqds and turning the answers into per-node and merged figures.
//!
//! Every page of nsqadmin is built from this: per producer, `GET /stats?format=json`
//! (optionally filtered to a topic and channel, optionally without clients), then each
//! topic and channel is annotated with its node, host name and memory depth, clients with
//! their node and connect duration, and channels are merged across nodes.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::errors::{HardError, Partial, Upstream};
use super::producer::Producer;
use super::stats::{sort_by_hostname, ChannelStats, TopicStats};
use super::{fan_out, query_escape, ClusterInfo};

/// What to ask each nsqd for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsQuery {
    /// Only this topic (`""` = all).
    pub topic: String,
    /// Only this channel of `topic` (`""` = all; ignored without a topic).
    pub channel: String,
    /// Include client lists.
    pub include_clients: bool,
}

/// The merged result of a stats fan-out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterStats {
    /// Per-node topic figures, sorted by host name.
    pub topics: Vec<TopicStats>,
    /// Channels merged across nodes, keyed by channel name when a topic was selected,
    /// otherwise by `topic:channel`.
    pub channels: BTreeMap<String, ChannelStats>,
}

impl ClusterStats {
    /// Orders the per-node topics by host name (stable), as the reference presents them.
    pub fn sort(&mut self) {
        sort_by_hostname(&mut self.topics, |t| &t.hostname);
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatsResp {
    topics: Option<Vec<TopicStats>>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl StatsQuery {
    fn endpoint(&self, addr: &str) -> String {
        let mut e = format!("http://{addr}/stats?format=json");
        if !self.topic.is_empty() {
            e.push_str("&topic=");
            e.push_str(&query_escape(&self.topic));
            if !self.channel.is_empty() {
                e.push_str("&channel=");
                e.push_str(&query_escape(&self.channel));
            }
        }
        if !self.include_clients {
            e.push_str("&include_clients=false");
        }
        e
    }
}

/// Annotates one nsqd's topics with their node and folds its channels into `channels`.
/// Topics other than the selected one are dropped. Pure, so it is unit-tested directly.
pub fn absorb(
    q: &StatsQuery,
    p: &Producer,
    topics: Vec<TopicStats>,
    now: i64,
    out: &mut ClusterStats,
) {
    let addr = p.http_address();
    for mut topic in topics {
        topic.node = addr.clone();
        topic.hostname = p.hostname.clone();
        topic.memory_depth = topic.depth.saturating_sub(topic.backend_depth);
        topic.delivery_msg_count = topic
            .zone_local_msg_count
            .saturating_add(topic.region_local_msg_count)
            .saturating_add(topic.global_msg_count);
        if !q.topic.is_empty() && topic.topic_name != q.topic {
            continue;
        }
        for channel in topic.channels.iter_mut().flatten() {
            channel.node = addr.clone();
            channel.hostname = p.hostname.clone();
            channel.topic_name = topic.topic_name.clone();
            channel.memory_depth = channel.depth.saturating_sub(channel.backend_depth);
            channel.delivery_msg_count = channel
                .zone_local_msg_count
                .saturating_add(channel.region_local_msg_count)
                .saturating_add(channel.global_msg_count);
            for c in channel.clients.iter_mut().flatten() {
                c.node = addr.clone();
                c.node_topology_region = p.topology_region.clone();
                c.node_topology_zone = p.topology_zone.clone();
                c.connected = now
                    .saturating_sub(c.connect_ts)
                    .saturating_mul(1_000_000_000);
            }
            let key = if q.topic.is_empty() {
                format!("{}:{}", topic.topic_name, channel.channel_name)
            } else {
                channel.channel_name.clone()
            };
            out.channels
                .entry(key)
                .or_insert_with(|| {
                    ChannelStats::merged(&addr, &topic.topic_name, &channel.channel_name)
                })
                .add(channel);
        }
        out.topics.push(topic);
    }
}

impl ClusterInfo {
    /// Fetches stats from every producer in parallel. Hard error when all of them failed
    /// (or there were none: `failed to query any nsqd: `).
    pub async fn nsqd_stats(
        &self,
        producers: &[Producer],
        q: &StatsQuery,
    ) -> Result<Partial<ClusterStats>, HardError> {
        let results = fan_out(producers.to_vec(), |p| {
            let client = self.client.clone();
            let endpoint = q.endpoint(&p.http_address());
            async move {
                tracing::info!("CI: querying nsqd {endpoint}");
                client
                    .get_json::<StatsResp>(&endpoint)
                    .await
                    .map(|r| r.topics.unwrap_or_default())
                    .map_err(|e| e.to_string())
            }
        })
        .await;
        let now = now_secs();
        let mut out = ClusterStats::default();
        let mut errors = Vec::new();
        for (p, r) in producers.iter().zip(results) {
            match r {
                Ok(topics) => absorb(q, p, topics, now, &mut out),
                Err(e) => errors.push(e),
            }
        }
        out.sort();
        Partial::or_hard(out, errors, producers.len(), Upstream::Nsqd)
    }
}
