//! nsqd's HTTP API (spec §4): the route table and the state every handler shares.
//!
//! Routing, the V1 envelope, query parsing, redirects, 404/405/OPTIONS and panic handling
//! come from `nsq-http`; this module only says which handler serves which path, and each
//! concern lives in its own file:
//!
//! * [`node`] — `/ping`, `/info`;
//! * [`publish`] — `/pub`, `/mpub` (no access-log line, as in the reference);
//! * [`admin`] — `/topic/*` and `/channel/*`;
//! * [`stats`] — `/stats` (JSON, or text via [`stats_text`]);
//! * [`config`] — `GET`/`PUT /config/:opt`, with the runtime-updatable values in [`live`];
//! * [`debug`] — `/debug/*`;
//! * `/metrics` (Prometheus/OpenMetrics, beyond the reference): [`crate::metrics`].
//!
//! Request bodies are streamed through [`body`] with the reference's limits, so an oversized
//! body is refused without being held in memory whole.

pub mod admin;
#[cfg(test)]
mod app_tests;
pub mod body;
pub mod config;
pub mod debug;
pub mod https;
pub mod live;
pub mod node;
pub mod publish;
pub mod stats;
pub mod stats_text;
pub mod tls_gate;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use nsq_http::axum::http::Method;
use nsq_http::axum::response::Response;
use nsq_http::{ApiError, App, Listener, Query, RouteRequest, Router};

use crate::daemon::Daemon;
use live::LiveConfig;

/// What every HTTP handler can see.
///
/// Invariant: the ports are the real listener ports as `/info` reports them: the bound TCP
/// port, `-1` for a unix socket, `0` for a disabled listener.
#[derive(Debug)]
pub struct HttpContext {
    /// The daemon.
    pub daemon: Arc<Daemon>,
    /// Runtime-updatable options.
    pub live: Arc<LiveConfig>,
    /// Real TCP listener port.
    pub tcp_port: i64,
    /// Real HTTP listener port.
    pub http_port: i64,
    /// When serving started (for the text stats' uptime).
    pub started: Instant,
}

/// The state handed to handlers.
pub type State = Arc<HttpContext>;

/// A request as handlers receive it.
pub type Req = RouteRequest<State>;

/// A handler's outcome before the envelope is applied.
pub type ApiResult = Result<nsq_http::V1, ApiError>;

/// The reference's generic argument parser failure: 400 `INVALID_REQUEST`.
pub fn query(req: &Req) -> Result<Query, ApiError> {
    req.query().map_err(|e| {
        tracing::error!("failed to parse request params - {e}");
        ApiError::bad_request("INVALID_REQUEST")
    })
}

/// Builds nsqd's HTTP application (the same one serves HTTP and, when configured, HTTPS).
pub fn app(ctx: State) -> App<State> {
    use Method as M;
    Router::new()
        .route(M::GET, "/ping", node::ping)
        .route(M::GET, "/info", node::info)
        .route_unlogged(M::POST, "/pub", publish::publish)
        .route_unlogged(M::POST, "/mpub", publish::multi_publish)
        .route(M::GET, "/stats", stats::stats)
        .route(M::POST, "/topic/create", admin::create_topic)
        .route(M::POST, "/topic/delete", admin::delete_topic)
        .route(M::POST, "/topic/empty", admin::empty_topic)
        .route(M::POST, "/topic/pause", admin::pause_topic)
        .route(M::POST, "/topic/unpause", admin::pause_topic)
        .route(M::POST, "/channel/create", admin::create_channel)
        .route(M::POST, "/channel/delete", admin::delete_channel)
        .route(M::POST, "/channel/empty", admin::empty_channel)
        .route(M::POST, "/channel/pause", admin::pause_channel)
        .route(M::POST, "/channel/unpause", admin::pause_channel)
        .route(M::GET, "/config/:opt", config::config)
        .route(M::PUT, "/config/:opt", config::config)
        .route_unlogged(M::GET, "/debug/pprof/", debug::pprof)
        .route_unlogged(M::GET, "/debug/pprof/cmdline", debug::pprof)
        .route_unlogged(M::GET, "/debug/pprof/symbol", debug::pprof)
        .route_unlogged(M::POST, "/debug/pprof/symbol", debug::pprof)
        .route_unlogged(M::GET, "/debug/pprof/profile", debug::pprof)
        .route_unlogged(M::GET, "/debug/pprof/heap", debug::pprof)
        .route_unlogged(M::GET, "/debug/pprof/goroutine", debug::pprof)
        .route_unlogged(M::GET, "/debug/pprof/block", debug::pprof)
        .route_unlogged(M::GET, "/debug/pprof/threadcreate", debug::pprof)
        .route(M::PUT, "/debug/setblockrate", debug::set_block_rate)
        .route(M::POST, "/debug/freememory", debug::free_memory)
        .route(M::GET, "/metrics", metrics)
        .with_state(ctx)
}

async fn metrics(req: Req) -> Response {
    crate::metrics::respond(&req.state.daemon)
}

