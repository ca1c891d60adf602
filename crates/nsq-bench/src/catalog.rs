//! What each benchmark row means: its label, unit, which direction is better, and the
//! target ratio (ours / reference) the project set for it. The report is generated from
//! this table so that the published targets and the code that checks them cannot diverge.

/// Which direction of a metric is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Throughput-like: bigger is better; target is a minimum ratio.
    Higher,
    /// Cost-like (CPU, latency, memory): smaller is better; target is a maximum ratio.
    Lower,
}

/// How a metric's values are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Messages per second.
    MsgPerSec,
    /// Microseconds.
    Micros,
    /// Mebibytes.
    MiB,
    /// Bytes.
    Bytes,
}

/// One row of the report.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Scenario key as written by bench/run.sh.
    pub scenario: &'static str,
    /// Metric key as written by bench/run.sh.
    pub metric: &'static str,
    /// Human label.
    pub label: &'static str,
    /// Unit of the values.
    pub unit: Unit,
    /// Direction of improvement.
    pub better: Better,
    /// Target ratio ours/reference, if the project set one.
    pub target: Option<f64>,
}

const fn e(
    scenario: &'static str,
    metric: &'static str,
    label: &'static str,
    unit: Unit,
    better: Better,
    target: Option<f64>,
) -> Entry {
    Entry {
        scenario,
        metric,
        label,
        unit,
        better,
        target,
    }
}

use Better::{Higher, Lower};
use Unit::{Bytes, MiB, Micros, MsgPerSec};

/// Every known row, in report order.
#[rustfmt::skip]
pub const CATALOG: &[Entry] = &[
    e("pub", "rate", "PUB throughput", MsgPerSec, Higher, Some(2.0)),
    e("pub", "cpu", "PUB daemon CPU / msg", Micros, Lower, Some(0.5)),
    e("sub", "rate", "SUB throughput", MsgPerSec, Higher, Some(1.5)),
    e("sub", "cpu", "SUB daemon CPU / msg", Micros, Lower, Some(0.5)),
    e("sub-mem", "rate", "SUB throughput, backlog in memory", MsgPerSec, Higher, None),
    e("sub-mem", "cpu", "SUB (backlog in memory) daemon CPU / msg", Micros, Lower, None),
    e("spill-sub", "rate", "spill SUB throughput", MsgPerSec, Higher, Some(1.5)),
    e("spill-sub", "cpu", "spill SUB daemon CPU / msg", Micros, Lower, None),
    e("pubsub", "rate", "PUB+SUB delivered", MsgPerSec, Higher, Some(1.5)),
    e("pubsub", "pub_rate", "PUB+SUB published", MsgPerSec, Higher, None),
    e("pubsub", "cpu", "PUB+SUB daemon CPU / delivered msg", Micros, Lower, None),
    e("spill-pubsub", "rate", "spill PUB+SUB delivered", MsgPerSec, Higher, Some(1.5)),
    e("spill-pubsub", "pub_rate", "spill PUB+SUB published", MsgPerSec, Higher, None),
    e("spill-pubsub", "cpu", "spill PUB+SUB CPU / delivered msg", Micros, Lower, None),
    e("lat-10k-rdy200", "p50", "latency 10k msg/s, RDY 200: p50", Micros, Lower, None),
    e("lat-10k-rdy200", "p99", "latency 10k msg/s, RDY 200: p99", Micros, Lower, Some(0.5)),
    e("lat-10k-rdy200", "p999", "latency 10k msg/s, RDY 200: p99.9", Micros, Lower, None),
    e("lat-100k-rdy200", "p50", "latency 100k msg/s, RDY 200: p50", Micros, Lower, None),
    e("lat-100k-rdy200", "p99", "latency 100k msg/s, RDY 200: p99", Micros, Lower, Some(0.5)),
    e("lat-100k-rdy200", "p999", "latency 100k msg/s, RDY 200: p99.9", Micros, Lower, None),
    e("lat-10k-rdy1", "p50", "latency 10k msg/s, RDY 1: p50", Micros, Lower, None),
    e("lat-10k-rdy1", "p99", "latency 10k msg/s, RDY 1: p99", Micros, Lower, Some(0.5)),
    e("lat-10k-rdy1", "p999", "latency 10k msg/s, RDY 1: p99.9", Micros, Lower, None),
    e("mem-1m", "hwm", "peak RSS, 1M × 200 B queued", MiB, Lower, Some(0.6)),
    e("mem-idle", "per_conn", "RSS per idle connection", Bytes, Lower, Some(1.0)),
    e("mem-idle", "hwm", "peak RSS with the idle connections", MiB, Lower, None),
    e("mem-idle", "base", "idle daemon RSS", MiB, Lower, None),
    e("fanout", "rate", "fan-out deliveries (10 channels)", MsgPerSec, Higher, None),
    e("fanout", "cpu", "fan-out daemon CPU / delivery", Micros, Lower, None),
];

/// The catalog entry for a row, if known.
pub fn lookup(scenario: &str, metric: &str) -> Option<&'static Entry> {
    CATALOG
        .iter()
        .find(|e| e.scenario == scenario && e.metric == metric)
}

/// Formats a value in its unit, compactly.
pub fn format_value(unit: Unit, v: f64) -> String {
    match unit {
        MsgPerSec if v >= 1e6 => format!("{:.2}M", v / 1e6),
        MsgPerSec if v >= 1e3 => format!("{:.0}k", v / 1e3),
        MsgPerSec => format!("{v:.0}"),
        Micros if v >= 1e4 => format!("{:.1} ms", v / 1e3),
        Micros if v >= 100.0 => format!("{v:.0} µs"),
        Micros => format!("{v:.2} µs"),
        MiB => format!("{v:.0} MiB"),
        Bytes if v >= 1024.0 => format!("{:.1} KiB", v / 1024.0),
        Bytes => format!("{v:.0} B"),
    }
}

/// Whether `ratio` meets `target` in direction `better`.
pub fn meets(better: Better, ratio: f64, target: f64) -> bool {
    match better {
        Higher => ratio >= target,
        Lower => ratio <= target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_value(MsgPerSec, 1_960_000.0), "1.96M");
        assert_eq!(format_value(MsgPerSec, 670_400.0), "670k");
        assert_eq!(format_value(Micros, 0.334), "0.33 µs");
        assert_eq!(format_value(Micros, 2500.0), "2500 µs");
        assert_eq!(format_value(Micros, 125_000.0), "125.0 ms");
        assert_eq!(format_value(MiB, 412.4), "412 MiB");
        assert_eq!(format_value(Bytes, 9300.0), "9.1 KiB");
    }

    #[test]
    fn directions_and_unique_rows() {
        assert!(meets(Higher, 2.1, 2.0) && !meets(Higher, 1.9, 2.0));
        assert!(meets(Lower, 0.4, 0.5) && !meets(Lower, 0.6, 0.5));
        for (i, a) in CATALOG.iter().enumerate() {
            for b in &CATALOG[i + 1..] {
                assert!(!(a.scenario == b.scenario && a.metric == b.metric));
            }
        }
        assert!(lookup("pub", "rate").is_some());
        assert!(lookup("pub", "nope").is_none());
    }
}
