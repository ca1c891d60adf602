//! A go-nsq compatible producer: one nsqd, connected lazily, publishing synchronously or
//! asynchronously (pipelined).
//!
//! `to_nsq` publishes each record synchronously to every nsqd; `nsq_to_nsq` publishes
//! asynchronously and answers the source message when the destination acknowledges. Like
//! go-nsq, the connection is made by the first publish (`(addr) connecting to nsqd`),
//! answers are matched to publishes in order, an error frame fails the oldest pending
//! publish with the frame's text, and a lost connection fails every pending publish with
//! `not connected`; the next publish reconnects.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use nsq_client::{CommandWriter, Frame, FrameReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::config::{to_std, Config};
use super::consumer::conn::io_text;
use super::dial::{dial, DialError};
use super::log::{next_instance_id, Level, LogContext};

/// Why a publish failed; `Display` is go-nsq's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProducerError {
    /// The connection was lost before the answer arrived.
    #[error("not connected")]
    NotConnected,
    /// The producer was stopped.
    #[error("stopped")]
    Stopped,
    /// nsqd answered with an error frame (its text, e.g. `E_BAD_TOPIC ...`).
    #[error("{0}")]
    Protocol(String),
    /// Connecting failed.
    #[error("{0}")]
    Dial(#[from] DialError),
}

/// The answer to one publish.
pub type PublishResult = Result<(), ProducerError>;

struct Txn {
    cmd: Bytes,
    done: oneshot::Sender<PublishResult>,
}

struct Link {
    tx: mpsc::UnboundedSender<Txn>,
    alive: Arc<AtomicBool>,
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// A producer for one nsqd address. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    addr: String,
    cfg: Config,
    log: LogContext,
    link: Mutex<Option<Link>>,
    stopped: AtomicBool,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// go-nsq's `NewProducer`: validates the configuration and takes the next instance
    /// number; nothing is connected yet.
    pub fn new(addr: &str, cfg: Config) -> Result<Producer, super::config::ConfigError> {
        cfg.validate()?;
        Ok(Producer {
            inner: Arc::new(Inner {
                addr: addr.to_string(),
                log: LogContext::producer(next_instance_id()),
                cfg,
                link: Mutex::new(None),
                stopped: AtomicBool::new(false),
            }),
        })
    }

    /// The nsqd address.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// `PUB`, waiting for nsqd's answer.
    pub async fn publish(&self, topic: &str, body: &[u8]) -> PublishResult {
        let rx = self.publish_async(topic, body).await?;
        rx.await.unwrap_or(Err(ProducerError::NotConnected))
    }

    /// `PUB` without waiting: the receiver yields the answer. Fails right away only if the
    /// producer cannot connect or was stopped.
    pub async fn publish_async(
        &self,
        topic: &str,
        body: &[u8],
    ) -> Result<oneshot::Receiver<PublishResult>, ProducerError> {
        let mut cmd = BytesMut::new();
        nsq_client::command::publish(&mut cmd, topic, body);
        self.send(cmd.freeze()).await
    }

    async fn send(&self, cmd: Bytes) -> Result<oneshot::Receiver<PublishResult>, ProducerError> {
        let tx = self.connect().await?;
        let (done, rx) = oneshot::channel();
        if let Err(e) = tx.send(Txn { cmd, done }) {
            let _ = e.0.done.send(Err(ProducerError::NotConnected));
        }
        Ok(rx)
    }

