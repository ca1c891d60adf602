//! nsq_to_file's own log lines: NSQ's leveled format with `--log-prefix`
//! (`[nsq_to_file] 2006/01/02 15:04:05.000000 INFO: [topic/channel] opening ...`), filtered
//! by `--log-level`. go-nsq's lines and validation failures use Go's plain standard logger
//! instead, as in the reference.

use std::io::Write;
use std::time::SystemTime;

use nsq_cli::LogLevel;

/// A leveled logger writing to stderr.
///
/// Invariant: a line is written iff its level is at least `level`.
#[derive(Debug, Clone)]
pub struct Logf {
    prefix: String,
    level: LogLevel,
}

impl Logf {
    /// A logger with the given prefix (used verbatim) and minimum level.
    pub fn new(prefix: &str, level: LogLevel) -> Logf {
        Logf {
            prefix: prefix.to_string(),
            level,
        }
    }

    /// Writes one line at `level` if enabled.
    pub fn log(&self, level: LogLevel, msg: std::fmt::Arguments<'_>) {
        if level < self.level {
            return;
        }
        let line =
            nsq_cli::logging::format_line(&self.prefix, level, SystemTime::now(), &msg.to_string());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    /// Logs at FATAL and exits with status 1 (the reference's `logf(FATAL, ...); os.Exit(1)`).
    pub fn fatal(&self, msg: std::fmt::Arguments<'_>) -> ! {
        let line = nsq_cli::logging::format_line(
            &self.prefix,
            LogLevel::Fatal,
            SystemTime::now(),
            &msg.to_string(),
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        std::process::exit(1)
    }
}
