//! The outbound HTTP client of `nsq_to_http`: Go's `http.Client` with NSQ's deadline
//! transport, as far as a destination server or an operator can tell.
//!
//! * connecting is bounded by `--http-client-connect-timeout`, the whole request
//!   (headers and body) by `--http-client-request-timeout`;
//! * connections are kept alive and reused, at most two idle per host (Go's default
//!   `MaxIdleConnsPerHost`), idle ones dropped after 90 s;
//! * requests carry only what Go sends: `Host`, `User-Agent`, `Content-Length` and
//!   `Content-Type` for POST, the custom headers, and `Accept-Encoding: gzip`;
//! * failures read like Go's `*url.Error`: `Post "http://h:1/x": dial tcp 127.0.0.1:1:
//!   connect: connection refused`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Body as _;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, ACCEPT_ENCODING, CONTENT_LENGTH, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use nsq_admin::client::{Io, Url};
use nsq_http::axum::body::Body;
use tokio::time::{timeout_at, Instant as TokioInstant};

const MAX_IDLE_PER_HOST: usize = 2;
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const MAX_BODY: usize = 64 << 20;

/// A failed request; `Display` is Go's `*url.Error` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op} {}: {cause}", nsq_protocol::gostr::quote(.url.as_bytes()))]
pub struct HttpError {
    /// `Get`, `Post`.
    pub op: String,
    /// The request URL.
    pub url: String,
    /// What went wrong, in Go's words.
    pub cause: String,
}

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// The client. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct HttpClient {
    connect_timeout: Duration,
    request_timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    pool: Arc<Mutex<HashMap<String, Vec<Idle>>>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

const HEADER_TIMEOUT: &str =
    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
const BODY_TIMEOUT: &str = "context deadline exceeded (Client.Timeout exceeded while reading body)";

/// Go's `textproto.CanonicalMIMEHeaderKey` (`x-custom-id` → `X-Custom-Id`).
pub fn canonical_header_key(k: &str) -> String {
    let mut upper = true;
    k.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

fn go_op(m: &Method) -> &'static str {
    match *m {
        Method::GET => "Get",
        Method::POST => "Post",
        Method::PUT => "Put",
        Method::DELETE => "Delete",
        Method::HEAD => "Head",
        _ => "Do",
    }
}

