//! The response shapes of NSQ's HTTP APIs.
//!
//! Every JSON API route of nsqd, nsqlookupd and nsqadmin answers in the "V1" envelope, and
//! go-nsq refuses to read `/lookup` without its marker header, so the envelope is built in
//! exactly one place:
//!
//! * every V1 response, success or error, carries `X-NSQ-Content-Type: nsq; version=1.0`;
//! * success with nothing → 200, empty body, `Content-Length: 0`, **no** `Content-Type`;
//! * success with text or bytes → 200, the raw body, `Content-Type` sniffed as Go does;
//! * success with a value → 200, compact Go-identical JSON, `application/json; charset=utf-8`;
//! * error → its status, `{"message":"<TEXT>"}`, `application/json; charset=utf-8`.
//!
//! "PlainText" routes (`/ping`) write raw text for success and error alike, without the
//! marker header.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;

use crate::gojson;
use crate::sniff::detect_content_type;

/// The marker header name, lower-case as HTTP/1 servers store it (the wire spelling is
/// `X-Nsq-Content-Type` when title-casing is on, as the Go reference writes it).
pub const NSQ_CONTENT_TYPE: &str = "x-nsq-content-type";
/// The marker header value.
pub const NSQ_CONTENT_TYPE_V1: &str = "nsq; version=1.0";
/// `Content-Type` of every JSON body.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// An API error: an HTTP status and the text that goes into `{"message":...}`.
///
/// Invariant: `status` is a valid HTTP status code (100..=999); constructors clamp anything
/// else to 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The message text, usually an upper-case code such as `MISSING_ARG_TOPIC`.
    pub message: String,
}

impl ApiError {
    /// An error with any status; invalid statuses become 500.
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        let status = if (100..=999).contains(&status) {
            status
        } else {
            500
        };
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }

    /// 500 with `message`.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, message)
    }
}

/// A successful V1 payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1 {
    /// No body (`Content-Length: 0`, no `Content-Type`).
    Empty,
    /// Raw text; an empty string behaves like [`V1::Empty`].
    Text(String),
    /// Raw bytes; an empty buffer behaves like [`V1::Empty`].
    Bytes(Bytes),
    /// An already-encoded JSON document.
    Json(Bytes),
}

impl V1 {
    /// Encodes `value` as Go-identical JSON. A serialization failure becomes a 500 error
    /// carrying serde's message, as Go reports its marshal error.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<V1, ApiError> {
        gojson::to_vec(value)
            .map(|v| V1::Json(Bytes::from(v)))
            .map_err(|e| ApiError::internal(e.to_string()))
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn with_body(status: u16, content_type: Option<&'static str>, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status_code(status);
    if let Some(ct) = content_type {
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    resp
}

fn mark_v1(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        NSQ_CONTENT_TYPE,
        HeaderValue::from_static(NSQ_CONTENT_TYPE_V1),
    );
    resp
}

/// The `{"message":"<TEXT>"}` body with Go's JSON escaping.
pub fn message_json(message: &str) -> Bytes {
    #[derive(Serialize)]
    struct Msg<'a> {
        message: &'a str,
    }
    // Serializing a struct of one string cannot fail.
    Bytes::from(gojson::to_vec(&Msg { message }).unwrap_or_default())
}

/// A V1 error response: `status`, JSON `{"message":...}`, marker header.
pub fn v1_error(err: &ApiError) -> Response {
    mark_v1(with_body(
        err.status,
        Some(JSON_CONTENT_TYPE),
        message_json(&err.message),
    ))
}

/// A V1 success response for `payload` (see the module docs for each shape).
pub fn v1_ok(payload: V1) -> Response {
    let resp = match payload {
        V1::Empty => with_body(200, None, Bytes::new()),
        V1::Text(s) => raw(200, Bytes::from(s)),
        V1::Bytes(b) => raw(200, b),
        V1::Json(b) => with_body(200, Some(JSON_CONTENT_TYPE), b),
    };
    mark_v1(resp)
}

/// A V1 response for a handler result.
pub fn v1(result: Result<V1, ApiError>) -> Response {
    match result {
        Ok(p) => v1_ok(p),
        Err(e) => v1_error(&e),
    }
}

/// A raw body with a sniffed `Content-Type` (none when empty), no marker header.
pub fn raw(status: u16, body: Bytes) -> Response {
    let ct = (!body.is_empty()).then(|| detect_content_type(&body));
    with_body(status, ct, body)
}

/// A "PlainText" route response: the text (or the error's message) as a raw body with the
/// error's status, and no marker header.
pub fn plain_text(result: Result<String, ApiError>) -> Response {
    match result {
        Ok(s) => raw(200, Bytes::from(s)),
        Err(e) => raw(e.status, Bytes::from(e.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn envelope_headers() {
        let r = v1_ok(V1::Empty);
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, NSQ_CONTENT_TYPE), Some(NSQ_CONTENT_TYPE_V1));
        assert_eq!(header(&r, "content-type"), None);

        let r = v1_ok(V1::Text("OK".into()));
        assert_eq!(
            header(&r, "content-type"),
            Some("text/plain; charset=utf-8")
        );

        let r = v1(V1::json(&serde_json::json!({"b": 1, "a": "<"})));
        assert_eq!(header(&r, "content-type"), Some(JSON_CONTENT_TYPE));

        let r = v1_error(&ApiError::bad_request("MISSING_ARG_TOPIC"));
        assert_eq!(r.status(), 400);
        assert_eq!(header(&r, "content-type"), Some(JSON_CONTENT_TYPE));
        assert_eq!(header(&r, NSQ_CONTENT_TYPE), Some(NSQ_CONTENT_TYPE_V1));

        let r = plain_text(Ok("OK".into()));
        assert_eq!(header(&r, NSQ_CONTENT_TYPE), None);
        assert_eq!(ApiError::new(42, "x").status, 500);
    }

    #[test]
    fn message_body() {
        assert_eq!(
            &message_json("NOT_FOUND")[..],
            br#"{"message":"NOT_FOUND"}"#
        );
        assert_eq!(&message_json("a<b")[..], br#"{"message":"a\u003cb"}"#);
    }
}
