//! NSQ-compatible log output for every program.
//!
//! Go NSQ writes `<prefix><YYYY/MM/DD HH:MM:SS.micro> <LEVEL>: <message>` lines to stderr in
//! local time (e.g. `[nsqd] 2024/01/01 12:00:00.123456 INFO: TCP: listening on [::]:4150`).
//! Operators grep and ship these lines, so our programs emit the same format. Code logs with
//! the ordinary `tracing` macros; [`init`] installs a global subscriber whose layer filters by
//! a runtime-adjustable [`LogLevel`] (nsqd's `PUT /config/log_level`) and renders the lines.
//!
//! Level mapping: `tracing` `DEBUG`/`INFO`/`WARN`/`ERROR` print as `DEBUG`/`INFO`/`WARNING`/
//! `ERROR`; `TRACE` events are never printed (Go NSQ has no such level). `FATAL` lines come
//! only from [`fatal`], which also exits. Event fields other than `message` are appended as
//! ` key=value`.

mod level;

pub use level::{LogLevel, ParseLogLevelError};

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The state shared by the global layer, every [`LogHandle`] and [`fatal`].
#[derive(Debug)]
struct Shared {
    level: AtomicU8,
    prefix: RwLock<String>,
}

impl Shared {
    fn new(prefix: &str, level: LogLevel) -> Self {
        Shared {
            level: AtomicU8::new(level_to_u8(level)),
            prefix: RwLock::new(prefix.to_string()),
        }
    }

    fn level(&self) -> LogLevel {
        u8_to_level(self.level.load(Ordering::Relaxed))
    }

    fn prefix(&self) -> String {
        match self.prefix.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_prefix(&self, prefix: &str) {
        match self.prefix.write() {
            Ok(mut p) => *p = prefix.to_string(),
            Err(poisoned) => *poisoned.into_inner() = prefix.to_string(),
        }
    }
}

fn level_to_u8(level: LogLevel) -> u8 {
    level.as_int() as u8
}

fn u8_to_level(n: u8) -> LogLevel {
    LogLevel::from_int(i64::from(n)).unwrap_or_default()
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A handle on the process-wide log configuration returned by [`init`]. Cloning is cheap;
/// all clones (and every later [`init`] call) see the same level and prefix.
#[derive(Debug, Clone)]
pub struct LogHandle {
    shared: Arc<Shared>,
}

impl LogHandle {
    /// Changes the minimum printed level immediately for every thread (nsqd's
    /// `PUT /config/log_level`). With [`LogLevel::Fatal`] only [`fatal`] lines print.
    pub fn set_level(&self, level: LogLevel) {
        self.shared
            .level
            .store(level_to_u8(level), Ordering::Relaxed);
    }

    /// The current minimum printed level.
    pub fn level(&self) -> LogLevel {
        self.shared.level()
    }

    /// The current line prefix (e.g. `[nsqd] `, trailing space included).
    pub fn prefix(&self) -> String {
        self.shared.prefix()
    }
}

/// Installs the global `tracing` subscriber that writes NSQ-format lines to stderr with
/// `prefix` (used verbatim; include the trailing space, e.g. `"[nsqd] "`) at `level`, and
/// returns a handle to adjust the level later.
///
/// Calling it again updates the prefix and level of the existing configuration and returns a
/// handle to it. If some other global subscriber was installed first (e.g. by a test
/// harness) ours is not installed, but the handle and [`fatal`] still work.
pub fn init(prefix: &str, level: LogLevel) -> LogHandle {
    let shared = SHARED
        .get_or_init(|| Arc::new(Shared::new(prefix, level)))
        .clone();
    shared.set_prefix(prefix);
    shared.level.store(level_to_u8(level), Ordering::Relaxed);
    if !INSTALLED.swap(true, Ordering::SeqCst) {
        let layer = NsqLayer::new(shared.clone(), Sink::Stderr);
        let subscriber = tracing_subscriber::registry().with(layer);
        // An error only means another global subscriber exists; nothing to do then.
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
    LogHandle { shared }
}

/// Writes `<prefix><timestamp> FATAL: <msg>` to stderr, using the prefix given to [`init`]
/// (empty if `init` was never called), and exits the process with status 1.
pub fn fatal(msg: impl fmt::Display) -> ! {
    let prefix = SHARED.get().map(|s| s.prefix()).unwrap_or_default();
    fatal_with_prefix(&prefix, msg)
}

/// Like [`fatal`] but with an explicit prefix, for failures before [`init`] (Go NSQ uses a
/// fresh logger with the program's hard-coded prefix, e.g.
/// `[nsqd] 2024/01/01 12:00:00.123456 FATAL: failed to load config file x - ...`).
pub fn fatal_with_prefix(prefix: &str, msg: impl fmt::Display) -> ! {
    let line = format_line(prefix, LogLevel::Fatal, SystemTime::now(), &msg.to_string());
    write_stderr(&line);
    std::process::exit(1)
}

/// Writes `<YYYY/MM/DD HH:MM:SS> <msg>` to stderr, the format of Go's default `log`
/// package, which NSQ's utilities (`nsq_tail`, `to_nsq`, ...) use for their own messages.
pub fn std_log(msg: impl fmt::Display) {
    let mut line = format!("{} {}", timestamp_seconds(SystemTime::now()), msg);
    if !line.ends_with('\n') {
        line.push('\n');
    }
    write_stderr(&line);
}

/// [`std_log`] then exit with status 1, like Go's `log.Fatal`.
pub fn std_fatal(msg: impl fmt::Display) -> ! {
    std_log(msg);
    std::process::exit(1)
}

/// Renders one complete NSQ log line, newline included:
/// `<prefix><YYYY/MM/DD HH:MM:SS.micro> <LEVEL>: <message>\n` in local time. A message that
/// already ends with a newline does not get a second one (as with Go's `log`).
pub fn format_line(prefix: &str, level: LogLevel, time: SystemTime, message: &str) -> String {
    let mut line = String::with_capacity(prefix.len() + 36 + message.len());
    line.push_str(prefix);
    line.push_str(&timestamp(time));
    line.push(' ');
    line.push_str(level.label());
    line.push_str(": ");
    line.push_str(message);
    if !line.ends_with('\n') {
        line.push('\n');
    }
    line
}

/// Formats `time` as local `YYYY/MM/DD HH:MM:SS.micro` (6-digit microseconds), the
/// timestamp of Go's `log` with `Ldate|Ltime|Lmicroseconds`. Falls back to UTC if the local
/// time cannot be computed.
pub fn timestamp(time: SystemTime) -> String {
    let (tm, micros) = local_time(time);
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02}.{:06}",
        tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second, micros
    )
}

/// Like [`timestamp`] without the microseconds (Go's default `log` flags).
pub fn timestamp_seconds(time: SystemTime) -> String {
    let (tm, _) = local_time(time);
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
        tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second
    )
}

