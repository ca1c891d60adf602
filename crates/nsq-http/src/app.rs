//! Dispatching requests through the route table: the behaviour every NSQ daemon's HTTP
//! server shares around its handlers.
//!
//! [`Router`] collects `(method, pattern, handler)` routes; [`Router::with_state`] freezes
//! them with the daemon's state into an [`App`], whose [`App::handle`] turns one request
//! into one response:
//!
//! * `OPTIONS *` → 200, `Content-Length: 0`, nothing else (Go's server answers it itself);
//! * a path with a bad `%` escape → 400 `400 Bad Request` (text) and the connection closes;
//! * then the [`crate::route`] decision: the handler, a 301/307 redirect with Go's HTML body,
//!   200 for OPTIONS with `Allow`, 405 `METHOD_NOT_ALLOWED` with `Allow`, or 404 `NOT_FOUND`;
//! * a panicking handler → 500 `INTERNAL_ERROR`, logged as
//!   `panic in HTTP handler - <message>`;
//! * handlers, 404, 405 and panics write the INFO access line
//!   `<status> <METHOD> <uri> (<remote>) <elapsed>`; routes added with
//!   [`Router::route_unlogged`], redirects and OPTIONS do not.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use bytes::{Bytes, BytesMut};

use crate::catch_panic::catch_unwind;
use crate::path::{clean_path, decode_path, escape_path, html_escape};
use crate::query::{Query, QueryError};
use crate::response::{v1_error, ApiError};
use crate::route::{Decision, Params, RouteTable};

/// The future a [`Handler`] returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// A route handler: any `Fn(RouteRequest<S>) -> impl Future<Output = Response>` that is
/// `Send + Sync + 'static` implements it.
pub trait Handler<S>: Send + Sync + 'static {
    /// Handles one request. May panic; the dispatcher turns that into a 500.
    fn call(&self, req: RouteRequest<S>) -> HandlerFuture;
}

impl<S, F, Fut> Handler<S> for F
where
    F: Fn(RouteRequest<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    fn call(&self, req: RouteRequest<S>) -> HandlerFuture {
        Box::pin(self(req))
    }
}

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is longer than the limit the handler gave.
    #[error("body exceeds {0} bytes")]
    TooLarge(usize),
    /// The connection failed while reading.
    #[error("failed to read body - {0}")]
    Read(String),
}

/// Everything a handler gets: the daemon state, the captured `:params`, the peer address
/// and the request itself (an axum [`Request`], body not yet read).
pub struct RouteRequest<S> {
    /// The state given to [`Router::with_state`] (cloned per request).
    pub state: S,
    /// Parameters captured from the path.
    pub params: Params,
    /// The peer as Go prints `RemoteAddr`: `ip:port` for TCP, `@` for unix sockets.
    pub remote_addr: String,
    /// The request; handlers may take its body.
    pub request: Request,
}

impl<S> RouteRequest<S> {
    /// The raw query string parsed like Go's `url.ParseQuery`; an error means the reference
    /// would answer 400 `INVALID_REQUEST`.
    pub fn query(&self) -> Result<Query, QueryError> {
        Query::parse(self.request.uri().query().unwrap_or(""))
    }

    /// The value of the path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        self.request.method()
    }

    /// The request URI as received.
    pub fn uri(&self) -> &Uri {
        self.request.uri()
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }

    /// Reads the whole body, failing with [`BodyError::TooLarge`] as soon as more than
    /// `limit` bytes arrive (so a peer cannot make us buffer more than `limit`). The body is
    /// taken: a second call returns an empty buffer.
    pub async fn read_body(&mut self, limit: usize) -> Result<Bytes, BodyError> {
        let mut body = std::mem::take(self.request.body_mut());
        let mut out = BytesMut::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > limit {
                    return Err(BodyError::TooLarge(limit));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out.freeze())
    }
}

struct Route<S> {
    handler: Arc<dyn Handler<S>>,
    logged: bool,
}

/// A builder for an httprouter-compatible route table.
///
/// Invariant: each (method, pattern) appears once; adding a duplicate panics, as does a
/// pattern that does not start with `/` (both are programming errors caught at startup).
pub struct Router<S> {
    table: RouteTable<Route<S>>,
}

