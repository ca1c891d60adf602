//! nsqadmin's HTTP routes: the `/api` answers, `/config`, the graphite helpers and the UI.
//!
//! [`router`] builds the reference's route table under `--base-path` (every route is
//! `path.Join(base, route)`, so the index of base `/adm` is exactly `/adm`). Handlers live
//! in one file per resource; this module holds what they share: the error mapping for
//! partial and total upstream failures, body reading and the admin check.

mod actions;
mod config;
mod graphite;
mod nodes;
mod topics;
mod ui;

use axum::http::Method;
use axum::response::Response;
use nsq_http::{axum, ApiError, App, RouteRequest, Router};
use serde::Serialize;

use crate::acl::is_admin;
use crate::cluster::HardError;
use crate::notify::RequestInfo;
use crate::options::join_base;
use crate::state::AdminState;

/// The request type every handler receives.
pub type Req = RouteRequest<AdminState>;

/// Largest request body nsqadmin reads (admin bodies are a few dozen bytes).
pub const MAX_BODY: usize = 1 << 20;

/// Builds the complete route table for `state`'s base path.
pub fn router(state: AdminState) -> App<AdminState> {
    let opts = state.opts();
    let bp = |p: &str| join_base(&opts.base_path, p);
    let mut r = Router::new().route(Method::GET, &bp("/"), ui::index).route(
        Method::GET,
        &bp("/ping"),
        ui::ping,
    );
    for page in [
        "/topics",
        "/topics/:topic",
        "/topics/:topic/:channel",
        "/nodes",
        "/nodes/:node",
        "/counter",
        "/lookup",
    ] {
        r = r.route(Method::GET, &bp(page), ui::index);
    }
    r = r
        .route(Method::GET, &bp("/static/:asset"), ui::asset)
        .route(Method::GET, &bp("/fonts/:asset"), ui::asset);
    if opts.proxy_graphite {
        r = r.route_unlogged(Method::GET, &bp("/render"), graphite::render_proxy);
    }
    r.route(Method::GET, &bp("/api/topics"), topics::list)
        .route(Method::GET, &bp("/api/topics/:topic"), topics::topic)
        .route(
            Method::GET,
            &bp("/api/topics/:topic/:channel"),
            topics::channel,
        )
        .route(Method::GET, &bp("/api/nodes"), nodes::list)
        .route(Method::GET, &bp("/api/nodes/:node"), nodes::node)
        .route(Method::POST, &bp("/api/topics"), actions::create)
        .route(
            Method::POST,
            &bp("/api/topics/:topic"),
            actions::topic_action,
        )
        .route(
            Method::POST,
            &bp("/api/topics/:topic/:channel"),
            actions::channel_action,
        )
        .route(Method::DELETE, &bp("/api/nodes/:node"), actions::tombstone)
        .route(
            Method::DELETE,
            &bp("/api/topics/:topic"),
            actions::delete_topic,
        )
        .route(
            Method::DELETE,
            &bp("/api/topics/:topic/:channel"),
            actions::delete_channel,
        )
        .route(Method::GET, &bp("/api/counter"), nodes::counter)
        .route(Method::GET, &bp("/api/graphite"), graphite::rate)
        .route(Method::GET, &bp("/config/:opt"), config::handle)
        .route(Method::PUT, &bp("/config/:opt"), config::handle)
        .with_state(state)
}

/// A hard upstream failure: logged at ERROR and answered 502 `UPSTREAM_ERROR: <err>`.
pub fn upstream_error(what: &str, e: HardError) -> ApiError {
    tracing::error!("failed to {what} - {e}");
    ApiError::new(502, format!("UPSTREAM_ERROR: {e}"))
}

/// Logs a partial failure at WARN (the handler also reports it in `message`).
pub fn log_partial(errors: &[String]) {
    if !errors.is_empty() {
        tracing::warn!("{}", errors.join("\n"));
    }
}

/// A `{"message":...}` body.
#[derive(Serialize)]
pub struct MessageOnly {
    /// `""` or `WARNING: …`.
    pub message: String,
}

/// `403 FORBIDDEN` unless the request may perform admin actions.
pub fn require_admin(req: &Req) -> Result<(), ApiError> {
    if is_admin(&req.state.opts(), req.headers()) {
        Ok(())
    } else {
        Err(ApiError::new(403, "FORBIDDEN"))
    }
}

/// Reads the request body (at most [`MAX_BODY`] bytes; a longer or broken body reads as
/// what arrived before the problem, which then fails to decode).
pub async fn read_body(req: &mut Req) -> Vec<u8> {
    req.read_body(MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default()
}

/// What notifications need to know about the request.
pub fn request_info(req: &Req) -> RequestInfo {
    RequestInfo {
        remote_addr: req.remote_addr.clone(),
        headers: req.headers().clone(),
        path: req.uri().path().to_string(),
        query: req.uri().query().map(str::to_string),
    }
}

/// Path parameter `name` (empty if absent, which the router rules out).
pub fn param(req: &Req, name: &str) -> String {
    req.param(name).unwrap_or("").to_string()
}

/// Encodes `value` as a V1 JSON answer.
pub fn json<T: Serialize>(value: &T) -> Response {
    nsq_http::v1(nsq_http::V1::json(value))
}

#[cfg(test)]
mod tests;
