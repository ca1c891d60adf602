//! `nsqadmin`: flags, config file, logging and signals around [`nsq_admin::NsqAdmin`].
//!
//! Invocation compatibility with the Go binary: the same flags (Go `flag` syntax), the same
//! TOML config keys (including `nsqlookupd_http_addresses`, `nsqd_http_addresses` and
//! `admin_users`) and precedence (flag > config > default), `--version` on stdout, fatal
//! startup errors as `[nsqadmin] <ts> FATAL: failed to instantiate nsqadmin - ...` with
//! exit status 1, and a clean exit 0 on SIGINT/SIGTERM.

use std::path::Path;
use std::time::Duration;

use nsq_admin::flags::{flag_set, options_from_values};
use nsq_admin::NsqAdmin;
use nsq_cli::logging::{self, fatal, fatal_with_prefix};

/// The prefix of startup failures, whatever `--log-prefix` says (as in the reference).
const FATAL_PREFIX: &str = "[nsqadmin] ";

fn main() {
    let set = flag_set();
    let args = set.parse_env_or_exit();
    if args.get_bool("version") == Some(true) {
        println!("{}", nsq_cli::version_string("nsqadmin"));
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
    let opts = options_from_values(&values);
    let log = logging::init(&opts.log_prefix, opts.log_level);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fatal(format!("failed to start runtime - {e}")),
    };
    runtime.block_on(async move {
        let admin = match NsqAdmin::bind(opts, Some(log)).await {
            Ok(a) => a,
            Err(e) => fatal_with_prefix(
                FATAL_PREFIX,
                format!("failed to instantiate nsqadmin - {e}"),
            ),
        };
        admin.run(shutdown_signal()).await;
    });
    runtime.shutdown_timeout(Duration::from_millis(100));
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
