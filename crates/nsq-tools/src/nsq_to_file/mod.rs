//! `nsq_to_file`: consume topics and write message bodies, one per line, to files that
//! rotate, optionally gzip, and can be staged in a work dir.
//!
//! Unlike the other utilities its flag set is named `nsqd` (a reference bug kept for
//! `--help` parity: `Usage of nsqd:`), its own messages use NSQ's leveled log format with
//! `--log-prefix` (default `[nsq_to_file] `) and `--log-level`, and invalid
//! `--consumer-opt`s are silently ignored. See [`file_logger`] for writing, syncing and
//! rotation, [`filename`] and [`gotime`] for file names, [`discoverer`] for topics.

pub mod discoverer;
pub mod file_logger;
pub mod filename;
pub mod gotime;
pub mod logf;
pub mod output;

use std::sync::Arc;
use std::time::Duration;

use nsq_admin::client::{tls, Client};
use nsq_admin::cluster::ClusterInfo;
use nsq_cli::{FlagSet, LogLevel, Values};

use crate::app::{self, Sig, Signals};
use crate::gonsq::{user_agent, Config};

const TOOL: &str = "nsq_to_file";

/// The resolved options (the reference's `Options`).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `--topic`.
    pub topics: Vec<String>,
    /// `--topic-pattern`.
    pub topic_pattern: String,
    /// `--topic-refresh`.
    pub topic_refresh: Duration,
    /// `--channel`.
    pub channel: String,
    /// `--nsqd-tcp-address`.
    pub nsqd_tcp_addrs: Vec<String>,
    /// `--lookupd-http-address`.
    pub lookupd_http_addrs: Vec<String>,
    /// `--consumer-opt`.
    pub consumer_opts: Vec<String>,
    /// `--max-in-flight`.
    pub max_in_flight: i64,
    /// `--http-client-connect-timeout`.
    pub http_client_connect_timeout: Duration,
    /// `--http-client-request-timeout`.
    pub http_client_request_timeout: Duration,
    /// `--log-prefix`.
    pub log_prefix: String,
    /// `--log-level` (text as given).
    pub log_level: String,
    /// `--output-dir`.
    pub output_dir: String,
    /// `--work-dir` (defaults to the output dir).
    pub work_dir: String,
    /// `--datetime-format`.
    pub datetime_format: String,
    /// `--filename-format`.
    pub filename_format: String,
    /// `--host-identifier`.
    pub host_identifier: String,
    /// `--gzip-level`.
    pub gzip_level: i64,
    /// `--gzip`.
    pub gzip: bool,
    /// `--skip-empty-files`.
    pub skip_empty_files: bool,
    /// `--rotate-size` (bytes, 0 = off).
    pub rotate_size: i64,
    /// `--rotate-interval` (0 = off).
    pub rotate_interval: Duration,
    /// `--sync-interval`.
    pub sync_interval: Duration,
}

impl Options {
    fn from_values(v: &Values) -> Options {
        Options {
            topics: v.str_list("topic").to_vec(),
            topic_pattern: v.str("topic-pattern").to_string(),
            topic_refresh: v.duration("topic-refresh"),
            channel: v.str("channel").to_string(),
            nsqd_tcp_addrs: v.str_list("nsqd-tcp-address").to_vec(),
            lookupd_http_addrs: v.str_list("lookupd-http-address").to_vec(),
            consumer_opts: v.str_list("consumer-opt").to_vec(),
            max_in_flight: v.int("max-in-flight"),
            http_client_connect_timeout: v.duration("http-client-connect-timeout"),
            http_client_request_timeout: v.duration("http-client-request-timeout"),
            log_prefix: v.str("log-prefix").to_string(),
            log_level: v.str("log-level").to_string(),
            output_dir: v.str("output-dir").to_string(),
            work_dir: v.str("work-dir").to_string(),
            datetime_format: v.str("datetime-format").to_string(),
            filename_format: v.str("filename-format").to_string(),
            host_identifier: v.str("host-identifier").to_string(),
            gzip_level: v.int("gzip-level"),
            gzip: v.bool("gzip"),
            skip_empty_files: v.bool("skip-empty-files"),
            rotate_size: v.int("rotate-size"),
            rotate_interval: v.duration("rotate-interval"),
            sync_interval: v.duration("sync-interval"),
        }
    }
}

