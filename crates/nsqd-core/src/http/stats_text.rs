//! The text form of `/stats` (any `format` but `json`), laid out with the reference's Go
//! format strings (spec §4.2 "Text format"): the same columns, padding and units, so people
//! and scripts reading it see what they are used to.

use std::fmt::Write;
use std::time::Duration;

use nsq_cli::duration::format_go_duration;

use crate::stats::{ClientStats, E2eStats, MemStats, Stats};

/// Everything the report shows.
#[derive(Debug)]
pub struct Report<'a> {
    /// Topics and producers.
    pub stats: &'a Stats,
    /// Memory section, when requested.
    pub memory: Option<&'a MemStats>,
    /// `OK` or `NOK - <err>`.
    pub health: &'a str,
    /// Daemon start, Unix seconds.
    pub start_time: i64,
    /// Time since start.
    pub uptime: Duration,
}

/// Renders the report.
pub fn render(r: &Report<'_>) -> String {
    let mut w = String::with_capacity(1024);
    // Writing into a String cannot fail.
    let _ = write_report(&mut w, r);
    w
}

fn write_report(w: &mut String, r: &Report<'_>) -> std::fmt::Result {
    writeln!(w, "{}", nsq_cli::version_string("nsqd"))?;
    writeln!(w, "start_time {}", rfc3339_local(r.start_time))?;
    writeln!(w, "uptime {}", format_go_duration(r.uptime))?;
    write!(w, "\nHealth: {}\n", r.health)?;
    if let Some(m) = r.memory {
        w.push_str("\nMemory:\n");
        let rows: [(&str, u64); 9] = [
            ("heap_objects", m.heap_objects),
            ("heap_idle_bytes", m.heap_idle_bytes),
            ("heap_in_use_bytes", m.heap_in_use_bytes),
            ("heap_released_bytes", m.heap_released_bytes),
            ("gc_pause_usec_100", m.gc_pause_usec_100),
            ("gc_pause_usec_99", m.gc_pause_usec_99),
            ("gc_pause_usec_95", m.gc_pause_usec_95),
            ("next_gc_bytes", m.next_gc_bytes),
            ("gc_total_runs", u64::from(m.gc_total_runs)),
        ];
        for (name, v) in rows {
            writeln!(w, "   {name:<25}\t{v}")?;
        }
    }
    let topics = r.stats.topics.as_deref().unwrap_or(&[]);
    if topics.is_empty() {
        w.push_str("\nTopics: None\n");
    } else {
        w.push_str("\nTopics:");
    }
    for t in topics {
        let p = if t.paused { "*P " } else { "   " };
        write!(
            w,
            "\n{p}[{:<15}] depth: {:<5} be-depth: {:<5} msgs: {:<8} e2e%: {}\n",
            t.topic_name,
            t.depth,
            t.backend_depth,
            t.message_count,
            e2e_text(&t.e2e_processing_latency)
        )?;
        for c in &t.channels {
            let p = if c.paused { "   *P " } else { "      " };
            writeln!(
                w,
                "{p}[{:<25}] depth: {:<5} be-depth: {:<5} inflt: {:<4} def: {:<4} re-q: {:<5} timeout: {:<5} msgs: {:<8} e2e%: {}",
                c.channel_name,
                c.depth,
                c.backend_depth,
                c.in_flight_count,
                c.deferred_count,
                c.requeue_count,
                c.timeout_count,
                c.message_count,
                e2e_text(&c.e2e_processing_latency)
            )?;
            for client in c.clients.as_deref().unwrap_or(&[]) {
                writeln!(w, "        {}", client_line(client))?;
            }
        }
    }
    let producers = r.stats.producers.as_deref().unwrap_or(&[]);
    if producers.is_empty() {
        w.push_str("\nProducers: None\n");
    } else {
        w.push_str("\nProducers:\n");
        for p in producers {
            writeln!(w, "   {}", client_line(p))?;
        }
    }
    Ok(())
}

/// A latency in ns as the reference prints it: one decimal and the largest unit the value
/// exceeds (`2.0s`, `13.5ms`, `0.0ns`).
pub fn human_ns(v: f64) -> String {
    let (v, unit) = if v > 1e9 {
        (v / 1e9, "s")
    } else if v > 1e6 {
        (v / 1e6, "ms")
    } else if v > 1e3 {
        (v / 1e3, "us")
    } else {
        (v, "ns")
    };
    format!("{v:.1}{unit}")
}

