//! Queries answered by nsqlookupd (lookupd mode).
//!
//! Each function asks every configured lookupd in parallel and merges the answers with the
//! reference's rules: topic and channel lists are unioned and sorted; `/nodes` entries are
//! merged by TCP address, keeping the first lookupd's copy and recording every lookupd that
//! knows the node; `/lookup` producers are merged by HTTP address.

use serde::Deserialize;

use super::errors::{HardError, Partial, Upstream};
use super::producer::{LookupdPeer, Producer};
use super::{fan_out, query_escape, ClusterInfo};
use crate::semver::Version;

#[derive(Deserialize, Default)]
#[serde(default)]
struct TopicsResp {
    topics: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelsResp {
    channels: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProducersResp {
    producers: Option<Vec<LookupdPeer>>,
}

/// Sorted, de-duplicated union; `None` when empty (the reference's nil slice → `null`).
fn union_sorted(lists: impl IntoIterator<Item = Vec<String>>) -> Option<Vec<String>> {
    let mut all: Vec<String> = lists.into_iter().flatten().collect();
    all.sort();
    all.dedup();
    (!all.is_empty()).then_some(all)
}

impl ClusterInfo {
    async fn lookupd_get<T>(&self, addrs: &[String], path: String) -> Vec<Result<T, String>>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        fan_out(addrs.to_vec(), |addr| {
            let client = self.client.clone();
            let endpoint = format!("http://{addr}{path}");
            async move {
                tracing::info!("CI: querying nsqlookupd {endpoint}");
                client
                    .get_json::<T>(&endpoint)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await
    }

    /// Union of every lookupd's `/topics`, sorted.
    pub async fn lookupd_topics(
        &self,
        addrs: &[String],
    ) -> Result<Partial<Option<Vec<String>>>, HardError> {
        let results = self
            .lookupd_get::<TopicsResp>(addrs, "/topics".into())
            .await;
        let mut lists = Vec::new();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(t) => lists.push(t.topics.unwrap_or_default()),
                Err(e) => errors.push(e),
            }
        }
        Partial::or_hard(union_sorted(lists), errors, addrs.len(), Upstream::Lookupd)
    }

    /// Union of every lookupd's `/channels?topic=`, sorted.
    pub async fn lookupd_topic_channels(
        &self,
        topic: &str,
        addrs: &[String],
    ) -> Result<Partial<Option<Vec<String>>>, HardError> {
        let path = format!("/channels?topic={}", query_escape(topic));
        let results = self.lookupd_get::<ChannelsResp>(addrs, path).await;
        let mut lists = Vec::new();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(c) => lists.push(c.channels.unwrap_or_default()),
                Err(e) => errors.push(e),
            }
        }
        Partial::or_hard(union_sorted(lists), errors, addrs.len(), Upstream::Lookupd)
    }

    /// Every node any lookupd knows (`/nodes`), merged by TCP address, flagged
    /// `out_of_date` when older than the newest node, sorted by host name.
    pub async fn lookupd_producers(
        &self,
        addrs: &[String],
    ) -> Result<Partial<Vec<Producer>>, HardError> {
        let results = self
            .lookupd_get::<ProducersResp>(addrs, "/nodes".into())
            .await;
        let mut producers: Vec<Producer> = Vec::new();
        let mut errors = Vec::new();
        let mut max_version = Version::default();
        for (addr, r) in addrs.iter().zip(results) {
            let resp = match r {
                Ok(resp) => resp,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for peer in resp.producers.unwrap_or_default() {
                let mut p = Producer::from(peer);
                let key = p.tcp_address();
                let remote = format!("{addr}/{}", p.address());
                match producers.iter_mut().find(|q| q.tcp_address() == key) {
                    Some(existing) => existing
                        .remote_addresses
                        .get_or_insert_with(Vec::new)
                        .push(remote),
                    None => {
                        if max_version < p.version_obj {
                            max_version = p.version_obj.clone();
                        }
                        if let Some(t) = p.topics.as_mut() {
                            t.sort_by(|a, b| a.topic.cmp(&b.topic));
                        }
                        p.remote_addresses = Some(vec![remote]);
                        producers.push(p);
                    }
                }
            }
        }
        for p in &mut producers {
            p.out_of_date = p.version_obj < max_version;
        }
        producers.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        Partial::or_hard(producers, errors, addrs.len(), Upstream::Lookupd)
    }

    /// The nsqds producing `topic` according to the lookupds (`/lookup`), merged by HTTP
    /// address. An unknown topic is an error from each lookupd (404 `TOPIC_NOT_FOUND`).
    pub async fn lookupd_topic_producers(
        &self,
        topic: &str,
        addrs: &[String],
    ) -> Result<Partial<Vec<Producer>>, HardError> {
        let path = format!("/lookup?topic={}", query_escape(topic));
        let results = self.lookupd_get::<ProducersResp>(addrs, path).await;
        let mut producers: Vec<Producer> = Vec::new();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(resp) => {
                    for peer in resp.producers.unwrap_or_default() {
                        let p = Producer::from(peer);
                        if !producers
                            .iter()
                            .any(|q| q.http_address() == p.http_address())
                        {
                            producers.push(p);
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        Partial::or_hard(producers, errors, addrs.len(), Upstream::Lookupd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions() {
        assert_eq!(
            union_sorted(vec![vec!["b".into(), "a".into()], vec!["b".into()]]),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(union_sorted(vec![vec![], vec![]]), None);
    }
}
