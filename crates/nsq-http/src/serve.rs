//! Serving an [`App`] over HTTP/1.1.
//!
//! Go's server writes canonical header names (`X-Nsq-Content-Type`, `Content-Length`) and
//! has no read, write or idle timeouts; NSQ daemons serve plain TCP and unix sockets, and
//! nsqd also TLS. So serving goes through hyper directly (title-case headers, no header
//! timeout) rather than `axum::serve`: [`serve`] runs an accept loop on a [`Listener`]
//! and [`serve_connection`] serves any already-accepted stream (e.g. one nsqd wrapped in
//! TLS).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;

use crate::app::App;
use crate::listen::Listener;

/// Serves HTTP/1.1 on one accepted connection until the peer closes it or it fails.
/// Responses use Go's canonical header spelling. Errors are connection-level (peer reset,
/// malformed HTTP) and are logged at DEBUG, never propagated.
pub async fn serve_connection<S, IO>(app: Arc<App<S>>, io: IO, remote_addr: String)
where
    S: Clone + Send + Sync + 'static,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let remote = Arc::new(remote_addr);
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        let remote = remote.clone();
        async move {
            let req = req.map(Body::new);
            Ok::<_, Infallible>(app.handle(req, &remote).await)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.title_case_headers(true);
    builder.header_read_timeout(None);
    if let Err(e) = builder.serve_connection(TokioIo::new(io), svc).await {
        tracing::debug!("HTTP connection error - {e}");
    }
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown` completes.
///
/// Logs `<proto>: listening on <addr>` first and `<proto>: closing <addr>` last, as the
/// reference does (`proto` is `HTTP` or `HTTPS`). On shutdown the listener is closed and
/// every open connection is dropped. Accept failures (e.g. out of file descriptors) are
/// logged at WARN and retried with a growing pause, like Go's server.
pub async fn serve<S, F>(listener: Listener, app: Arc<App<S>>, proto: &str, shutdown: F)
where
    S: Clone + Send + Sync + 'static,
    F: Future<Output = ()>,
{
    let addr = listener.local_addr_string();
    tracing::info!("{proto}: listening on {addr}");
    let mut conns = JoinSet::new();
    let mut backoff = Duration::from_millis(5);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((conn, remote)) => {
                    backoff = Duration::from_millis(5);
                    conns.spawn(serve_connection(app.clone(), conn, remote));
                }
                Err(e) => {
                    tracing::warn!("http: Accept error: {e}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    conns.abort_all();
    tracing::info!("{proto}: closing {addr}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{RouteRequest, Router};
    use crate::listen::{bind, bind_tcp};
    use crate::response::{v1, V1};
    use axum::http::Method;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn app() -> Arc<App<()>> {
        Arc::new(
            Router::new()
                .route(Method::GET, "/info", |r: RouteRequest<()>| async move {
                    v1(Ok(V1::Text(r.remote_addr)))
                })
                .with_state(()),
        )
    }

    async fn exchange<S>(mut s: S) -> String
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        s.write_all(b"GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn serves_tcp_with_go_header_spelling() {
        let l = bind_tcp("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(Listener::Tcp(l), app(), "HTTP", async move {
            let _ = rx.await;
        }));
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let local = s.local_addr().unwrap();
        let resp = exchange(s).await;
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
        assert!(
            resp.contains("\r\nX-Nsq-Content-Type: nsq; version=1.0\r\n"),
            "{resp}"
        );
        assert!(
            resp.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"),
            "{resp}"
        );
        assert!(resp.ends_with(&format!("\r\n\r\n{local}")), "{resp}");
        tx.send(()).unwrap();
        server.await.unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn serves_unix_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("http.sock");
        let l = bind(path.to_str().unwrap()).await.unwrap();
        let server = tokio::spawn(serve(l, app(), "HTTP", std::future::pending()));
        let s = tokio::net::UnixStream::connect(&path).await.unwrap();
        let resp = exchange(s).await;
        assert!(resp.ends_with("\r\n\r\n@"), "{resp}");
        server.abort();
    }

    #[tokio::test]
    async fn works_under_axum_serve() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let router = Router::new()
            .route(Method::GET, "/info", |r: RouteRequest<()>| async move {
                v1(Ok(V1::Text(r.remote_addr)))
            })
            .with_state(())
            .into_axum();
        let server = tokio::spawn(async move {
            axum::serve(
                l,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let local = s.local_addr().unwrap();
        let resp = exchange(s).await;
        assert!(resp.ends_with(&format!("\r\n\r\n{local}")), "{resp}");
        server.abort();
    }
}
