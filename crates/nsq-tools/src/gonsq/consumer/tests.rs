//! The consumer against a scripted nsqd on loopback: the exact commands go-nsq would send.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use nsq_protocol::frame::frame_bytes;
use nsq_protocol::{FrameType, Message, MessageId};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::time::timeout;

use super::{Consumer, Handler};
use crate::gonsq::{Config, Delivery};

const LIMIT: Duration = Duration::from_secs(10);

/// One accepted client connection, seen from the server side.
struct Peer {
    rd: BufReader<tokio::net::tcp::OwnedReadHalf>,
    wr: tokio::net::tcp::OwnedWriteHalf,
}

impl Peer {
    async fn accept(l: &TcpListener) -> Peer {
        let (s, _) = timeout(LIMIT, l.accept())
            .await
            .expect("accept in time")
            .expect("accept");
        let (rd, wr) = s.into_split();
        Peer {
            rd: BufReader::new(rd),
            wr,
        }
    }

    async fn line(&mut self) -> String {
        let mut out = Vec::new();
        loop {
            let b = timeout(LIMIT, self.rd.read_u8())
                .await
                .expect("command in time")
                .expect("read");
            if b == b'\n' {
                return String::from_utf8_lossy(&out).into_owned();
            }
            out.push(b);
        }
    }

    async fn body(&mut self) -> Vec<u8> {
        let n = self.rd.read_u32().await.expect("size") as usize;
        let mut b = vec![0u8; n];
        self.rd.read_exact(&mut b).await.expect("body");
        b
    }

    async fn send(&mut self, ty: FrameType, data: &[u8]) {
        self.wr
            .write_all(&frame_bytes(ty, data))
            .await
            .expect("write");
    }

    /// Magic, IDENTIFY (answered with feature negotiation), `SUB` (answered `OK`).
    async fn handshake(&mut self) -> serde_json::Value {
        let mut magic = [0u8; 4];
        self.rd.read_exact(&mut magic).await.expect("magic");
        assert_eq!(&magic, b"  V2");
        assert_eq!(self.line().await, "IDENTIFY");
        let identify: serde_json::Value =
            serde_json::from_slice(&self.body().await).expect("identify json");
        self.send(
            FrameType::Response,
            br#"{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250}"#,
        )
        .await;
        assert_eq!(self.line().await, "SUB t c");
        self.send(FrameType::Response, b"OK").await;
        identify
    }

    async fn message(&mut self, id: &[u8; 16], attempts: u16, body: &'static [u8]) {
        let mut m = Message::new(MessageId(*id), 1, Bytes::from_static(body));
        m.attempts = attempts;
        let mut b = BytesMut::new();
        m.encode_frame(&mut b);
        self.wr.write_all(&b).await.expect("write message");
    }
}

async fn accept_and_handshake(l: &TcpListener) -> (Peer, serde_json::Value) {
    let mut p = Peer::accept(l).await;
    let identify = p.handshake().await;
    (p, identify)
}

fn handler(calls: Arc<AtomicUsize>) -> Handler {
    Arc::new(move |d: Delivery| {
        let calls = calls.clone();
        Box::pin(async move {
            calls.fetch_add(1, Ordering::SeqCst);
            if d.body().as_ref() == b"fail" {
                Err("nope".to_string())
            } else {
                Ok(())
            }
        })
    })
}

fn config() -> Config {
    let mut c = Config::default();
    c.set_flag("max_in_flight,5").expect("mif");
    c.set_flag("default_requeue_delay,2s").expect("delay");
    c.set_flag("backoff_multiplier,10ms").expect("multiplier");
    c.user_agent = "test/1".into();
    c
}