impl<S> Default for Router<S> {
    fn default() -> Self {
        Router {
            table: RouteTable::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route whose requests write the INFO access-log line.
    pub fn route(mut self, method: Method, pattern: &str, handler: impl Handler<S>) -> Self {
        self.table.insert(
            method,
            pattern,
            Route {
                handler: Arc::new(handler),
                logged: true,
            },
        );
        self
    }

    /// Adds a route that writes no access-log line (e.g. nsqd's `/pub`); a panic in it is
    /// still logged.
    pub fn route_unlogged(
        mut self,
        method: Method,
        pattern: &str,
        handler: impl Handler<S>,
    ) -> Self {
        self.table.insert(
            method,
            pattern,
            Route {
                handler: Arc::new(handler),
                logged: false,
            },
        );
        self
    }

    /// Freezes the routes together with the state handed to every handler.
    pub fn with_state(self, state: S) -> App<S> {
        App {
            table: self.table,
            state,
        }
    }
}

/// A frozen route table plus state: the complete HTTP behaviour of one daemon.
pub struct App<S> {
    table: RouteTable<Route<S>>,
    state: S,
}

impl<S: Clone + Send + Sync + 'static> App<S> {
    /// The state handlers receive.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// `Allow` value for `OPTIONS`/405 on `path` requested with `method` (see
    /// [`RouteTable::allowed`]).
    pub fn allowed(&self, path: &str, method: &Method) -> String {
        self.table.allowed(path, method)
    }

    /// Answers one request from `remote_addr` (see the module docs for the full contract).
    /// Never panics because of the request or a handler.
    pub async fn handle(&self, req: Request, remote_addr: &str) -> Response {
        let start = Instant::now();
        let method = req.method().clone();
        let uri = req.uri().clone();
        let request_uri = uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string());

        if method == Method::OPTIONS && uri.path() == "*" {
            return empty(StatusCode::OK);
        }
        let path = match decode_path(uri.path()) {
            Ok(p) => p,
            Err(_) => return bad_request(),
        };

        let (resp, logged) = match self.table.decide(&method, &path) {
            Decision::Handle(route, params) => {
                let rr = RouteRequest {
                    state: self.state.clone(),
                    params,
                    remote_addr: remote_addr.to_string(),
                    request: req,
                };
                let handler = route.handler.clone();
                match catch_unwind(move || handler.call(rr)).await {
                    Ok(resp) => (resp, route.logged),
                    Err(msg) => {
                        tracing::error!("panic in HTTP handler - {msg}");
                        (v1_error(&ApiError::internal("INTERNAL_ERROR")), true)
                    }
                }
            }
            Decision::Redirect { path, status } => {
                return redirect(&method, &path, uri.query(), status);
            }
            Decision::Options(allow) => {
                let mut resp = empty(StatusCode::OK);
                set_allow(&mut resp, &allow);
                return resp;
            }
            Decision::MethodNotAllowed(allow) => {
                let mut resp = v1_error(&ApiError::new(405, "METHOD_NOT_ALLOWED"));
                set_allow(&mut resp, &allow);
                (resp, true)
            }
            Decision::NotFound => (v1_error(&ApiError::not_found("NOT_FOUND")), true),
        };
        if logged {
            tracing::info!(
                "{} {} {} ({}) {}",
                resp.status().as_u16(),
                method,
                request_uri,
                remote_addr,
                nsq_cli::duration::format_go_duration(start.elapsed())
            );
        }
        resp
    }

    /// Wraps the app as an axum [`axum::Router`] (one fallback service), for callers that
    /// serve with `axum::serve`. The peer address comes from axum's
    /// `ConnectInfo<SocketAddr>` when the service was made with connect info, else `@`.
    pub fn into_axum(self) -> axum::Router {
        let app = Arc::new(self);
        axum::Router::new().fallback(move |req: Request| {
            let app = app.clone();
            async move {
                let remote = req
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.to_string())
                    .unwrap_or_else(|| "@".to_string());
                app.handle(req, &remote).await
            }
        })
    }
}

fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// Sets `Allow` as the first header, where Go's sorted header output puts it.
fn set_allow(resp: &mut Response, allow: &str) {
    if let Ok(v) = HeaderValue::from_str(allow) {
        let rest = std::mem::take(resp.headers_mut());
        let h = resp.headers_mut();
        h.insert(header::ALLOW, v);
        h.extend(rest);
    }
}

