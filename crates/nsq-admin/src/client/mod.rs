//! The upstream HTTP client nsqadmin uses for every nsqlookupd, nsqd, webhook and graphite
//! call.
//!
//! Operators see upstream failures verbatim in `/api` warnings (`got response 404 Not Found
//! "{\"message\":\"TOPIC_NOT_FOUND\"}"`, `Get "http://…": dial tcp …: connect: connection
//! refused`), so this client reproduces the texts of NSQ's Go client (`internal/http_api`)
//! and its rules:
//!
//! * each request is bounded: connecting by `--http-client-connect-timeout`, the whole
//!   exchange (connect, headers, body) by `--http-client-request-timeout`. A stopped or
//!   wedged upstream costs at most that long and never hangs a handler;
//! * every request carries `Accept: application/vnd.nsq; version=1.0`; POSTs carry no body;
//! * any status other than 200 is an error `got response <status line> <Go %q body>`;
//! * a 403 over plain http is retried once over https on the `https_port` the body names
//!   (a TLS-only nsqd answers that way).
//!
//! Each request uses a fresh connection: nsqadmin's traffic is a handful of requests per
//! page view, and no pool means no stale keep-alive connection to a restarted nsqd.

pub mod tls;
pub mod url;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper::body::Body as _;
use hyper::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{HeaderMap, Method, Request};
use hyper_util::rt::TokioIo;
use nsq_http::axum::body::Body;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::godecode;
pub use url::{join_host_port, Url, UrlError};

/// The `Accept` header of every NSQ API request.
pub const ACCEPT_V1: &str = "application/vnd.nsq; version=1.0";
/// Largest upstream body we buffer (an nsqd `/stats` with thousands of clients fits easily).
pub const MAX_BODY: usize = 64 << 20;

/// An upstream failure. `Display` is the reference client's text for the same failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The request could not be completed (connect, TLS, timeout, connection reset):
    /// `<Op> "<url>": <cause>` as Go's `url.Error`.
    #[error("{op} {}: {cause}", nsq_protocol::gostr::quote(.url.as_bytes()))]
    Transport {
        /// `Get`, `Post`, ...
        op: String,
        /// The request URL.
        url: String,
        /// What went wrong, in Go's words.
        cause: String,
    },
    /// A non-200 answer: `got response <status line> <%q body>`.
    #[error("got response {status} {}", nsq_protocol::gostr::quote(.body))]
    Status {
        /// `404 Not Found`.
        status: String,
        /// The raw body.
        body: Bytes,
    },
    /// The body could not be read or decoded.
    #[error("{0}")]
    Body(String),
}

/// A raw upstream answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The status line text after the code (`Not Found`).
    pub reason: String,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body (at most [`MAX_BODY`] bytes).
    pub body: Bytes,
}

impl RawResponse {
    /// `<code> <reason>` as Go's `Response.Status`.
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.reason)
    }
}

/// A connected upstream byte stream (plain TCP or TLS).
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The upstream client. Cheap to clone (settings only; no connection state).
#[derive(Clone)]
pub struct Client {
    connect_timeout: Duration,
    request_timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    user_agent: HeaderValue,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

fn go_op(method: &Method) -> String {
    let m = method.as_str();
    let mut out = String::with_capacity(m.len());
    for (i, c) in m.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

const HEADER_TIMEOUT: &str =
    "net/http: timeout awaiting response headers (Client.Timeout exceeded while awaiting headers)";
const BODY_TIMEOUT: &str = "context deadline exceeded (Client.Timeout exceeded while reading body)";

impl Client {
    /// A client with the given timeouts and TLS configuration.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
    ) -> Client {
        Client {
            connect_timeout,
            request_timeout,
            tls,
            user_agent: HeaderValue::from_static("nsqadmin/v1.3.0"),
        }
    }

    /// The whole-request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    async fn connect(&self, url: &Url, deadline: Instant) -> Result<Box<dyn Io>, String> {
        dial(
            url,
            &self.tls,
            self.connect_timeout,
            deadline,
            HEADER_TIMEOUT,
        )
        .await
    }

