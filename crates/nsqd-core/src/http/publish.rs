//! `POST /pub` and `POST /mpub` (spec §4.2): publishing over HTTP through the same
//! all-or-nothing [`crate::topic::Topic::publish`] as TCP `PUB`/`MPUB`.
//!
//! The checks run in the reference's order, with its status codes:
//!
//! * `/pub`: `Content-Length` over `--max-msg-size` → 413 `MSG_TOO_BIG`; body (at most
//!   max + 1 bytes read) too big → 413 `MSG_TOO_BIG`, empty → 400 `MSG_EMPTY`; then the
//!   topic (`INVALID_REQUEST`, `MISSING_ARG_TOPIC`, `INVALID_TOPIC`), get-or-create, then
//!   `defer` (`INVALID_DEFER` unless an integer in `0..=--max-req-timeout` ms).
//! * `/mpub`: `Content-Length` over `--max-body-size` → 413 `BODY_TOO_BIG`; the topic;
//!   `binary` (`true`/`1` binary, `false`/`0` or absent text, anything else binary); then
//!   the body: text mode splits on `\n` (a `\r` is kept), skips empty lines, 413
//!   `BODY_TOO_BIG` when more than max-body-size bytes arrive, 413 `MSG_TOO_BIG` for a line
//!   over max-msg-size, checked line by line in arrival order; binary mode is the TCP MPUB
//!   body without its size field, errors are 413 `BAD_BODY` / `BAD_MESSAGE`.
//! * A failed put (topic exiting, storage full or failing) → 503 `EXITING`; success → `OK`.
//!
//! Deviation: in binary mode a body (necessarily chunked, since `Content-Length` is checked
//! first) that goes on past `--max-body-size` bytes is refused with 413 `BODY_TOO_BIG`;
//! the reference would keep reading up to count × max-msg-size bytes.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use nsq_http::axum::http::header::CONTENT_LENGTH;
use nsq_http::axum::response::Response;
use nsq_http::{parse_bool, v1, ApiError, Query, V1};
use nsq_protocol::names::is_valid_topic_name;

use super::body::{BodyStream, DRAIN_LIMIT};
use super::{query, ApiResult, Req};
use crate::topic::Topic;

/// `POST /pub?topic=<t>[&defer=<ms>]`.
pub async fn publish(mut req: Req) -> Response {
    let mut body = BodyStream::new(std::mem::take(req.request.body_mut()));
    let result = publish_one(req, &mut body).await;
    body.drain(DRAIN_LIMIT).await;
    v1(result)
}

/// `POST /mpub?topic=<t>[&binary=<bool>]`.
pub async fn multi_publish(mut req: Req) -> Response {
    let mut body = BodyStream::new(std::mem::take(req.request.body_mut()));
    let result = publish_many(req, &mut body).await;
    body.drain(DRAIN_LIMIT).await;
    v1(result)
}

fn too_big(code: &str) -> ApiError {
    ApiError::new(413, code)
}

fn exiting() -> ApiError {
    ApiError::new(503, "EXITING")
}

/// `Content-Length` when present and numeric (Go's `ContentLength`, -1 when unknown).
fn content_length(req: &Req) -> i64 {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(-1)
}

/// The topic argument, validated and got-or-created (the reference's `getTopicFromQuery`).
fn topic_from_query(req: &Req) -> Result<(Query, Arc<Topic>), ApiError> {
    let q = query(req)?;
    let name = q
        .get("topic")
        .ok_or_else(|| ApiError::bad_request("MISSING_ARG_TOPIC"))?;
    if !is_valid_topic_name(name) {
        return Err(ApiError::bad_request("INVALID_TOPIC"));
    }
    let topic = req
        .state
        .daemon
        .get_or_create_topic(name)
        .ok_or_else(exiting)?;
    Ok((q, topic))
}