fn e2e_text(e: &E2eStats) -> String {
    e.percentiles
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|p| human_ns(p.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One client line: the producer form when it shows a publish count, else the consumer form.
pub fn client_line(s: &ClientStats) -> String {
    let connected = crate::clock::unix_secs()
        .saturating_sub(s.connect_ts)
        .max(0);
    let connected = format_go_duration(Duration::from_secs(connected as u64));
    let port = nsq_http::listen::split_host_port(&s.remote_address)
        .map(|(_, p)| p)
        .unwrap_or_default();
    let id = format!("{}:{} {}", s.hostname, port, s.user_agent);
    if !s.pub_counts.is_empty() {
        let total: u64 = s.pub_counts.iter().map(|p| p.count).sum();
        let topics: Vec<String> = s
            .pub_counts
            .iter()
            .map(|p| format!("{}={}", p.topic, p.count))
            .collect();
        return format!(
            "[{} {:<21}] msgs: {:<8} topics: {} connected: {}",
            s.version,
            id,
            total,
            topics.join(","),
            connected
        );
    }
    format!(
        "[{} {:<21}] state: {} inflt: {:<4} rdy: {:<4} fin: {:<8} re-q: {:<8} msgs: {:<8} connected: {}",
        s.version,
        id,
        s.state,
        s.in_flight_count,
        s.ready_count,
        s.finish_count,
        s.requeue_count,
        s.message_count,
        connected
    )
}

/// `secs` as RFC 3339 in the local time zone (`2006-01-02T15:04:05+01:00`, `Z` for a zero
/// offset), like Go's `time.RFC3339` on a local time.
pub fn rfc3339_local(secs: i64) -> String {
    let t = secs as libc::time_t;
    // SAFETY: all-zero bytes are a valid `tm`; `localtime_r` writes only into the struct we
    // pass, and both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return secs.to_string();
    }
    let offset = tm.tm_gmtoff;
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let a = offset.abs();
        format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{ChannelStats, Percentile, PubCount, TopicStats};

    fn client(pub_counts: Vec<PubCount>) -> ClientStats {
        ClientStats {
            client_id: "c".into(),
            hostname: "hA".into(),
            version: "V2",
            remote_address: "127.0.0.1:47260".into(),
            state: 3,
            ready_count: 0,
            in_flight_count: 0,
            message_count: 0,
            zone_local_msg_count: 0,
            region_local_msg_count: 0,
            global_msg_count: 0,
            finish_count: 0,
            requeue_count: 0,
            connect_ts: crate::clock::unix_secs(),
            sample_rate: 0,
            deflate: false,
            snappy: false,
            user_agent: "ua/1".into(),
            authed: false,
            auth_identity: String::new(),
            auth_identity_url: String::new(),
            topology_zone: String::new(),
            topology_region: String::new(),
            pub_counts,
            tls: false,
            tls_cipher_suite: String::new(),
            tls_version: String::new(),
            tls_negotiated_protocol: String::new(),
            tls_negotiated_protocol_is_mutual: false,
        }
    }

    #[test]
    fn units() {
        assert_eq!(human_ns(0.0), "0.0ns");
        assert_eq!(human_ns(1000.0), "1000.0ns");
        assert_eq!(human_ns(1500.0), "1.5us");
        assert_eq!(human_ns(2_001_601_181.0), "2.0s");
        assert_eq!(human_ns(13_500_000.0), "13.5ms");
    }

    #[test]
    fn reference_sample_lines() {
        let zero = E2eStats {
            count: 0,
            percentiles: Some(vec![
                Percentile {
                    quantile: 1.0,
                    value: 0.0,
                },
                Percentile {
                    quantile: 0.5,
                    value: 0.0,
                },
            ]),
        };
        let stats = Stats {
            topics: Some(vec![TopicStats {
                topic_name: "t3".into(),
                channels: vec![ChannelStats {
                    channel_name: "ch".into(),
                    depth: 1,
                    backend_depth: 0,
                    in_flight_count: 1,
                    deferred_count: 0,
                    message_count: 2,
                    zone_local_msg_count: 0,
                    region_local_msg_count: 0,
                    global_msg_count: 0,
                    requeue_count: 0,
                    timeout_count: 0,
                    client_count: 1,
                    clients: Some(vec![client(vec![])]),
                    paused: false,
                    e2e_processing_latency: zero.clone(),
                }],
                depth: 0,
                backend_depth: 0,
                message_count: 2,
                message_bytes: 4,
                paused: false,
                e2e_processing_latency: zero,
            }]),
            producers: Some(vec![client(vec![PubCount {
                topic: "t3".into(),
                count: 2,
            }])]),
        };
        let text = render(&Report {
            stats: &stats,
            memory: None,
            health: "OK",
            start_time: 0,
            uptime: Duration::from_millis(1049),
        });
        let want = "\nHealth: OK\n\nTopics:\n   [t3             ] depth: 0     be-depth: 0     msgs: 2        e2e%: 0.0ns, 0.0ns\n      [ch                       ] depth: 1     be-depth: 0     inflt: 1    def: 0    re-q: 0     timeout: 0     msgs: 2        e2e%: 0.0ns, 0.0ns\n        [V2 hA:47260 ua/1        ] state: 3 inflt: 0    rdy: 0    fin: 0        re-q: 0        msgs: 0        connected: 0s\n\nProducers:\n   [V2 hA:47260 ua/1        ] msgs: 2        topics: t3=2 connected: 0s\n";
        assert!(text.ends_with(want), "{text}");
        assert!(text.contains("\nuptime 1.049s\n"), "{text}");
        assert!(text.starts_with("nsqd v1.3.0 (built w/"));
    }

    #[test]
    fn empty_report() {
        let text = render(&Report {
            stats: &Stats::default(),
            memory: Some(&MemStats::default()),
            health: "NOK - disk",
            start_time: 0,
            uptime: Duration::ZERO,
        });
        assert!(text.contains("\nHealth: NOK - disk\n\nMemory:\n   heap_objects             \t0\n"));
        assert!(
            text.ends_with("   gc_total_runs            \t0\n\nTopics: None\n\nProducers: None\n")
        );
    }
}
