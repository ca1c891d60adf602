//! Queries answered by the nsqds themselves (nsqd mode, and tombstoning).
//!
//! Without nsqlookupd, nsqadmin learns topics and nodes from each configured nsqd's
//! `/stats` and `/info`. Per nsqd the calls are sequential; across nsqds they run in
//! parallel.

use serde::Deserialize;

use super::errors::{HardError, Partial, Upstream};
use super::producer::{NsqdInfo, Producer};
use super::{fan_out, query_escape, ClusterInfo};
use crate::client::Client;

#[derive(Deserialize, Default)]
#[serde(default)]
struct TopicName {
    topic_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatsTopics {
    topics: Option<Vec<TopicName>>,
}

impl StatsTopics {
    fn names(self) -> Vec<String> {
        self.topics
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.topic_name)
            .collect()
    }
}

async fn get<T: serde::de::DeserializeOwned>(client: &Client, endpoint: &str) -> Result<T, String> {
    tracing::info!("CI: querying nsqd {endpoint}");
    client.get_json(endpoint).await.map_err(|e| e.to_string())
}

/// Splits `host:port` into its parts for the `/info` fallbacks (`("", 0)` if it is not).
fn split_addr(addr: &str) -> (String, i64) {
    match nsq_http::listen::split_host_port(addr) {
        Ok((h, p)) => (h, p.parse().unwrap_or(0)),
        Err(_) => (String::new(), 0),
    }
}

impl ClusterInfo {
    /// Union of the nsqds' topic names (first-seen order), sorted; `None` when empty.
    pub async fn nsqd_topics(
        &self,
        addrs: &[String],
    ) -> Result<Partial<Option<Vec<String>>>, HardError> {
        let results = fan_out(addrs.to_vec(), |addr| {
            let client = self.client.clone();
            async move {
                get::<StatsTopics>(&client, &format!("http://{addr}/stats?format=json"))
                    .await
                    .map(StatsTopics::names)
            }
        })
        .await;
        let mut topics: Vec<String> = Vec::new();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(names) => {
                    for n in names {
                        if !topics.contains(&n) {
                            topics.push(n);
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        topics.sort();
        let value = (!topics.is_empty()).then_some(topics);
        Partial::or_hard(value, errors, addrs.len(), Upstream::Nsqd)
    }

    /// Every configured nsqd as a node (`/info` then `/stats`), in configuration order.
    pub async fn nsqd_producers(
        &self,
        addrs: &[String],
    ) -> Result<Partial<Vec<Producer>>, HardError> {
        let results = fan_out(addrs.to_vec(), |addr| {
            let client = self.client.clone();
            async move {
                let info: NsqdInfo = get(&client, &format!("http://{addr}/info")).await?;
                let stats: StatsTopics = get(
                    &client,
                    &format!("http://{addr}/stats?format=json&include_clients=false"),
                )
                .await?;
                Ok(Producer::from_info(info, stats.names()))
            }
        })
        .await;
        let mut producers = Vec::new();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(p) => producers.push(p),
                Err(e) => errors.push(e),
            }
        }
        Partial::or_hard(producers, errors, addrs.len(), Upstream::Nsqd)
    }

    /// The configured nsqds that have `topic`. A node's missing broadcast address and HTTP
    /// port fall back to the configured address, a missing host name to its host.
    pub async fn nsqd_topic_producers(
        &self,
        topic: &str,
        addrs: &[String],
    ) -> Result<Partial<Vec<Producer>>, HardError> {
        let results = fan_out(addrs.to_vec(), |addr| {
            let client = self.client.clone();
            let topic = topic.to_string();
            async move {
                let stats: StatsTopics = get(
                    &client,
                    &format!(
                        "http://{addr}/stats?format=json&topic={}&include_clients=false",
                        query_escape(&topic)
                    ),
                )
                .await?;
                let names = stats.names();
                if !names.contains(&topic) {
                    return Ok(None);
                }
                let mut info: NsqdInfo = get(&client, &format!("http://{addr}/info")).await?;
                if info.broadcast_address.is_empty() {
                    let (host, port) = split_addr(&addr);
                    info.broadcast_address = host;
                    info.http_port = port;
                }
                if info.hostname.is_empty() {
                    info.hostname = split_addr(&addr).0;
                }
                Ok(Some(Producer::from_info(info, names)))
            }
        })
        .await;
        let mut producers = Vec::new();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(Some(p)) => producers.push(p),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        Partial::or_hard(producers, errors, addrs.len(), Upstream::Nsqd)
    }
}
