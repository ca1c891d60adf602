//! `GET /ping` (health, plain text) and `GET /info` (node description), spec §4.2.

use nsq_http::axum::response::Response;
use nsq_http::{plain_text, v1, ApiError, V1};
use serde::Serialize;

use super::{ApiResult, Req};

/// `GET /ping`: 200 `OK`, or 500 `NOK - <storage error>` while unhealthy; plain text without
/// the V1 marker header.
pub async fn ping(req: Req) -> Response {
    let d = &req.state.daemon;
    if d.is_healthy() {
        plain_text(Ok("OK".to_string()))
    } else {
        plain_text(Err(ApiError::internal(d.health())))
    }
}

/// `/info` body; field order is the reference's.
#[derive(Serialize)]
struct Info<'a> {
    version: &'static str,
    broadcast_address: &'a str,
    hostname: String,
    http_port: i64,
    tcp_port: i64,
    start_time: i64,
    max_heartbeat_interval: u128,
    max_output_buffer_size: i64,
    max_output_buffer_timeout: u128,
    max_deflate_level: i64,
    topology_zone: &'a str,
    topology_region: &'a str,
}

/// `GET /info`: version, addresses, real ports, start time and client limits (durations in
/// nanoseconds). A host name lookup failure is a 500 with the OS error text.
pub async fn info(req: Req) -> Response {
    v1(info_doc(&req))
}

fn info_doc(req: &Req) -> ApiResult {
    let ctx = &req.state;
    let o = &ctx.daemon.opts;
    let hostname = hostname::get()
        .map_err(|e| ApiError::internal(e.to_string()))?
        .to_string_lossy()
        .into_owned();
    V1::json(&Info {
        version: nsq_protocol::NSQ_VERSION,
        broadcast_address: &o.broadcast_address,
        hostname,
        http_port: ctx.http_port,
        tcp_port: ctx.tcp_port,
        start_time: ctx.daemon.start_time,
        max_heartbeat_interval: o.max_heartbeat_interval.as_nanos(),
        max_output_buffer_size: o.max_output_buffer_size,
        max_output_buffer_timeout: o.max_output_buffer_timeout.as_nanos(),
        max_deflate_level: o.max_deflate_level,
        topology_zone: &o.topology_zone,
        topology_region: &o.topology_region,
    })
}
