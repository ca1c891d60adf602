//! Topic and channel administration: `POST /topic/{create,delete,empty,pause,unpause}` and
//! `POST /channel/{create,delete,empty,pause,unpause}` (spec §4.2).
//!
//! The topic routes differ from each other and from the channel routes in their checks,
//! exactly as in the reference:
//!
//! * `/topic/create`: `MISSING_ARG_TOPIC`, `INVALID_TOPIC`, then get-or-create;
//! * `/topic/delete`, `/topic/pause`, `/topic/unpause`: `MISSING_ARG_TOPIC`, then 404
//!   `TOPIC_NOT_FOUND` (the name is not validated, so an invalid one is simply not found);
//! * `/topic/empty`: `MISSING_ARG_TOPIC`, `INVALID_TOPIC`, `TOPIC_NOT_FOUND`;
//! * channel routes: `MISSING_ARG_TOPIC`, `INVALID_ARG_TOPIC`, `MISSING_ARG_CHANNEL`,
//!   `INVALID_ARG_CHANNEL`, then 404 `TOPIC_NOT_FOUND` (`/channel/create` does not create
//!   the topic), then 404 `CHANNEL_NOT_FOUND` except for create.
//!
//! Every route answers 200 with an empty body on success. Pause and unpause persist the
//! metadata file before answering, so a crash cannot silently undo them. Request bodies
//! are ignored (the reference reads and discards them).

use std::sync::Arc;

use nsq_http::axum::response::Response;
use nsq_http::{v1, ApiError, Query, V1};
use nsq_protocol::names::{is_valid_channel_name, is_valid_topic_name};

use super::{query, ApiResult, Req};
use crate::daemon::Daemon;
use crate::topic::Topic;

fn missing_topic() -> ApiError {
    ApiError::bad_request("MISSING_ARG_TOPIC")
}

fn topic_not_found() -> ApiError {
    ApiError::not_found("TOPIC_NOT_FOUND")
}

fn channel_not_found() -> ApiError {
    ApiError::not_found("CHANNEL_NOT_FOUND")
}

/// The path asks for the unpause variant (the reference checks the path text).
fn is_unpause(req: &Req) -> bool {
    req.uri().path().contains("unpause")
}

/// Writes `nsqd.dat` after a pause change; a failure is logged, not reported (as in the
/// reference, whose persist errors are only logged).
fn persist(daemon: &Daemon) {
    if let Err(e) = daemon.persist_metadata() {
        tracing::error!("failed to persist metadata - {e}");
    }
}

/// `POST /topic/create`.
pub async fn create_topic(req: Req) -> Response {
    v1((|| {
        let q = query(&req)?;
        let name = q.get("topic").ok_or_else(missing_topic)?;
        if !is_valid_topic_name(name) {
            return Err(ApiError::bad_request("INVALID_TOPIC"));
        }
        req.state
            .daemon
            .get_or_create_topic(name)
            .ok_or_else(|| ApiError::new(503, "EXITING"))?;
        Ok(V1::Empty)
    })())
}

/// `POST /topic/delete`.
pub async fn delete_topic(req: Req) -> Response {
    v1((|| {
        let q = query(&req)?;
        let name = q.get("topic").ok_or_else(missing_topic)?;
        if !req.state.daemon.delete_topic(name) {
            return Err(topic_not_found());
        }
        Ok(V1::Empty)
    })())
}

/// `POST /topic/empty`.
pub async fn empty_topic(req: Req) -> Response {
    v1((|| {
        let q = query(&req)?;
        let name = q.get("topic").ok_or_else(missing_topic)?;
        if !is_valid_topic_name(name) {
            return Err(ApiError::bad_request("INVALID_TOPIC"));
        }
        let topic = req.state.daemon.topic(name).ok_or_else(topic_not_found)?;
        topic
            .empty()
            .map_err(|_| ApiError::internal("INTERNAL_ERROR"))?;
        Ok(V1::Empty)
    })())
}

/// `POST /topic/pause` and `POST /topic/unpause`.
pub async fn pause_topic(req: Req) -> Response {
    v1((|| {
        let q = query(&req)?;
        let name = q.get("topic").ok_or_else(missing_topic)?;
        let topic = req.state.daemon.topic(name).ok_or_else(topic_not_found)?;
        if is_unpause(&req) {
            topic.unpause();
        } else {
            topic.pause();
        }
        persist(&req.state.daemon);
        Ok(V1::Empty)
    })())
}

/// The reference's `GetTopicChannelArgs` followed by the existing-topic lookup.
fn topic_and_channel<'q>(req: &Req, q: &'q Query) -> Result<(Arc<Topic>, &'q str), ApiError> {
    let topic = q.get("topic").ok_or_else(missing_topic)?;
    if !is_valid_topic_name(topic) {
        return Err(ApiError::bad_request("INVALID_ARG_TOPIC"));
    }
    let channel = q
        .get("channel")
        .ok_or_else(|| ApiError::bad_request("MISSING_ARG_CHANNEL"))?;
    if !is_valid_channel_name(channel) {
        return Err(ApiError::bad_request("INVALID_ARG_CHANNEL"));
    }
    let t = req.state.daemon.topic(topic).ok_or_else(topic_not_found)?;
    Ok((t, channel))
}

fn channel_route(req: &Req, op: impl FnOnce(&Arc<Topic>, &str) -> ApiResult) -> ApiResult {
    let q = query(req)?;
    let (topic, channel) = topic_and_channel(req, &q)?;
    op(&topic, channel)
}

/// `POST /channel/create`.
pub async fn create_channel(req: Req) -> Response {
    v1(channel_route(&req, |t, c| {
        t.get_or_create_channel(c);
        Ok(V1::Empty)
    }))
}

/// `POST /channel/delete`: also disconnects the channel's consumers.
pub async fn delete_channel(req: Req) -> Response {
    v1(channel_route(&req, |t, c| {
        if !t.delete_channel(c) {
            return Err(channel_not_found());
        }
        Ok(V1::Empty)
    }))
}

/// `POST /channel/empty`: drops queued, in-flight and deferred messages.
pub async fn empty_channel(req: Req) -> Response {
    v1(channel_route(&req, |t, c| {
        let ch = t.channel(c).ok_or_else(channel_not_found)?;
        ch.empty()
            .map_err(|_| ApiError::internal("INTERNAL_ERROR"))?;
        Ok(V1::Empty)
    }))
}

/// `POST /channel/pause` and `POST /channel/unpause`.
pub async fn pause_channel(req: Req) -> Response {
    let unpause = is_unpause(&req);
    v1(channel_route(&req, |t, c| {
        let ch = t.channel(c).ok_or_else(channel_not_found)?;
        if unpause {
            ch.unpause();
        } else {
            ch.pause();
        }
        persist(&req.state.daemon);
        Ok(V1::Empty)
    }))
}
