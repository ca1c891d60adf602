//! One subscribed nsqd connection of a consumer (go-nsq's `Conn` in consumer use).
//!
//! Two tasks share the socket, as go-nsq's read and write loops do: the reader decodes
//! frames (queueing `NOP` for heartbeats) and hands each message to the handlers, waiting
//! until one takes it; the writer sends the commands other tasks queue (`RDY` first, then
//! `FIN`/`REQ` answers, `TOUCH`, `CLS`, `NOP`). The close sequence follows go-nsq so that no
//! answered message is lost: after `CLOSE_WAIT` (or an IO error) reading stops, but answers
//! for messages still in flight are written until none remain; only then is the socket
//! shut and the consumer told.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use nsq_client::{CommandWriter, Frame, FrameReader};
use nsq_protocol::MessageId;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, Notify};

use super::Inner;
use crate::gonsq::config::to_std;
use crate::gonsq::log::Level;
use crate::gonsq::message::Delivery;

/// A command queued for the connection's task. (`RDY` has its own, prioritised channel:
/// go-nsq writes RDY immediately, so a `RDY 0` caused by a failure precedes its `REQ`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnCmd {
    /// `FIN id` (`requeue_ms: None`) or `REQ id ms`; `backoff` tells the consumer to back off.
    Respond {
        id: MessageId,
        requeue_ms: Option<u64>,
        backoff: bool,
    },
    /// `TOUCH id`.
    Touch(MessageId),
    /// `CLS`.
    Cls,
    /// `NOP` (the answer to a heartbeat).
    Nop,
}

fn clock() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn now_ns() -> i64 {
    i64::try_from(clock().elapsed().as_nanos()).unwrap_or(i64::MAX)
}

/// The state of a connection that other tasks read and act on.
///
/// Invariants: `in_flight` counts messages delivered and not yet answered; `rdy` is the RDY
/// count last set (and, if it differed, sent); once `closing` is set it is never cleared.
#[derive(Debug)]
pub(crate) struct ConnShared {
    pub(crate) addr: String,
    tx: mpsc::UnboundedSender<ConnCmd>,
    rdy_tx: mpsc::UnboundedSender<i64>,
    in_flight: AtomicI64,
    rdy: AtomicI64,
    max_rdy: i64,
    closing: AtomicBool,
    close_read: Notify,
    last_msg_ns: AtomicI64,
    last_rdy_ns: AtomicI64,
    default_requeue_ns: i64,
    max_requeue_ns: i64,
}

impl ConnShared {
    pub(crate) fn new(
        addr: &str,
        max_rdy: i64,
        requeue: (i64, i64),
    ) -> (
        Arc<ConnShared>,
        mpsc::UnboundedReceiver<ConnCmd>,
        mpsc::UnboundedReceiver<i64>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (rdy_tx, rdy_rx) = mpsc::unbounded_channel();
        let now = now_ns();
        let shared = Arc::new(ConnShared {
            addr: addr.to_string(),
            tx,
            rdy_tx,
            in_flight: AtomicI64::new(0),
            rdy: AtomicI64::new(0),
            max_rdy,
            closing: AtomicBool::new(false),
            close_read: Notify::new(),
            last_msg_ns: AtomicI64::new(now),
            last_rdy_ns: AtomicI64::new(0),
            default_requeue_ns: requeue.0,
            max_requeue_ns: requeue.1,
        });
        (shared, rx, rdy_rx)
    }

    /// Queues a command (dropped if the task has ended).
    pub(crate) fn send(&self, cmd: ConnCmd) {
        let _ = self.tx.send(cmd);
    }

    /// Queues `RDY n` ahead of every other command.
    pub(crate) fn send_rdy(&self, n: i64) {
        let _ = self.rdy_tx.send(n);
    }

    /// `(default_requeue_delay, max_requeue_delay)` in ns.
    pub(crate) fn requeue_delays(&self) -> (i64, i64) {
        (self.default_requeue_ns, self.max_requeue_ns)
    }

    pub(crate) fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn rdy(&self) -> i64 {
        self.rdy.load(Ordering::SeqCst)
    }