/// Broken-down calendar time.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

fn local_time(time: SystemTime) -> (Civil, u32) {
    let (secs, micros) = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_micros()),
        Err(_) => (0, 0),
    };
    let t = secs as libc::time_t;
    // SAFETY: `tm` is a plain C struct for which all-zero bytes is a valid value, and
    // `localtime_r` only writes into the struct we pass; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok {
        let civil = Civil {
            year: i64::from(tm.tm_year) + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
        };
        return (civil, micros);
    }
    (utc_civil(secs), micros)
}

/// UTC calendar conversion (days-from-civil inverse), used only if `localtime_r` fails.
fn utc_civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
        second: (rem % 60) as u32,
    }
}

fn write_stderr(line: &str) {
    // Nothing useful can be done if stderr is gone.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Where rendered lines go: stderr in production, a buffer in tests.
#[derive(Clone)]
enum Sink {
    Stderr,
    #[cfg(test)]
    Buffer(Arc<std::sync::Mutex<Vec<String>>>),
}

impl Sink {
    fn write(&self, line: &str) {
        match self {
            Sink::Stderr => write_stderr(line),
            #[cfg(test)]
            Sink::Buffer(buf) => {
                if let Ok(mut b) = buf.lock() {
                    b.push(line.to_string());
                }
            }
        }
    }
}

/// The `tracing` layer that filters on the shared level and renders NSQ lines.
struct NsqLayer {
    shared: Arc<Shared>,
    sink: Sink,
}

impl NsqLayer {
    fn new(shared: Arc<Shared>, sink: Sink) -> Self {
        NsqLayer { shared, sink }
    }

    /// Maps a `tracing` level to ours; `TRACE` has no NSQ equivalent and never prints.
    fn map_level(level: &tracing::Level) -> Option<LogLevel> {
        match *level {
            tracing::Level::ERROR => Some(LogLevel::Error),
            tracing::Level::WARN => Some(LogLevel::Warn),
            tracing::Level::INFO => Some(LogLevel::Info),
            tracing::Level::DEBUG => Some(LogLevel::Debug),
            _ => None,
        }
    }

    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        match Self::map_level(metadata.level()) {
            Some(l) => l >= self.shared.level(),
            None => false,
        }
    }
}

impl<S: Subscriber> Layer<S> for NsqLayer {
    fn register_callsite(
        &self,
        metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // The level can change at runtime, so never let tracing cache a verdict, except for
        // TRACE, which we never print.
        if Self::map_level(metadata.level()).is_none() && metadata.is_event() {
            tracing::subscriber::Interest::never()
        } else {
            tracing::subscriber::Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        !metadata.is_event() || self.wants(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(level) = Self::map_level(event.metadata().level()) else {
            return;
        };
        if level < self.shared.level() {
            return;
        }
        let mut visitor = FieldVisitor::default();
        event.record(&mut visitor);
        visitor.message.push_str(&visitor.fields);
        let line = format_line(
            &self.shared.prefix(),
            level,
            SystemTime::now(),
            &visitor.message,
        );
        self.sink.write(&line);
    }
}

/// Collects the `message` field and renders the others as ` key=value`.
#[derive(Default)]
struct FieldVisitor {
    message: String,
    fields: String,
}

impl Visit for FieldVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else if !field.name().starts_with("log.") {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else if !field.name().starts_with("log.") {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
