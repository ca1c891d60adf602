//! `latency`: publish→deliver latency at a fixed publish rate.
//!
//! One publisher connection sends `PUB`s paced by a dedicated OS thread (so pacing is not
//! bound to tokio's 1 ms timer), pipelined: a separate task counts the `OK`s, so a slow
//! answer never delays the next publish. Each body starts with the send time (ns since a
//! process-wide origin, taken right before the command is buffered). One consumer (with
//! go-nsq-like IDENTIFY: feature negotiation, 16 KiB output buffer, the given
//! output_buffer_timeout) subscribes with the given RDY, FINs every message and records
//! `receive time − send time`. Samples sent during the warm-up are discarded. Every
//! published message must arrive, or the run fails.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use nsq_client::{Config, Connection, Frame};
use serde_json::{json, Value};

use crate::args::{parse_duration, Args};
use crate::error::{BenchError, Result};
use crate::stats::percentile;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the process-wide origin (monotonic).
pub fn now_ns() -> u64 {
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Extracts the send timestamp written into the first 8 bytes of a body.
pub fn body_timestamp(body: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(body.get(..8)?.try_into().ok()?))
}

/// Parameters of one latency run.
#[derive(Debug, Clone)]
struct Spec {
    addr: String,
    topic: String,
    channel: String,
    rate: f64,
    duration: Duration,
    warmup: Duration,
    size: usize,
    rdy: u64,
    output_buffer_timeout_ms: i64,
    drain_timeout: Duration,
}

/// `latency --addr A --rate R [--duration 5s] [--warmup 1s] [--size 200] [--rdy 200]
/// [--output-buffer-timeout 250] [--topic latency] [--channel lat] [--drain-timeout 10s]`
pub async fn run(args: &[String]) -> Result<Value> {
    let a = Args::parse(
        args,
        &[
            "addr",
            "rate",
            "duration",
            "warmup",
            "size",
            "rdy",
            "output-buffer-timeout",
            "topic",
            "channel",
            "drain-timeout",
        ],
    )?;
    let spec = Spec {
        addr: a.required("addr")?,
        topic: a.get("topic", "latency".to_string())?,
        channel: a.get("channel", "lat".to_string())?,
        rate: a.required("rate")?,
        duration: parse_duration(&a.get("duration", "5s".to_string())?)?,
        warmup: parse_duration(&a.get("warmup", "1s".to_string())?)?,
        size: a.get("size", 200)?,
        rdy: a.get("rdy", 200)?,
        output_buffer_timeout_ms: a.get("output-buffer-timeout", 250)?,
        drain_timeout: parse_duration(&a.get("drain-timeout", "10s".to_string())?)?,
    };
    if spec.size < 8 {
        return Err(BenchError::Usage("--size must be >= 8".into()));
    }
    if spec.rate.is_nan() || spec.rate <= 0.0 || spec.warmup >= spec.duration {
        return Err(BenchError::Usage(
            "need --rate > 0 and --warmup < --duration".into(),
        ));
    }
    measure(spec).await
}

