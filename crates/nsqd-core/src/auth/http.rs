//! The HTTP(S) client the auth queries go through, with the reference's `http_api` client
//! semantics: one connection per request, `--http-client-connect-timeout` for the dial,
//! `--http-client-request-timeout` for the whole exchange, `Accept: application/vnd.nsq;
//! version=1.0`, and a 403 on a non-https endpoint retried once over https on the
//! `https_port` named in the body (nsqd's own `TLS_REQUIRED` answer).
//!
//! Every request is driven inside the caller's task (no spawned connection task), so a
//! timeout or a dropped caller leaves nothing behind.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Body;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Largest auth server answer read.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A request failed (the text is only logged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(pub String);

fn err(e: impl std::fmt::Display) -> HttpError {
    HttpError(e.to_string())
}

/// GET or POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET <endpoint>?<query>`.
    Get,
    /// `POST <endpoint>` with a JSON body.
    Post,
}

/// Connection settings shared by every query.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// Roots and versions for https endpoints.
    pub tls: Arc<ClientConfig>,
    /// Dial timeout.
    pub connect_timeout: Duration,
    /// Whole-exchange timeout (one attempt).
    pub request_timeout: Duration,
}

impl HttpClient {
    /// Performs one V1 request: returns the body of a 200 answer; any other status is an
    /// error, except that a 403 from a non-https endpoint is retried once over https.
    pub async fn request_v1(
        &self,
        method: Method,
        endpoint: &str,
        json_body: Option<&str>,
    ) -> Result<Vec<u8>, HttpError> {
        let mut url = endpoint.to_string();
        loop {
            let (status, body) = self.exchange(method, &url, json_body).await?;
            if status == StatusCode::OK {
                return Ok(body);
            }
            if status == StatusCode::FORBIDDEN && !url.starts_with("https") {
                url = https_endpoint(&url, &body)?;
                continue;
            }
            return Err(HttpError(format!(
                "got response {} {:?}",
                status_text(status),
                String::from_utf8_lossy(&body)
            )));
        }
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        json_body: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>), HttpError> {
        let fut = self.exchange_inner(method, url, json_body);
        match tokio::time::timeout(self.request_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(HttpError(format!(
                "{} \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                method_name(method)
            ))),
        }
    }

    async fn exchange_inner(
        &self,
        method: Method,
        url: &str,
        json_body: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>), HttpError> {
        let target = Target::parse(url)?;
        let dial = TcpStream::connect((target.host.as_str(), target.port));
        let tcp = match tokio::time::timeout(self.connect_timeout, dial).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(HttpError(format!("dial tcp {}: {e}", target.authority))),
            Err(_) => {
                return Err(HttpError(format!(
                    "dial tcp {}: i/o timeout",
                    target.authority
                )))
            }
        };
        let _ = tcp.set_nodelay(true);
        let mut req = Request::builder()
            .method(match method {
                Method::Get => hyper::Method::GET,
                Method::Post => hyper::Method::POST,
            })
            .uri(target.path_and_query.as_str())
            .header(HOST, target.authority.as_str())
            .header(USER_AGENT, "Go-http-client/1.1")
            .header(ACCEPT, "application/vnd.nsq; version=1.0");
        if json_body.is_some() {
            req = req.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let req = req
            .body(json_body.unwrap_or_default().to_string())
            .map_err(err)?;
        if target.https {
            let name = ServerName::try_from(target.host.clone()).map_err(err)?;
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                .connect(name, tcp)
                .await
                .map_err(err)?;
            send(tls, req).await
        } else {
            send(tcp, req).await
        }
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "Get",
        Method::Post => "Post",
    }
}

/// `403 Forbidden` style status text (Go's `resp.Status`).
fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    https: bool,
    /// Host without brackets, for dialing and SNI.
    host: String,
    port: u16,
    /// `host[:port]` as written (the `Host` header).
    authority: String,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, HttpError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| HttpError(format!("parse {url:?}: {e}")))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(s) => return Err(HttpError(format!("unsupported protocol scheme {s:?}"))),
            None => return Err(HttpError("unsupported protocol scheme \"\"".into())),
        };
        let auth = uri
            .authority()
            .ok_or_else(|| HttpError(format!("http: no Host in request URL {url:?}")))?;
        let authority = match auth.as_str().rsplit_once('@') {
            Some((_, a)) => a.to_string(),
            None => auth.as_str().to_string(),
        };
        let host = auth
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = auth.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".into());
        Ok(Target {
            https,
            host,
            port,
            authority,
            path_and_query,
        })
    }
}

/// The endpoint to retry a 403 on: same host and path, scheme https, port from the body's
/// `https_port` (0 when absent, as Go decodes it).
fn https_endpoint(url: &str, body: &[u8]) -> Result<String, HttpError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(err)?;
    let port = match v.get("https_port") {
        None | Some(serde_json::Value::Null) => 0,
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| HttpError("json: cannot unmarshal https_port".into()))?,
        Some(_) => return Err(HttpError("json: cannot unmarshal https_port".into())),
    };
    let t = Target::parse(url)?;
    let host = if t.host.contains(':') {
        format!("[{}]", t.host)
    } else {
        t.host
    };
    Ok(format!("https://{host}:{port}{}", t.path_and_query))
}

