//! The admin-action notification webhook (`--notification-http-endpoint`).
//!
//! Every admin action POSTs a JSON record (who, what, from where) to the endpoint, so
//! audit trails and chat bots see changes made during incidents. Delivery never blocks or
//! fails the API request: records are queued to one background worker that posts them in
//! order, and a failing or slow endpoint only produces an ERROR log line (the reference
//! crashes on a transport error). The queue is bounded; when it is full, records are
//! dropped with a warning rather than growing memory without limit.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use bytes::Bytes;
use nsq_http::axum;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::acl::basic_auth_user;
use crate::client::Client;

/// How many notifications may wait for delivery.
pub const QUEUE_LEN: usize = 1024;

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// One notification, serialised in the reference's field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminAction {
    /// `create_topic`, `delete_channel`, `pause_topic`, `tombstone_topic_producer`, ...
    pub action: String,
    /// Topic (always present).
    pub topic: String,
    /// Channel (omitted when empty).
    #[serde(skip_serializing_if = "is_empty")]
    pub channel: String,
    /// Node (omitted when empty; tombstones only).
    #[serde(skip_serializing_if = "is_empty")]
    pub node: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// HTTP Basic-auth user of the request (omitted when none).
    #[serde(skip_serializing_if = "is_empty")]
    pub user: String,
    /// The TCP peer `ip:port`.
    pub remote_ip: String,
    /// The request's User-Agent.
    pub user_agent: String,
    /// The request URL as the client addressed it.
    pub url: String,
    /// nsqadmin's host name.
    pub via: String,
}

/// What a handler knows about the request that triggered an action.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// TCP peer.
    pub remote_addr: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Request path as received.
    pub path: String,
    /// Raw query string (`None` when absent).
    pub query: Option<String>,
}

impl AdminAction {
    /// Builds the record for `action` from the triggering request.
    pub fn new(
        action: &str,
        topic: &str,
        channel: &str,
        node: &str,
        req: &RequestInfo,
        via: &str,
    ) -> AdminAction {
        let header = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let scheme = if header("x-scheme") == "https" {
            "https"
        } else {
            "http"
        };
        let mut url = format!("{scheme}://{}{}", header("host"), req.path);
        if let Some(q) = req.query.as_deref().filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(q);
        }
        AdminAction {
            action: action.to_string(),
            topic: topic.to_string(),
            channel: channel.to_string(),
            node: node.to_string(),
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            user: basic_auth_user(&req.headers),
            remote_ip: req.remote_addr.clone(),
            user_agent: header("user-agent"),
            url,
            via: via.to_string(),
        }
    }
}

/// The sending side of the notification queue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: mpsc::Sender<(String, AdminAction)>,
}

impl Notifier {
    /// Starts the delivery worker on the current tokio runtime. It ends when every
    /// `Notifier` clone is dropped and the queue is drained.
    pub fn start(client: Client) -> Notifier {
        let (tx, mut rx) = mpsc::channel::<(String, AdminAction)>(QUEUE_LEN);
        tokio::spawn(async move {
            while let Some((endpoint, action)) = rx.recv().await {
                deliver(&client, &endpoint, &action).await;
            }
        });
        Notifier { tx }
    }

    /// Queues `action` for `endpoint` (nothing happens for an empty endpoint). Never
    /// blocks.
    pub fn notify(&self, endpoint: &str, action: AdminAction) {
        if endpoint.is_empty() {
            return;
        }
        if let Err(e) = self.tx.try_send((endpoint.to_string(), action)) {
            tracing::warn!("dropping admin action notification - {e}");
        }
    }
}

async fn deliver(client: &Client, endpoint: &str, action: &AdminAction) {
    let body = match nsq_http::gojson::to_vec(action) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            tracing::error!("failed to serialize admin action - {e}");
            return;
        }
    };
    tracing::info!("POSTing notification to {endpoint}");
    if let Err(e) = client.post_json(endpoint, body).await {
        tracing::error!("failed to POST notification - {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn record_layout() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:4171"));
        headers.insert("user-agent", HeaderValue::from_static("curl/8"));
        let req = RequestInfo {
            remote_addr: "127.0.0.1:5000".into(),
            headers,
            path: "/api/topics".into(),
            query: Some(String::new()),
        };
        let mut a = AdminAction::new("create_channel", "t", "c", "", &req, "vm");
        a.timestamp = 1;
        assert_eq!(
            nsq_http::gojson::to_string(&a).unwrap(),
            r#"{"action":"create_channel","topic":"t","channel":"c","timestamp":1,"remote_ip":"127.0.0.1:5000","user_agent":"curl/8","url":"http://127.0.0.1:4171/api/topics","via":"vm"}"#
        );
        let mut req = req;
        req.query = Some("x=1".into());
        req.headers
            .insert("x-scheme", HeaderValue::from_static("https"));
        let a = AdminAction::new("delete_topic", "t", "", "n:1", &req, "vm");
        assert_eq!(a.url, "https://127.0.0.1:4171/api/topics?x=1");
        assert_eq!(a.node, "n:1");
    }
}
