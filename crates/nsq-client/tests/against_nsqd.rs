//! The client against a real nsqd (ours unless `NSQD_BIN` says otherwise).

mod support;

use std::time::Duration;

use nsq_client::{Config, Connection, Error, Event};
use support::Nsqd;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

async fn consumer(d: &Nsqd, topic: &str, channel: &str, rdy: u64) -> Connection {
    let mut c = Connection::connect(d.tcp, &Config::default())
        .await
        .expect("connect consumer");
    c.subscribe(topic, channel).await.expect("SUB");
    c.rdy(rdy);
    c.flush().await.expect("RDY");
    c
}

#[tokio::test]
async fn pub_mpub_dpub_then_consume_and_fin() {
    let d = Nsqd::start(&[]);
    timeout(LIMIT, async {
        let mut p = Connection::connect(d.tcp, &Config::minimal("writer"))
            .await
            .expect("connect");
        assert!(!p.identify_response().negotiated);
        let mut c = consumer(&d, "t", "c", 500).await;
        assert!(c.identify_response().negotiated);
        assert!(c.identify_response().max_rdy_count >= 500);
        p.publish("t", b"single").await.expect("PUB");
        let bodies: Vec<Vec<u8>> = (0..100).map(|i| format!("m{i}").into_bytes()).collect();
        p.multi_publish("t", &bodies).await.expect("MPUB");
        p.deferred_publish("t", 50, b"later").await.expect("DPUB");
        let mut seen = Vec::new();
        for _ in 0..102 {
            let m = c.next_message().await.expect("message");
            assert_eq!(m.attempts, 1);
            seen.push(String::from_utf8_lossy(&m.body).into_owned());
            c.fin(&m.id);
        }
        c.flush().await.expect("flush FINs");
        assert_eq!(seen[0], "single");
        assert_eq!(
            seen[1..101],
            (0..100).map(|i| format!("m{i}")).collect::<Vec<_>>()[..]
        );
        assert_eq!(seen[101], "later");
        c.close().await.expect("CLS");
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn req_touch_and_non_fatal_fin_error() {
    let d = Nsqd::start(&[]);
    timeout(LIMIT, async {
        let mut c = consumer(&d, "t2", "c", 1).await;
        let mut p = Connection::connect(d.tcp, &Config::default())
            .await
            .expect("connect");
        p.publish("t2", b"again").await.expect("PUB");
        let m = c.next_message().await.expect("first delivery");
        c.touch(&m.id);
        c.req(&m.id, 0);
        let m2 = c.next_message().await.expect("redelivery");
        assert_eq!(m2.id, m.id);
        assert_eq!(m2.attempts, 2);
        c.fin(&m2.id);
        c.fin(&m2.id); // second FIN of the same id: E_FIN_FAILED, connection stays open
        match c.next_event().await.expect("event") {
            Event::NonFatal(code, _) => assert_eq!(code, "E_FIN_FAILED"),
            other => panic!("{other:?}"),
        }
        p.publish("t2", b"still alive").await.expect("PUB");
        let m3 = c.next_message().await.expect("after error");
        assert_eq!(&m3.body[..], b"still alive");
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn error_frames_become_errors() {
    let d = Nsqd::start(&[]);
    timeout(LIMIT, async {
        let mut p = Connection::connect(d.tcp, &Config::default())
            .await
            .expect("connect");
        match p.publish("bad!topic", b"x").await {
            Err(Error::Server { code, .. }) => assert_eq!(code, "E_BAD_TOPIC"),
            other => panic!("{other:?}"),
        }
        let bad = Config {
            heartbeat_interval_ms: Some(10),
            ..Config::default()
        };
        match Connection::connect(d.tcp, &bad).await {
            Err(Error::Server { code, .. }) => assert_eq!(code, "E_BAD_BODY"),
            other => panic!("{other:?}"),
        }
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn heartbeats_are_answered_and_the_connection_survives() {
    let d = Nsqd::start(&[]);
    timeout(LIMIT, async {
        let cfg = Config {
            heartbeat_interval_ms: Some(1000),
            ..Config::default()
        };
        let mut c = Connection::connect(d.tcp, &cfg).await.expect("connect");
        c.subscribe("hb", "c").await.expect("SUB");
        c.rdy(1);
        // Nothing to deliver: next_event answers heartbeats for 3.5 intervals. An
        // unanswered heartbeat would make the server close the connection after 2.
        assert!(
            timeout(Duration::from_millis(3500), c.next_event())
                .await
                .is_err(),
            "next_event returned although nothing was published"
        );
        let mut p = Connection::connect(d.tcp, &Config::default())
            .await
            .expect("connect");
        p.publish("hb", b"after heartbeats").await.expect("PUB");
        let m = c.next_message().await.expect("still connected");
        assert_eq!(&m.body[..], b"after heartbeats");
    })
    .await
    .expect("in time");
}

#[tokio::test]
async fn split_halves_pipeline_publishes() {
    let d = Nsqd::start(&[]);
    timeout(LIMIT, async {
        let c = Connection::connect(d.tcp, &Config::default())
            .await
            .expect("connect");
        let (mut rd, mut wr, held) = c.into_split();
        assert!(held.is_empty());
        let n = 1000;
        let counter = tokio::spawn(async move {
            let mut oks = 0;
            while oks < n {
                match rd.next_frame().await.expect("frame") {
                    f if f.is_heartbeat() => {}
                    nsq_client::Frame::Response(b) if &b[..] == b"OK" => oks += 1,
                    other => panic!("{other:?}"),
                }
            }
            oks
        });
        for i in 0..n {
            wr.publish("pipe", format!("{i}").as_bytes());
            if i % 100 == 99 {
                wr.flush().await.expect("flush");
            }
        }
        assert_eq!(counter.await.expect("join"), n);
    })
    .await
    .expect("in time");
}
