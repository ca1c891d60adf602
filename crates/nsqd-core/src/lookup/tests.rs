//! Tests of the lookupd loop against an in-process fake nsqlookupd that records what nsqd
//! sends, byte for byte.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::directory::Directory;
use super::peer::{Peer, PeerContext, PeerError};
use super::wire::Command;
use super::{BroadcastPorts, LookupLoop};
use crate::daemon::Daemon;
use crate::options::Options;

const T: Duration = Duration::from_secs(5);

fn daemon(dir: &tempfile::TempDir, lookupds: Vec<String>) -> Arc<Daemon> {
    let opts = Options {
        data_path: dir.path().display().to_string(),
        nsqlookupd_tcp_addresses: lookupds,
        broadcast_address: "me".into(),
        ..Options::default()
    };
    Daemon::new(opts)
}

/// One accepted connection of the fake lookupd.
struct FakeConn {
    r: BufReader<TcpStream>,
}

impl FakeConn {
    async fn accept(l: &TcpListener) -> FakeConn {
        let (s, _) = tokio::time::timeout(T, l.accept())
            .await
            .expect("nsqd connects")
            .expect("accept");
        let mut c = FakeConn {
            r: BufReader::new(s),
        };
        let mut magic = [0u8; 4];
        c.read(&mut magic).await;
        assert_eq!(&magic, b"  V1");
        c
    }

    async fn read(&mut self, buf: &mut [u8]) {
        tokio::time::timeout(T, self.r.read_exact(buf))
            .await
            .expect("in time")
            .expect("read");
    }

    /// The next command line (without `\n`) and, for IDENTIFY, its body.
    async fn command(&mut self) -> (String, Option<String>) {
        let mut line = String::new();
        let n = tokio::time::timeout(T, self.r.read_line(&mut line))
            .await
            .expect("in time")
            .expect("read");
        assert!(n > 0, "connection closed while waiting for a command");
        let line = line.trim_end_matches('\n').to_string();
        if line == "IDENTIFY" {
            let mut size = [0u8; 4];
            self.read(&mut size).await;
            let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
            self.read(&mut body).await;
            return (line, Some(String::from_utf8(body).expect("utf8")));
        }
        (line, None)
    }

    async fn respond(&mut self, data: &[u8]) {
        let mut out = (data.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(data);
        self.r.get_mut().write_all(&out).await.expect("write");
    }

    /// Answers IDENTIFY like nsqlookupd with broadcast address `lk`.
    async fn identify_ok(&mut self) -> String {
        let (cmd, body) = self.command().await;
        assert_eq!(cmd, "IDENTIFY");
        self.respond(br#"{"tcp_port":4160,"http_port":4161,"version":"1.3.0","broadcast_address":"lk","hostname":"h"}"#)
            .await;
        body.expect("identify body")
    }

    /// Reads `n` commands, answering `OK` to each.
    async fn commands_ok(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.command().await.0);
            self.respond(b"OK").await;
        }
        out
    }

    /// True iff nsqd closed the connection (EOF) within the timeout.
    async fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(T, self.r.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

fn ctx(d: &Arc<Daemon>, max_body_size: i64) -> Arc<PeerContext> {
    let directory = Arc::new(Directory::default());
    Arc::new(PeerContext {
        daemon: Arc::clone(d),
        identify_body: r#"{"x":1}"#.into(),
        max_body_size,
        directory,
    })
}

async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    (l, addr)
}

#[tokio::test]
async fn connect_identifies_reannounces_then_sends_the_command() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, vec![]);
    let t2 = d.get_or_create_topic("t2").expect("topic");
    t2.get_or_create_channel("b");
    t2.get_or_create_channel("a");
    d.get_or_create_topic("t1").expect("topic");
    let (l, addr) = listener().await;
    let ctx = ctx(&d, 1024);
    ctx.directory.add(&addr);
    let fake = tokio::spawn(async move {
        let mut c = FakeConn::accept(&l).await;
        let body = c.identify_ok().await;
        let cmds = c.commands_ok(4).await;
        (body, cmds)
    });
    let mut p = Peer::new(&addr, Arc::clone(&ctx));
    let resp = p
        .command(Some(&Command::register("x", None)))
        .await
        .expect("command");
    assert_eq!(resp.as_deref(), Some(&b"OK"[..]));
    let (body, cmds) = fake.await.expect("fake");
    assert_eq!(body, r#"{"x":1}"#);
    assert_eq!(
        cmds,
        [
            "REGISTER t1",
            "REGISTER t2 a",
            "REGISTER t2 b",
            "REGISTER x"
        ]
    );
    assert_eq!(ctx.directory.http_addresses(), vec!["lk:4161"]);
}