    /// Records a new RDY count (and, if non-zero, when it was set).
    pub(crate) fn set_rdy(&self, n: i64) {
        self.rdy.store(n, Ordering::SeqCst);
        if n > 0 {
            self.last_rdy_ns.store(now_ns(), Ordering::SeqCst);
        }
    }

    pub(crate) fn max_rdy(&self) -> i64 {
        self.max_rdy
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Time since the last message arrived.
    pub(crate) fn since_last_message(&self) -> Duration {
        let d = now_ns().saturating_sub(self.last_msg_ns.load(Ordering::SeqCst));
        Duration::from_nanos(u64::try_from(d).unwrap_or(0))
    }

    /// Time since the last non-zero RDY was set.
    pub(crate) fn since_last_rdy(&self) -> Duration {
        let d = now_ns().saturating_sub(self.last_rdy_ns.load(Ordering::SeqCst));
        Duration::from_nanos(u64::try_from(d).unwrap_or(0))
    }

    /// go-nsq's `Conn.Close`: stop reading as soon as nothing is in flight.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        if self.in_flight() == 0 {
            self.close_read.notify_one();
        }
    }
}

/// Runs the connection until it is closed and drained, then reports the close to the
/// consumer. Like go-nsq, reading and writing are separate tasks: the reader hands each
/// message to the handlers and waits until one takes it (so `in_flight` counts what the
/// handlers hold, which is what `is_starved` measures), while the writer keeps sending
/// `FIN`/`REQ`/`RDY` meanwhile.
pub(crate) async fn run(
    inner: Arc<Inner>,
    shared: Arc<ConnShared>,
    reader: FrameReader<OwnedReadHalf>,
    writer: CommandWriter<OwnedWriteHalf>,
    rx: mpsc::UnboundedReceiver<ConnCmd>,
    rdy_rx: mpsc::UnboundedReceiver<i64>,
) {
    let reading_done = Arc::new(Notify::new());
    let done = reading_done.clone();
    let read_task = tokio::spawn(read_loop(inner.clone(), shared.clone(), reader, done));
    write_loop(&inner, &shared, writer, rx, rdy_rx, &reading_done).await;
    read_task.abort();
    inner.on_conn_close(&shared);
}

/// go-nsq's `readLoop`.
async fn read_loop(
    inner: Arc<Inner>,
    shared: Arc<ConnShared>,
    mut reader: FrameReader<OwnedReadHalf>,
    done: Arc<Notify>,
) {
    let read_timeout = to_std(inner.cfg.read_timeout).max(Duration::from_millis(100));
    let addr = shared.addr.clone();
    let log = &inner.log;
    loop {
        if shared.is_closing() {
            break;
        }
        let frame = tokio::select! {
            _ = shared.close_read.notified() => break,
            f = tokio::time::timeout(read_timeout, reader.next_frame()) => f,
        };
        let frame = match frame {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                if !(shared.is_closing() && matches!(e, nsq_client::Error::Closed)) {
                    log.conn_log(
                        Level::Error,
                        &addr,
                        format_args!("IO error - {}", io_text(&e)),
                    );
                }
                shared.close();
                break;
            }
            Err(_) => {
                log.conn_log(
                    Level::Error,
                    &addr,
                    format_args!("IO error - read tcp {addr}: i/o timeout"),
                );
                shared.close();
                break;
            }
        };
        match frame {
            f if f.is_heartbeat() => shared.send(ConnCmd::Nop),
            Frame::Response(data) => {
                if &data[..] == b"CLOSE_WAIT" {
                    log.conn_log(
                        Level::Info,
                        &addr,
                        format_args!("received CLOSE_WAIT from nsqd"),
                    );
                    shared.close();
                }
            }
            Frame::Error(data) => log.conn_log(
                Level::Error,
                &addr,
                format_args!("protocol error - {}", String::from_utf8_lossy(&data)),
            ),
            Frame::Message(m) => {
                shared.in_flight.fetch_add(1, Ordering::SeqCst);
                shared.last_msg_ns.store(now_ns(), Ordering::SeqCst);
                inner.on_message(Delivery::new(m, shared.clone())).await;
            }
        }
    }
    let n = shared.in_flight();
    if n > 0 {
        log.conn_log(
            Level::Warning,
            &addr,
            format_args!("delaying close, {n} outstanding messages"),
        );
    }
    done.notify_one();
}

