//! `GET /api/nodes`, `/api/nodes/:node` and `/api/counter`.
//!
//! The node list (from nsqlookupd or the nsqds themselves), one node's complete stats with
//! totals, and the per-channel-per-node message counts behind the counter page.

use std::collections::BTreeMap;

use axum::response::Response;
use nsq_http::{axum, v1_error, ApiError};
use serde::Serialize;

use super::{json, log_partial, param, upstream_error, Req};
use crate::cluster::fetch::StatsQuery;
use crate::cluster::producer::search;
use crate::cluster::stats::TopicStats;
use crate::cluster::{Producer, Warnings};
use crate::state::AdminState;

#[derive(Serialize)]
struct NodeList {
    nodes: Option<Vec<Producer>>,
    message: String,
}

#[derive(Serialize)]
struct NodeDetail {
    node: String,
    topics: Option<Vec<TopicStats>>,
    total_messages: i64,
    total_clients: i64,
    message: String,
}

#[derive(Serialize)]
struct CounterEntry {
    node: String,
    topic_name: String,
    channel_name: String,
    message_count: i64,
}

#[derive(Serialize)]
struct Counter {
    stats: BTreeMap<String, CounterEntry>,
    message: String,
}

async fn all_producers(
    state: &AdminState,
    w: &mut Warnings,
    what: &str,
) -> Result<Vec<Producer>, ApiError> {
    let opts = state.opts();
    let p = state
        .ci()
        .producers(&opts.nsqlookupd_http_addresses, &opts.nsqd_http_addresses)
        .await
        .map_err(|e| upstream_error(what, e))?;
    log_partial(&p.errors);
    Ok(w.take(p))
}

/// `GET /api/nodes`.
pub async fn list(req: Req) -> Response {
    let mut w = Warnings::new();
    match all_producers(&req.state, &mut w, "get nodes").await {
        Ok(nodes) => json(&NodeList {
            nodes: (!nodes.is_empty()).then_some(nodes),
            message: w.message(),
        }),
        Err(e) => v1_error(&e),
    }
}

/// `GET /api/nodes/:node`: every topic, channel and client of one nsqd. Unknown node →
/// 404 `NODE_NOT_FOUND`; any failure fetching its stats → 502.
pub async fn node(req: Req) -> Response {
    match node_inner(req).await {
        Ok(r) => r,
        Err(e) => v1_error(&e),
    }
}

async fn node_inner(req: Req) -> Result<Response, ApiError> {
    let node = param(&req, "node");
    let mut w = Warnings::new();
    let producers = all_producers(&req.state, &mut w, "get producers").await?;
    let producer = search(&producers, &node)
        .cloned()
        .ok_or_else(|| ApiError::not_found("NODE_NOT_FOUND"))?;
    let q = StatsQuery {
        include_clients: true,
        ..Default::default()
    };
    let stats = req
        .state
        .ci()
        .nsqd_stats(&[producer], &q)
        .await
        .map_err(|e| upstream_error("get nsqd stats", e))?;
    // With a single producer any failure is total, so there is never a partial result.
    let topics = stats.value.topics;
    let total_clients = topics
        .iter()
        .flat_map(|t| t.channels.iter().flatten())
        .map(|c| c.clients.as_ref().map_or(0, |v| v.len() as i64))
        .fold(0i64, i64::saturating_add);
    let total_messages = topics
        .iter()
        .map(|t| t.message_count)
        .fold(0i64, i64::saturating_add);
    Ok(json(&NodeDetail {
        node,
        topics: (!topics.is_empty()).then_some(topics),
        total_messages,
        total_clients,
        message: w.message(),
    }))
}

/// `GET /api/counter`: message counts per `topic:channel:node`.
pub async fn counter(req: Req) -> Response {
    match counter_inner(req).await {
        Ok(r) => r,
        Err(e) => v1_error(&e),
    }
}

async fn counter_inner(req: Req) -> Result<Response, ApiError> {
    let mut w = Warnings::new();
    let producers = all_producers(&req.state, &mut w, "get counter producer list").await?;
    let stats = req
        .state
        .ci()
        .nsqd_stats(&producers, &StatsQuery::default())
        .await
        .map_err(|e| upstream_error("get nsqd stats", e))?;
    log_partial(&stats.errors);
    let stats = w.take(stats);
    let mut out: BTreeMap<String, CounterEntry> = BTreeMap::new();
    for ch in stats.channels.values() {
        for n in ch.nodes.iter().flatten() {
            let key = format!("{}:{}:{}", ch.topic_name, ch.channel_name, n.node);
            let entry = out.entry(key).or_insert_with(|| CounterEntry {
                node: n.node.clone(),
                topic_name: ch.topic_name.clone(),
                channel_name: ch.channel_name.clone(),
                message_count: 0,
            });
            entry.message_count = entry.message_count.saturating_add(n.message_count);
        }
    }
    Ok(json(&Counter {
        stats: out,
        message: w.message(),
    }))
}