async fn measure(spec: Spec) -> Result<Value> {
    let _ = now_ns();
    let cfg = Config {
        client_id: "latency-sub".into(),
        output_buffer_timeout_ms: Some(spec.output_buffer_timeout_ms),
        ..Config::default()
    };
    let mut sub = Connection::connect(spec.addr.as_str(), &cfg).await?;
    sub.subscribe(&spec.topic, &spec.channel).await?;
    sub.rdy(spec.rdy);
    sub.flush().await?;

    let publisher =
        Connection::connect(spec.addr.as_str(), &Config::minimal("latency-pub")).await?;
    let (mut oks_rd, mut wr, _) = publisher.into_split();

    let sent_total = Arc::new(AtomicU64::new(0));
    let publishing = Arc::new(AtomicBool::new(true));

    // Counts OKs; any error frame fails the run.
    let ok_counter = tokio::spawn(async move {
        let mut oks = 0u64;
        loop {
            match oks_rd.next_frame().await {
                Ok(f) if f.is_heartbeat() => {}
                Ok(Frame::Response(b)) if &b[..] == b"OK" => oks += 1,
                Ok(other) => return Err(BenchError::Run(format!("publisher got {other:?}"))),
                Err(nsq_client::Error::Closed) => return Ok(oks),
                Err(e) => return Err(e.into()),
            }
        }
    });

    let t0 = now_ns();
    let warm_ns = t0 + spec.warmup.as_nanos() as u64;
    let end_ns = t0 + spec.duration.as_nanos() as u64;

    // Consumer: records latencies of messages sent after the warm-up.
    let consumer = {
        let sent_total = sent_total.clone();
        let publishing = publishing.clone();
        let drain = spec.drain_timeout;
        tokio::spawn(async move {
            let mut lat_ns: Vec<u64> = Vec::new();
            let mut received = 0u64;
            let mut drain_deadline: Option<Instant> = None;
            loop {
                if !publishing.load(Ordering::Acquire) {
                    if received >= sent_total.load(Ordering::Acquire) {
                        break;
                    }
                    let d = *drain_deadline.get_or_insert_with(|| Instant::now() + drain);
                    if Instant::now() >= d {
                        return Err(BenchError::Run(format!(
                            "lost messages: received {received} of {}",
                            sent_total.load(Ordering::Acquire)
                        )));
                    }
                }
                let m = match tokio::time::timeout(Duration::from_millis(50), sub.next_message())
                    .await
                {
                    Err(_) => continue,
                    Ok(m) => m?,
                };
                let now = now_ns();
                let sent = body_timestamp(&m.body)
                    .ok_or_else(|| BenchError::Run("message body shorter than 8 bytes".into()))?;
                if sent >= warm_ns {
                    lat_ns.push(now.saturating_sub(sent));
                }
                received += 1;
                sub.fin(&m.id);
            }
            sub.close().await?;
            Ok::<_, BenchError>((received, lat_ns))
        })
    };

    // Publisher: paced on its own thread; writes are driven through the runtime handle.
    let handle = tokio::runtime::Handle::current();
    let pub_thread = {
        let sent_total = sent_total.clone();
        let publishing = publishing.clone();
        let topic = spec.topic.clone();
        let (rate, size) = (spec.rate, spec.size);
        std::thread::spawn(move || -> Result<(u64, f64)> {
            let period_ns = 1e9 / rate;
            let mut body = vec![0u8; size];
            let mut sent = 0u64;
            let result = (|| {
                loop {
                    let now = now_ns();
                    if now >= end_ns {
                        break;
                    }
                    let due = ((now - t0) as f64 / period_ns) as u64 + 1;
                    let n = due.saturating_sub(sent).min(10_000);
                    for _ in 0..n {
                        body[..8].copy_from_slice(&now_ns().to_le_bytes());
                        wr.publish(&topic, &body);
                    }
                    sent += n;
                    sent_total.store(sent, Ordering::Release);
                    handle.block_on(wr.flush())?;
                    let next = t0 + (sent as f64 * period_ns) as u64;
                    let now = now_ns();
                    if next > now {
                        std::thread::sleep(Duration::from_nanos(next - now));
                    }
                }
                handle.block_on(wr.shutdown())?;
                Ok::<_, BenchError>(())
            })();
            let elapsed = (now_ns() - t0) as f64 / 1e9;
            publishing.store(false, Ordering::Release);
            result.map(|()| (sent, sent as f64 / elapsed))
        })
    };

    let (sent, achieved) = tokio::task::spawn_blocking(move || pub_thread.join())
        .await
        .map_err(|e| BenchError::Run(format!("publisher join: {e}")))?
        .map_err(|_| BenchError::Run("publisher thread panicked".into()))??;
    let oks = ok_counter
        .await
        .map_err(|e| BenchError::Run(format!("ok counter: {e}")))??;
    if oks != sent {
        return Err(BenchError::Run(format!("{oks} OKs for {sent} PUBs")));
    }
    let (received, mut lat) = consumer
        .await
        .map_err(|e| BenchError::Run(format!("consumer: {e}")))??;
    if received != sent {
        return Err(BenchError::Run(format!("received {received} of {sent}")));
    }
    lat.sort_unstable();
    let us = |p: f64| percentile(&lat, p).map_or(0.0, |v| v as f64 / 1e3);
    let mean = if lat.is_empty() {
        0.0
    } else {
        lat.iter().map(|&v| v as f64).sum::<f64>() / lat.len() as f64 / 1e3
    };
    Ok(json!({
        "rate_target": spec.rate,
        "rate_achieved": achieved,
        "sent": sent,
        "received": received,
        "samples": lat.len(),
        "rdy": spec.rdy,
        "output_buffer_timeout_ms": spec.output_buffer_timeout_ms,
        "p50_us": us(50.0),
        "p99_us": us(99.0),
        "p999_us": us(99.9),
        "max_us": us(100.0),
        "mean_us": mean,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_roundtrip() {
        let mut b = vec![0u8; 200];
        b[..8].copy_from_slice(&123_456_789u64.to_le_bytes());
        assert_eq!(body_timestamp(&b), Some(123_456_789));
        assert_eq!(body_timestamp(b"short"), None);
        let a = now_ns();
        assert!(now_ns() >= a);
    }
}
