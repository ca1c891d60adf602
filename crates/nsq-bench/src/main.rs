//! `nsq-bench`: load tools for benchmarking an nsqd (ours or the reference) over TCP, and
//! the report generator for docs/benchmarks.md. bench/run.sh drives them; each subcommand
//! prints one JSON object on stdout and exits non-zero only when the run itself failed.
//!
//! Subcommands: `latency`, `fanout`, `idle`, `fill`, `proc`, `free-ports`, `wait-ready`,
//! `report`. Run one with `--help`-less bad flags to see its accepted flags.

mod args;
mod catalog;
mod error;
mod fanout;
mod fill;
mod idle;
mod latency;
mod procfs;
mod ready;
mod report;
mod stats;

use serde_json::{json, Value};

use crate::args::Args;
use crate::error::{BenchError, Result};

const USAGE: &str = "usage: nsq-bench <latency|fanout|idle|fill|proc|free-ports|wait-ready|report> [--flag=value ...]";

fn proc_sample(args: &[String]) -> Result<Value> {
    let a = Args::parse(args, &["pid"])?;
    let s = procfs::sample(a.required("pid")?)?;
    Ok(json!({ "cpu_s": s.cpu_s, "rss_kb": s.rss_kb, "hwm_kb": s.hwm_kb }))
}

async fn dispatch(cmd: &str, rest: &[String]) -> Result<Value> {
    match cmd {
        "latency" => latency::run(rest).await,
        "fanout" => fanout::run(rest).await,
        "idle" => idle::run(rest).await,
        "fill" => fill::run(rest).await,
        "wait-ready" => ready::wait_ready(rest).await,
        "free-ports" => ready::free_ports(rest),
        "proc" => proc_sample(rest),
        "report" => report::run(rest),
        other => Err(BenchError::Usage(format!(
            "unknown subcommand {other:?}; {USAGE}"
        ))),
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nsq-bench: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(dispatch(cmd, rest)) {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("nsq-bench {cmd}: {e}");
            std::process::exit(match e {
                BenchError::Usage(_) => 2,
                _ => 1,
            });
        }
    }
}
