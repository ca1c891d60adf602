//! go-nsq's log lines.
//!
//! The utilities leave go-nsq's default logger in place: Go's standard `log` package on
//! stderr (`2006/01/02 15:04:05 ` prefix) at level INFO. Its lines name the level as a
//! three-letter word padded to four, the instance number of the consumer or producer
//! (a process-wide counter starting at 1), the topic/channel and the nsqd address:
//! `INF    1 [t/c] (127.0.0.1:4150) connecting to nsqd`. Operators grep for them, so this
//! module renders them the same way.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// go-nsq's log levels; lines below [`Level::Info`] are not printed (go-nsq's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `DBG`.
    Debug,
    /// `INF`.
    Info,
    /// `WRN`.
    Warning,
    /// `ERR`.
    Error,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Debug => "DBG",
            Level::Info => "INF",
            Level::Warning => "WRN",
            Level::Error => "ERR",
        }
    }
}

static INSTANCES: AtomicI64 = AtomicI64::new(0);

/// The next consumer/producer instance number (go-nsq's shared `instCount`): 1, 2, ...
pub fn next_instance_id() -> i64 {
    INSTANCES.fetch_add(1, Ordering::Relaxed) + 1
}

/// Who is logging: a consumer (`[topic/channel]`) or a producer.
///
/// Invariant: `id` came from [`next_instance_id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogContext {
    /// The instance number.
    pub id: i64,
    /// `Some((topic, channel))` for a consumer.
    pub consumer: Option<(String, String)>,
}

impl LogContext {
    /// A consumer's context.
    pub fn consumer(id: i64, topic: &str, channel: &str) -> LogContext {
        LogContext {
            id,
            consumer: Some((topic.to_string(), channel.to_string())),
        }
    }

    /// A producer's context.
    pub fn producer(id: i64) -> LogContext {
        LogContext { id, consumer: None }
    }

    /// Renders a line about the instance itself (no timestamp).
    pub fn line(&self, level: Level, msg: fmt::Arguments<'_>) -> String {
        match &self.consumer {
            Some((t, c)) => format!("{:<4} {:>3} [{t}/{c}] {msg}", level.word(), self.id),
            None => format!("{:<4} {:>3} {msg}", level.word(), self.id),
        }
    }

    /// Renders a line about one of its connections (no timestamp).
    pub fn conn_line(&self, level: Level, addr: &str, msg: fmt::Arguments<'_>) -> String {
        match &self.consumer {
            Some((t, c)) => {
                format!(
                    "{:<4} {:>3} [{t}/{c}] ({addr}) {msg}",
                    level.word(),
                    self.id
                )
            }
            None => format!("{:<4} {:>3} ({addr}) {msg}", level.word(), self.id),
        }
    }

    /// Prints a line about the instance (INFO and above) in Go's standard log format.
    pub fn log(&self, level: Level, msg: fmt::Arguments<'_>) {
        if level >= Level::Info {
            nsq_cli::logging::std_log(self.line(level, msg));
        }
    }

    /// Prints a line about a connection (INFO and above) in Go's standard log format.
    pub fn conn_log(&self, level: Level, addr: &str, msg: fmt::Arguments<'_>) {
        if level >= Level::Info {
            nsq_cli::logging::std_log(self.conn_line(level, addr, msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_look_like_go_nsq() {
        let c = LogContext::consumer(1, "t3", "cc");
        assert_eq!(
            c.line(
                Level::Info,
                format_args!("querying nsqlookupd http://127.0.0.1:14161/lookup?topic=t3")
            ),
            "INF    1 [t3/cc] querying nsqlookupd http://127.0.0.1:14161/lookup?topic=t3"
        );
        assert_eq!(
            c.conn_line(Level::Warning, "127.0.0.1:4150", format_args!("x")),
            "WRN    1 [t3/cc] (127.0.0.1:4150) x"
        );
        let p = LogContext::producer(12);
        assert_eq!(
            p.conn_line(Level::Info, "a:1", format_args!("connecting to nsqd")),
            "INF   12 (a:1) connecting to nsqd"
        );
        assert!(next_instance_id() >= 1);
    }
}
