//! Cluster-changing operations: create, delete, pause/unpause/empty, tombstone.
//!
//! Each operation resolves the affected nsqds first, then POSTs to the lookupds and nsqds
//! one after another (as the reference does, so an operator's action reaches nodes in a
//! predictable order). Failures of individual POSTs are collected as partial errors; only
//! failing to resolve the nodes at all is a hard error.

use super::errors::HardError;
use super::producer::Producer;
use super::{query_escape, ClusterInfo};

/// What a pause/unpause/empty action targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Pause message flow.
    Pause,
    /// Resume message flow.
    Unpause,
    /// Drop queued messages.
    Empty,
}

impl Action {
    /// Parses the `action` of a request body.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pause" => Some(Action::Pause),
            "unpause" => Some(Action::Unpause),
            "empty" => Some(Action::Empty),
            _ => None,
        }
    }

    /// The word used in nsqd routes and notification names.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Unpause => "unpause",
            Action::Empty => "empty",
        }
    }
}

/// `topic=T[&channel=C]`, escaped.
fn topic_query(topic: &str, channel: Option<&str>) -> String {
    match channel {
        Some(c) => format!("topic={}&channel={}", query_escape(topic), query_escape(c)),
        None => format!("topic={}", query_escape(topic)),
    }
}

impl ClusterInfo {
    /// POSTs `/<uri>?<qs>` to every lookupd in turn; returns the failures.
    pub async fn lookupd_post(&self, addrs: &[String], uri: &str, qs: &str) -> Vec<String> {
        let mut errors = Vec::new();
        for addr in addrs {
            let endpoint = format!("http://{addr}/{uri}?{qs}");
            tracing::info!("CI: querying nsqlookupd {endpoint}");
            if let Err(e) = self.client.post(&endpoint).await {
                errors.push(e.to_string());
            }
        }
        errors
    }

    /// POSTs `/<uri>?<qs>` to every producer in turn; returns the failures.
    pub async fn producers_post(&self, producers: &[Producer], uri: &str, qs: &str) -> Vec<String> {
        let mut errors = Vec::new();
        for p in producers {
            let endpoint = format!("http://{}/{uri}?{qs}", p.http_address());
            tracing::info!("CI: querying nsqd {endpoint}");
            if let Err(e) = self.client.post(&endpoint).await {
                errors.push(e.to_string());
            }
        }
        errors
    }

    /// Tombstones `node` for `topic` on every lookupd, then deletes the topic from that
    /// nsqd (found through its own `/info`). Hard error if the node cannot be reached.
    pub async fn tombstone_node_for_topic(
        &self,
        topic: &str,
        node: &str,
        lookupds: &[String],
    ) -> Result<Vec<String>, HardError> {
        let qs = format!("topic={}&node={}", query_escape(topic), query_escape(node));
        let mut errors = self.lookupd_post(lookupds, "topic/tombstone", &qs).await;
        let producers = self.nsqd_producers(&[node.to_string()]).await?;
        errors.extend(producers.errors);
        let qs = topic_query(topic, None);
        errors.extend(
            self.producers_post(&producers.value, "topic/delete", &qs)
                .await,
        );
        Ok(errors)
    }

    /// Creates `topic` on every lookupd; with a channel, also creates the channel on every
    /// lookupd and on every nsqd that has the topic. The topic itself is never created on
    /// an nsqd (it appears there when first published to).
    pub async fn create_topic_channel(
        &self,
        topic: &str,
        channel: &str,
        lookupds: &[String],
    ) -> Result<Vec<String>, HardError> {
        let mut errors = self
            .lookupd_post(lookupds, "topic/create", &topic_query(topic, None))
            .await;
        if !channel.is_empty() {
            let qs = topic_query(topic, Some(channel));
            errors.extend(self.lookupd_post(lookupds, "channel/create", &qs).await);
            let producers = self.lookupd_topic_producers(topic, lookupds).await?;
            errors.extend(producers.errors);
            errors.extend(
                self.producers_post(&producers.value, "channel/create", &qs)
                    .await,
            );
        }
        Ok(errors)
    }

    /// Deletes `topic` (or one of its channels) from every lookupd and every nsqd that
    /// has the topic. The nsqds are resolved first.
    pub async fn delete(
        &self,
        topic: &str,
        channel: Option<&str>,
        lookupds: &[String],
        nsqds: &[String],
    ) -> Result<Vec<String>, HardError> {
        let producers = self.topic_producers(topic, lookupds, nsqds).await?;
        let mut errors = producers.errors;
        let (uri, qs) = match channel {
            Some(c) => ("channel/delete", topic_query(topic, Some(c))),
            None => ("topic/delete", topic_query(topic, None)),
        };
        errors.extend(self.lookupd_post(lookupds, uri, &qs).await);
        errors.extend(self.producers_post(&producers.value, uri, &qs).await);
        Ok(errors)
    }

    /// Pauses, unpauses or empties `topic` (or one of its channels) on every nsqd that has
    /// the topic.
    pub async fn action(
        &self,
        action: Action,
        topic: &str,
        channel: Option<&str>,
        lookupds: &[String],
        nsqds: &[String],
    ) -> Result<Vec<String>, HardError> {
        let producers = self.topic_producers(topic, lookupds, nsqds).await?;
        let mut errors = producers.errors;
        let kind = if channel.is_some() {
            "channel"
        } else {
            "topic"
        };
        let uri = format!("{kind}/{}", action.as_str());
        let qs = topic_query(topic, channel);
        errors.extend(self.producers_post(&producers.value, &uri, &qs).await);
        Ok(errors)
    }
}