async fn publish_one(req: Req, body: &mut BodyStream) -> ApiResult {
    let opts = Arc::clone(&req.state.daemon.opts);
    let max = opts.max_msg_size;
    if content_length(&req) > max || max < 0 {
        return Err(too_big("MSG_TOO_BIG"));
    }
    let body = body
        .up_to(usize::try_from(max).unwrap_or(usize::MAX))
        .await
        .map_err(|_| ApiError::internal("INTERNAL_ERROR"))?
        .ok_or_else(|| too_big("MSG_TOO_BIG"))?;
    if body.is_empty() {
        return Err(ApiError::bad_request("MSG_EMPTY"));
    }
    let (q, topic) = topic_from_query(&req)?;
    let defer_ms = match q.get("defer") {
        None => 0,
        Some(v) => {
            let ms = nsq_cli::strconv::parse_int(v, 10)
                .map_err(|_| ApiError::bad_request("INVALID_DEFER"))?;
            let max_ms = i64::try_from(opts.max_req_timeout.as_millis()).unwrap_or(i64::MAX);
            if ms < 0 || ms > max_ms {
                return Err(ApiError::bad_request("INVALID_DEFER"));
            }
            ms as u64
        }
    };
    topic.publish(vec![body], defer_ms).map_err(|_| exiting())?;
    Ok(V1::Text("OK".into()))
}

async fn publish_many(req: Req, body: &mut BodyStream) -> ApiResult {
    let opts = Arc::clone(&req.state.daemon.opts);
    if content_length(&req) > opts.max_body_size {
        return Err(too_big("BODY_TOO_BIG"));
    }
    let (q, topic) = topic_from_query(&req)?;
    let binary = match q.get("binary") {
        None => false,
        Some(v) => parse_bool(v).unwrap_or_else(|| {
            tracing::warn!("deprecated value '{v}' used for /mpub binary param");
            true
        }),
    };
    let max_msg = u64::try_from(opts.max_msg_size).unwrap_or(0);
    let max_body = u64::try_from(opts.max_body_size).unwrap_or(0);
    let msgs = if binary {
        read_binary(body, max_msg, max_body).await?
    } else {
        read_lines(body, max_msg, max_body).await?
    };
    if !msgs.is_empty() {
        topic.publish(msgs, 0).map_err(|_| exiting())?;
    }
    Ok(V1::Text("OK".into()))
}

/// Text mode: one message per `\n`-terminated line, as the reference reads it through a
/// `max_body + 1` byte limit.
async fn read_lines(
    body: &mut BodyStream,
    max_msg: u64,
    max_body: u64,
) -> Result<Vec<Bytes>, ApiError> {
    let read_max = max_body.saturating_add(1);
    let mut msgs = Vec::new();
    let mut line = BytesMut::new();
    let mut total: u64 = 0;
    let mut remaining = read_max;
    // One "block" is a line with its `\n`, or the unterminated rest at the end.
    let mut finish_block = |block: &[u8], total: &mut u64| -> Result<(), ApiError> {
        *total += block.len() as u64;
        if *total == read_max {
            return Err(too_big("BODY_TOO_BIG"));
        }
        let msg = block.strip_suffix(b"\n").unwrap_or(block);
        if msg.is_empty() {
            return Ok(());
        }
        if msg.len() as u64 > max_msg {
            return Err(too_big("MSG_TOO_BIG"));
        }
        msgs.push(Bytes::copy_from_slice(msg));
        Ok(())
    };
    loop {
        let chunk = if remaining == 0 {
            None
        } else {
            body.chunk()
                .await
                .map_err(|_| ApiError::internal("INTERNAL_ERROR"))?
        };
        let Some(mut chunk) = chunk else {
            finish_block(&line, &mut total)?;
            break;
        };
        if chunk.len() as u64 > remaining {
            chunk.truncate(remaining as usize);
        }
        remaining -= chunk.len() as u64;
        let mut rest = &chunk[..];
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&rest[..=pos]);
            finish_block(&line, &mut total)?;
            line.clear();
            rest = &rest[pos + 1..];
        }
        line.extend_from_slice(rest);
    }
    Ok(msgs)
}

