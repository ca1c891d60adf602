//! `nsq_stat`: poll one topic/channel across all of its nsqds and print aggregate stats.
//!
//! Output (stdout), a header every 25 polls and one row per poll after the first (which
//! is only a baseline):
//!
//! ```text
//! ------rate------+----------------depth----------------+--------------metadata---------------
//! ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients
//!       0       0 |      10      10       0     1     0 |       0       0           20       1
//! ```
//!
//! ingress = Δmessage_count / interval seconds; egress = (Δmessage_count − Δdepth) /
//! interval seconds; the rest are the channel's figures summed over every nsqd. Producers
//! come from lookupd `/lookup` or each nsqd's `/stats`, exactly as nsqadmin finds them; any
//! error, even from one nsqd of several, is fatal. `--count=N` prints N rows and exits 0.

use std::time::Duration;

use nsq_admin::client::{tls, Client};
use nsq_admin::cluster::fetch::StatsQuery;
use nsq_admin::cluster::stats::ChannelStats;
use nsq_admin::cluster::ClusterInfo;
use nsq_cli::{FlagKind, FlagSet, FlagSpec, Value};

use crate::app::{self, Sig, Signals};

const TOOL: &str = "nsq_stat";

/// The flag set (named after the program path, as Go's default flag set is).
pub fn flag_set(program: &str) -> FlagSet {
    FlagSet::new(
        program,
        vec![
            app::boolean("version", false, "print version"),
            app::string("topic", "", "NSQ topic"),
            app::string("channel", "", "NSQ channel"),
            app::duration(
                "interval",
                Duration::from_secs(2),
                "duration of time between polling/printing output",
            ),
            app::duration(
                "http-client-connect-timeout",
                Duration::from_secs(2),
                "timeout for HTTP connect",
            ),
            app::duration(
                "http-client-request-timeout",
                Duration::from_secs(5),
                "timeout for HTTP request",
            ),
            // A custom Go flag.Value: shown as `-count value`, parsed as a base-10 int32.
            FlagSpec::new(
                "count",
                FlagKind::StrList,
                Value::StrList(Vec::new()),
                "number of reports",
            )
            .no_cfg(),
            app::str_list(
                "nsqd-http-address",
                "nsqd HTTP address (may be given multiple times)",
            ),
            app::str_list(
                "lookupd-http-address",
                "lookupd HTTP address (may be given multiple times)",
            ),
        ],
    )
}

/// The two header lines.
pub fn header() -> String {
    format!(
        "{}+{}+{}\n{:>7} {:>7} | {:>7} {:>7} {:>7} {:>5} {:>5} | {:>7} {:>7} {:>12} {:>7}\n",
        "------rate------",
        "----------------depth----------------",
        "--------------metadata---------------",
        "ingress",
        "egress",
        "total",
        "mem",
        "disk",
        "inflt",
        "def",
        "req",
        "t-o",
        "msgs",
        "clients"
    )
}

/// One data row from the previous (`o`) and current (`c`) aggregate.
pub fn row(o: &ChannelStats, c: &ChannelStats, interval: Duration) -> String {
    let secs = interval.as_secs_f64();
    let dm = c.message_count.wrapping_sub(o.message_count);
    let dd = c.depth.wrapping_sub(o.depth);
    let ingress = (dm as f64 / secs) as i64;
    let egress = (dm.wrapping_sub(dd) as f64 / secs) as i64;
    format!(
        "{:>7} {:>7} | {:>7} {:>7} {:>7} {:>5} {:>5} | {:>7} {:>7} {:>12} {:>7}\n",
        ingress,
        egress,
        c.depth,
        c.memory_depth,
        c.backend_depth,
        c.in_flight_count,
        c.deferred_count,
        c.requeue_count,
        c.timeout_count,
        c.message_count,
        c.client_count
    )
}

/// Go's `strconv.ParseInt(s, 10, 32)` as `--count` uses it.
fn parse_count(s: &str) -> Result<i64, String> {
    let v = nsq_cli::strconv::parse_int(s, 10).map_err(|e| e.to_string())?;
    if i32::try_from(v).is_err() {
        return Err(nsq_cli::strconv::NumError {
            func: "ParseInt",
            input: s.to_string(),
            kind: nsq_cli::strconv::NumErrorKind::Range,
        }
        .to_string());
    }
    Ok(v)
}

fn out(s: &str) {
    // Go's fmt.Printf ignores write errors (a closed pipe kills the process).
    let _ = app::write_stdout(s.as_bytes());
}

struct Settings {
    topic: String,
    channel: String,
    interval: Duration,
    count: Option<i64>,
    nsqds: Vec<String>,
    lookupds: Vec<String>,
}