#[tokio::test]
async fn finish_requeue_backoff_and_max_attempts() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let calls = Arc::new(AtomicUsize::new(0));
    let consumer = Consumer::new("t", "c", config()).expect("consumer");
    consumer.add_handler(handler(calls.clone()));
    let ((mut peer, identify), connected) =
        tokio::join!(accept_and_handshake(&l), consumer.connect_to_nsqd(&addr));
    connected.expect("connect");
    assert_eq!(identify["user_agent"], "test/1");
    assert_eq!(identify["feature_negotiation"], true);
    assert_eq!(peer.line().await, "RDY 5");

    peer.message(b"000000000000000a", 1, b"ok").await;
    assert_eq!(peer.line().await, "FIN 000000000000000a");

    // a failure: RDY 0 (backoff) before the REQ, delay = default_requeue_delay * attempts
    peer.message(b"000000000000000b", 2, b"fail").await;
    assert_eq!(peer.line().await, "RDY 0");
    assert_eq!(peer.line().await, "REQ 000000000000000b 4000");
    // after backoff_multiplier * 2^1 one connection gets RDY 1
    assert_eq!(peer.line().await, "RDY 1");

    // past max_attempts (5): finished without calling the handler
    let before = calls.load(Ordering::SeqCst);
    peer.message(b"000000000000000c", 6, b"fail").await;
    // a FIN is a success: backoff level back to 0, full RDY again, written before the FIN
    assert_eq!(peer.line().await, "RDY 5");
    assert_eq!(peer.line().await, "FIN 000000000000000c");
    assert_eq!(calls.load(Ordering::SeqCst), before);

    // graceful stop: CLS, CLOSE_WAIT, then the consumer is stopped
    consumer.stop();
    assert_eq!(peer.line().await, "CLS");
    peer.send(FrameType::Response, b"CLOSE_WAIT").await;
    timeout(LIMIT, consumer.wait_stopped())
        .await
        .expect("stopped in time");
}

#[tokio::test]
async fn heartbeats_are_answered_and_direct_nsqds_reconnect() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let mut cfg = config();
    cfg.set_flag("lookupd_poll_interval,50ms")
        .expect("interval");
    let consumer = Consumer::new("t", "c", cfg).expect("consumer");
    consumer.add_handler(handler(Arc::new(AtomicUsize::new(0))));
    let ((mut peer, _), connected) =
        tokio::join!(accept_and_handshake(&l), consumer.connect_to_nsqd(&addr));
    connected.expect("connect");
    assert_eq!(peer.line().await, "RDY 5");
    peer.send(FrameType::Response, b"_heartbeat_").await;
    assert_eq!(peer.line().await, "NOP");
    assert!(matches!(
        consumer.connect_to_nsqd(&addr).await,
        Err(super::ConsumerError::AlreadyConnected)
    ));
    // the server goes away; the consumer dials again after lookupd_poll_interval
    drop(peer);
    let mut again = Peer::accept(&l).await;
    again.handshake().await;
    assert_eq!(again.line().await, "RDY 5");
    consumer.stop();
    assert_eq!(again.line().await, "CLS");
    again.send(FrameType::Response, b"CLOSE_WAIT").await;
    timeout(LIMIT, consumer.wait_stopped())
        .await
        .expect("stopped in time");
}

#[tokio::test]
async fn starved_when_in_flight_reaches_rdy() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let mut cfg = config();
    cfg.set_flag("max_in_flight,1").expect("mif");
    let consumer = Consumer::new("t", "c", cfg).expect("consumer");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
    let h: Handler = Arc::new(move |d: Delivery| {
        let tx = tx.clone();
        Box::pin(async move {
            d.disable_auto_response();
            let _ = tx.send(d);
            Ok(())
        })
    });
    consumer.add_handler(h);
    let ((mut peer, _), connected) =
        tokio::join!(accept_and_handshake(&l), consumer.connect_to_nsqd(&addr));
    connected.expect("connect");
    assert_eq!(peer.line().await, "RDY 1");
    assert!(!consumer.is_starved());
    peer.message(b"000000000000000d", 1, b"x").await;
    let d = timeout(LIMIT, rx.recv())
        .await
        .expect("delivered")
        .expect("some");
    assert!(consumer.is_starved());
    d.finish();
    d.requeue(None); // ignored: only the first answer counts
    assert_eq!(peer.line().await, "FIN 000000000000000d");
    consumer.stop();
    assert_eq!(peer.line().await, "CLS");
}