impl HttpClient {
    /// A client with the given timeouts and TLS settings for `https://` addresses.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
    ) -> HttpClient {
        HttpClient {
            connect_timeout,
            request_timeout,
            tls,
            pool: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn take_idle(&self, key: &str) -> Option<SendRequest<Body>> {
        let mut pool = match self.pool.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        let list = pool.get_mut(key)?;
        while let Some(idle) = list.pop() {
            if idle.since.elapsed() < IDLE_TIMEOUT && idle.sender.is_ready() {
                return Some(idle.sender);
            }
        }
        None
    }

    fn put_idle(&self, key: String, sender: SendRequest<Body>) {
        let mut pool = match self.pool.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        let list = pool.entry(key).or_default();
        list.retain(|i| i.since.elapsed() < IDLE_TIMEOUT && !i.sender.is_closed());
        if list.len() < MAX_IDLE_PER_HOST {
            list.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }

    async fn connect(&self, url: &Url, deadline: TokioInstant) -> Result<Box<dyn Io>, String> {
        nsq_admin::client::dial(
            url,
            &self.tls,
            self.connect_timeout,
            deadline,
            HEADER_TIMEOUT,
        )
        .await
    }

    /// Sends one request, reads (and discards) the whole answer and returns its status.
    /// `headers` are set after `User-Agent`/`Content-Type`, replacing same-named ones.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<u16, HttpError> {
        let op = go_op(&method);
        let fail = |cause: String| HttpError {
            op: op.to_string(),
            url: url.to_string(),
            cause,
        };
        let parsed = Url::parse(url).map_err(|e| fail(e.to_string()))?;
        let deadline = TokioInstant::now() + self.request_timeout;
        let key = format!("{}://{}", parsed.scheme, parsed.host_port());
        let mut sender = match self.take_idle(&key) {
            Some(s) => s,
            None => {
                let io = self.connect(&parsed, deadline).await.map_err(fail)?;
                // Go writes canonical (Title-Case) header names.
                let (sender, conn) = hyper::client::conn::http1::Builder::new()
                    .title_case_headers(true)
                    .handshake(TokioIo::new(io))
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                sender
            }
        };
        let mut req = Request::new(Body::from(body));
        *req.method_mut() = method;
        *req.uri_mut() = parsed
            .target
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| fail(e.to_string()))?;
        let has_body = matches!(*req.method(), Method::POST | Method::PUT);
        let body_len = req.body().size_hint().exact().unwrap_or(0);
        let h = req.headers_mut();
        // Go's wire order: Host, User-Agent, Content-Length, the other headers sorted by
        // canonical name, then the transport's Accept-Encoding.
        if let Ok(v) = HeaderValue::from_str(&parsed.host_header()) {
            h.insert(HOST, v);
        }
        let mut rest: Vec<&(HeaderName, HeaderValue)> = Vec::new();
        for kv in headers {
            if kv.0 == USER_AGENT {
                h.insert(USER_AGENT, kv.1.clone());
            } else {
                rest.push(kv);
            }
        }
        if has_body {
            h.insert(CONTENT_LENGTH, HeaderValue::from(body_len));
        }
        rest.sort_by_key(|(k, _)| canonical_header_key(k.as_str()));
        for (k, v) in rest {
            h.insert(k.clone(), v.clone());
        }
        if !h.contains_key(ACCEPT_ENCODING) {
            h.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let resp = match timeout_at(deadline, sender.send_request(req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) if e.is_incomplete_message() || e.is_closed() => {
                return Err(fail("EOF".to_string()))
            }
            Ok(Err(e)) => return Err(fail(e.to_string())),
            Err(_) => return Err(fail(HEADER_TIMEOUT.to_string())),
        };
        let status = resp.status().as_u16();
        let mut incoming = resp.into_body();
        let mut read = 0usize;
        loop {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_frame(cx));
            match timeout_at(deadline, frame).await {
                Err(_) => return Err(fail(BODY_TIMEOUT.to_string())),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(fail(e.to_string())),
                Ok(Some(Ok(f))) => {
                    if let Ok(d) = f.into_data() {
                        read += d.len();
                        if read > MAX_BODY {
                            // Not worth keeping the connection; the status is known.
                            return Ok(status);
                        }
                    }
                }
            }
        }
        self.put_idle(key, sender);
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn client() -> HttpClient {
        let tls = nsq_admin::client::tls::client_config(&Default::default()).expect("tls");
        HttpClient::new(Duration::from_secs(2), Duration::from_secs(2), tls)
    }

    #[tokio::test]
    async fn refused_has_go_text() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        drop(l);
        let url = format!("http://{addr}/x");
        let e = client()
            .request(Method::POST, &url, &[], Bytes::new())
            .await
            .expect_err("refused");
        assert_eq!(
            e.to_string(),
            format!("Post \"{url}\": dial tcp {addr}: connect: connection refused")
        );
    }

    #[tokio::test]
    async fn reuses_connections() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.expect("accept");
            let mut seen = Vec::new();
            let mut buf = vec![0u8; 4096];
            for _ in 0..2 {
                let n = s.read(&mut buf).await.expect("read");
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .expect("write");
            }
            seen
        });
        let c = client();
        let url = format!("http://{addr}/p?a=1");
        for _ in 0..2 {
            let status = c
                .request(Method::GET, &url, &[], Bytes::new())
                .await
                .expect("request");
            assert_eq!(status, 204);
        }
        let seen = server.await.expect("server");
        assert!(
            seen[0].starts_with("GET /p?a=1 HTTP/1.1\r\n"),
            "{}",
            seen[0]
        );
        assert!(
            seen[1].contains("\r\nAccept-Encoding: gzip\r\n"),
            "{}",
            seen[1]
        );
    }
}
