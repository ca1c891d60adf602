//! `GET /stats` (spec §4.2): the [`crate::stats`] model as JSON (`format=json`) or as the
//! reference's text report (anything else).
//!
//! Arguments: `topic` and `channel` filters, `include_clients` and `include_mem` (the bool
//! table; absent or unrecognised means true). A malformed query → 400 `INVALID_REQUEST`.

use nsq_http::axum::response::Response;
use nsq_http::{parse_bool, v1, V1};
use serde::Serialize;

use super::{query, stats_text, ApiResult, Req};
use crate::stats::{gather, mem_stats, ClientStats, MemStats, StatsFilter, TopicStats};

/// The JSON document; field order is the reference's.
#[derive(Serialize)]
struct StatsDoc {
    version: &'static str,
    health: String,
    start_time: i64,
    topics: Option<Vec<TopicStats>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<MemStats>,
    producers: Option<Vec<ClientStats>>,
}

/// `GET /stats`.
pub async fn stats(req: Req) -> Response {
    v1(stats_doc(&req))
}

fn stats_doc(req: &Req) -> ApiResult {
    let q = query(req)?;
    let flag = |k: &str| parse_bool(q.get(k).unwrap_or("")).unwrap_or(true);
    let filter = StatsFilter {
        topic: q.get("topic").unwrap_or(""),
        channel: q.get("channel").unwrap_or(""),
        include_clients: flag("include_clients"),
    };
    let d = &req.state.daemon;
    let stats = gather(d, filter);
    let health = d.health();
    let memory = flag("include_mem").then(mem_stats);
    if q.get("format") != Some("json") {
        let text = stats_text::render(&stats_text::Report {
            stats: &stats,
            memory: memory.as_ref(),
            health: &health,
            start_time: d.start_time,
            uptime: req.state.started.elapsed(),
        });
        return Ok(V1::Text(text));
    }
    V1::json(&StatsDoc {
        version: nsq_protocol::NSQ_VERSION,
        health,
        start_time: d.start_time,
        topics: stats.topics,
        memory,
        producers: stats.producers,
    })
}
