//! `fill`: publishes exactly N messages (MPUB batches over a few connections) so a scenario
//! starts from a known backlog, optionally creating channels first so the messages queue in
//! them rather than in the topic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use nsq_client::{Config, Connection};
use serde_json::{json, Value};

use crate::args::Args;
use crate::error::{BenchError, Result};

/// Parameters of a fill.
#[derive(Debug, Clone)]
pub struct FillSpec {
    /// nsqd TCP address.
    pub addr: String,
    /// Topic to publish to.
    pub topic: String,
    /// Exactly this many messages are published.
    pub count: u64,
    /// Body size in bytes.
    pub size: usize,
    /// Messages per MPUB.
    pub batch: u64,
    /// Publishing connections.
    pub conns: usize,
}

/// Publishes `spec.count` messages; returns the seconds it took. Every MPUB must be
/// answered `OK`, otherwise the fill fails.
pub async fn fill(spec: &FillSpec) -> Result<f64> {
    if spec.batch == 0 || spec.conns == 0 {
        return Err(BenchError::Usage("batch and conns must be > 0".into()));
    }
    let claimed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..spec.conns {
        let spec = spec.clone();
        let claimed = claimed.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Connection::connect(spec.addr.as_str(), &Config::minimal("fill")).await?;
            let body = vec![0u8; spec.size];
            let full: Vec<&[u8]> = vec![&body[..]; spec.batch as usize];
            loop {
                let first = claimed.fetch_add(spec.batch, Ordering::Relaxed);
                if first >= spec.count {
                    break;
                }
                let n = (spec.count - first).min(spec.batch) as usize;
                c.multi_publish(&spec.topic, &full[..n]).await?;
            }
            Ok::<(), BenchError>(())
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| BenchError::Run(format!("fill task: {e}")))??;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Subscribes to each channel (RDY 0) so it exists, and keeps the connections open for the
/// caller to close after publishing.
pub async fn create_channels(
    addr: &str,
    topic: &str,
    channels: &[String],
) -> Result<Vec<Connection>> {
    let mut conns = Vec::new();
    for ch in channels {
        let mut c = Connection::connect(addr, &Config::minimal("fill-channel")).await?;
        c.subscribe(topic, ch).await?;
        conns.push(c);
    }
    Ok(conns)
}

/// `fill --addr A --topic T --count N [--size 200] [--batch 200] [--conns 2] [--channel C]...`
pub async fn run(args: &[String]) -> Result<Value> {
    let a = Args::parse(
        args,
        &[
            "addr", "topic", "count", "size", "batch", "conns", "channel",
        ],
    )?;
    let spec = FillSpec {
        addr: a.required("addr")?,
        topic: a.get("topic", "sub_bench".to_string())?,
        count: a.required("count")?,
        size: a.get("size", 200)?,
        batch: a.get("batch", 200)?,
        conns: a.get("conns", 2)?,
    };
    let channels = a.all("channel");
    let holders = create_channels(&spec.addr, &spec.topic, &channels).await?;
    let secs = fill(&spec).await?;
    for c in holders {
        c.close().await?;
    }
    Ok(json!({
        "published": spec.count,
        "seconds": secs,
        "rate": spec.count as f64 / secs.max(1e-9),
    }))
}
