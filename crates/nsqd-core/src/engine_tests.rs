//! Unit tests of the engine's delivery rules (topics, channels, in-flight, deferral,
//! waiters, spill), driven directly without sockets.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nsq_protocol::Message;

use crate::client::{state, Client};
use crate::daemon::Daemon;
use crate::options::Options;

fn daemon(dir: &tempfile::TempDir, mem_queue_size: i64) -> Arc<Daemon> {
    Daemon::new(Options {
        data_path: dir.path().display().to_string(),
        mem_queue_size,
        ..Options::default()
    })
}

fn subscriber(d: &Arc<Daemon>, rdy: i64) -> Arc<Client> {
    let c = d.add_client("127.0.0.1:1".into(), "127.0.0.1".into());
    c.state.store(state::SUBSCRIBED, Ordering::Release);
    c.ready_count.store(rdy, Ordering::Release);
    c
}

fn bodies(n: usize) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from(format!("m{i}"))).collect()
}

fn pull(ch: &crate::channel::Channel, c: &Arc<Client>, max: usize) -> Vec<Message> {
    let mut out = Vec::new();
    ch.pull(c, max, &mut out);
    out
}

#[tokio::test]
async fn delivers_in_order_with_attempts_and_fin() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 10);
    ch.add_client(&c).expect("add");
    t.publish(bodies(3), 0).expect("publish");
    let got = pull(&ch, &c, 10);
    assert_eq!(
        got.iter().map(|m| &m.body[..]).collect::<Vec<_>>(),
        vec![&b"m0"[..], b"m1", b"m2"]
    );
    assert!(got.iter().all(|m| m.attempts == 1));
    assert_eq!(c.in_flight.load(Ordering::Acquire), 3);
    ch.finish(&got[0].id, &c).expect("fin");
    assert!(ch.finish(&got[0].id, &c).is_err(), "second FIN fails");
    assert_eq!(c.in_flight.load(Ordering::Acquire), 2);
    assert_eq!(ch.snapshot().in_flight_count, 2);
}

#[tokio::test]
async fn requeue_goes_to_tail_and_counts_attempts() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 1);
    ch.add_client(&c).expect("add");
    t.publish(bodies(2), 0).expect("publish");
    let first = pull(&ch, &c, 1);
    ch.requeue(&first[0].id, &c, 0).expect("req");
    let next = pull(&ch, &c, 1);
    assert_eq!(&next[0].body[..], b"m1", "requeued message goes behind m1");
    ch.finish(&next[0].id, &c).expect("fin");
    let again = pull(&ch, &c, 1);
    assert_eq!((&again[0].body[..], again[0].attempts), (&b"m0"[..], 2));
    assert_eq!(ch.snapshot().requeue_count, 1);
}

#[tokio::test]
async fn ownership_is_checked() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let (a, b) = (subscriber(&d, 1), subscriber(&d, 1));
    ch.add_client(&a).expect("add");
    ch.add_client(&b).expect("add");
    t.publish(bodies(1), 0).expect("publish");
    let m = pull(&ch, &a, 1);
    assert_eq!(
        ch.finish(&m[0].id, &b).unwrap_err().to_string(),
        "client does not own message"
    );
    assert_eq!(
        ch.touch(&m[0].id, &b).unwrap_err().to_string(),
        "client does not own message"
    );
    assert!(ch.requeue(&m[0].id, &b, 0).is_err());
    assert!(ch.finish(&m[0].id, &a).is_ok());
}

#[tokio::test]
async fn deferred_requeue_waits_and_frees_the_slot() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 1);
    ch.add_client(&c).expect("add");
    t.publish(bodies(1), 0).expect("publish");
    let m = pull(&ch, &c, 1);
    ch.requeue(&m[0].id, &c, 150_000_000)
        .expect("req with delay");
    assert_eq!(
        c.in_flight.load(Ordering::Acquire),
        0,
        "deferred does not hold a RDY slot"
    );
    assert_eq!(ch.snapshot().deferred_count, 1);
    assert!(pull(&ch, &c, 1).is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = pull(&ch, &c, 1);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
}

#[tokio::test]
async fn dpub_is_deferred_per_channel() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 5);
    ch.add_client(&c).expect("add");
    t.publish(vec![Bytes::from_static(b"later")], 150)
        .expect("dpub");
    t.publish(vec![Bytes::from_static(b"now")], 0).expect("pub");
    let got = pull(&ch, &c, 5);
    assert_eq!(
        got.len(),
        1,
        "the deferred message does not block the ready one"
    );
    assert_eq!(&got[0].body[..], b"now");
    assert_eq!(ch.snapshot().message_count, 2);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(&pull(&ch, &c, 5)[0].body[..], b"later");
}

#[tokio::test]
async fn timeout_requeues_and_touch_extends() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 2);
    c.msg_timeout_ns.store(200_000_000, Ordering::Release);
    ch.add_client(&c).expect("add");
    t.publish(bodies(2), 0).expect("publish");
    let got = pull(&ch, &c, 2);
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ch.touch(&got[1].id, &c).expect("touch");
    }
    let snap = ch.snapshot();
    assert_eq!(
        snap.timeout_count, 1,
        "only the untouched message timed out"
    );
    assert_eq!(snap.in_flight_count, 1);
    assert_eq!(c.in_flight.load(Ordering::Acquire), 1);
    assert_eq!(
        ch.finish(&got[0].id, &c).unwrap_err().to_string(),
        "ID not in flight"
    );
    assert!(ch.finish(&got[1].id, &c).is_ok());
}