/// The flag set; named `nsqd` like the reference's (a copy-paste slip kept for parity).
pub fn flag_set() -> FlagSet {
    let d = Duration::from_secs;
    FlagSet::new(
        "nsqd",
        vec![
            app::boolean("version", false, "print version string"),
            app::string(
                "log-level",
                "info",
                "set log verbosity: debug, info, warn, error, or fatal",
            ),
            app::string("log-prefix", "[nsq_to_file] ", "log message prefix"),
            app::string("channel", "nsq_to_file", "nsq channel"),
            app::int(
                "max-in-flight",
                200,
                "max number of messages to allow in flight",
            ),
            app::string("output-dir", "/tmp", "directory to write output files to"),
            app::string(
                "work-dir",
                "",
                "directory for in-progress files before moving to output-dir",
            ),
            app::string(
                "datetime-format",
                "%Y-%m-%d_%H",
                "strftime compatible format for <DATETIME> in filename format",
            ),
            app::string(
                "filename-format",
                "<TOPIC>.<HOST><REV>.<DATETIME>.log",
                "output filename format (<TOPIC>, <HOST>, <PID>, <DATETIME>, <REV> are replaced. <REV> is increased when file already exists)",
            ),
            app::string(
                "host-identifier",
                "",
                "value to output in log filename in place of hostname. <SHORT_HOST> and <HOSTNAME> are valid replacement tokens",
            ),
            app::int(
                "gzip-level",
                6,
                "gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)",
            ),
            app::boolean("gzip", false, "gzip output files."),
            app::boolean("skip-empty-files", false, "skip writing empty files"),
            app::duration(
                "topic-refresh",
                d(60),
                "how frequently the topic list should be refreshed",
            ),
            app::string(
                "topic-pattern",
                "",
                "only log topics matching the following pattern",
            ),
            app::int(
                "rotate-size",
                0,
                "rotate the file when it grows bigger than `rotate-size` bytes",
            ),
            app::duration("rotate-interval", d(0), "rotate the file every duration"),
            app::duration("sync-interval", d(30), "sync file to disk every duration"),
            app::duration(
                "http-client-connect-timeout",
                d(2),
                "timeout for HTTP connect",
            ),
            app::duration(
                "http-client-request-timeout",
                d(5),
                "timeout for HTTP request",
            ),
            app::str_list(
                "nsqd-tcp-address",
                "nsqd TCP address (may be given multiple times)",
            ),
            app::str_list(
                "lookupd-http-address",
                "lookupd HTTP address (may be given multiple times)",
            ),
            app::str_list("topic", "nsq topic (may be given multiple times)"),
            app::str_list(
                "consumer-opt",
                "option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)",
            ),
        ],
    )
}

/// Go's `%s` of a `[]string`: `[a b c]`.
fn go_string_slice(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// Runs `nsq_to_file` with this process's arguments; returns the exit status.
pub fn main() -> i32 {
    let set = flag_set();
    let (args, v) = app::parse(&set);
    if !args.positional().is_empty() {
        app::fatal(format!(
            "unknown arguments: {}",
            go_string_slice(args.positional())
        ));
    }
    let mut opts = Options::from_values(&v);
    let level: LogLevel = match opts.log_level.parse() {
        Ok(l) => l,
        Err(_) => app::fatal("--log-level is invalid"),
    };
    let log = logf::Logf::new(&opts.log_prefix, level);
    if v.bool("version") {
        println!("{}", nsq_cli::tool_version_string(TOOL));
        return 0;
    }
    if opts.channel.is_empty() {
        app::fatal("--channel is required");
    }
    if opts.http_client_connect_timeout.is_zero() {
        app::fatal("--http-client-connect-timeout should be positive");
    }
    if opts.http_client_request_timeout.is_zero() {
        app::fatal("--http-client-request-timeout should be positive");
    }
    if opts.nsqd_tcp_addrs.is_empty() && opts.lookupd_http_addrs.is_empty() {
        app::fatal("--nsqd-tcp-address or --lookupd-http-address required.");
    }
    if !opts.nsqd_tcp_addrs.is_empty() && !opts.lookupd_http_addrs.is_empty() {
        app::fatal("use --nsqd-tcp-address or --lookupd-http-address not both");
    }
    if !(1..=9).contains(&opts.gzip_level) {
        app::fatal(format!(
            "invalid --gzip-level value ({}), should be 1-9",
            opts.gzip_level
        ));
    }
    if opts.topics.is_empty() && opts.topic_pattern.is_empty() {
        app::fatal("--topic or --topic-pattern required");
    }
    if opts.topics.is_empty() && opts.lookupd_http_addrs.is_empty() {
        app::fatal("--lookupd-http-address must be specified when no --topic specified");
    }
    if opts.work_dir.is_empty() {
        opts.work_dir = opts.output_dir.clone();
    }
    let mut cfg = Config::default();
    for o in &opts.consumer_opts {
        // The reference ignores invalid consumer options here.
        let _ = cfg.set_flag(o);
    }
    cfg.user_agent = user_agent(TOOL);
    cfg.max_in_flight = opts.max_in_flight;

    app::run(async move {
        let signals = Signals::new(&[Sig::Hup, Sig::Int, Sig::Term]);
        let tls = match tls::client_config(&Default::default()) {
            Ok(t) => t,
            Err(e) => app::fatal(e),
        };
        let ci = ClusterInfo::new(Client::new(
            opts.http_client_connect_timeout,
            opts.http_client_request_timeout,
            tls,
        ));
        discoverer::Discoverer::new(log, Arc::new(opts), cfg, ci)
            .run(signals)
            .await;
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_named_nsqd() {
        assert!(flag_set().usage().starts_with("Usage of nsqd:\n"));
        assert_eq!(go_string_slice(&["a".into(), "b".into()]), "[a b]");
    }
}