async fn stat_loop(ci: ClusterInfo, s: Settings) -> ! {
    let q = StatsQuery {
        topic: s.topic.clone(),
        channel: s.channel.clone(),
        include_clients: false,
    };
    let mut previous: Option<ChannelStats> = None;
    let mut i: i64 = 0;
    loop {
        if s.count.is_some_and(|n| i > n) {
            break;
        }
        let producers = match ci.topic_producers(&s.topic, &s.lookupds, &s.nsqds).await {
            Ok(p) if p.errors.is_empty() => p.value,
            Ok(p) => app::fatal(format!(
                "ERROR: failed to get topic producers - {}",
                p.errors.join("\n")
            )),
            Err(e) => app::fatal(format!("ERROR: failed to get topic producers - {e}")),
        };
        let stats = match ci.nsqd_stats(&producers, &q).await {
            Ok(p) if p.errors.is_empty() => p.value,
            Ok(p) => app::fatal(format!(
                "ERROR: failed to get nsqd stats - {}",
                p.errors.join("\n")
            )),
            Err(e) => app::fatal(format!("ERROR: failed to get nsqd stats - {e}")),
        };
        let Some(c) = stats.channels.get(&s.channel).cloned() else {
            app::fatal(format!(
                "ERROR: failed to find channel({}) in stats metadata for topic({})",
                s.channel, s.topic
            ))
        };
        if i % 25 == 0 {
            out(&header());
        }
        if let Some(o) = &previous {
            out(&row(o, &c, s.interval));
        }
        previous = Some(c);
        tokio::time::sleep(s.interval).await;
        i += 1;
    }
    std::process::exit(0)
}

/// Runs `nsq_stat` with this process's arguments; returns the exit status.
pub fn main() -> i32 {
    let set = flag_set(&app::program_name(TOOL));
    let (_args, v) = app::parse(&set);
    let mut count = None;
    for c in v.str_list("count") {
        match parse_count(c) {
            Ok(n) => count = Some(n),
            Err(e) => {
                eprint!(
                    "invalid value {} for flag -count: {e}\n{}",
                    nsq_cli::strconv::quote(c),
                    set.usage()
                );
                std::process::exit(2);
            }
        }
    }
    if v.bool("version") {
        println!("{}", nsq_cli::tool_version_string(TOOL));
        return 0;
    }
    let topic = v.str("topic").to_string();
    let channel = v.str("channel").to_string();
    if topic.is_empty() || channel.is_empty() {
        app::fatal("--topic and --channel are required");
    }
    let interval = v.duration("interval");
    if interval.is_zero() {
        app::fatal("--interval should be positive");
    }
    let connect_timeout = v.duration("http-client-connect-timeout");
    if connect_timeout.is_zero() {
        app::fatal("--http-client-connect-timeout should be positive");
    }
    let request_timeout = v.duration("http-client-request-timeout");
    if request_timeout.is_zero() {
        app::fatal("--http-client-request-timeout should be positive");
    }
    if count.is_some_and(|n| n <= 0) {
        app::fatal("--count should be positive");
    }
    let nsqds = v.str_list("nsqd-http-address").to_vec();
    let lookupds = v.str_list("lookupd-http-address").to_vec();
    if nsqds.is_empty() && lookupds.is_empty() {
        app::fatal("--nsqd-http-address or --lookupd-http-address required");
    }
    if !nsqds.is_empty() && !lookupds.is_empty() {
        app::fatal("use --nsqd-http-address or --lookupd-http-address not both");
    }
    if nsqds.iter().any(|a| a.starts_with("http")) {
        app::fatal("--nsqd-http-address error - address should not contain scheme");
    }
    if lookupds.iter().any(|a| a.starts_with("http")) {
        app::fatal("--lookupd-http-address error - address should not contain scheme");
    }
    let settings = Settings {
        topic,
        channel,
        interval,
        count,
        nsqds,
        lookupds,
    };
    app::run(async move {
        let mut signals = Signals::new(&[Sig::Hup, Sig::Int, Sig::Term]);
        let tls = match tls::client_config(&Default::default()) {
            Ok(t) => t,
            Err(e) => app::fatal(e),
        };
        let ci = ClusterInfo::new(Client::new(connect_timeout, request_timeout, tls));
        tokio::spawn(stat_loop(ci, settings));
        signals.recv().await;
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_the_reference() {
        assert_eq!(
            header(),
            "------rate------+----------------depth----------------+--------------metadata---------------\n\
             ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients\n"
        );
    }

    #[test]
    fn rows_are_rates_and_sums() {
        let o = ChannelStats {
            message_count: 10,
            depth: 10,
            ..Default::default()
        };
        let c = ChannelStats {
            message_count: 20,
            depth: 10,
            memory_depth: 10,
            in_flight_count: 1,
            client_count: 1,
            ..Default::default()
        };
        assert_eq!(
            row(&o, &c, Duration::from_secs(2)),
            "      5       5 |      10      10       0     1     0 |       0       0           20       1\n"
        );
        // the reference truncates toward zero
        assert_eq!(
            &row(&c, &o, Duration::from_secs(3))[..15],
            "     -3      -3"
        );
    }

    #[test]
    fn count_is_a_32_bit_decimal() {
        assert_eq!(parse_count("010"), Ok(10));
        assert_eq!(
            parse_count("x").unwrap_err(),
            "strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse_count("4294967296").unwrap_err(),
            "strconv.ParseInt: parsing \"4294967296\": value out of range"
        );
    }
}
