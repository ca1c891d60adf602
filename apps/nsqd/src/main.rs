//! `nsqd`: parses the reference's flags and config file, then runs the daemon.

use nsq_cli::logging;

fn main() {
    let set = nsqd_core::flags::flag_set();
    let args = set.parse_env_or_exit();
    if matches!(args.get("version"), Some(nsq_cli::Value::Bool(true))) {
        println!("{}", nsq_cli::version_string("nsqd"));
        return;
    }
    let config = match args.get("config") {
        Some(nsq_cli::Value::Str(path)) if !path.is_empty() => {
            match nsq_cli::load_config_file(std::path::Path::new(path)) {
                Ok(t) => Some(t),
                Err(e) => logging::fatal_with_prefix("[nsqd] ", e),
            }
        }
        _ => None,
    };
    let values = match nsq_cli::resolve(&set, &args, config.as_ref()) {
        Ok(v) => v,
        Err(e) => logging::fatal_with_prefix("[nsqd] ", e),
    };
    let log = logging::init(values.str("log-prefix"), values.log_level("log-level"));
    let opts = match nsqd_core::flags::options_from_values(&values) {
        Ok(o) => o,
        Err(e) => logging::fatal(format!("failed to instantiate nsqd - {e}")),
    };
    tracing::info!("{}", nsq_cli::version_string("nsqd"));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => logging::fatal(format!("failed to start runtime - {e}")),
    };
    if let Err(e) = runtime.block_on(nsqd_core::server::run(opts, log)) {
        logging::fatal(e);
    }
}
