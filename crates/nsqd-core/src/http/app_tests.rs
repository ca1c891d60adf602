//! End-to-end checks of the route table through `App::handle` (no sockets): the shapes the
//! Python suite checks against the reference, kept here so `cargo test` guards them too.

use std::sync::Arc;
use std::time::Instant;

use nsq_http::axum::body::Body;
use nsq_http::axum::extract::Request;
use nsq_http::axum::http::Method;
use nsq_http::axum::response::Response;
use nsq_http::App;

use super::live::LiveConfig;
use super::{app, HttpContext, State};
use crate::{Daemon, Options};

fn test_app(opts: Options) -> App<State> {
    let ctx = Arc::new(HttpContext {
        daemon: Daemon::new(opts),
        live: Arc::new(LiveConfig::new(None)),
        tcp_port: 4150,
        http_port: 4151,
        started: Instant::now(),
    });
    app(ctx)
}

async fn call(app: &App<State>, method: Method, uri: &str, body: &'static [u8]) -> Response {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .expect("valid request");
    app.handle(req, "127.0.0.1:5555").await
}

async fn text(r: Response) -> (u16, String) {
    let status = r.status().as_u16();
    let b = nsq_http::axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&b).into_owned())
}

#[tokio::test]
async fn publish_then_stats() {
    let app = test_app(Options::default());
    assert_eq!(
        text(call(&app, Method::GET, "/ping", b"").await).await,
        (200, "OK".into())
    );
    assert_eq!(
        text(call(&app, Method::POST, "/pub?topic=t", b"hello").await).await,
        (200, "OK".into())
    );
    assert_eq!(
        text(call(&app, Method::POST, "/mpub?topic=t", b"a\n\nb\r\n").await).await,
        (200, "OK".into())
    );
    let (status, body) = text(call(&app, Method::GET, "/stats?format=json", b"").await).await;
    assert_eq!(status, 200);
    assert!(body.starts_with(r#"{"version":"1.3.0","health":"OK","start_time":"#));
    assert!(body.contains(r#""topics":[{"topic_name":"t","channels":[],"depth":3,"backend_depth":0,"message_count":3,"message_bytes":8,"paused":false,"e2e_processing_latency":{"count":0,"percentiles":null}}],"memory":{"#), "{body}");
    assert!(body.ends_with(r#""producers":null}"#), "{body}");
}

#[tokio::test]
async fn error_codes() {
    let app = test_app(Options {
        max_msg_size: 4,
        ..Options::default()
    });
    let cases: &[(Method, &str, &[u8], u16, &str)] = &[
        (Method::POST, "/pub?topic=t", b"", 400, "MSG_EMPTY"),
        (Method::POST, "/pub?topic=t", b"12345", 413, "MSG_TOO_BIG"),
        (Method::POST, "/pub", b"1", 400, "MISSING_ARG_TOPIC"),
        (Method::POST, "/pub?topic=a:b", b"1", 400, "INVALID_TOPIC"),
        (
            Method::POST,
            "/pub?topic=t&defer=-1",
            b"1",
            400,
            "INVALID_DEFER",
        ),
        (
            Method::POST,
            "/topic/delete?topic=zz",
            b"",
            404,
            "TOPIC_NOT_FOUND",
        ),
        (
            Method::POST,
            "/channel/create?topic=a$&channel=c",
            b"",
            400,
            "INVALID_ARG_TOPIC",
        ),
        (
            Method::POST,
            "/channel/create?topic=u&channel=c",
            b"",
            404,
            "TOPIC_NOT_FOUND",
        ),
        (Method::GET, "/config/node_id", b"", 400, "INVALID_OPTION"),
        (Method::PUT, "/config/log_level", b"", 413, "INVALID_VALUE"),
        (
            Method::PUT,
            "/config/log_level",
            b"loud",
            400,
            "INVALID_VALUE",
        ),
        (
            Method::POST,
            "/debug/freememory",
            b"",
            500,
            "INTERNAL_ERROR",
        ),
        (Method::GET, "/stats?topic=%zz", b"", 400, "INVALID_REQUEST"),
        (Method::POST, "/stats", b"", 405, "METHOD_NOT_ALLOWED"),
        (Method::GET, "/dpub", b"", 404, "NOT_FOUND"),
    ];
    for (m, uri, body, status, msg) in cases {
        let got = text(call(&app, m.clone(), uri, body).await).await;
        assert_eq!(
            got,
            (*status, format!(r#"{{"message":"{msg}"}}"#)),
            "{m} {uri}"
        );
    }
}

#[tokio::test]
async fn info_and_config() {
    let app = test_app(Options::default());
    let (status, body) = text(call(&app, Method::GET, "/info", b"").await).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""http_port":4151,"tcp_port":4150,"#),
        "{body}"
    );
    assert!(body.contains(r#""max_heartbeat_interval":60000000000,"#));
    let got = text(call(&app, Method::GET, "/config/log_prefix", b"").await).await;
    assert_eq!(got, (200, "[nsqd] ".into()));
    let got = text(
        call(
            &app,
            Method::PUT,
            "/config/nsqlookupd_tcp_addresses",
            b"[\"a:1\"]",
        )
        .await,
    )
    .await;
    assert_eq!(got, (200, r#"["a:1"]"#.into()));
}
