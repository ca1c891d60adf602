//! Pushing statistics to statsd over UDP (`--statsd-address`, spec §8.1).
//!
//! Every `--statsd-interval` (first push one interval after start) the loop dials the
//! address (1 s limit; a failure is logged and the push skipped), takes a stats snapshot
//! without client details, and writes `<prefix><name>:<value>|c` (counter, the delta since
//! the previous push, matched by topic/channel name) or `|g` (gauge) lines in the
//! reference's order. Lines are packed into datagrams of at most
//! `--statsd-udp-packet-size` bytes (a line is never split; one longer than that travels
//! alone), and the datagrams of one push are spread evenly over `interval − 1 s`.
//!
//! Where the reference misbehaves we do something sane instead: with
//! `--statsd-interval` ≤ 1 s (the reference panics) the datagrams are sent back to back,
//! and a zero interval is treated as 1 s.
//!
//! The `mem.*` figures are ours, not a Go runtime's: see [`crate::stats::MemStats`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::daemon::Daemon;
use crate::stats::{gather, mem_stats, E2eStats, MemStats, Stats, StatsFilter};

/// Counters remembered from the previous push, to send deltas.
#[derive(Debug, Default, Clone)]
pub struct Previous {
    topics: HashMap<String, TopicCounters>,
    gc_runs: u32,
}

#[derive(Debug, Default, Clone)]
struct TopicCounters {
    message_count: u64,
    message_bytes: u64,
    channels: HashMap<String, [u64; 3]>,
}

/// Go's `uint64` subtraction then `int64` conversion: a counter that went down (object
/// deleted and recreated) wraps to a negative delta, as in the reference.
fn delta(now: u64, before: u64) -> i64 {
    now.wrapping_sub(before) as i64
}

/// The `<P>` of `e2e_processing_latency_<P>`: the quantile × 100 with no decimals
/// (0.99 → `99`, 0.999 → `100`).
fn percentile_suffix(q: f64) -> String {
    format!("{:.0}", q * 100.0)
}

/// Builds one push's metric lines (each ending in `\n`) and the counters for the next.
pub fn lines(
    prefix: &str,
    stats: &Stats,
    mem: Option<&MemStats>,
    exclude_ephemeral: bool,
    prev: &Previous,
) -> (Vec<String>, Previous) {
    let mut next = Previous::default();
    let mut lines_c: Vec<(String, i64, char)> = Vec::new();
    let e2e = |e: &E2eStats, base: &str, into: &mut Vec<(String, i64, char)>| {
        for p in e.percentiles.as_deref().unwrap_or(&[]) {
            let name = format!(
                "{base}.e2e_processing_latency_{}",
                percentile_suffix(p.quantile)
            );
            into.push((name, p.value as i64, 'g'));
        }
    };
    let empty = TopicCounters::default();
    for t in stats.topics.as_deref().unwrap_or(&[]) {
        let name = &t.topic_name;
        let mut counters = TopicCounters {
            message_count: t.message_count,
            message_bytes: t.message_bytes,
            channels: HashMap::new(),
        };
        if !(exclude_ephemeral && name.ends_with("#ephemeral")) {
            let last = prev.topics.get(name).unwrap_or(&empty);
            let base = format!("topic.{name}");
            let l = &mut lines_c;
            l.push((
                format!("{base}.message_count"),
                delta(t.message_count, last.message_count),
                'c',
            ));
            l.push((
                format!("{base}.message_bytes"),
                delta(t.message_bytes, last.message_bytes),
                'c',
            ));
            l.push((format!("{base}.depth"), t.depth, 'g'));
            l.push((format!("{base}.backend_depth"), t.backend_depth, 'g'));
            e2e(&t.e2e_processing_latency, &base, l);
            for c in &t.channels {
                if exclude_ephemeral && c.channel_name.ends_with("#ephemeral") {
                    continue;
                }
                let [lm, lr, lt] = last
                    .channels
                    .get(&c.channel_name)
                    .copied()
                    .unwrap_or_default();
                let cb = format!("{base}.channel.{}", c.channel_name);
                l.push((
                    format!("{cb}.message_count"),
                    delta(c.message_count, lm),
                    'c',
                ));
                l.push((format!("{cb}.depth"), c.depth, 'g'));
                l.push((format!("{cb}.backend_depth"), c.backend_depth, 'g'));
                l.push((format!("{cb}.in_flight_count"), c.in_flight_count, 'g'));
                l.push((format!("{cb}.deferred_count"), c.deferred_count, 'g'));
                l.push((
                    format!("{cb}.requeue_count"),
                    delta(c.requeue_count, lr),
                    'c',
                ));
                l.push((
                    format!("{cb}.timeout_count"),
                    delta(c.timeout_count, lt),
                    'c',
                ));
                l.push((format!("{cb}.clients"), c.client_count as i64, 'g'));
                e2e(&c.e2e_processing_latency, &cb, l);
            }
        }
        for c in &t.channels {
            counters.channels.insert(
                c.channel_name.clone(),
                [c.message_count, c.requeue_count, c.timeout_count],
            );
        }
        next.topics.insert(name.clone(), counters);
    }
    next.gc_runs = prev.gc_runs;
    if let Some(m) = mem {
        let g = |n: &str, v: u64| (format!("mem.{n}"), v as i64, 'g');
        lines_c.extend([
            g("heap_objects", m.heap_objects),
            g("heap_idle_bytes", m.heap_idle_bytes),
            g("heap_in_use_bytes", m.heap_in_use_bytes),
            g("heap_released_bytes", m.heap_released_bytes),
            g("gc_pause_usec_100", m.gc_pause_usec_100),
            g("gc_pause_usec_99", m.gc_pause_usec_99),
            g("gc_pause_usec_95", m.gc_pause_usec_95),
            g("next_gc_bytes", m.next_gc_bytes),
        ]);
        let runs = i64::from(m.gc_total_runs.wrapping_sub(prev.gc_runs) as i32);
        lines_c.push(("mem.gc_runs".to_string(), runs, 'c'));
        next.gc_runs = m.gc_total_runs;
    }
    let out = lines_c
        .into_iter()
        .map(|(name, v, kind)| format!("{prefix}{name}:{v}|{kind}\n"))
        .collect();
    (out, next)
}

