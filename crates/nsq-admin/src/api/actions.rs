//! The admin actions: create (`POST /api/topics`), pause/unpause/empty
//! (`POST /api/topics/:topic[/:channel]`), delete (`DELETE /api/topics/:topic[/:channel]`)
//! and tombstone (`DELETE /api/nodes/:node`).
//!
//! Each checks the admin ACL before reading the body, answers malformed bodies with the Go
//! decoder's error, reports per-node failures as a `WARNING:` message and sends the
//! admin-action notification. Unlike the reference, topic and channel names in the path
//! are validated (400 `INVALID_TOPIC` / `INVALID_CHANNEL`): such names can never exist, and
//! the reference's answer for them is a confusing upstream 502.

use axum::response::Response;
use nsq_http::{axum, v1_error, ApiError};
use nsq_protocol::names::{is_valid_channel_name, is_valid_topic_name};

use super::{json, log_partial, param, read_body, request_info, require_admin, upstream_error};
use super::{MessageOnly, Req};
use crate::cluster::ops::Action;
use crate::cluster::Warnings;
use crate::godecode::decode_string_fields;

const CREATE_TYPE: &str =
    "struct { Topic string \"json:\\\"topic\\\"\"; Channel string \"json:\\\"channel\\\"\" }";
const ACTION_TYPE: &str = "struct { Action string \"json:\\\"action\\\"\" }";

fn done(errors: Vec<String>) -> Response {
    log_partial(&errors);
    let mut w = Warnings::new();
    w.push(&errors);
    json(&MessageOnly {
        message: w.message(),
    })
}

fn respond(r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(|e| v1_error(&e))
}

/// Validates path names: 400 `INVALID_TOPIC` / `INVALID_CHANNEL`.
pub fn check_names(topic: &str, channel: Option<&str>) -> Result<(), ApiError> {
    if !is_valid_topic_name(topic) {
        return Err(ApiError::bad_request("INVALID_TOPIC"));
    }
    match channel {
        Some(c) if !is_valid_channel_name(c) => Err(ApiError::bad_request("INVALID_CHANNEL")),
        _ => Ok(()),
    }
}

/// `POST /api/topics` `{"topic":…,"channel":…}`: creates the topic (and channel) through
/// nsqlookupd, and the channel on the nsqds that have the topic.
pub async fn create(req: Req) -> Response {
    respond(create_inner(req).await)
}

async fn create_inner(mut req: Req) -> Result<Response, ApiError> {
    require_admin(&req)?;
    let body = read_body(&mut req).await;
    let fields = decode_string_fields(&body, &["topic", "channel"], CREATE_TYPE)
        .map_err(ApiError::bad_request)?;
    let (topic, channel) = (&fields[0], &fields[1]);
    if !is_valid_topic_name(topic) {
        return Err(ApiError::bad_request("INVALID_TOPIC"));
    }
    if !channel.is_empty() && !is_valid_channel_name(channel) {
        return Err(ApiError::bad_request("INVALID_CHANNEL"));
    }
    let opts = req.state.opts();
    let errors = req
        .state
        .ci()
        .create_topic_channel(topic, channel, &opts.nsqlookupd_http_addresses)
        .await
        .map_err(|e| upstream_error("create topic/channel", e))?;
    let info = request_info(&req);
    req.state.notify("create_topic", topic, "", "", &info);
    if !channel.is_empty() {
        req.state
            .notify("create_channel", topic, channel, "", &info);
    }
    Ok(done(errors))
}

/// `POST /api/topics/:topic` `{"action":"pause"|"unpause"|"empty"}`.
pub async fn topic_action(req: Req) -> Response {
    let topic = param(&req, "topic");
    respond(action_inner(req, topic, None).await)
}

/// `POST /api/topics/:topic/:channel` `{"action":"pause"|"unpause"|"empty"}`.
pub async fn channel_action(req: Req) -> Response {
    let topic = param(&req, "topic");
    let channel = param(&req, "channel");
    respond(action_inner(req, topic, Some(channel)).await)
}

async fn action_inner(
    mut req: Req,
    topic: String,
    channel: Option<String>,
) -> Result<Response, ApiError> {
    require_admin(&req)?;
    let body = read_body(&mut req).await;
    let fields =
        decode_string_fields(&body, &["action"], ACTION_TYPE).map_err(ApiError::bad_request)?;
    let action =
        Action::parse(&fields[0]).ok_or_else(|| ApiError::bad_request("INVALID_ACTION"))?;
    check_names(&topic, channel.as_deref())?;
    let opts = req.state.opts();
    let result = req
        .state
        .ci()
        .action(
            action,
            &topic,
            channel.as_deref(),
            &opts.nsqlookupd_http_addresses,
            &opts.nsqd_http_addresses,
        )
        .await;
    // The reference notifies before looking at the outcome.
    let kind = if channel.is_some() {
        "channel"
    } else {
        "topic"
    };
    let name = format!("{}_{kind}", action.as_str());
    let info = request_info(&req);
    req.state
        .notify(&name, &topic, channel.as_deref().unwrap_or(""), "", &info);
    let errors =
        result.map_err(|e| upstream_error(&format!("{} topic/channel", action.as_str()), e))?;
    Ok(done(errors))
}

/// `DELETE /api/topics/:topic`.
pub async fn delete_topic(req: Req) -> Response {
    let topic = param(&req, "topic");
    respond(delete_inner(req, topic, None).await)
}

/// `DELETE /api/topics/:topic/:channel`.
pub async fn delete_channel(req: Req) -> Response {
    let topic = param(&req, "topic");
    let channel = param(&req, "channel");
    respond(delete_inner(req, topic, Some(channel)).await)
}

async fn delete_inner(
    req: Req,
    topic: String,
    channel: Option<String>,
) -> Result<Response, ApiError> {
    require_admin(&req)?;
    check_names(&topic, channel.as_deref())?;
    let opts = req.state.opts();
    let what = if channel.is_some() {
        "delete channel"
    } else {
        "delete topic"
    };
    let errors = req
        .state
        .ci()
        .delete(
            &topic,
            channel.as_deref(),
            &opts.nsqlookupd_http_addresses,
            &opts.nsqd_http_addresses,
        )
        .await
        .map_err(|e| upstream_error(what, e))?;
    let info = request_info(&req);
    match &channel {
        Some(c) => req.state.notify("delete_channel", &topic, c, "", &info),
        None => req.state.notify("delete_topic", &topic, "", "", &info),
    }
    Ok(done(errors))
}

/// `DELETE /api/nodes/:node` `{"topic":…}`: tombstones the topic for that node in every
/// lookupd and deletes it from the node.
pub async fn tombstone(req: Req) -> Response {
    respond(tombstone_inner(req).await)
}

async fn tombstone_inner(mut req: Req) -> Result<Response, ApiError> {
    require_admin(&req)?;
    let node = param(&req, "node");
    let body = read_body(&mut req).await;
    let fields = decode_string_fields(&body, &["topic"], "")
        .map_err(|_| ApiError::bad_request("INVALID_BODY"))?;
    let topic = &fields[0];
    if !is_valid_topic_name(topic) {
        return Err(ApiError::bad_request("INVALID_TOPIC"));
    }
    let opts = req.state.opts();
    let errors = req
        .state
        .ci()
        .tombstone_node_for_topic(topic, &node, &opts.nsqlookupd_http_addresses)
        .await
        .map_err(|e| upstream_error("tombstone node for topic", e))?;
    req.state.notify(
        "tombstone_topic_producer",
        topic,
        "",
        &node,
        &request_info(&req),
    );
    Ok(done(errors))
}
