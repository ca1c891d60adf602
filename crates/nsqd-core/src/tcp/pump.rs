//! A connection's message pump: moves ready messages from the subscribed channel into
//! flight and writes them, sends heartbeats, and decides when to flush.
//!
//! Flush rule: the pump writes as soon as it cannot take another message right now — the
//! RDY window is used up, the channel has nothing more, or the buffer reached the client's
//! output buffer size. So a consumer with RDY 1 gets each message at once (the reference's
//! own "not ready → flush" rule), and a busy consumer gets large batched writes. At the
//! default output-buffer timeout we do not hold a partial buffer back for the timer, as the
//! reference does: the timer only bounded the latency of data that could already be sent. A
//! client that negotiated a different timeout asked for batching and gets it: its partial
//! buffers wait for the timer (see `Client::timer_flush_ms`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use nsq_protocol::frame::{write_frame, HEARTBEAT};
use nsq_protocol::{FrameType, Message};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use super::transport::ConnWriter;
use crate::channel::Channel;
use crate::client::Client;

/// Most messages moved per channel lock.
const PULL_BATCH: usize = 1024;

/// Runs the pump until the client exits or a write fails.
pub async fn run(client: Arc<Client>, writer: Arc<AsyncMutex<ConnWriter>>) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut msgs: Vec<Message> = Vec::with_capacity(64);
    let mut channel: Option<Arc<Channel>> = None;
    let mut last_heartbeat = Instant::now();
    // When the oldest unflushed message frame was buffered (timer-flush clients only).
    let mut pending_since: Option<Instant> = None;
    loop {
        if client.exiting.load(Ordering::Acquire) {
            break;
        }
        if channel.is_none() {
            channel = client.channel.lock().clone();
        }
        if let Some(ch) = &channel {
            let obuf = client.output_buffer_size.load(Ordering::Relaxed).max(1) as usize;
            let mut took_any = false;
            loop {
                if !client.is_ready() {
                    break;
                }
                let window = client.ready_count.load(Ordering::Acquire)
                    - client.in_flight.load(Ordering::Acquire);
                let max = (window.max(0) as usize).min(PULL_BATCH);
                msgs.clear();
                let n = ch.pull(&client, max, &mut msgs);
                for m in &msgs {
                    m.encode_frame(&mut buf);
                    if buf.len() >= obuf && write(&client, &writer, &mut buf).await.is_err() {
                        client.request_close();
                        return;
                    }
                }
                took_any |= n > 0;
                if n < max {
                    break;
                }
            }
            if !took_any && !client.is_ready() && client.state() == crate::client::state::SUBSCRIBED
            {
                // We may have been woken as a waiter after becoming unable to take messages:
                // hand the wake-up to another consumer.
                ch.pass_wake();
            }
        }
        let timer_ms = client.timer_flush_ms.load(Ordering::Relaxed);
        let hold = timer_ms > 0
            && !buf.is_empty()
            && client.is_ready()
            && buf.len() < client.output_buffer_size.load(Ordering::Relaxed).max(1) as usize;
        if hold {
            pending_since.get_or_insert_with(Instant::now);
        } else if !buf.is_empty() {
            pending_since = None;
            if write(&client, &writer, &mut buf).await.is_err() {
                client.request_close();
                return;
            }
        }
        let flush_at = pending_since.map(|t| t + Duration::from_millis(timer_ms.max(0) as u64));
        let hb = client.heartbeat_ms.load(Ordering::Relaxed);
        let next_heartbeat = last_heartbeat + Duration::from_millis(hb.max(0) as u64);
        tokio::select! {
            _ = client.pump_wake.notified() => {}
            _ = sleep_until_opt(flush_at), if flush_at.is_some() => {
                pending_since = None;
                if write(&client, &writer, &mut buf).await.is_err() {
                    client.request_close();
                    return;
                }
            }
            _ = tokio::time::sleep_until(next_heartbeat), if hb > 0 => {
                last_heartbeat = Instant::now();
                pending_since = None;
                write_frame(&mut buf, FrameType::Response, HEARTBEAT);
                if write(&client, &writer, &mut buf).await.is_err() {
                    client.request_close();
                    return;
                }
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Writes, flushes and clears `buf`, bounded by the heartbeat interval as the write deadline.
async fn write(
    client: &Client,
    writer: &AsyncMutex<ConnWriter>,
    buf: &mut BytesMut,
) -> std::io::Result<()> {
    let hb = client.heartbeat_ms.load(Ordering::Relaxed);
    let mut w = writer.lock().await;
    // The flush puts TLS records and compressed blocks (sync-flushed) on the wire; it is a
    // no-op on a plain socket.
    let write = async {
        w.write_all(buf).await?;
        w.flush().await
    };
    let res = if hb > 0 {
        match tokio::time::timeout(Duration::from_millis(hb as u64), write).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "write deadline exceeded",
            )),
        }
    } else {
        write.await
    };
    buf.clear();
    res
}