/// Packs lines into datagrams of at most `size` bytes (Go's buffered writer: a size ≤ 0
/// means 4096); a line never spans two datagrams, and one longer than `size` is sent alone.
pub fn packets(lines: &[String], size: i64) -> Vec<Vec<u8>> {
    let size = if size <= 0 { 4096 } else { size as usize };
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    for l in lines {
        if l.len() > size - buf.len() && !buf.is_empty() {
            out.push(std::mem::take(&mut buf));
        }
        if l.len() > size {
            out.push(l.as_bytes().to_vec());
        } else {
            buf.extend_from_slice(l.as_bytes());
        }
    }
    if !buf.is_empty() {
        out.push(buf);
    }
    out
}

/// Waits `d`, or returns early (false) once the daemon is shutting down.
async fn pause(daemon: &Daemon, d: Duration) -> bool {
    if daemon.is_exiting() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => !daemon.is_exiting(),
        _ = daemon.shutdown.notified() => false,
    }
}

async fn dial(addr: &str) -> std::io::Result<UdpSocket> {
    let target = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let local = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = UdpSocket::bind(local).await?;
    sock.connect(target).await?;
    Ok(sock)
}

/// Runs the statsd loop until the daemon shuts down. Does nothing without
/// `--statsd-address`.
pub async fn run(daemon: Arc<Daemon>) {
    let opts = Arc::clone(&daemon.opts);
    if opts.statsd_address.is_empty() {
        return;
    }
    let interval = if opts.statsd_interval.is_zero() {
        Duration::from_secs(1)
    } else {
        opts.statsd_interval
    };
    let spread = interval.saturating_sub(Duration::from_secs(1));
    let mut prev = Previous::default();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = daemon.shutdown.notified() => break,
        }
        if daemon.is_exiting() {
            break;
        }
        let addr = &opts.statsd_address;
        let sock = match tokio::time::timeout(Duration::from_secs(1), dial(addr)).await {
            Ok(Ok(s)) => s,
            _ => {
                tracing::error!("failed to create UDP socket to statsd({addr})");
                continue;
            }
        };
        tracing::info!("STATSD: pushing stats to {addr}");
        let stats = gather(&daemon, StatsFilter::default());
        let mem = opts.statsd_mem_stats.then(mem_stats);
        let (lines, next) = lines(
            &opts.statsd_prefix,
            &stats,
            mem.as_ref(),
            opts.statsd_exclude_ephemeral,
            &prev,
        );
        prev = next;
        let packets = packets(&lines, opts.statsd_udp_packet_size);
        if packets.is_empty() {
            if !pause(&daemon, spread).await {
                break;
            }
            continue;
        }
        let gap = spread / packets.len() as u32;
        let mut exiting = false;
        for p in &packets {
            let _ = sock.send(p).await;
            if !exiting && !gap.is_zero() {
                exiting = !pause(&daemon, gap).await;
            }
        }
        if exiting {
            break;
        }
    }
    tracing::info!("STATSD: closing");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{ChannelStats, Percentile, TopicStats};

    fn topic(name: &str, count: u64) -> TopicStats {
        TopicStats {
            topic_name: name.into(),
            channels: vec![ChannelStats {
                channel_name: "ch".into(),
                depth: 1,
                backend_depth: 0,
                in_flight_count: 2,
                deferred_count: 3,
                message_count: count,
                zone_local_msg_count: 0,
                region_local_msg_count: 0,
                global_msg_count: 0,
                requeue_count: 4,
                timeout_count: 5,
                client_count: 1,
                clients: None,
                paused: false,
                e2e_processing_latency: E2eStats {
                    count: 1,
                    percentiles: Some(vec![Percentile {
                        quantile: 0.999,
                        value: 287096.7,
                    }]),
                },
            }],
            depth: 7,
            backend_depth: 0,
            message_count: count,
            message_bytes: count * 10,
            paused: false,
            e2e_processing_latency: E2eStats::default(),
        }
    }

    #[test]
    fn names_order_and_deltas() {
        let stats = Stats {
            topics: Some(vec![topic("st1", 1), topic("x#ephemeral", 1)]),
            producers: None,
        };
        let mem = MemStats::default();
        let (l, prev) = lines("nsq.h_1.", &stats, Some(&mem), true, &Previous::default());
        let want_head = [
            "nsq.h_1.topic.st1.message_count:1|c\n",
            "nsq.h_1.topic.st1.message_bytes:10|c\n",
            "nsq.h_1.topic.st1.depth:7|g\n",
            "nsq.h_1.topic.st1.backend_depth:0|g\n",
            "nsq.h_1.topic.st1.channel.ch.message_count:1|c\n",
            "nsq.h_1.topic.st1.channel.ch.depth:1|g\n",
            "nsq.h_1.topic.st1.channel.ch.backend_depth:0|g\n",
            "nsq.h_1.topic.st1.channel.ch.in_flight_count:2|g\n",
            "nsq.h_1.topic.st1.channel.ch.deferred_count:3|g\n",
            "nsq.h_1.topic.st1.channel.ch.requeue_count:4|c\n",
            "nsq.h_1.topic.st1.channel.ch.timeout_count:5|c\n",
            "nsq.h_1.topic.st1.channel.ch.clients:1|g\n",
            "nsq.h_1.topic.st1.channel.ch.e2e_processing_latency_100:287096|g\n",
            "nsq.h_1.mem.heap_objects:0|g\n",
        ];
        assert_eq!(&l[..want_head.len()], &want_head);
        assert_eq!(
            l.last().map(String::as_str),
            Some("nsq.h_1.mem.gc_runs:0|c\n")
        );
        assert_eq!(l.len(), want_head.len() + 8);

        let stats = Stats {
            topics: Some(vec![topic("st1", 3)]),
            producers: None,
        };
        let (l, _) = lines("", &stats, None, false, &prev);
        assert_eq!(l[0], "topic.st1.message_count:2|c\n");
        assert_eq!(l[4], "topic.st1.channel.ch.message_count:2|c\n");
        assert_eq!(l[9], "topic.st1.channel.ch.requeue_count:0|c\n");
        assert_eq!(delta(3, 5), -2);
    }

    #[test]
    fn suffixes() {
        assert_eq!(percentile_suffix(0.99), "99");
        assert_eq!(percentile_suffix(1.0), "100");
        assert_eq!(percentile_suffix(0.999), "100");
        assert_eq!(percentile_suffix(0.5), "50");
        assert_eq!(percentile_suffix(0.95), "95");
    }

    #[test]
    fn packing() {
        let l: Vec<String> = vec![
            "aaaa\n".into(),
            "bbbb\n".into(),
            "cccccccccccc\n".into(),
            "d\n".into(),
        ];
        let p = packets(&l, 10);
        assert_eq!(
            p,
            vec![
                b"aaaa\nbbbb\n".to_vec(),
                b"cccccccccccc\n".to_vec(),
                b"d\n".to_vec()
            ]
        );
        assert_eq!(packets(&l, 0).len(), 1);
        assert!(packets(&[], 10).is_empty());
    }
}
