use super::*;
use crate::options::Options;
use nsq_http::axum::body::Body;
use nsq_http::axum::extract::Request;

fn state() -> Arc<State> {
    State::new(Options::default(), "h".into(), 4160, 4161)
}

async fn call(app: &App<Arc<State>>, method: Method, uri: &str) -> (u16, String, Option<String>) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let resp = app.handle(req, "127.0.0.1:9").await;
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body = nsq_http::axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap(), ct)
}

fn add_peer(st: &State, id: &str, topics: &[(&str, &str)]) -> Arc<PeerInfo> {
    let peer = Arc::new(PeerInfo::new(
        id.into(),
        "h1".into(),
        "n1".into(),
        4150,
        4151,
        "1.3.0".into(),
        "z1".into(),
        String::new(),
        Moment::now().unix_nanos,
    ));
    st.db.add_producer(&Registration::client(), &peer);
    for (t, c) in topics {
        if !c.is_empty() {
            st.db.add_producer(&Registration::channel(t, c), &peer);
        }
        st.db.add_producer(&Registration::topic(t), &peer);
    }
    peer
}

const PEER1: &str = r#"{"remote_address":"127.0.0.1:1","hostname":"h1","broadcast_address":"n1","tcp_port":4150,"http_port":4151,"version":"1.3.0","topology_zone":"z1","topology_region":""}"#;