#[tokio::test]
async fn stopped_is_remembered_without_a_waiter() {
    let consumer = Consumer::new("t", "c", config()).expect("consumer");
    consumer.add_handler(handler(Arc::new(AtomicUsize::new(0))));
    consumer.stop();
    // nobody waits while it stops; a later wait still sees it
    tokio::time::sleep(Duration::from_millis(50)).await;
    timeout(LIMIT, consumer.wait_stopped())
        .await
        .expect("stopped state kept");
    assert!(consumer.is_stopped());
}

#[tokio::test]
async fn auth_when_the_server_requires_it() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let mut cfg = config();
    cfg.set_flag("auth_secret,s3cret").expect("secret");
    let consumer = Consumer::new("t", "c", cfg).expect("consumer");
    consumer.add_handler(handler(Arc::new(AtomicUsize::new(0))));
    let server = async {
        let mut p = Peer::accept(&l).await;
        let mut magic = [0u8; 4];
        p.rd.read_exact(&mut magic).await.expect("magic");
        assert_eq!(p.line().await, "IDENTIFY");
        p.body().await;
        p.send(
            FrameType::Response,
            br#"{"max_rdy_count":2500,"auth_required":true}"#,
        )
        .await;
        assert_eq!(p.line().await, "AUTH");
        assert_eq!(p.body().await, b"s3cret");
        p.send(
            FrameType::Response,
            br#"{"identity":"me","identity_url":"","permission_count":1}"#,
        )
        .await;
        assert_eq!(p.line().await, "SUB t c");
        p.send(FrameType::Response, b"OK").await;
        p
    };
    let (mut peer, connected) = tokio::join!(server, consumer.connect_to_nsqd(&addr));
    connected.expect("connect");
    assert_eq!(peer.line().await, "RDY 5");

    // without a secret the connection fails with go-nsq's text
    let consumer2 = Consumer::new("t", "c", config()).expect("consumer");
    consumer2.add_handler(handler(Arc::new(AtomicUsize::new(0))));
    let server = async {
        let mut p = Peer::accept(&l).await;
        let mut magic = [0u8; 4];
        p.rd.read_exact(&mut magic).await.expect("magic");
        assert_eq!(p.line().await, "IDENTIFY");
        p.body().await;
        p.send(FrameType::Response, br#"{"auth_required":true}"#)
            .await;
        p
    };
    let (_p, r) = tokio::join!(server, consumer2.connect_to_nsqd(&addr));
    assert_eq!(r.expect_err("auth required").to_string(), "Auth Required");
}

#[tokio::test]
async fn starvation_counts_messages_held_by_handlers() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let mut cfg = config();
    cfg.set_flag("max_in_flight,10").expect("mif");
    let consumer = Consumer::new("t", "c", cfg).expect("consumer");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
    let h: Handler = Arc::new(move |d: Delivery| {
        let tx = tx.clone();
        Box::pin(async move {
            d.disable_auto_response();
            let _ = tx.send(d);
            Ok(())
        })
    });
    consumer.add_handler(h);
    let ((mut peer, _), connected) =
        tokio::join!(accept_and_handshake(&l), consumer.connect_to_nsqd(&addr));
    connected.expect("connect");
    assert_eq!(peer.line().await, "RDY 10");
    let ids: Vec<[u8; 16]> = (0..9u8)
        .map(|i| {
            let mut id = *b"00000000000000e0";
            id[15] = b'0' + i;
            id
        })
        .collect();
    let mut held = Vec::new();
    for id in &ids[..5] {
        peer.message(id, 1, b"x").await;
        held.push(
            timeout(LIMIT, rx.recv())
                .await
                .expect("in time")
                .expect("msg"),
        );
    }
    // 5 held of RDY 10: below the 85% threshold
    assert!(!consumer.is_starved());
    for id in &ids[5..] {
        peer.message(id, 1, b"x").await;
        held.push(
            timeout(LIMIT, rx.recv())
                .await
                .expect("in time")
                .expect("msg"),
        );
    }
    assert!(consumer.is_starved());
    for d in &held {
        d.finish();
    }
    for id in &ids {
        assert_eq!(
            peer.line().await,
            format!("FIN {}", String::from_utf8_lossy(id))
        );
    }
    assert!(!consumer.is_starved());
}