    async fn connect(&self) -> Result<mpsc::UnboundedSender<Txn>, ProducerError> {
        let inner = &self.inner;
        let mut link = inner.link.lock().await;
        if inner.stopped.load(Ordering::SeqCst) {
            return Err(ProducerError::Stopped);
        }
        if let Some(l) = link.as_ref() {
            if l.alive.load(Ordering::SeqCst) {
                return Ok(l.tx.clone());
            }
        }
        inner
            .log
            .conn_log(Level::Info, &inner.addr, format_args!("connecting to nsqd"));
        let dialed = match dial(&inner.addr, &inner.cfg, &inner.log).await {
            Ok(d) => d,
            Err(e) => {
                inner.log.conn_log(
                    Level::Error,
                    &inner.addr,
                    format_args!("error connecting to nsqd - {e}"),
                );
                return Err(e.into());
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let alive = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn(router(
            inner.addr.clone(),
            inner.log.clone(),
            to_std(inner.cfg.read_timeout),
            to_std(inner.cfg.write_timeout),
            dialed.reader,
            dialed.writer,
            rx,
            alive.clone(),
            stop.clone(),
        ));
        *link = Some(Link {
            tx: tx.clone(),
            alive,
            stop,
            task,
        });
        Ok(tx)
    }

    /// go-nsq's `Stop`: logs `(addr) stopping`, fails pending publishes with
    /// `not connected`, closes the connection and waits for it.
    pub async fn stop(&self) {
        if self.inner.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner
            .log
            .conn_log(Level::Info, &self.inner.addr, format_args!("stopping"));
        let link = self.inner.link.lock().await.take();
        if let Some(l) = link {
            l.stop.notify_one();
            let _ = l.task.await;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn router(
    addr: String,
    log: LogContext,
    read_timeout: Duration,
    write_timeout: Duration,
    mut reader: FrameReader<OwnedReadHalf>,
    mut writer: CommandWriter<OwnedWriteHalf>,
    mut rx: mpsc::UnboundedReceiver<Txn>,
    alive: Arc<AtomicBool>,
    stop: Arc<tokio::sync::Notify>,
) {
    let read_timeout = read_timeout.max(Duration::from_millis(100));
    let write_timeout = write_timeout.max(Duration::from_millis(100));
    let mut pending: VecDeque<oneshot::Sender<PublishResult>> = VecDeque::new();
    loop {
        tokio::select! {
            biased;
            _ = stop.notified() => break,
            txn = rx.recv() => {
                let Some(txn) = txn else { break };
                writer.buffer_mut().extend_from_slice(&txn.cmd);
                pending.push_back(txn.done);
                match tokio::time::timeout(write_timeout, writer.flush()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        log.conn_log(Level::Error, &addr, format_args!("sending command - {e}"));
                        break;
                    }
                    Err(_) => {
                        log.conn_log(Level::Error, &addr, format_args!("sending command - write tcp {addr}: i/o timeout"));
                        break;
                    }
                }
            }
            frame = tokio::time::timeout(read_timeout, reader.next_frame()) => {
                match frame {
                    Ok(Ok(f)) if f.is_heartbeat() => {
                        writer.nop();
                        if !matches!(tokio::time::timeout(write_timeout, writer.flush()).await, Ok(Ok(()))) {
                            break;
                        }
                    }
                    Ok(Ok(Frame::Response(_))) => {
                        if let Some(done) = pending.pop_front() {
                            let _ = done.send(Ok(()));
                        }
                    }
                    Ok(Ok(Frame::Error(data))) => {
                        let text = String::from_utf8_lossy(&data).into_owned();
                        log.conn_log(Level::Error, &addr, format_args!("protocol error - {text}"));
                        if let Some(done) = pending.pop_front() {
                            let _ = done.send(Err(ProducerError::Protocol(text)));
                        }
                    }
                    Ok(Ok(Frame::Message(_))) => {}
                    Ok(Err(e)) => {
                        log.conn_log(Level::Error, &addr, format_args!("IO error - {}", io_text(&e)));
                        break;
                    }
                    Err(_) => {
                        log.conn_log(Level::Error, &addr, format_args!("IO error - read tcp {addr}: i/o timeout"));
                        break;
                    }
                }
            }
        }
    }
    alive.store(false, Ordering::SeqCst);
    for done in pending.drain(..) {
        let _ = done.send(Err(ProducerError::NotConnected));
    }
    rx.close();
    while let Ok(txn) = rx.try_recv() {
        let _ = txn.done.send(Err(ProducerError::NotConnected));
    }
    let _ = tokio::time::timeout(write_timeout, writer.shutdown()).await;
    log.conn_log(Level::Info, &addr, format_args!("exiting router"));
}