#[tokio::test]
async fn simple_routes_and_errors() {
    let a = app(state());
    assert_eq!(call(&a, Method::GET, "/ping").await.1, "OK");
    assert_eq!(
        call(&a, Method::GET, "/info").await.1,
        r#"{"version":"1.3.0"}"#
    );
    assert_eq!(call(&a, Method::GET, "/debug").await.1, "{}");
    assert_eq!(call(&a, Method::GET, "/topics").await.1, r#"{"topics":[]}"#);
    assert_eq!(
        call(&a, Method::GET, "/nodes").await.1,
        r#"{"producers":[]}"#
    );
    for (m, uri, status, body) in [
        (Method::GET, "/lookup", 400, "MISSING_ARG_TOPIC"),
        (Method::GET, "/lookup?topic=%zz", 400, "INVALID_REQUEST"),
        (Method::GET, "/lookup?topic=a;b", 400, "INVALID_REQUEST"),
        (Method::GET, "/lookup?topic=nope", 404, "TOPIC_NOT_FOUND"),
        (Method::GET, "/channels", 400, "MISSING_ARG_TOPIC"),
        (Method::POST, "/topic/create", 400, "MISSING_ARG_TOPIC"),
        (
            Method::POST,
            "/topic/create?topic=",
            400,
            "INVALID_ARG_TOPIC",
        ),
        (
            Method::POST,
            "/topic/create?topic=a$",
            400,
            "INVALID_ARG_TOPIC",
        ),
        (Method::POST, "/topic/delete", 400, "MISSING_ARG_TOPIC"),
        (
            Method::POST,
            "/channel/create?topic=t",
            400,
            "MISSING_ARG_CHANNEL",
        ),
        (
            Method::POST,
            "/channel/create?topic=t&channel=c$",
            400,
            "INVALID_ARG_CHANNEL",
        ),
        (
            Method::POST,
            "/channel/delete?topic=t&channel=c",
            404,
            "CHANNEL_NOT_FOUND",
        ),
        (
            Method::POST,
            "/topic/tombstone?topic=t",
            400,
            "MISSING_ARG_NODE",
        ),
        (Method::POST, "/topic/tombstone", 400, "MISSING_ARG_TOPIC"),
    ] {
        let (s, b, ct) = call(&a, m, uri).await;
        assert_eq!(s, status, "{uri}");
        assert_eq!(b, format!(r#"{{"message":"{body}"}}"#), "{uri}");
        assert_eq!(ct.as_deref(), Some("application/json; charset=utf-8"));
    }
    // Routes without arguments ignore a malformed query.
    assert_eq!(call(&a, Method::GET, "/topics?%zz").await.0, 200);
    assert_eq!(
        call(&a, Method::GET, "/channels?topic=").await.1,
        r#"{"channels":[]}"#
    );
}

#[tokio::test]
async fn admin_routes() {
    let st = state();
    let a = app(st.clone());
    let (s, b, ct) = call(&a, Method::POST, "/topic/create?topic=t1").await;
    assert_eq!((s, b.as_str(), ct), (200, "", None));
    assert_eq!(
        call(&a, Method::GET, "/topics").await.1,
        r#"{"topics":["t1"]}"#
    );
    assert_eq!(
        call(&a, Method::GET, "/lookup?topic=t1").await.1,
        r#"{"channels":[],"producers":[]}"#
    );
    assert_eq!(
        call(&a, Method::POST, "/channel/create?topic=t2&channel=c")
            .await
            .0,
        200
    );
    assert_eq!(
        call(&a, Method::GET, "/channels?topic=t2").await.1,
        r#"{"channels":["c"]}"#
    );
    assert_eq!(call(&a, Method::GET, "/lookup?topic=t2").await.0, 200);
    assert_eq!(
        call(&a, Method::POST, "/channel/delete?topic=t2&channel=c")
            .await
            .0,
        200
    );
    assert_eq!(
        call(&a, Method::GET, "/channels?topic=t2").await.1,
        r#"{"channels":[]}"#
    );
    assert_eq!(
        call(&a, Method::POST, "/topic/delete?topic=t2").await.0,
        200
    );
    assert_eq!(
        call(&a, Method::POST, "/topic/delete?topic=never").await.0,
        200
    );
    assert_eq!(call(&a, Method::GET, "/lookup?topic=t2").await.0, 404);
    // an unvalidated wildcard delete removes everything, as in the reference
    assert_eq!(call(&a, Method::POST, "/topic/delete?topic=*").await.0, 200);
    assert_eq!(call(&a, Method::GET, "/topics").await.1, r#"{"topics":[]}"#);
}

#[tokio::test]
async fn lookup_nodes_tombstone_debug() {
    let st = state();
    let a = app(st.clone());
    let peer = add_peer(&st, "127.0.0.1:1", &[("foo", "ch1")]);
    assert_eq!(
        call(&a, Method::GET, "/lookup?topic=foo").await.1,
        format!(r#"{{"channels":["ch1"],"producers":[{PEER1}]}}"#)
    );
    let node_prefix = &PEER1[..PEER1.len() - 1];
    assert_eq!(
        call(&a, Method::GET, "/nodes").await.1,
        format!(r#"{{"producers":[{node_prefix},"tombstones":[false],"topics":["foo"]}}]}}"#)
    );

    assert_eq!(
        call(&a, Method::POST, "/topic/tombstone?topic=foo&node=n1:4151")
            .await
            .0,
        200
    );
    assert_eq!(
        call(&a, Method::GET, "/lookup?topic=foo").await.1,
        r#"{"channels":["ch1"],"producers":[]}"#
    );
    assert_eq!(
        call(&a, Method::GET, "/nodes").await.1,
        format!(r#"{{"producers":[{node_prefix},"tombstones":[true],"topics":["foo"]}}]}}"#)
    );

    let debug = call(&a, Method::GET, "/debug").await.1;
    let v: serde_json::Value = serde_json::from_str(&debug).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["channel:foo:ch1", "client::", "topic:foo:"]);
    let client = &v["client::"][0];
    assert_eq!(client["tombstoned"], false);
    assert_eq!(client["tombstoned_at"], -6795364578871345152i64);
    assert_eq!(client["last_update"], peer.last_update());
    assert_eq!(v["topic:foo:"][0]["tombstoned"], true);
    assert!(debug.starts_with(r#"{"channel:foo:ch1":[{"broadcast_address":"n1","hostname":"h1","http_port":4151,"id":"127.0.0.1:1","last_update":"#));
}
