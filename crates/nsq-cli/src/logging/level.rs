//! NSQ's five log levels (`internal/lg` in Go NSQ).
//!
//! The level is user-visible in three ways that must match Go NSQ: the words accepted by
//! `--log-level` / `log_level` (case-insensitive `debug info warn error fatal`, and nothing
//! else, not even `warning`), the integers served by `/config/log_level` (1..=5), and the
//! words printed in log lines (`WARNING` for warn).

use std::fmt;
use std::str::FromStr;

/// A log verbosity. Ordered: `Debug < Info < Warn < Error < Fatal`; a message prints when
/// its level is at least the configured level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum LogLevel {
    /// Everything, including per-message chatter.
    Debug,
    /// Normal operational messages (the default).
    #[default]
    Info,
    /// Problems that do not stop the program.
    Warn,
    /// Failures.
    Error,
    /// Only fatal messages (written by [`crate::logging::fatal`] just before exiting).
    Fatal,
}

/// The text of a rejected level word; its `Display` is Go NSQ's error:
/// `invalid log level 'warning' (debug, info, warn, error, fatal)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid log level '{0}' (debug, info, warn, error, fatal)")]
pub struct ParseLogLevelError(pub String);

impl LogLevel {
    /// All levels, lowest first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Fatal,
    ];

    /// Go NSQ's numeric level: debug=1, info=2, warn=3, error=4, fatal=5 (the value of
    /// `GET /config/log_level`).
    pub fn as_int(self) -> i64 {
        match self {
            LogLevel::Debug => 1,
            LogLevel::Info => 2,
            LogLevel::Warn => 3,
            LogLevel::Error => 4,
            LogLevel::Fatal => 5,
        }
    }

    /// The inverse of [`LogLevel::as_int`]; `None` outside 1..=5.
    pub fn from_int(n: i64) -> Option<LogLevel> {
        LogLevel::ALL.into_iter().find(|l| l.as_int() == n)
    }

    /// The lower-case word accepted on the command line (`debug`, `info`, `warn`, `error`,
    /// `fatal`); parsing it gives back the same level.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
        }
    }

    /// The upper-case word printed in log lines and in `--help` defaults: `DEBUG`, `INFO`,
    /// `WARNING`, `ERROR`, `FATAL`.
    pub fn label(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }
}

impl FromStr for LogLevel {
    type Err = ParseLogLevelError;

    /// Accepts `debug`, `info`, `warn`, `error`, `fatal` in any letter case; anything else
    /// (including `warning` and surrounding spaces) is an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogLevel::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseLogLevelError(s.to_string()))
    }
}

impl fmt::Display for LogLevel {
    /// Writes the lower-case command-line word (see [`LogLevel::as_str`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively() {
        assert_eq!("debug".parse(), Ok(LogLevel::Debug));
        assert_eq!("INFO".parse(), Ok(LogLevel::Info));
        assert_eq!("Warn".parse(), Ok(LogLevel::Warn));
        assert_eq!("eRRoR".parse(), Ok(LogLevel::Error));
        assert_eq!("FATAL".parse(), Ok(LogLevel::Fatal));
    }

    #[test]
    fn rejects_other_words_with_go_text() {
        let err = "warning".parse::<LogLevel>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid log level 'warning' (debug, info, warn, error, fatal)"
        );
        assert!(" info".parse::<LogLevel>().is_err());
        assert!("".parse::<LogLevel>().is_err());
        assert!("2".parse::<LogLevel>().is_err());
    }

    #[test]
    fn ints_and_labels() {
        let ints: Vec<i64> = LogLevel::ALL.iter().map(|l| l.as_int()).collect();
        assert_eq!(ints, vec![1, 2, 3, 4, 5]);
        for l in LogLevel::ALL {
            assert_eq!(LogLevel::from_int(l.as_int()), Some(l));
            assert_eq!(l.as_str().parse(), Ok(l));
        }
        assert_eq!(LogLevel::from_int(0), None);
        assert_eq!(LogLevel::Warn.label(), "WARNING");
        assert_eq!(LogLevel::default(), LogLevel::Info);
        assert!(LogLevel::Debug < LogLevel::Fatal);
    }
}