#[tokio::test]
async fn e_invalid_closes_and_backs_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, vec![]);
    let (l, addr) = listener().await;
    let mut p = Peer::new(&addr, ctx(&d, 1024));
    let fake = tokio::spawn(async move {
        let mut c = FakeConn::accept(&l).await;
        assert_eq!(c.command().await.0, "IDENTIFY");
        c.respond(b"E_INVALID").await;
        c.closed().await
    });
    assert!(p.command(Some(&Command::ping())).await.is_err());
    assert!(fake.await.expect("fake"), "nsqd closes after E_INVALID");
    assert!(!p.is_connected());
    assert!(matches!(
        p.command(Some(&Command::ping())).await,
        Err(PeerError::Backoff)
    ));
    assert!(p.retry_at().is_some());
}

#[tokio::test]
async fn unparsable_or_oversized_or_negative_replies_close() {
    for reply in [
        (b"E_BAD_BODY IDENTIFY missing fields".to_vec(), 1024),
        (b"{\"tcp_port\":\"x\"}".to_vec(), 1024),
        (vec![b'{'; 11], 10),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let d = daemon(&dir, vec![]);
        let (l, addr) = listener().await;
        let mut p = Peer::new(&addr, ctx(&d, reply.1));
        let data = reply.0.clone();
        let fake = tokio::spawn(async move {
            let mut c = FakeConn::accept(&l).await;
            assert_eq!(c.command().await.0, "IDENTIFY");
            c.respond(&data).await;
            c.closed().await
        });
        assert!(p.command(None).await.is_err(), "{:?}", reply.0);
        assert!(fake.await.expect("fake"));
        assert!(!p.is_connected());
    }
    // A negative size must not crash anything.
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, vec![]);
    let (l, addr) = listener().await;
    let mut p = Peer::new(&addr, ctx(&d, 1024));
    let fake = tokio::spawn(async move {
        let mut c = FakeConn::accept(&l).await;
        c.command().await;
        c.r.get_mut()
            .write_all(&(-5i32).to_be_bytes())
            .await
            .expect("w");
        c.closed().await
    });
    assert!(p.command(None).await.is_err());
    assert!(fake.await.expect("fake"));
}

#[tokio::test]
async fn a_dead_connection_is_replaced_lazily_by_the_next_command() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, vec![]);
    d.get_or_create_topic("t").expect("topic");
    let (l, addr) = listener().await;
    let mut p = Peer::new(&addr, ctx(&d, 1024));
    let fake = tokio::spawn(async move {
        let mut c = FakeConn::accept(&l).await;
        c.identify_ok().await;
        c.commands_ok(1).await;
        drop(c); // lookupd goes away
        let mut c = FakeConn::accept(&l).await;
        c.identify_ok().await;
        c.commands_ok(2).await
    });
    p.command(None).await.expect("connect");
    // Let the close reach us, then the next command fails on the dead connection.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(p.command(Some(&Command::ping())).await.is_err());
    assert!(!p.is_connected());
    // No backoff after a broken connection: the next command reconnects at once.
    p.command(Some(&Command::register("u", None)))
        .await
        .expect("reconnect");
    assert_eq!(fake.await.expect("fake"), ["REGISTER t", "REGISTER u"]);
}

