//! `fanout`: one topic, K channels, one consumer each. The channels are created first
//! (subscribed with RDY 0), N messages are published, then every consumer gets its RDY at
//! once and the clock runs until each channel has delivered all N: K×N deliveries.
//! Measuring a drain of a known backlog makes the figure independent of publisher speed.

use std::time::{Duration, Instant};

use nsq_client::{Config, Connection};
use serde_json::{json, Value};

use crate::args::{parse_duration, Args};
use crate::error::{BenchError, Result};
use crate::fill::{fill, FillSpec};
use crate::procfs::maybe_sample;

/// `fanout --addr A --count N [--channels 10] [--size 200] [--rdy 2500] [--topic fanout]
/// [--daemon-pid P] [--timeout 120s]`
pub async fn run(args: &[String]) -> Result<Value> {
    let a = Args::parse(
        args,
        &[
            "addr",
            "count",
            "channels",
            "size",
            "rdy",
            "topic",
            "daemon-pid",
            "timeout",
        ],
    )?;
    let addr: String = a.required("addr")?;
    let count: u64 = a.required("count")?;
    let channels: usize = a.get("channels", 10)?;
    let size: usize = a.get("size", 200)?;
    let rdy: u64 = a.get("rdy", 2500)?;
    let topic: String = a.get("topic", "fanout".to_string())?;
    let pid: Option<u32> = a.get("daemon-pid", 0u32).map(|p| (p > 0).then_some(p))?;
    let limit = parse_duration(&a.get("timeout", "120s".to_string())?)?;

    let mut consumers = Vec::new();
    for i in 0..channels {
        let cfg = Config {
            client_id: format!("fanout-{i}"),
            ..Config::default()
        };
        let mut c = Connection::connect(addr.as_str(), &cfg).await?;
        c.subscribe(&topic, &format!("ch{i}")).await?;
        consumers.push(c);
    }
    let fill_s = fill(&FillSpec {
        addr: addr.clone(),
        topic: topic.clone(),
        count,
        size,
        batch: 200,
        conns: 2,
    })
    .await?;

    let before = maybe_sample(pid)?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut c in consumers {
        tasks.push(tokio::spawn(async move {
            c.rdy(rdy);
            let mut got = 0u64;
            while got < count {
                let m = c.next_message().await?;
                c.fin(&m.id);
                got += 1;
            }
            c.flush().await?;
            Ok::<_, BenchError>((c, Instant::now()))
        }));
    }
    let mut last = start;
    let mut done = Vec::new();
    for t in tasks {
        let remaining = limit
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(1));
        let (c, at) = tokio::time::timeout(remaining, t)
            .await
            .map_err(|_| BenchError::Run(format!("fan-out not drained within {limit:?}")))?
            .map_err(|e| BenchError::Run(format!("consumer task: {e}")))??;
        last = last.max(at);
        done.push(c);
    }
    let after = maybe_sample(pid)?;
    let secs = (last - start).as_secs_f64();
    let deliveries = count * channels as u64;
    for c in done {
        c.close().await?;
    }
    let cpu_us = match (before, after) {
        (Some(b), Some(a)) => json!((a.cpu_s - b.cpu_s) * 1e6 / deliveries as f64),
        _ => Value::Null,
    };
    Ok(json!({
        "channels": channels,
        "count": count,
        "deliveries": deliveries,
        "seconds": secs,
        "rate": deliveries as f64 / secs.max(1e-9),
        "fill_seconds": fill_s,
        "cpu_us_per_msg": cpu_us,
    }))
}
