use super::*;
use crate::cidr::Cidr;
use crate::client::tls::{client_config, TlsSettings};
use crate::client::Client;
use crate::options::Options;
use crate::state::{AdminState, StateParts};
use axum::body::Body;
use axum::extract::Request;
use std::time::Duration;

fn state(mut opts: Options, cidr: Option<&str>) -> AdminState {
    if opts.nsqlookupd_http_addresses.is_empty() && opts.nsqd_http_addresses.is_empty() {
        // nothing listens on port 1: every upstream call is refused at once
        opts.nsqlookupd_http_addresses = vec!["127.0.0.1:1".into()];
    }
    let tls = client_config(&TlsSettings::default()).unwrap();
    AdminState::new(StateParts {
        opts,
        client: Client::new(Duration::from_millis(500), Duration::from_secs(1), tls),
        log: None,
        cidr: cidr.map(|c| Cidr::parse(c).unwrap()),
        graphite: None,
    })
}

async fn call(
    app: &App<AdminState>,
    method: &str,
    uri: &str,
    body: &'static str,
    remote: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = app.handle(b.body(Body::from(body)).unwrap(), remote).await;
    let status = resp.status().as_u16();
    let hs = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, hs, String::from_utf8_lossy(&bytes).into_owned())
}

fn header<'a>(hs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    hs.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

const LOCAL: &str = "127.0.0.1:5000";

#[tokio::test]
async fn base_path_routes() {
    let opts = Options {
        base_path: "/adm".into(),
        ..Default::default()
    };
    let app = router(state(opts, None));
    let (s, hs, body) = call(&app, "GET", "/adm", "", LOCAL, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(
        header(&hs, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(body.contains(r#"src="/adm/static/main.js""#));
    assert!(body.contains(r#"var BASE_PATH = "/adm";"#));
    let (s, hs, _) = call(&app, "GET", "/adm/", "", LOCAL, &[]).await;
    assert_eq!((s, header(&hs, "location")), (301, Some("/adm")));
    let (s, _, body) = call(&app, "GET", "/", "", LOCAL, &[]).await;
    assert_eq!((s, body.as_str()), (404, r#"{"message":"NOT_FOUND"}"#));
    for page in [
        "/adm/topics/a",
        "/adm/topics/a/b",
        "/adm/nodes/x:1",
        "/adm/counter",
        "/adm/lookup",
    ] {
        assert_eq!(
            call(&app, "GET", page, "", LOCAL, &[]).await.0,
            200,
            "{page}"
        );
    }
    let (s, _, body) = call(&app, "GET", "/adm/ping", "", LOCAL, &[]).await;
    assert_eq!((s, body.as_str()), (200, "OK"));
}

#[tokio::test]
async fn config_cidr_check_uses_the_peer() {
    let app = router(state(Options::default(), Some("127.0.0.1/8")));
    let (s, _, body) = call(&app, "GET", "/config/log_level", "", LOCAL, &[]).await;
    assert_eq!((s, body.as_str()), (200, "2"));
    let forwarded = [("x-forwarded-for", "127.0.0.1")];
    let (s, _, body) = call(
        &app,
        "GET",
        "/config/log_level",
        "",
        "10.1.1.1:5",
        &forwarded,
    )
    .await;
    assert_eq!((s, body.as_str()), (403, r#"{"message":"FORBIDDEN"}"#));
    let (s, _, body) = call(&app, "GET", "/config/log_level", "", "@", &[]).await;
    assert_eq!(
        (s, body.as_str()),
        (400, r#"{"message":"INVALID_REMOTE_ADDR"}"#)
    );
    let (s, _, body) = call(&app, "PUT", "/config/log_level", "debug", LOCAL, &[]).await;
    assert_eq!((s, body.as_str()), (200, "1"));
}

#[tokio::test]
async fn admin_users_are_checked_first() {
    let opts = Options {
        admin_users: vec!["alice".into()],
        ..Default::default()
    };
    let app = router(state(opts, None));
    let (s, _, body) = call(&app, "POST", "/api/topics", "garbage", LOCAL, &[]).await;
    assert_eq!((s, body.as_str()), (403, r#"{"message":"FORBIDDEN"}"#));
    let alice = [("x-forwarded-user", "alice")];
    let (s, _, body) = call(&app, "POST", "/api/topics", "garbage", LOCAL, &alice).await;
    assert_eq!(
        (s, body.as_str()),
        (
            400,
            r#"{"message":"invalid character 'g' looking for beginning of value"}"#
        )
    );
}

#[tokio::test]
async fn refused_upstreams_are_total_failures() {
    let app = router(state(Options::default(), None));
    let (s, hs, body) = call(&app, "GET", "/api/topics", "", LOCAL, &[]).await;
    assert_eq!(s, 502);
    assert_eq!(header(&hs, "x-nsq-content-type"), Some("nsq; version=1.0"));
    assert_eq!(
        body,
        r#"{"message":"UPSTREAM_ERROR: failed to query any nsqlookupd: Get \"http://127.0.0.1:1/topics\": dial tcp 127.0.0.1:1: connect: connection refused"}"#
    );
}

#[tokio::test]
async fn static_assets() {
    let app = router(state(Options::default(), None));
    let (s, hs, _) = call(&app, "GET", "/static/main.js", "", LOCAL, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(
        header(&hs, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(header(&hs, "x-nsq-content-type"), None);
    let (s, hs, body) = call(&app, "GET", "/fonts/missing.woff", "", LOCAL, &[]).await;
    assert_eq!((s, body.as_str()), (404, "NOT_FOUND"));
    assert_eq!(
        header(&hs, "content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn index_globals_cannot_break_out_of_the_script() {
    let opts = Options {
        statsd_prefix: "</script><b>".into(),
        nsqlookupd_http_addresses: vec!["a:1".into(), "b:2".into()],
        graphite_url: "http://g".into(),
        proxy_graphite: true,
        ..Default::default()
    };
    let html = ui::render_index(&opts, false);
    assert!(html.contains(r#"var STATSD_PREFIX = "\u003c/script\u003e\u003cb\u003e";"#));
    assert!(html.contains(r#"var NSQLOOKUPD = ["a:1","b:2"];"#));
    assert!(html.contains(r#"var GRAPHITE_URL = "";"#));
    assert!(html.contains("var GRAPH_ENABLED = true;"));
    assert!(html.contains("var IS_ADMIN = false;"));
    assert!(html.contains("var STATSD_INTERVAL = 60;"));
    assert!(!html.contains("{{"));
}