/// Sends one request over `io` and reads the whole answer.
async fn send<S>(io: S, req: Request<String>) -> Result<(StatusCode, Vec<u8>), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(err)?;
    let exchange = async move {
        let resp = sender.send_request(req).await.map_err(err)?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut out = Vec::new();
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            let frame = frame.map_err(err)?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > MAX_BODY {
                    return Err(HttpError("auth response too large".into()));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok::<_, HttpError>((status, out))
    };
    tokio::pin!(conn);
    tokio::pin!(exchange);
    let mut conn_done = false;
    loop {
        tokio::select! {
            r = &mut exchange => return r,
            c = &mut conn, if !conn_done => {
                conn_done = true;
                c.map_err(err)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("http://127.0.0.1:4181/auth?a=b?c=d").expect("ok");
        assert_eq!(
            t,
            Target {
                https: false,
                host: "127.0.0.1".into(),
                port: 4181,
                authority: "127.0.0.1:4181".into(),
                path_and_query: "/auth?a=b?c=d".into(),
            }
        );
        let t = Target::parse("https://[::1]/x").expect("ok");
        assert_eq!((t.host.as_str(), t.port, t.https), ("::1", 443, true));
        let t = Target::parse("http://u:p@h:1").expect("ok");
        assert_eq!(
            (t.authority.as_str(), t.path_and_query.as_str()),
            ("h:1", "/")
        );
        assert!(Target::parse("ftp://h/x").is_err());
        assert!(Target::parse("not a url").is_err());
    }

    /// Serves canned HTTP answers, one connection each, recording the request heads.
    async fn canned(answers: Vec<String>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        let task = tokio::spawn(async move {
            let mut heads = Vec::new();
            for a in answers {
                let (mut s, _) = l.accept().await.expect("accept");
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.expect("read");
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                heads.push(String::from_utf8_lossy(&got).into_owned());
                let _ = s.write_all(a.as_bytes()).await;
                let _ = s.shutdown().await;
            }
            heads
        });
        (addr, task)
    }

    fn client(timeout_ms: u64) -> HttpClient {
        HttpClient {
            tls: crate::tls_config::client_config(&crate::options::Options::default())
                .expect("client config"),
            connect_timeout: Duration::from_millis(timeout_ms),
            request_timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[tokio::test]
    async fn get_200_and_headers() {
        let (addr, task) =
            canned(vec!["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".into()]).await;
        let body = client(2000)
            .request_v1(Method::Get, &format!("http://{addr}/auth?a=b"), None)
            .await
            .expect("ok");
        assert_eq!(body, b"{}");
        let heads = task.await.expect("server");
        assert!(
            heads[0].starts_with("GET /auth?a=b HTTP/1.1\r\n"),
            "{}",
            heads[0]
        );
        let lower = heads[0].to_ascii_lowercase();
        assert!(lower.contains(&format!("host: {addr}\r\n")));
        assert!(lower.contains("accept: application/vnd.nsq; version=1.0\r\n"));
    }

    #[tokio::test]
    async fn non_200_is_an_error_with_the_body() {
        let (addr, _task) = canned(vec![
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops".into(),
        ])
        .await;
        let e = client(2000)
            .request_v1(Method::Post, &format!("http://{addr}/auth"), Some("{}"))
            .await
            .expect_err("500");
        assert_eq!(e.0, "got response 500 Internal Server Error \"oops\"");
    }

    #[tokio::test]
    async fn forbidden_retry_goes_to_https_once() {
        // the retry targets https on a port where nothing listens: it must fail, not loop
        let (addr, task) = canned(vec![
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 17\r\n\r\n{\"https_port\": 1}".into(),
        ])
        .await;
        let e = client(2000)
            .request_v1(Method::Get, &format!("http://{addr}/auth"), None)
            .await
            .expect_err("retry fails");
        assert!(e.0.contains("127.0.0.1:1"), "{e}");
        assert_eq!(task.await.expect("server").len(), 1);
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let _keep = tokio::spawn(async move {
            let (s, _) = l.accept().await.expect("accept");
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(s);
        });
        let t0 = std::time::Instant::now();
        let e = client(200)
            .request_v1(Method::Get, &format!("http://{addr}/auth"), None)
            .await
            .expect_err("timeout");
        assert!(t0.elapsed() < Duration::from_secs(2));
        assert!(e.0.contains("Client.Timeout exceeded"), "{e}");
    }

    #[test]
    fn https_retry_endpoint() {
        assert_eq!(
            https_endpoint(
                "http://127.0.0.1:1/auth?secret=x",
                br#"{"message": "TLS_REQUIRED", "https_port": 4152}"#
            ),
            Ok("https://127.0.0.1:4152/auth?secret=x".to_string())
        );
        assert_eq!(
            https_endpoint("http://[::1]:1/auth", b"{}"),
            Ok("https://[::1]:0/auth".to_string())
        );
        assert!(https_endpoint("http://h:1/auth", b"forbidden").is_err());
    }
}
