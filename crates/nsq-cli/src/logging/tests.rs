use super::*;
use std::sync::Mutex;
use std::time::Duration;

fn capture() -> (Arc<Shared>, Arc<Mutex<Vec<String>>>, impl Subscriber) {
    let shared = Arc::new(Shared::new("[test] ", LogLevel::Info));
    let buf = Arc::new(Mutex::new(Vec::new()));
    let layer = NsqLayer::new(shared.clone(), Sink::Buffer(buf.clone()));
    (shared, buf, tracing_subscriber::registry().with(layer))
}

fn lines(buf: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *buf.lock().unwrap())
}

/// Strips `<prefix><timestamp> ` and checks the timestamp's shape.
fn body<'a>(line: &'a str, prefix: &str) -> &'a str {
    let rest = line.strip_prefix(prefix).expect("prefix");
    let (ts, rest) = rest.split_at(26);
    assert_timestamp_shape(ts);
    rest.strip_prefix(' ').expect("space after timestamp")
}

fn assert_timestamp_shape(ts: &str) {
    // YYYY/MM/DD HH:MM:SS.micro
    assert_eq!(ts.len(), 26, "{ts}");
    for (i, c) in ts.chars().enumerate() {
        match i {
            4 | 7 => assert_eq!(c, '/', "{ts}"),
            10 => assert_eq!(c, ' ', "{ts}"),
            13 | 16 => assert_eq!(c, ':', "{ts}"),
            19 => assert_eq!(c, '.', "{ts}"),
            _ => assert!(c.is_ascii_digit(), "{ts}"),
        }
    }
}

fn emit_all() {
    tracing::trace!("t");
    tracing::debug!("d");
    tracing::info!("i");
    tracing::warn!("w");
    tracing::error!("e");
}

#[test]
fn renders_nsq_lines_with_levels_and_fields() {
    let (_shared, buf, subscriber) = capture();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("TCP: listening on {}", "[::]:4150");
        tracing::warn!(client = "127.0.0.1:5000", attempts = 3, "slow client");
        tracing::error!(err = ?std::io::ErrorKind::BrokenPipe, "write failed");
        tracing::info!("ends with newline\n");
    });
    let got = lines(&buf);
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(
        body(&got[0], "[test] "),
        "INFO: TCP: listening on [::]:4150\n"
    );
    assert_eq!(
        body(&got[1], "[test] "),
        "WARNING: slow client client=127.0.0.1:5000 attempts=3\n"
    );
    assert_eq!(
        body(&got[2], "[test] "),
        "ERROR: write failed err=BrokenPipe\n"
    );
    assert_eq!(body(&got[3], "[test] "), "INFO: ends with newline\n");
}

#[test]
fn level_filter_changes_at_runtime() {
    let (shared, buf, subscriber) = capture();
    let handle = LogHandle {
        shared: shared.clone(),
    };
    let levels = |lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let b = body(l, "[test] ");
                b[..b.find(':').unwrap()].to_string()
            })
            .collect()
    };
    tracing::subscriber::with_default(subscriber, || {
        // The same callsites are hit under every level: no cached verdicts.
        emit_all();
        assert_eq!(levels(lines(&buf)), ["INFO", "WARNING", "ERROR"]);
        handle.set_level(LogLevel::Debug);
        assert_eq!(handle.level(), LogLevel::Debug);
        emit_all();
        assert_eq!(levels(lines(&buf)), ["DEBUG", "INFO", "WARNING", "ERROR"]);
        handle.set_level(LogLevel::Error);
        emit_all();
        assert_eq!(levels(lines(&buf)), ["ERROR"]);
        handle.set_level(LogLevel::Fatal);
        emit_all();
        assert!(lines(&buf).is_empty());
        handle.set_level(LogLevel::Warn);
        emit_all();
        assert_eq!(levels(lines(&buf)), ["WARNING", "ERROR"]);
    });
}

#[test]
fn format_line_layout() {
    let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
    let line = format_line("[nsqd] ", LogLevel::Warn, t, "hello");
    assert_eq!(body(&line, "[nsqd] "), "WARNING: hello\n");
    assert!(line.contains(".123456 WARNING: "), "{line}");
    assert_eq!(&timestamp(t)[..19], timestamp_seconds(t));
    assert_eq!(
        format_line("", LogLevel::Fatal, t, "x\n")
            .matches('\n')
            .count(),
        1
    );
}

#[test]
fn utc_fallback_calendar() {
    let c = utc_civil(0);
    assert_eq!(
        (c.year, c.month, c.day, c.hour, c.minute, c.second),
        (1970, 1, 1, 0, 0, 0)
    );
    // 2024-02-29 12:34:56 UTC (leap day).
    let c = utc_civil(1_709_210_096);
    assert_eq!(
        (c.year, c.month, c.day, c.hour, c.minute, c.second),
        (2024, 2, 29, 12, 34, 56)
    );
    // 2000-12-31 23:59:59 UTC.
    let c = utc_civil(978_307_199);
    assert_eq!((c.year, c.month, c.day), (2000, 12, 31));
}

#[test]
fn init_is_idempotent_and_shares_state() {
    let a = init("[one] ", LogLevel::Debug);
    let b = init("[two] ", LogLevel::Error);
    assert_eq!(a.prefix(), "[two] ");
    assert_eq!(a.level(), LogLevel::Error);
    b.set_level(LogLevel::Info);
    assert_eq!(a.level(), LogLevel::Info);
    let c = a.clone();
    std::thread::spawn(move || c.set_level(LogLevel::Warn))
        .join()
        .unwrap();
    assert_eq!(b.level(), LogLevel::Warn);
}

/// Runs only as a child process of `fatal_writes_line_and_exits_1`.
#[test]
fn fatal_child() {
    if std::env::var_os("NSQ_CLI_FATAL_CHILD").is_some() {
        init("[child] ", LogLevel::Info);
        fatal("boom - details");
    }
}

#[test]
fn fatal_writes_line_and_exits_1() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["logging::tests::fatal_child", "--exact", "--nocapture"])
        .env("NSQ_CLI_FATAL_CHILD", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("[child] "))
        .unwrap_or_else(|| panic!("no fatal line in {stderr:?}"));
    assert_eq!(body(line, "[child] "), "FATAL: boom - details");
}

#[test]
fn handle_is_thread_safe() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<LogHandle>();
}
