//! Binding and serving nsqadmin.
//!
//! [`NsqAdmin::bind`] validates the options (reference order and messages), binds the HTTP
//! listener and builds the route table; [`NsqAdmin::run`] serves until shutdown. Serving
//! wraps every response in the reference's gzip/deflate compression and reports IPv4 peers
//! of a dual-stack listener as plain `ip:port`, as Go does (the CIDR check and the webhook
//! see that address).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use nsq_cli::LogHandle;
use nsq_http::axum::body::Body;
use nsq_http::{axum, App};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::api::router;
use crate::client::Client;
use crate::compress::{compress, negotiate};
use crate::options::Options;
use crate::state::{AdminState, StateParts};
use crate::validate::{validate, StartupError};

/// A bound, ready-to-run nsqadmin.
pub struct NsqAdmin {
    listener: TcpListener,
    app: Arc<App<AdminState>>,
    state: AdminState,
}

/// `ip:port` with IPv4-mapped IPv6 addresses shown as IPv4 (Go's `RemoteAddr` form).
pub fn go_remote_addr(a: SocketAddr) -> String {
    SocketAddr::new(a.ip().to_canonical(), a.port()).to_string()
}

impl NsqAdmin {
    /// Validates `opts`, binds `--http-address` and builds the routes. Must run inside a
    /// tokio runtime (it starts the notification worker). `log` receives runtime log
    /// level changes.
    pub async fn bind(opts: Options, log: Option<LogHandle>) -> Result<NsqAdmin, StartupError> {
        let v = validate(opts)?;
        tracing::info!("{}", nsq_cli::version_string("nsqadmin"));
        let listener = nsq_http::bind_tcp(&v.opts.http_address)
            .await
            .map_err(|e| StartupError::Listen(v.opts.http_address.clone(), e.to_string()))?;
        let client = Client::new(
            v.opts.http_client_connect_timeout,
            v.opts.http_client_request_timeout,
            v.tls,
        );
        let state = AdminState::new(StateParts {
            opts: v.opts,
            client,
            log,
            cidr: v.cidr,
            graphite: v.graphite,
        });
        let app = Arc::new(router(state.clone()));
        Ok(NsqAdmin {
            listener,
            app,
            state,
        })
    }

    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// The shared state (tests inspect options through it).
    pub fn state(&self) -> &AdminState {
        &self.state
    }

    /// Serves until `shutdown` completes; then closes the listener and drops open
    /// connections. Logs `HTTP: listening on <addr>` and `HTTP: closing <addr>`.
    pub async fn run<F: Future<Output = ()>>(self, shutdown: F) {
        let addr = self
            .listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!("HTTP: listening on {addr}");
        let mut conns = JoinSet::new();
        let mut backoff = Duration::from_millis(5);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        backoff = Duration::from_millis(5);
                        conns.spawn(serve_conn(self.app.clone(), stream, go_remote_addr(peer)));
                    }
                    Err(e) => {
                        tracing::warn!("http: Accept error: {e}; retrying in {backoff:?}");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        drop(self.listener);
        conns.abort_all();
        tracing::info!("HTTP: closing {addr}");
    }
}

async fn serve_conn(app: Arc<App<AdminState>>, stream: TcpStream, remote: String) {
    let _ = stream.set_nodelay(true);
    let remote = Arc::new(remote);
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        let remote = remote.clone();
        async move {
            let enc = negotiate(
                req.headers()
                    .get(axum::http::header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok()),
            );
            let resp = app.handle(req.map(Body::new), &remote).await;
            Ok::<_, Infallible>(compress(resp, enc).await)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.title_case_headers(true);
    builder.header_read_timeout(None);
    if let Err(e) = builder.serve_connection(TokioIo::new(stream), svc).await {
        tracing::debug!("HTTP connection error - {e}");
    }
}