    /// Sends one request and reads the whole answer, within the client's timeouts.
    /// `headers` are added after `Host`, `User-Agent` and `Accept`.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<RawResponse, UpstreamError> {
        let deadline = Instant::now() + self.request_timeout;
        let transport = |cause: String| UpstreamError::Transport {
            op: go_op(&method),
            url: url.to_string(),
            cause,
        };
        let io = self.connect(url, deadline).await.map_err(transport)?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| transport(e.to_string()))?;
        // The connection task never outlives the request by more than a second.
        tokio::spawn(async move {
            let _ = timeout_at(deadline + Duration::from_secs(1), conn).await;
        });
        let mut req = Request::new(Body::from(body));
        *req.method_mut() = method.clone();
        *req.uri_mut() = url
            .target
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| transport(e.to_string()))?;
        let h = req.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&url.host_header()) {
            h.insert(HOST, v);
        }
        h.insert(USER_AGENT, self.user_agent.clone());
        h.insert(ACCEPT, HeaderValue::from_static(ACCEPT_V1));
        for (k, v) in headers {
            h.insert(k.clone(), v.clone());
        }
        let resp = match timeout_at(deadline, sender.send_request(req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) if e.is_incomplete_message() || e.is_closed() => {
                return Err(transport("EOF".to_string()))
            }
            Ok(Err(e)) => return Err(transport(e.to_string())),
            Err(_) => return Err(transport(HEADER_TIMEOUT.to_string())),
        };
        let status = resp.status();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .and_then(|r| std::str::from_utf8(r.as_bytes()).ok().map(str::to_string))
            .or_else(|| status.canonical_reason().map(str::to_string))
            .unwrap_or_default();
        let (parts, mut incoming) = resp.into_parts();
        let mut buf = BytesMut::new();
        loop {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_frame(cx));
            match timeout_at(deadline, frame).await {
                Err(_) => return Err(UpstreamError::Body(BODY_TIMEOUT.to_string())),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(UpstreamError::Body(e.to_string())),
                Ok(Some(Ok(f))) => {
                    if let Ok(data) = f.into_data() {
                        if buf.len() + data.len() > MAX_BODY {
                            return Err(UpstreamError::Body(format!(
                                "response body exceeds {MAX_BODY} bytes"
                            )));
                        }
                        buf.extend_from_slice(&data);
                    }
                }
            }
        }
        Ok(RawResponse {
            status: status.as_u16(),
            reason,
            headers: parts.headers,
            body: buf.freeze(),
        })
    }

    /// An NSQ "V1" request: any non-200 is an error, and a 403 over http is retried over
    /// https on the port the body names. Returns the 200 body.
    pub async fn v1(&self, method: Method, endpoint: &str) -> Result<Bytes, UpstreamError> {
        let mut url = Url::parse(endpoint).map_err(|e| UpstreamError::Transport {
            op: go_op(&method),
            url: endpoint.to_string(),
            cause: e.to_string(),
        })?;
        loop {
            let resp = self.send(method.clone(), &url, &[], Bytes::new()).await?;
            if resp.status == 200 {
                return Ok(resp.body);
            }
            if resp.status == 403 && url.scheme == "http" {
                url = https_retry(&url, &resp.body)?;
                continue;
            }
            return Err(UpstreamError::Status {
                status: resp.status_line(),
                body: resp.body,
            });
        }
    }

    /// `GET` an NSQ JSON endpoint and decode the body into `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, endpoint: &str) -> Result<T, UpstreamError> {
        let body = self.v1(Method::GET, endpoint).await?;
        decode_json(&body)
    }

    /// `POST` an NSQ endpoint (no body); only success matters.
    pub async fn post(&self, endpoint: &str) -> Result<(), UpstreamError> {
        self.v1(Method::POST, endpoint).await.map(|_| ())
    }

    /// `POST` a JSON document (the admin-action webhook). The status is returned, not
    /// judged.
    pub async fn post_json(&self, endpoint: &str, json: Bytes) -> Result<u16, UpstreamError> {
        let url = Url::parse(endpoint).map_err(|e| UpstreamError::Transport {
            op: "Post".to_string(),
            url: endpoint.to_string(),
            cause: e.to_string(),
        })?;
        let ct = [(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        self.send(Method::POST, &url, &ct, json)
            .await
            .map(|r| r.status)
    }
}

/// Decodes an upstream JSON body with Go's syntax errors, then into `T`.
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, UpstreamError> {
    godecode::scan(body, godecode::Mode::Document).map_err(UpstreamError::Body)?;
    serde_json::from_slice(body).map_err(|e| UpstreamError::Body(format!("json: {e}")))
}

/// The https URL for a 403 answer `{"message":"TLS_REQUIRED","https_port":N}`.
fn https_retry(url: &Url, body: &[u8]) -> Result<Url, UpstreamError> {
    #[derive(serde::Deserialize)]
    struct Forbidden {
        #[serde(default)]
        https_port: i64,
    }
    let f: Forbidden = decode_json(body)?;
    let port = u16::try_from(f.https_port).map_err(|_| UpstreamError::Transport {
        op: "Get".to_string(),
        url: url.to_string(),
        cause: format!("dial tcp: address {}: invalid port", f.https_port),
    })?;
    Ok(url.with_scheme_port("https", port))
}

/// Opens a connection to `url`'s host (TLS for `https`) with Go's `net/http` error texts:
/// the dial must finish within `connect_timeout` and before `deadline`; `timeout_text` is
/// the error when `deadline` (the whole request's) passes first, since nsqadmin's and the
/// utilities' Go clients word that differently. Shared by every upstream HTTP client.
pub async fn dial(
    url: &Url,
    tls: &Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
    deadline: Instant,
    timeout_text: &str,
) -> Result<Box<dyn Io>, String> {
    let connect_deadline = deadline.min(Instant::now() + connect_timeout);
    let dial = async {
        let addrs: Vec<std::net::SocketAddr> =
            match tokio::net::lookup_host((url.host.as_str(), url.port)).await {
                Ok(a) => a.collect(),
                Err(_) => {
                    return Err(format!("dial tcp: lookup {}: no such host", url.host));
                }
            };
        let mut last = format!("dial tcp: lookup {}: no such host", url.host);
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => {
                    last = format!(
                        "dial tcp {addr}: connect: {}",
                        nsq_http::listen::go_errno_text(&e)
                    );
                }
            }
        }
        Err(last)
    };
    let tcp = match timeout_at(connect_deadline, dial).await {
        Ok(r) => r?,
        Err(_) if connect_deadline < deadline => {
            return Err(format!("dial tcp {}: i/o timeout", url.host_port()));
        }
        Err(_) => return Err(timeout_text.to_string()),
    };
    if url.scheme != "https" {
        return Ok(Box::new(tcp));
    }
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|e| format!("tls: {e}"))?;
    let connector = tokio_rustls::TlsConnector::from(tls.clone());
    match timeout_at(deadline, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(Box::new(s)),
        Ok(Err(e)) => Err(format!("tls: {e}")),
        Err(_) => Err(timeout_text.to_string()),
    }
}

#[cfg(test)]
mod tests;
