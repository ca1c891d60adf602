//! Channel pre-creation from nsqlookupd (spec §3.1): when a topic is created, nsqd asks
//! every known lookupd which channels that topic has elsewhere and creates them (except
//! `#ephemeral` ones), so messages published before any consumer connects here are kept
//! for those consumers.
//!
//! The reference does this synchronously inside topic creation, stalling the publisher for
//! up to the HTTP timeouts. Here the new topic is created *held* (it queues messages but
//! hands none to channels); a task queries the lookupds, creates the channels and releases
//! the topic, which then delivers its backlog to every channel. The publisher never waits
//! and no channel misses the first messages. Query errors are logged and the topic is
//! released with whatever channels could be learned.

use std::sync::{Arc, Weak};

use serde::Deserialize;

use super::directory::Directory;
use crate::auth::{HttpClient, Method};
use crate::daemon::{Daemon, TopicCreatedHook};
use crate::topic::Topic;

/// Installs pre-creation as the daemon's topic-created hook.
///
/// Invariant: every topic the hook receives is released exactly once, immediately when
/// there is no lookupd to ask, otherwise when the queries have finished (or their task is
/// dropped).
pub fn hook(daemon: &Arc<Daemon>, directory: Arc<Directory>, http: HttpClient) -> TopicCreatedHook {
    let pre = Arc::new(PreCreator {
        daemon: Arc::downgrade(daemon),
        directory,
        http,
    });
    Arc::new(move |topic: &Arc<Topic>| pre.on_topic_created(topic))
}

struct PreCreator {
    daemon: Weak<Daemon>,
    directory: Arc<Directory>,
    http: HttpClient,
}

/// Releases the topic when dropped, so a topic is never left held.
struct ReleaseOnDrop(Arc<Topic>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        // Releasing may start the drain task; outside a runtime (process teardown) the
        // topic is only being closed, which flushes the backlog anyway.
        if tokio::runtime::Handle::try_current().is_ok() {
            self.0.release();
        }
    }
}

impl PreCreator {
    fn on_topic_created(self: &Arc<Self>, topic: &Arc<Topic>) {
        let guard = ReleaseOnDrop(Arc::clone(topic));
        let addrs = self.directory.http_addresses();
        if addrs.is_empty() {
            let configured = self
                .daemon
                .upgrade()
                .is_some_and(|d| !d.nsqlookupd_tcp_addresses().is_empty());
            if configured {
                tracing::error!(
                    "no available nsqlookupd to query for channels to pre-create for topic {}",
                    topic.name
                );
            }
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let me = Arc::clone(self);
        rt.spawn(async move {
            me.precreate(&guard.0, &addrs).await;
            drop(guard);
        });
    }

    async fn precreate(&self, topic: &Arc<Topic>, addrs: &[String]) {
        let (channels, errors) = query_channels(&self.http, &topic.name, addrs).await;
        if !errors.is_empty() {
            let what = if errors.len() == addrs.len() {
                format!("failed to query any nsqlookupd: {}", errors.join("; "))
            } else {
                errors.join("; ")
            };
            tracing::warn!(
                "failed to query nsqlookupd for channels to pre-create for topic {} - {what}",
                topic.name
            );
        }
        for name in channels {
            if nsq_protocol::names::is_ephemeral(&name) {
                continue;
            }
            if !nsq_protocol::names::is_valid_channel_name(&name) {
                tracing::warn!(
                    "TOPIC({}): not pre-creating invalid channel name {name:?} from nsqlookupd",
                    topic.name
                );
                continue;
            }
            // The topic may have been deleted (or deleted and recreated) meanwhile.
            let current = self.daemon.upgrade().and_then(|d| d.topic(&topic.name));
            if topic.is_exiting() || !current.is_some_and(|t| Arc::ptr_eq(&t, topic)) {
                return;
            }
            topic.get_or_create_channel(&name);
        }
    }
}

#[derive(Deserialize)]
struct ChannelsReply {
    #[serde(default)]
    channels: Option<Vec<String>>,
}

/// Asks every lookupd (concurrently) for the channels of `topic`: the sorted union of the
/// answers, and one error text per lookupd that did not answer usefully.
pub async fn query_channels(
    http: &HttpClient,
    topic: &str,
    addrs: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut set = tokio::task::JoinSet::new();
    for addr in addrs {
        let endpoint = format!("http://{addr}/channels?topic={}", query_escape(topic));
        let http = http.clone();
        set.spawn(async move {
            tracing::info!("CI: querying nsqlookupd {endpoint}");
            let body = http
                .request_v1(Method::Get, &endpoint, None)
                .await
                .map_err(|e| e.to_string())?;
            let reply: ChannelsReply = serde_json::from_slice(&body)
                .map_err(|e| format!("{endpoint}: bad response - {e}"))?;
            Ok::<Vec<String>, String>(reply.channels.unwrap_or_default())
        });
    }
    let mut channels = Vec::new();
    let mut errors = Vec::new();
    while let Some(res) = set.join_next().await {
        match res {
            Ok(Ok(c)) => channels.extend(c),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    channels.sort();
    channels.dedup();
    (channels, errors)
}

/// Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, everything else `%XX`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        assert_eq!(query_escape("t.1-x_y~"), "t.1-x_y~");
        assert_eq!(query_escape("t#ephemeral"), "t%23ephemeral");
        assert_eq!(query_escape("a b/é"), "a+b%2F%C3%A9");
    }
}
