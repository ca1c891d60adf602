//! `nsqlookupd`: flags, config file, logging and signals around [`nsq_lookupd::Lookupd`].
//!
//! Invocation compatibility with the Go binary: the same flags (Go `flag` syntax), the same
//! TOML config keys and precedence (flag > config > default), `--version` on stdout, fatal
//! startup errors as `[nsqlookupd] <ts> FATAL: ...` with exit status 1, and a clean exit 0
//! on SIGINT/SIGTERM.

use std::path::Path;
use std::time::Duration;

use nsq_cli::logging::{self, fatal, fatal_with_prefix};
use nsq_cli::{FlagKind, FlagSet, FlagSpec, Value};
use nsq_lookupd::options::{
    os_hostname, DEFAULT_HTTP_ADDRESS, DEFAULT_INACTIVE_PRODUCER_TIMEOUT, DEFAULT_TCP_ADDRESS,
    DEFAULT_TOMBSTONE_LIFETIME,
};
use nsq_lookupd::{Lookupd, Options};

/// The prefix of startup failures before the configured logger exists.
const FATAL_PREFIX: &str = "[nsqlookupd] ";

fn flag_set(hostname: &str) -> FlagSet {
    let s = |v: &str| Value::Str(v.to_string());
    FlagSet::new(
        "nsqlookupd",
        vec![
            FlagSpec::new("config", FlagKind::Str, s(""), "path to config file").no_cfg(),
            FlagSpec::new(
                "version",
                FlagKind::Bool,
                Value::Bool(false),
                "print version string",
            )
            .no_cfg(),
            FlagSpec::new(
                "log-level",
                FlagKind::LogLevel,
                s("info"),
                "set log verbosity: debug, info, warn, error, or fatal",
            ),
            FlagSpec::new(
                "log-prefix",
                FlagKind::Str,
                s("[nsqlookupd] "),
                "log message prefix",
            ),
            FlagSpec::new(
                "verbose",
                FlagKind::Bool,
                Value::Bool(false),
                "[deprecated] has no effect, use --log-level",
            )
            .no_cfg(),
            FlagSpec::new(
                "tcp-address",
                FlagKind::Str,
                s(DEFAULT_TCP_ADDRESS),
                "<addr>:<port> to listen on for TCP clients",
            ),
            FlagSpec::new(
                "http-address",
                FlagKind::Str,
                s(DEFAULT_HTTP_ADDRESS),
                "<addr>:<port> to listen on for HTTP clients",
            ),
            FlagSpec::new(
                "broadcast-address",
                FlagKind::Str,
                s(hostname),
                "address of this lookupd node, (default to the OS hostname)",
            ),
            FlagSpec::new(
                "inactive-producer-timeout",
                FlagKind::Duration,
                Value::Duration(DEFAULT_INACTIVE_PRODUCER_TIMEOUT),
                "duration of time a producer will remain in the active list since its last ping",
            ),
            FlagSpec::new(
                "tombstone-lifetime",
                FlagKind::Duration,
                Value::Duration(DEFAULT_TOMBSTONE_LIFETIME),
                "duration of time a producer will remain tombstoned if registration remains",
            ),
        ],
    )
}

fn main() {
    let hostname = match os_hostname() {
        Ok(h) => h,
        Err(e) => fatal_with_prefix(FATAL_PREFIX, e),
    };
    let set = flag_set(&hostname);
    let args = set.parse_env_or_exit();
    if args.get_bool("version") == Some(true) {
        println!("{}", nsq_cli::version_string("nsqlookupd"));
        std::process::exit(0);
    }
    let config = match args.get_str("config") {
        Some(path) if !path.is_empty() => match nsq_cli::load_config_file(Path::new(path)) {
            Ok(table) => Some(table),
            Err(e) => fatal_with_prefix(FATAL_PREFIX, e),
        },
        _ => None,
    };
    let values = match nsq_cli::resolve(&set, &args, config.as_ref()) {
        Ok(v) => v,
        Err(e) => fatal_with_prefix(FATAL_PREFIX, e),
    };
    let _log = logging::init(values.str("log-prefix"), values.log_level("log-level"));
    let opts = Options {
        tcp_address: values.str("tcp-address").to_string(),
        http_address: values.str("http-address").to_string(),
        broadcast_address: values.str("broadcast-address").to_string(),
        inactive_producer_timeout: values.duration("inactive-producer-timeout"),
        tombstone_lifetime: values.duration("tombstone-lifetime"),
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fatal(format!("failed to start runtime - {e}")),
    };
    runtime.block_on(run(opts));
    // Connection tasks are gone by now; do not wait on stray blocking work.
    runtime.shutdown_timeout(Duration::from_millis(100));
}

async fn run(opts: Options) {
    tracing::info!("{}", nsq_cli::version_string("nsqlookupd"));
    let lookupd = match Lookupd::bind(opts).await {
        Ok(l) => l,
        // The reference passes the error as an extra Printf argument; Go renders that as
        // `%!(EXTRA *errors.errorString=...)`, and operators may grep for it.
        Err(e) => fatal_with_prefix(
            FATAL_PREFIX,
            format!("failed to instantiate nsqlookupd%!(EXTRA *errors.errorString={e})"),
        ),
    };
    lookupd.run(shutdown_signal()).await;
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut int, mut term) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => fatal(format!("failed to install signal handlers - {e}")),
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
