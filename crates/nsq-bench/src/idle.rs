//! `idle`: the daemon's memory cost of idle client connections. Samples the daemon's RSS,
//! opens N connections (magic + go-nsq-like IDENTIFY, answered), lets the daemon settle,
//! samples again, and reports the difference per connection.

use std::sync::Arc;
use std::time::Duration;

use nsq_client::{Config, Connection};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::args::{parse_duration, Args};
use crate::error::{BenchError, Result};
use crate::procfs::sample;

/// Raises this process's soft file-descriptor limit to the hard limit.
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        }
    }
    lim.rlim_cur
}

/// `idle --addr A --daemon-pid P [--conns 10000] [--settle 2s] [--parallel 200]`
pub async fn run(args: &[String]) -> Result<Value> {
    let a = Args::parse(args, &["addr", "daemon-pid", "conns", "settle", "parallel"])?;
    let addr: String = a.required("addr")?;
    let pid: u32 = a.required("daemon-pid")?;
    let n: usize = a.get("conns", 10_000)?;
    let settle = parse_duration(&a.get("settle", "2s".to_string())?)?;
    let parallel: usize = a.get("parallel", 200)?;
    let nofile = raise_nofile_limit();
    if (nofile as usize) < n + 64 {
        return Err(BenchError::Run(format!(
            "file descriptor limit {nofile} is too low for {n} connections"
        )));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = sample(pid)?;
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let addr = addr.clone();
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate
                .acquire_owned()
                .await
                .map_err(|e| BenchError::Run(e.to_string()))?;
            let cfg = Config {
                client_id: format!("idle-{i}"),
                read_buffer_size: 256,
                connect_timeout: Duration::from_secs(30),
                ..Config::default()
            };
            Ok::<_, BenchError>(Connection::connect(addr.as_str(), &cfg).await?)
        }));
    }
    let mut conns = Vec::with_capacity(n);
    for t in tasks {
        conns.push(t.await.map_err(|e| BenchError::Run(e.to_string()))??);
    }
    tokio::time::sleep(settle).await;
    let after = sample(pid)?;
    drop(conns);
    let per_conn = (after.rss_kb as f64 - before.rss_kb as f64) * 1024.0 / n as f64;
    Ok(json!({
        "conns": n,
        "rss_before_kb": before.rss_kb,
        "rss_after_kb": after.rss_kb,
        "hwm_kb": after.hwm_kb,
        "bytes_per_conn": per_conn,
    }))
}