/// go-nsq's `writeLoop` plus the drain of its close sequence.
async fn write_loop(
    inner: &Arc<Inner>,
    shared: &Arc<ConnShared>,
    mut writer: CommandWriter<OwnedWriteHalf>,
    mut rx: mpsc::UnboundedReceiver<ConnCmd>,
    mut rdy_rx: mpsc::UnboundedReceiver<i64>,
    reading_done: &Notify,
) {
    let write_timeout = to_std(inner.cfg.write_timeout).max(Duration::from_millis(100));
    let addr = shared.addr.clone();
    let log = &inner.log;
    let mut writable = true;
    let mut reading = true;
    loop {
        if !reading && shared.in_flight() == 0 {
            break;
        }
        let mut text = String::new();
        tokio::select! {
            biased;
            _ = reading_done.notified(), if reading => {
                reading = false;
                continue;
            }
            n = rdy_rx.recv() => {
                let Some(n) = n else { break };
                if writable {
                    text = format!("RDY {n}");
                    writer.rdy(u64::try_from(n).unwrap_or(0));
                }
            }
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                if let ConnCmd::Respond { requeue_ms, backoff, .. } = &cmd {
                    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                    match requeue_ms {
                        None => inner.on_finished(),
                        Some(_) => inner.on_requeued(*backoff),
                    }
                    // RDY changes caused by this answer go out first, as in go-nsq.
                    while let Ok(n) = rdy_rx.try_recv() {
                        writer.rdy(u64::try_from(n).unwrap_or(0));
                    }
                    if shared.in_flight() == 0 && shared.is_closing() {
                        shared.close_read.notify_one();
                    }
                }
                if writable {
                    text = command_text(&cmd);
                    encode(&mut writer, &cmd);
                }
            }
        }
        if writable && !text.is_empty() {
            let r = tokio::time::timeout(write_timeout, writer.flush()).await;
            let err = match r {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("write tcp {addr}: i/o timeout")),
            };
            if let Some(e) = err {
                log.conn_log(
                    Level::Error,
                    &addr,
                    format_args!("error sending command {text} - {e}"),
                );
                writable = false;
                shared.closing.store(true, Ordering::SeqCst);
                shared.close_read.notify_one();
            }
        }
    }
    for line in [
        "beginning close",
        "readLoop exiting",
        "breaking out of writeLoop",
        "writeLoop exiting",
        "finished draining, cleanup exiting",
    ] {
        log.conn_log(Level::Info, &addr, format_args!("{line}"));
    }
    let _ = tokio::time::timeout(write_timeout, writer.shutdown()).await;
    log.conn_log(Level::Info, &addr, format_args!("clean close complete"));
}

fn encode(w: &mut CommandWriter<OwnedWriteHalf>, cmd: &ConnCmd) {
    match cmd {
        ConnCmd::Respond {
            id,
            requeue_ms: None,
            ..
        } => w.fin(id),
        ConnCmd::Respond {
            id,
            requeue_ms: Some(ms),
            ..
        } => w.req(id, *ms),
        ConnCmd::Touch(id) => w.touch(id),
        ConnCmd::Cls => w.cls(),
        ConnCmd::Nop => w.nop(),
    }
}

/// The command as go-nsq's `Command.String()` prints it in error lines.
fn command_text(cmd: &ConnCmd) -> String {
    match cmd {
        ConnCmd::Respond {
            id,
            requeue_ms: None,
            ..
        } => format!("FIN {}", id.as_text()),
        ConnCmd::Respond {
            id,
            requeue_ms: Some(ms),
            ..
        } => format!("REQ {} {ms}", id.as_text()),
        ConnCmd::Touch(id) => format!("TOUCH {}", id.as_text()),
        ConnCmd::Cls => "CLS".to_string(),
        ConnCmd::Nop => "NOP".to_string(),
    }
}

/// An IO failure as Go prints it (`EOF` for a clean close by the peer).
pub(crate) fn io_text(e: &nsq_client::Error) -> String {
    match e {
        nsq_client::Error::Closed => "EOF".to_string(),
        nsq_client::Error::Io(io) => nsq_http::listen::go_errno_text(io),
        other => other.to_string(),
    }
}
