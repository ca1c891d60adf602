//! HTTP plumbing shared by every NSQ daemon in this workspace (nsqlookupd, nsqd, nsqadmin).
//!
//! The Go daemons all serve their APIs through the same stack: julienschmidt/httprouter
//! v1.3.0 for routing, NSQ's `internal/http_api` "V1" response envelope, Go's
//! `url.ParseQuery` for arguments and `net/http` for the wire. Clients (go-nsq, pynsq,
//! nsqadmin, scripts) depend on that stack's exact answers, so this crate reproduces it
//! once for everyone.
//!
//! # Using it
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::http::Method;
//! use nsq_http::{bind_tcp, plain_text, serve, v1, ApiError, Listener, RouteRequest, Router, V1};
//!
//! #[derive(Clone)]
//! struct State;
//!
//! async fn ping(_: RouteRequest<State>) -> axum::response::Response {
//!     plain_text(Ok("OK".to_string()))
//! }
//!
//! async fn lookup(req: RouteRequest<State>) -> axum::response::Response {
//!     v1((|| {
//!         let q = req.query().map_err(|_| ApiError::bad_request("INVALID_REQUEST"))?;
//!         let topic = q.get("topic").ok_or_else(|| ApiError::bad_request("MISSING_ARG_TOPIC"))?;
//!         V1::json(&serde_json::json!({ "topic": topic }))
//!     })())
//! }
//!
//! # async fn run() -> Result<(), nsq_http::ListenError> {
//! let app = Router::new()
//!     .route(Method::GET, "/ping", ping)
//!     .route(Method::GET, "/lookup", lookup)
//!     .with_state(State);
//! let listener = Listener::Tcp(bind_tcp("127.0.0.1:4161").await?);
//! serve(listener, Arc::new(app), "HTTP", std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! # What you get
//!
//! * **Routing** ([`Router`], [`App`], [`route`]): exact paths with `:param` segments;
//!   unknown path → 404 `{"message":"NOT_FOUND"}`; a known path with another method → 405
//!   `{"message":"METHOD_NOT_ALLOWED"}` plus `Allow: <methods sorted>, OPTIONS`;
//!   `OPTIONS <path>` → 200, empty, `Allow`; trailing-slash or letter-case mismatch (also
//!   `//x`, `/./x`) → 301 for GET with Go's `<a href="/x">Moved Permanently</a>.` body, 307
//!   otherwise; HEAD is not special (→ 405); a handler panic → 500 `INTERNAL_ERROR`.
//! * **Responses** ([`response`]): the V1 envelope ([`v1`], [`v1_ok`], [`v1_error`], [`V1`],
//!   [`ApiError`]) with `X-NSQ-Content-Type: nsq; version=1.0`, and [`plain_text`].
//! * **JSON** ([`gojson`]): byte-identical to Go's `encoding/json` for any `Serialize`.
//! * **Arguments** ([`query`]): [`Query::parse`] with Go's rules and [`parse_bool`].
//! * **Listening** ([`listen`]): Go `host:port` rules, dual-stack wildcard, unix sockets for
//!   non-`host:port` addresses, Go-worded errors.
//! * **Serving** ([`serve()`], [`serve_connection`]): HTTP/1.1 with Go's canonical header
//!   spelling, no timeouts, `HTTP: listening on` / `HTTP: closing` log lines.
//! * **Access log**: one INFO line `<status> <METHOD> <uri> (<remote>) <elapsed>` per routed
//!   request, through `tracing` (rendered in NSQ's format by `nsq_cli::logging`).

#![warn(missing_docs)]

pub mod app;
pub mod catch_panic;
pub mod gojson;
pub mod listen;
pub mod path;
pub mod query;
pub mod response;
pub mod route;
pub mod serve;
pub mod sniff;

pub use app::{App, BodyError, Handler, HandlerFuture, RouteRequest, Router};
pub use listen::{bind, bind_tcp, bind_unix, Conn, ListenAddr, ListenError, Listener};
pub use query::{parse_bool, Query, QueryError};
pub use response::{
    plain_text, raw, v1, v1_error, v1_ok, ApiError, JSON_CONTENT_TYPE, NSQ_CONTENT_TYPE,
    NSQ_CONTENT_TYPE_V1, V1,
};
pub use route::Params;
pub use serve::{serve, serve_connection};

/// Re-exported so daemons name the same types the router uses.
pub use axum;