#[tokio::test]
async fn the_loop_follows_events_and_reconfiguration_and_never_unregisters_at_exit() {
    let dir = tempfile::tempdir().expect("tmp");
    let (la, a) = listener().await;
    let (lb, b) = listener().await;
    let d = daemon(&dir, vec![a.clone()]);
    let lookup = LookupLoop::start(Arc::clone(&d), BroadcastPorts { tcp: 1, http: 2 });

    let mut ca = FakeConn::accept(&la).await;
    let body = ca.identify_ok().await;
    assert!(body.starts_with(r#"{"broadcast_address":"me","hostname":"#));
    assert!(body.ends_with(
        r#","http_port":2,"tcp_port":1,"topology_region":"","topology_zone":"","version":"1.3.0"}"#
    ));

    let t = d.get_or_create_topic("lt1").expect("topic");
    t.get_or_create_channel("c1");
    t.delete_channel("c1");
    t.get_or_create_channel("c2");
    d.delete_topic("lt1");
    assert_eq!(
        ca.commands_ok(6).await,
        [
            "REGISTER lt1",
            "REGISTER lt1 c1",
            "UNREGISTER lt1 c1",
            "REGISTER lt1 c2",
            "UNREGISTER lt1",
            "UNREGISTER lt1 c2"
        ]
    );

    d.get_or_create_topic("kept").expect("topic");
    assert_eq!(ca.commands_ok(1).await, ["REGISTER kept"]);
    d.set_nsqlookupd_tcp_addresses(vec![b.clone()]);
    assert!(ca.closed().await, "the removed lookupd is disconnected");
    let mut cb = FakeConn::accept(&lb).await;
    cb.identify_ok().await;
    assert_eq!(cb.commands_ok(1).await, ["REGISTER kept"]);

    d.begin_shutdown();
    lookup.stop().await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(T, cb.r.read_to_end(&mut rest)).await;
    assert!(rest.is_empty(), "nothing after shutdown: {rest:?}");
}

/// A one-shot HTTP server answering `GET /channels` with `body`; returns the request head.
async fn fake_http(l: TcpListener, body: &'static str) -> String {
    let (s, _) = l.accept().await.expect("accept");
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.expect("read") == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    r.get_mut().write_all(resp.as_bytes()).await.expect("write");
    head
}

#[tokio::test]
async fn channels_known_to_lookupd_are_precreated_before_the_first_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, vec!["unused:1".into()]);
    let (hl, http_addr) = listener().await;
    let directory = Arc::new(Directory::default());
    directory.add("unused:1");
    directory.set_http_address("unused:1", Some(http_addr));
    let http = crate::auth::HttpClient {
        tls: super::http_tls_config().expect("tls"),
        connect_timeout: T,
        request_timeout: T,
    };
    d.set_topic_created_hook(Some(super::precreate::hook(&d, directory, http)));
    let server = tokio::spawn(fake_http(hl, r#"{"channels":["pre","x#ephemeral","pre"]}"#));

    let t = d.get_or_create_topic("new#ephemeral").expect("topic");
    // Published (and a channel subscribed) before pre-creation answered.
    let sub = t.get_or_create_channel("sub");
    t.publish(vec![bytes::Bytes::from_static(b"first")], 0)
        .expect("publish");
    let head = server.await.expect("server");
    assert!(head.starts_with("GET /channels?topic=new%23ephemeral HTTP/1.1\r\n"));
    assert!(head.contains("accept: application/vnd.nsq; version=1.0\r\n"));

    let deadline = tokio::time::Instant::now() + T;
    loop {
        let pre = t.channel("pre");
        if pre.as_ref().is_some_and(|c| c.depth() == 1) && sub.depth() == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pre-created channel got the message"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(t.channel("x#ephemeral").is_none());
    assert_eq!(t.depth(), 0);
}