/// Binary mode: `[count][size][bytes]...`, validated like TCP MPUB.
async fn read_binary(
    body: &mut BodyStream,
    max_msg: u64,
    max_body: u64,
) -> Result<Vec<Bytes>, ApiError> {
    let bad_body = || too_big("BAD_BODY");
    let bad_message = || too_big("BAD_MESSAGE");
    let io = |_| bad_message();
    let count = body
        .read_i32()
        .await
        .map_err(|_| bad_body())?
        .ok_or_else(bad_body)?;
    let max_count = (max_body.saturating_sub(4) / 5) as i64;
    if count <= 0 || i64::from(count) > max_count {
        return Err(bad_body());
    }
    let mut msgs = Vec::with_capacity((count as usize).min(1024));
    for _ in 0..count {
        let size = body.read_i32().await.map_err(io)?.ok_or_else(bad_message)?;
        if size <= 0 || size as u64 > max_msg {
            return Err(bad_message());
        }
        if body.consumed() + size as u64 > max_body {
            return Err(too_big("BODY_TOO_BIG"));
        }
        let msg = body
            .exact(size as usize)
            .await
            .map_err(io)?
            .ok_or_else(bad_message)?;
        msgs.push(msg);
    }
    Ok(msgs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsq_http::axum::body::Body;

    async fn lines(body: &'static [u8], max_msg: u64, max_body: u64) -> Result<Vec<Bytes>, u16> {
        let mut b = BodyStream::new(Body::from(body));
        read_lines(&mut b, max_msg, max_body)
            .await
            .map_err(|e| e.status)
    }

    #[tokio::test]
    async fn text_mode_rules() {
        let got = lines(b"a\r\n\nb\n\nc", 10, 100).await.expect("ok");
        assert_eq!(got, vec![&b"a\r"[..], b"b", b"c"]);
        assert_eq!(lines(b"\n\n", 10, 100).await, Ok(vec![]));
        assert_eq!(lines(b"", 10, 100).await, Ok(vec![]));
        // A line over max-msg-size.
        assert_eq!(lines(b"abc\n", 2, 100).await, Err(413));
        // Exactly max-body-size bytes is fine, one more is not.
        assert_eq!(lines(b"abcd", 10, 4).await.map(|v| v.len()), Ok(1));
        assert_eq!(lines(b"abcde", 10, 4).await, Err(413));
    }

    #[tokio::test]
    async fn text_mode_error_order() {
        // The too-long first line is reported before the body limit is reached.
        let mut b = BodyStream::new(Body::from(&b"abc\nxxxxxxxxxxxxxxxxxxxx"[..]));
        let e = read_lines(&mut b, 2, 10).await.expect_err("too big");
        assert_eq!(e.message, "MSG_TOO_BIG");
        let mut b = BodyStream::new(Body::from(&b"a\nxxxxxxxxxxxxxxxxxxxx"[..]));
        let e = read_lines(&mut b, 2, 10).await.expect_err("too big");
        assert_eq!(e.message, "BODY_TOO_BIG");
    }

    fn binary_body(msgs: &[&[u8]]) -> Vec<u8> {
        let mut v = (msgs.len() as i32).to_be_bytes().to_vec();
        for m in msgs {
            v.extend_from_slice(&(m.len() as i32).to_be_bytes());
            v.extend_from_slice(m);
        }
        v
    }

    async fn binary(body: Vec<u8>, max_msg: u64, max_body: u64) -> Result<usize, String> {
        let mut b = BodyStream::new(Body::from(body));
        read_binary(&mut b, max_msg, max_body)
            .await
            .map(|v| v.len())
            .map_err(|e| e.message)
    }

    #[tokio::test]
    async fn binary_mode_rules() {
        assert_eq!(binary(binary_body(&[b"ab", b"c"]), 10, 100).await, Ok(2));
        let mut trailing = binary_body(&[b"ab"]);
        trailing.extend_from_slice(b"junk");
        assert_eq!(binary(trailing, 10, 100).await, Ok(1));
        assert_eq!(binary(vec![0, 0], 10, 100).await, Err("BAD_BODY".into()));
        assert_eq!(
            binary(binary_body(&[]), 10, 100).await,
            Err("BAD_BODY".into())
        );
        assert_eq!(
            binary(binary_body(&[b"abc"]), 2, 100).await,
            Err("BAD_MESSAGE".into())
        );
        assert_eq!(
            binary(binary_body(&[b""]), 2, 100).await,
            Err("BAD_MESSAGE".into())
        );
        let mut short = binary_body(&[b"abc"]);
        short.pop();
        assert_eq!(binary(short, 10, 100).await, Err("BAD_MESSAGE".into()));
        // More messages than (max_body - 4) / 5.
        assert_eq!(
            binary(binary_body(&[b"a", b"b", b"c"]), 10, 14).await,
            Err("BAD_BODY".into())
        );
        assert_eq!(
            binary(binary_body(&[b"aaaa", b"bbbb"]), 10, 16).await,
            Err("BODY_TOO_BIG".into())
        );
    }
}