/// Go's answer to an unparsable request target: plain `400 Bad Request`, then close.
fn bad_request() -> Response {
    let mut resp = Response::new(Body::from("400 Bad Request"));
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// The redirect httprouter issues through Go's `http.Redirect`: `Location` is the escaped,
/// cleaned path plus the original query; GET (and HEAD) get an HTML content type, and only
/// GET gets the `<a href="...">Moved Permanently</a>.` body.
fn redirect(method: &Method, path: &str, query: Option<&str>, status: u16) -> Response {
    let mut location = clean_path(&escape_path(path));
    if let Some(q) = query {
        location.push('?');
        location.push_str(q);
    }
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
    let body = if *method == Method::GET {
        format!(
            "<a href=\"{}\">{}</a>.\n\n",
            html_escape(&location),
            code.canonical_reason().unwrap_or("")
        )
    } else {
        String::new()
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = code;
    let h = resp.headers_mut();
    if *method == Method::GET || *method == Method::HEAD {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{v1, V1};

    #[derive(Clone)]
    struct St(&'static str);

    fn app() -> App<St> {
        Router::new()
            .route(Method::GET, "/ping", |_r: RouteRequest<St>| async {
                crate::response::plain_text(Ok("OK".into()))
            })
            .route(Method::GET, "/state/:x", |r: RouteRequest<St>| async move {
                v1(Ok(V1::Text(format!(
                    "{}-{}",
                    r.state.0,
                    r.param("x").unwrap_or("")
                ))))
            })
            .route(Method::POST, "/boom", |_r: RouteRequest<St>| async {
                panic!("kaboom");
                #[allow(unreachable_code)]
                v1(Ok(V1::Empty))
            })
            .route(
                Method::POST,
                "/echo",
                |mut r: RouteRequest<St>| async move {
                    match r.read_body(4).await {
                        Ok(b) => v1(Ok(V1::Bytes(b))),
                        Err(e) => v1(Err(ApiError::bad_request(e.to_string()))),
                    }
                },
            )
            .with_state(St("s"))
    }

    async fn call(app: &App<St>, method: Method, uri: &str, body: &'static str) -> Response {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap();
        app.handle(req, "127.0.0.1:1").await
    }

    async fn body(resp: Response) -> String {
        let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    fn hdr<'a>(r: &'a Response, n: &str) -> Option<&'a str> {
        r.headers().get(n).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn dispatch() {
        let app = app();
        let r = call(&app, Method::GET, "/pi%6Eg", "").await;
        assert_eq!(r.status(), 200);
        assert_eq!(body(r).await, "OK");

        let r = call(&app, Method::GET, "/state/abc", "").await;
        assert_eq!(body(r).await, "s-abc");

        let r = call(&app, Method::GET, "/PING/?a=b&c=%3C", "").await;
        assert_eq!(r.status(), 301);
        assert_eq!(hdr(&r, "location"), Some("/ping?a=b&c=%3C"));
        assert_eq!(hdr(&r, "content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(
            body(r).await,
            "<a href=\"/ping?a=b&amp;c=%3C\">Moved Permanently</a>.\n\n"
        );

        let r = call(&app, Method::POST, "/boom/", "").await;
        assert_eq!(r.status(), 307);
        assert_eq!(hdr(&r, "location"), Some("/boom"));
        assert_eq!(hdr(&r, "content-type"), None);
        assert_eq!(body(r).await, "");

        let r = call(&app, Method::HEAD, "/ping", "").await;
        assert_eq!(r.status(), 405);
        assert_eq!(hdr(&r, "allow"), Some("GET, OPTIONS"));
        assert_eq!(body(r).await, r#"{"message":"METHOD_NOT_ALLOWED"}"#);

        let r = call(&app, Method::OPTIONS, "/ping", "").await;
        assert_eq!(r.status(), 200);
        assert_eq!(hdr(&r, "allow"), Some("GET, OPTIONS"));
        assert_eq!(hdr(&r, "x-nsq-content-type"), None);

        let r = call(&app, Method::OPTIONS, "*", "").await;
        assert_eq!(r.status(), 200);
        assert_eq!(hdr(&r, "allow"), None);

        let r = call(&app, Method::GET, "/nope", "").await;
        assert_eq!(r.status(), 404);
        assert_eq!(body(r).await, r#"{"message":"NOT_FOUND"}"#);

        let r = call(&app, Method::GET, "/pi%zzg", "").await;
        assert_eq!(r.status(), 400);
        assert_eq!(hdr(&r, "connection"), Some("close"));
        assert_eq!(body(r).await, "400 Bad Request");
    }

    #[tokio::test]
    async fn panics_become_500() {
        let app = app();
        let r = call(&app, Method::POST, "/boom", "").await;
        assert_eq!(r.status(), 500);
        assert_eq!(hdr(&r, "x-nsq-content-type"), Some("nsq; version=1.0"));
        assert_eq!(body(r).await, r#"{"message":"INTERNAL_ERROR"}"#);
    }

    #[tokio::test]
    async fn body_limit() {
        let app = app();
        let r = call(&app, Method::POST, "/echo", "abcd").await;
        assert_eq!(body(r).await, "abcd");
        let r = call(&app, Method::POST, "/echo", "abcde").await;
        assert_eq!(r.status(), 400);
    }
}
