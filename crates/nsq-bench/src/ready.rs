//! Helpers for the orchestration script: free loopback ports and waiting until an nsqd
//! answers the protocol (not merely accepts TCP), so measurements never start early.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use nsq_client::{Config, Connection};
use serde_json::{json, Value};

use crate::args::{parse_duration, Args};
use crate::error::{BenchError, Result};

/// `free-ports --count N`: N distinct ports that were free on 127.0.0.1 (all held open
/// until every one is chosen, so they differ).
pub fn free_ports(args: &[String]) -> Result<Value> {
    let a = Args::parse(args, &["count"])?;
    let n: usize = a.get("count", 1)?;
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    let ports = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok(json!({ "ports": ports }))
}

/// `wait-ready --addr A [--timeout 10s]`: retries magic + IDENTIFY until it succeeds.
pub async fn wait_ready(args: &[String]) -> Result<Value> {
    let a = Args::parse(args, &["addr", "timeout"])?;
    let addr: String = a.required("addr")?;
    let limit = parse_duration(&a.get("timeout", "10s".to_string())?)?;
    let start = Instant::now();
    let mut cfg = Config::minimal("wait-ready");
    cfg.connect_timeout = Duration::from_secs(1);
    loop {
        match Connection::connect(addr.as_str(), &cfg).await {
            Ok(c) => {
                drop(c);
                return Ok(json!({ "ready_after_s": start.elapsed().as_secs_f64() }));
            }
            Err(e) if start.elapsed() >= limit => {
                return Err(BenchError::Run(format!(
                    "{addr} not ready after {limit:?}: {e}"
                )))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}
