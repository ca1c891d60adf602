//! `GET /api/topics`, `/api/topics/:topic` and `/api/topics/:topic/:channel`.
//!
//! These answer with the reference's JSON: the topic list (or, with `?inactive=true`, the
//! map of topics no nsqd produces to their channels), a topic merged across its nsqds with
//! per-node and per-channel figures, and a channel merged across nodes with its clients.
//! Invalid names in the path are answered 400 `INVALID_TOPIC` / `INVALID_CHANNEL` (such a
//! topic cannot exist; the reference answers with an upstream error instead).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::response::Response;
use nsq_http::{axum, v1_error, ApiError};
use serde::Serialize;
use tokio::sync::Semaphore;

use super::actions::check_names;
use super::{json, log_partial, param, upstream_error, Req};
use crate::cluster::fetch::StatsQuery;
use crate::cluster::stats::{ChannelStats, ClientStats, TopicStats};
use crate::cluster::{fan_out, Producer, Warnings};
use crate::state::AdminState;

/// How many topics `?inactive=true` checks at once.
const INACTIVE_CONCURRENCY: usize = 16;

#[derive(Serialize)]
struct TopicList {
    topics: Option<Vec<String>>,
    message: String,
}

#[derive(Serialize)]
struct InactiveMap {
    topics: BTreeMap<String, Option<Vec<String>>>,
    message: String,
}

#[derive(Serialize)]
struct WithMessage<'a, T> {
    #[serde(flatten)]
    stats: &'a T,
    message: String,
}

/// `GET /api/topics[?inactive=true]`.
pub async fn list(req: Req) -> Response {
    match list_inner(req).await {
        Ok(r) => r,
        Err(e) => v1_error(&e),
    }
}

async fn list_inner(req: Req) -> Result<Response, ApiError> {
    let query = req
        .query()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let opts = req.state.opts();
    let ci = req.state.ci();
    let mut warnings = Warnings::new();
    let topics = if opts.lookupd_mode() {
        ci.lookupd_topics(&opts.nsqlookupd_http_addresses).await
    } else {
        ci.nsqd_topics(&opts.nsqd_http_addresses).await
    }
    .map_err(|e| upstream_error("get topics", e))?;
    log_partial(&topics.errors);
    let topics = warnings.take(topics);

    if query.get("inactive") != Some("true") {
        return Ok(json(&TopicList {
            topics,
            message: warnings.message(),
        }));
    }
    let mut inactive = BTreeMap::new();
    if opts.lookupd_mode() {
        // Topics are checked concurrently (at most INACTIVE_CONCURRENCY at a time), so a
        // slow lookupd costs about one timeout per batch rather than one per topic.
        let limit = Arc::new(Semaphore::new(INACTIVE_CONCURRENCY));
        let results = fan_out(topics.unwrap_or_default(), |topic| {
            let ci = ci.clone();
            let lookupds = opts.nsqlookupd_http_addresses.clone();
            let limit = limit.clone();
            async move {
                let _permit = limit.acquire_owned().await.map_err(|e| e.to_string())?;
                let producers = ci
                    .lookupd_topic_producers(&topic, &lookupds)
                    .await
                    .map(|p| p.value)
                    .unwrap_or_default();
                if !producers.is_empty() {
                    return Ok(None);
                }
                let channels = ci
                    .lookupd_topic_channels(&topic, &lookupds)
                    .await
                    .ok()
                    .and_then(|c| c.value);
                Ok(Some((topic, channels)))
            }
        })
        .await;
        inactive.extend(results.into_iter().flatten().flatten());
    }
    Ok(json(&InactiveMap {
        topics: inactive,
        message: warnings.message(),
    }))
}

/// Resolves the topic's producers, recording partial failures.
async fn producers(
    state: &AdminState,
    topic: &str,
    w: &mut Warnings,
) -> Result<Vec<Producer>, ApiError> {
    let opts = state.opts();
    let p = state
        .ci()
        .topic_producers(
            topic,
            &opts.nsqlookupd_http_addresses,
            &opts.nsqd_http_addresses,
        )
        .await
        .map_err(|e| upstream_error("get topic producers", e))?;
    log_partial(&p.errors);
    Ok(w.take(p))
}

/// `GET /api/topics/:topic`: the topic merged over its nsqds. A topic with no reachable
/// producer is a 502 (`failed to query any nsqd: `), as in the reference.
pub async fn topic(req: Req) -> Response {
    match topic_inner(req).await {
        Ok(r) => r,
        Err(e) => v1_error(&e),
    }
}

async fn topic_inner(req: Req) -> Result<Response, ApiError> {
    let name = param(&req, "topic");
    check_names(&name, None)?;
    let mut w = Warnings::new();
    let producers = producers(&req.state, &name, &mut w).await?;
    let q = StatsQuery {
        topic: name.clone(),
        channel: String::new(),
        include_clients: false,
    };
    let stats = req
        .state
        .ci()
        .nsqd_stats(&producers, &q)
        .await
        .map_err(|e| upstream_error("get topic metadata", e))?;
    log_partial(&stats.errors);
    let stats = w.take(stats);
    let mut all = TopicStats::merged(&name);
    for t in &stats.topics {
        all.add(t);
    }
    Ok(json(&WithMessage {
        stats: &all,
        message: w.message(),
    }))
}

/// Orders a channel's clients by node, then (within a node) clients in the node's region
/// and zone first, then the node's region, then the rest by region and zone.
pub fn sort_by_node_topology(clients: &mut [ClientStats]) {
    fn rank(c: &ClientStats) -> (u8, String, String) {
        if c.topology_region == c.node_topology_region && c.topology_zone == c.node_topology_zone {
            (0, String::new(), String::new())
        } else if c.topology_region == c.node_topology_region {
            (1, String::new(), String::new())
        } else {
            (2, c.topology_region.clone(), c.topology_zone.clone())
        }
    }
    clients.sort_by(|a, b| a.node.cmp(&b.node).then_with(|| rank(a).cmp(&rank(b))));
}

/// `GET /api/topics/:topic/:channel`: the channel merged over the topic's nsqds, with
/// clients. A channel that no nsqd has is 404 `CHANNEL_NOT_FOUND` (the reference crashes
/// or answers an empty object).
pub async fn channel(req: Req) -> Response {
    match channel_inner(req).await {
        Ok(r) => r,
        Err(e) => v1_error(&e),
    }
}

async fn channel_inner(req: Req) -> Result<Response, ApiError> {
    let topic = param(&req, "topic");
    let channel = param(&req, "channel");
    check_names(&topic, Some(&channel))?;
    let mut w = Warnings::new();
    let producers = producers(&req.state, &topic, &mut w).await?;
    let q = StatsQuery {
        topic: topic.clone(),
        channel: channel.clone(),
        include_clients: true,
    };
    let stats = req
        .state
        .ci()
        .nsqd_stats(&producers, &q)
        .await
        .map_err(|e| upstream_error("get channel metadata", e))?;
    log_partial(&stats.errors);
    let mut stats = w.take(stats);
    let mut merged: ChannelStats = stats
        .channels
        .remove(&channel)
        .ok_or_else(|| ApiError::not_found("CHANNEL_NOT_FOUND"))?;
    if let Some(c) = merged.clients.as_mut() {
        sort_by_node_topology(c);
    }
    Ok(json(&WithMessage {
        stats: &merged,
        message: w.message(),
    }))
}