#[tokio::test]
async fn a_parked_consumer_is_woken_by_a_put() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 1);
    ch.add_client(&c).expect("add");
    assert!(pull(&ch, &c, 1).is_empty());
    assert!(c.waiting.load(Ordering::Acquire), "parked as a waiter");
    let notified = c.pump_wake.notified();
    t.publish(bodies(1), 0).expect("publish");
    tokio::time::timeout(Duration::from_secs(1), notified)
        .await
        .expect("woken");
    assert_eq!(pull(&ch, &c, 1).len(), 1);
}

#[tokio::test]
async fn a_consumer_that_drained_the_queue_is_woken_again() {
    // Regression: a pull that took some but fewer than asked must park the consumer too.
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 10);
    ch.add_client(&c).expect("add");
    assert!(
        pull(&ch, &c, 10).is_empty(),
        "the pump's first pull parks it"
    );
    for round in 0..3 {
        let notified = c.pump_wake.notified();
        t.publish(bodies(1), 0).expect("publish");
        tokio::time::timeout(Duration::from_secs(1), notified)
            .await
            .unwrap_or_else(|_| panic!("consumer not woken in round {round}"));
        assert_eq!(pull(&ch, &c, 10).len(), 1);
    }
}

#[tokio::test]
async fn spill_to_disk_keeps_fifo_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 3);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 100);
    ch.add_client(&c).expect("add");
    for chunk in bodies(20).chunks(4) {
        t.publish(chunk.to_vec(), 0).expect("publish");
    }
    assert!(
        ch.snapshot().backend_depth > 0,
        "some messages spilled to disk"
    );
    let mut got = Vec::new();
    while got.len() < 20 {
        let batch = pull(&ch, &c, 7);
        assert!(!batch.is_empty());
        for m in &batch {
            ch.finish(&m.id, &c).expect("fin");
        }
        got.extend(batch);
    }
    let expect: Vec<Bytes> = bodies(20);
    assert_eq!(
        got.iter().map(|m| m.body.clone()).collect::<Vec<_>>(),
        expect
    );
}

#[tokio::test]
async fn topic_backlog_drains_to_new_channels_and_pause_holds() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    t.publish(bodies(5), 0).expect("publish");
    assert_eq!(t.depth(), 5, "no channel: the topic keeps its messages");
    t.pause();
    let ch = t.get_or_create_channel("c");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        (t.depth(), ch.depth()),
        (5, 0),
        "paused topic holds its backlog"
    );
    t.unpause();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!((t.depth(), ch.depth()), (0, 5));
    ch.pause();
    let c = subscriber(&d, 5);
    ch.add_client(&c).expect("add");
    assert!(
        pull(&ch, &c, 5).is_empty(),
        "paused channel delivers nothing"
    );
    ch.unpause();
    assert_eq!(pull(&ch, &c, 5).len(), 5);
}

#[tokio::test]
async fn empty_drops_everything_and_resets_clients() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 100);
    let t = d.get_or_create_topic("t").expect("topic");
    let ch = t.get_or_create_channel("c");
    let c = subscriber(&d, 2);
    ch.add_client(&c).expect("add");
    t.publish(bodies(4), 0).expect("publish");
    let got = pull(&ch, &c, 2);
    ch.empty().expect("empty");
    let s = ch.snapshot();
    assert_eq!((s.depth, s.in_flight_count, s.deferred_count), (0, 0, 0));
    assert_eq!(c.in_flight.load(Ordering::Acquire), 0);
    assert!(ch.finish(&got[0].id, &c).is_err());
}

#[tokio::test]
async fn max_channel_consumers_and_ephemeral_deletion() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = Daemon::new(Options {
        data_path: dir.path().display().to_string(),
        max_channel_consumers: 1,
        ..Options::default()
    });
    let t = d.get_or_create_topic("t#ephemeral").expect("topic");
    let ch = t.get_or_create_channel("c#ephemeral");
    let (a, b) = (subscriber(&d, 1), subscriber(&d, 1));
    ch.add_client(&a).expect("first");
    assert_eq!(
        ch.add_client(&b).unwrap_err().to_string(),
        "consumers for t#ephemeral:c#ephemeral exceeds limit of 1"
    );
    ch.remove_client(a.id);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        t.channel("c#ephemeral").is_none(),
        "ephemeral channel deleted with its last client"
    );
    assert!(
        d.topic("t#ephemeral").is_none(),
        "ephemeral topic deleted with its last channel"
    );
}

#[tokio::test]
async fn ephemeral_overflow_is_dropped_but_persistent_overflow_spills() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = daemon(&dir, 2);
    let e = d.get_or_create_topic("e#ephemeral").expect("topic");
    e.get_or_create_channel("c");
    let p = d.get_or_create_topic("p").expect("topic");
    let pc = p.get_or_create_channel("c");
    e.publish(bodies(5), 0)
        .expect("ephemeral publish never fails");
    p.publish(bodies(5), 0).expect("persistent publish spills");
    assert_eq!(pc.depth(), 5);
    assert_eq!(pc.snapshot().backend_depth, 3);
}
