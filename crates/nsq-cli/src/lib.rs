//! Command line, config file and logging shared by every NSQ program.
//!
//! The Rust `nsqd`, `nsqlookupd`, `nsqadmin` and utilities must be drop-in replacements for
//! the Go binaries, so they must accept the same invocations (Go `flag` syntax, see
//! [`flags`]), the same TOML config files with the same coercions and precedence (see
//! [`config`]), print durations like Go (see [`duration`]) and log in NSQ's line format
//! (see [`logging`]). This crate implements those rules once.
//!
//! Typical use in a daemon:
//!
//! ```no_run
//! use nsq_cli::{FlagKind, FlagSet, FlagSpec, Value};
//!
//! let set = FlagSet::new("nsqlookupd", vec![
//!     FlagSpec::new("version", FlagKind::Bool, Value::Bool(false), "print version string").no_cfg(),
//!     FlagSpec::new("config", FlagKind::Str, Value::Str(String::new()), "path to config file").no_cfg(),
//!     FlagSpec::new("log-level", FlagKind::LogLevel, Value::Str("info".into()), "set log verbosity"),
//!     FlagSpec::new("log-prefix", FlagKind::Str, Value::Str("[nsqlookupd] ".into()), "log message prefix"),
//! ]);
//! let args = set.parse_env_or_exit();
//! if args.get_bool("version") == Some(true) {
//!     println!("{}", nsq_cli::version_string("nsqlookupd"));
//!     std::process::exit(0);
//! }
//! let config = match args.get_str("config") {
//!     Some(path) if !path.is_empty() => Some(
//!         nsq_cli::load_config_file(path.as_ref())
//!             .unwrap_or_else(|e| nsq_cli::logging::fatal_with_prefix("[nsqlookupd] ", e)),
//!     ),
//!     _ => None,
//! };
//! let values = nsq_cli::resolve(&set, &args, config.as_ref())
//!     .unwrap_or_else(|e| nsq_cli::logging::fatal_with_prefix("[nsqlookupd] ", e));
//! let log = nsq_cli::logging::init(values.str("log-prefix"), values.log_level("log-level"));
//! tracing::info!("{}", nsq_cli::version_string("nsqlookupd"));
//! # let _ = log;
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod duration;
pub mod flags;
pub mod logging;
pub mod strconv;
mod values;

pub use config::{load_config_file, parse_config_str, resolve, ConfigError};
pub use duration::{
    format_go_duration, format_go_duration_nanos, parse_go_duration, parse_go_duration_nanos,
    DurationError,
};
pub use flags::{CheckFn, FlagError, FlagKind, FlagSet, FlagSpec, ParsedArgs, Value};
pub use logging::{LogHandle, LogLevel, ParseLogLevelError};
pub use values::Values;

/// The NSQ release whose behaviour we reproduce and report (`/info`, `--version`,
/// lookupd registrations).
pub const NSQ_VERSION: &str = "1.3.0";

/// The daemons' `--version` text and first log line: `<program> v1.3.0 (built w/rustc)`
/// (Go NSQ prints its Go version in place of `rustc`).
pub fn version_string(program: &str) -> String {
    format!("{program} v{NSQ_VERSION} (built w/rustc)")
}

/// The utilities' `--version` text: `<program> v1.3.0` (e.g. `nsq_tail v1.3.0`).
pub fn tool_version_string(program: &str) -> String {
    format!("{program} v{NSQ_VERSION}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_strings() {
        assert_eq!(super::version_string("nsqd"), "nsqd v1.3.0 (built w/rustc)");
        assert_eq!(super::tool_version_string("nsq_stat"), "nsq_stat v1.3.0");
    }
}