/// The bound HTTP and HTTPS listeners.
#[derive(Debug, Default)]
pub struct Listeners {
    http: Option<Listener>,
    https: Option<(tokio::net::TcpListener, Arc<rustls::ServerConfig>)>,
    tls_required: bool,
}

impl Listeners {
    /// Binds `--http-address` (unless empty; TCP `host:port`, else a unix socket path) and,
    /// when `tls` is configured and `--https-address` is not empty, `--https-address` (TCP
    /// only), in the reference's order. Errors are its `listen (<addr>) failed - <Go error>`.
    pub async fn bind(
        opts: &crate::Options,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Listeners, String> {
        let http = bind(&opts.http_address).await?;
        let https = match tls {
            Some(cfg) if !opts.https_address.is_empty() => {
                let l = nsq_http::bind_tcp(&opts.https_address)
                    .await
                    .map_err(|e| format!("listen ({}) failed - {e}", opts.https_address))?;
                Some((l, cfg))
            }
            _ => None,
        };
        Ok(Listeners {
            http,
            https,
            tls_required: opts.tls_required == crate::options::TlsRequired::Yes,
        })
    }

    /// The HTTP port `/info` reports: bound TCP port, `-1` for a unix socket, `0` if
    /// disabled.
    pub fn http_port(&self) -> i64 {
        listener_port(self.http.as_ref())
    }

    /// The bound HTTPS port, `0` without HTTPS.
    pub fn https_port(&self) -> i64 {
        self.https
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
            .map(|a| i64::from(a.port()))
            .unwrap_or(0)
    }
}

/// Serves the HTTP API on `listener` until `shutdown` completes.
pub async fn serve<F>(listener: Listener, ctx: State, shutdown: F)
where
    F: Future<Output = ()>,
{
    nsq_http::serve(listener, Arc::new(app(ctx)), "HTTP", shutdown).await
}

/// Binds `--http-address` (TCP `host:port`, else a unix socket path); `None` when the
/// address is empty (HTTP disabled). The error is the reference's
/// `listen (<addr>) failed - <Go listen error>`.
pub async fn bind(addr: &str) -> Result<Option<Listener>, String> {
    if addr.is_empty() {
        return Ok(None);
    }
    nsq_http::bind(addr)
        .await
        .map(Some)
        .map_err(|e| format!("listen ({addr}) failed - {e}"))
}

/// The port `/info` reports for the HTTP listener: the bound TCP port, `-1` for a unix
/// socket, `0` when HTTP is disabled.
pub fn listener_port(listener: Option<&Listener>) -> i64 {
    match listener {
        None => 0,
        Some(l) => l.tcp_port().map(i64::from).unwrap_or(-1),
    }
}

/// What the reference does to its options once the listeners are bound (spec §5.2 steps
/// 10–11): zero broadcast ports become the real TCP/HTTP ports (unix sockets leave them 0),
/// and `--statsd-prefix` gets its `%s` replaced by the host key and a trailing `.`.
pub fn apply_listener_ports(opts: &mut crate::Options, tcp_port: i64, http_port: i64) {
    if opts.broadcast_tcp_port == 0 {
        opts.broadcast_tcp_port = tcp_port.max(0);
    }
    if opts.broadcast_http_port == 0 {
        opts.broadcast_http_port = http_port.max(0);
    }
    opts.statsd_prefix = crate::flags::resolve_statsd_prefix(
        &opts.statsd_prefix,
        &opts.broadcast_address,
        opts.broadcast_http_port,
    );
}

/// Starts serving: the API on the HTTP listener (or, with `--tls-required=true`, the 403
/// gate of [`tls_gate`]) and on the HTTPS listener, in tasks that end when the daemon begins
/// shutting down. The returned handle completes once every listener is closed.
pub fn spawn(
    daemon: &Arc<Daemon>,
    listeners: Listeners,
    tcp_port: i64,
    log: nsq_cli::LogHandle,
) -> tokio::task::JoinHandle<()> {
    let ctx = Arc::new(HttpContext {
        daemon: Arc::clone(daemon),
        live: Arc::new(LiveConfig::new(Some(log))),
        tcp_port,
        http_port: listeners.http_port(),
        started: Instant::now(),
    });
    let app = Arc::new(app(ctx));
    let https_port = listeners.https_port();
    let until_shutdown = |d: Arc<Daemon>| async move {
        let notified = d.shutdown.notified();
        if !d.is_exiting() {
            notified.await;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(l) = listeners.http {
        let stop = until_shutdown(Arc::clone(daemon));
        if listeners.tls_required {
            tasks.spawn(tls_gate::serve(l, https_port, stop));
        } else {
            tasks.spawn(nsq_http::serve(l, Arc::clone(&app), "HTTP", stop));
        }
    }
    if let Some((l, cfg)) = listeners.https {
        let stop = until_shutdown(Arc::clone(daemon));
        tasks.spawn(https::serve(l, cfg, app, stop));
    }
    tokio::spawn(async move { while tasks.join_next().await.is_some() {} })
}
