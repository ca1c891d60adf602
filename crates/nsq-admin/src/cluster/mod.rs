//! Cluster information: everything nsqadmin learns by querying nsqlookupd and nsqd.
//!
//! This is the Rust counterpart of the reference's `internal/clusterinfo`: fan-outs to
//! every lookupd or nsqd (in parallel for reads, sequentially for writes), the rules for
//! merging their answers, and the partial/hard failure model ([`errors`]). Results come
//! back in configuration order, so answers are deterministic where the reference's depend
//! on which upstream answered first.

pub mod e2e;
pub mod errors;
pub mod fetch;
pub mod lookupd;
pub mod nsqd;
pub mod ops;
pub mod producer;
pub mod stats;

use std::future::Future;

use tokio::task::JoinSet;

use crate::client::Client;
pub use errors::{HardError, Partial, Upstream, Warnings};
pub use producer::Producer;

/// The cluster query engine (stateless apart from the HTTP client settings).
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    client: Client,
}

/// Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`, everything else
/// `%XX` (upper-case hex).
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

/// Runs `f` for every item concurrently and returns the results in item order. A task
/// that panics yields `Err("internal error")` rather than taking the request down.
pub async fn fan_out<I, T, F, Fut>(items: Vec<I>, f: F) -> Vec<Result<T, String>>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
    T: Send + 'static,
{
    let n = items.len();
    let mut set = JoinSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let fut = f(item);
        set.spawn(async move { (i, fut.await) });
    }
    let mut out: Vec<Result<T, String>> = (0..n).map(|_| Err("internal error".into())).collect();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined {
            out[i] = r;
        }
    }
    out
}

impl ClusterInfo {
    /// A query engine using `client` for every upstream call.
    pub fn new(client: Client) -> ClusterInfo {
        ClusterInfo { client }
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every nsqd: from the lookupds' `/nodes` in lookupd mode, else from each nsqd.
    pub async fn producers(
        &self,
        lookupds: &[String],
        nsqds: &[String],
    ) -> Result<Partial<Vec<Producer>>, HardError> {
        if !lookupds.is_empty() {
            self.lookupd_producers(lookupds).await
        } else {
            self.nsqd_producers(nsqds).await
        }
    }

    /// The nsqds that have `topic`: from the lookupds' `/lookup` in lookupd mode, else by
    /// asking each nsqd.
    pub async fn topic_producers(
        &self,
        topic: &str,
        lookupds: &[String],
        nsqds: &[String],
    ) -> Result<Partial<Vec<Producer>>, HardError> {
        if !lookupds.is_empty() {
            self.lookupd_topic_producers(topic, lookupds).await
        } else {
            self.nsqd_topic_producers(topic, nsqds).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        assert_eq!(query_escape("a b/c#e?&=é"), "a+b%2Fc%23e%3F%26%3D%C3%A9");
        assert_eq!(query_escape("t.1_-~"), "t.1_-~");
    }

    #[tokio::test]
    async fn fan_out_keeps_order() {
        let r = fan_out(vec![3u64, 1, 2], |n| async move {
            tokio::time::sleep(std::time::Duration::from_millis(n * 5)).await;
            if n == 2 {
                Err("two".to_string())
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(r, vec![Ok(3), Ok(1), Err("two".to_string())]);
    }
}
