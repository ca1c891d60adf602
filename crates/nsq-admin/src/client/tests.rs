use super::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn client(request_timeout_ms: u64) -> Client {
    let tls = tls::client_config(&tls::TlsSettings::default()).unwrap();
    Client::new(
        Duration::from_millis(500),
        Duration::from_millis(request_timeout_ms),
        tls,
    )
}

/// Serves one canned response per connection; returns the address and the requests seen.
async fn canned(response: &'static str) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = s.write_all(response.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn status_errors_use_go_text() {
    let (addr, mut rx) = canned(
        "HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\n{\"message\":\"TOPIC_NOT_FOUND\"}",
    )
    .await;
    let e = client(1000)
        .get_json::<serde_json::Value>(&format!("http://{addr}/lookup?topic=x"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"got response 404 Not Found "{\"message\":\"TOPIC_NOT_FOUND\"}""#
    );
    let req = rx.recv().await.unwrap();
    assert!(req.starts_with("GET /lookup?topic=x HTTP/1.1\r\n"), "{req}");
    assert!(
        req.contains("accept: application/vnd.nsq; version=1.0\r\n"),
        "{req}"
    );
    assert!(req.contains(&format!("host: {addr}\r\n")), "{req}");
}

#[tokio::test]
async fn decodes_json_and_posts() {
    let (addr, mut rx) =
        canned("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"topics\":[\"a\"]}").await;
    #[derive(serde::Deserialize)]
    struct T {
        topics: Vec<String>,
    }
    let t: T = client(1000)
        .get_json(&format!("http://{addr}/topics"))
        .await
        .unwrap();
    assert_eq!(t.topics, vec!["a"]);
    client(1000)
        .post(&format!("http://{addr}/topic/create?topic=a"))
        .await
        .unwrap();
    let _ = rx.recv().await;
    let req = rx.recv().await.unwrap();
    assert!(
        req.starts_with("POST /topic/create?topic=a HTTP/1.1\r\n"),
        "{req}"
    );
}

#[tokio::test]
async fn bad_json_uses_go_syntax_errors() {
    let (addr, _rx) = canned("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnah").await;
    let e = client(1000)
        .get_json::<serde_json::Value>(&format!("http://{addr}/x"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid character 'a' in literal null (expecting 'u')"
    );
}

#[tokio::test]
async fn refused_connections_fail_fast() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let e = client(1000)
        .get_json::<serde_json::Value>(&format!("http://{addr}/stats?format=json"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Get \"http://{addr}/stats?format=json\": dial tcp {addr}: connect: connection refused"
        )
    );
}

#[tokio::test]
async fn silent_upstreams_time_out() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            conns.push(s);
        }
    });
    let started = std::time::Instant::now();
    let e = client(200)
        .post(&format!("http://{addr}/topic/pause?topic=t"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        e.to_string(),
        format!("Post \"http://{addr}/topic/pause?topic=t\": {HEADER_TIMEOUT}")
    );
    hold.abort();
}

#[tokio::test]
async fn forbidden_names_the_https_port() {
    let url = Url::parse("http://127.0.0.1:4151/stats?format=json").unwrap();
    let u = https_retry(&url, br#"{"message": "TLS_REQUIRED", "https_port": 4152}"#).unwrap();
    assert_eq!(u.to_string(), "https://127.0.0.1:4152/stats?format=json");
    let u = https_retry(&url, br#"{"message":"FORBIDDEN"}"#).unwrap();
    assert_eq!(u.port, 0);
}

#[test]
fn op_names() {
    assert_eq!(go_op(&Method::GET), "Get");
    assert_eq!(go_op(&Method::DELETE), "Delete");
}
