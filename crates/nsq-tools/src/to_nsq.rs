//! `to_nsq`: publish stdin, split on a one-byte delimiter, to a topic on every given nsqd.
//!
//! Behaviour of the reference kept on purpose (scripts depend on it):
//! * each record is published synchronously to **every** `--nsqd-tcp-address` (fan-out),
//!   and any publish error is fatal (`log.Fatal(err)`);
//! * the last byte of every read is dropped as "the delimiter", so a final record without
//!   a trailing delimiter loses its last character (`abc\n\ndef` publishes `abc`, `de`);
//!   empty records are skipped;
//! * `--rate` is a token bucket starting at 1 token, gaining one every `1s/rate`, capped at
//!   `rate`; when it is empty the reader sleeps one interval and then publishes anyway;
//! * there is no `--version` flag.

use std::io::BufRead;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nsq_cli::FlagSet;

use crate::app::{self, Sig, Signals};
use crate::gonsq::{user_agent, Config, Producer};

const TOOL: &str = "to_nsq";

/// The flag set (named after the program path, as Go's default flag set is).
pub fn flag_set(program: &str) -> FlagSet {
    FlagSet::new(
        program,
        vec![
            app::string("topic", "", "NSQ topic to publish to"),
            app::string("delimiter", "\n", "character to split input from stdin"),
            app::str_list(
                "nsqd-tcp-address",
                "destination nsqd TCP address (may be given multiple times)",
            ),
            app::str_list(
                "producer-opt",
                "option to passthrough to nsq.Producer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)",
            ),
            app::int("rate", 0, "Throttle messages to n/second. 0 to disable"),
        ],
    )
}

/// One record read from `r`: the bytes up to and including `delim` (or to EOF) with the
/// last byte removed, and whether EOF was reached. Read errors other than EOF are returned.
pub fn read_record(r: &mut impl BufRead, delim: u8) -> std::io::Result<(Vec<u8>, bool)> {
    let mut line = Vec::new();
    r.read_until(delim, &mut line)?;
    let eof = line.last() != Some(&delim);
    // The reference always trims one byte, even when the record ended at EOF.
    line.pop();
    Ok((line, eof))
}

/// Runs `to_nsq` with this process's arguments; returns the exit status.
pub fn main() -> i32 {
    let set = flag_set(&app::program_name(TOOL));
    let (_args, v) = app::parse(&set);
    let mut cfg = Config::default();
    app::apply_config_flags(&set, "producer-opt", v.str_list("producer-opt"), &mut cfg);

    let topic = v.str("topic").to_string();
    if topic.is_empty() {
        app::fatal("--topic required");
    }
    let delimiter = v.str("delimiter").as_bytes();
    if delimiter.len() != 1 {
        app::fatal("--delimiter must be a single byte");
    }
    let delim = delimiter[0];
    let rate = v.int("rate");
    let addrs = v.str_list("nsqd-tcp-address").to_vec();
    cfg.user_agent = user_agent(TOOL);

    app::run(async move {
        let mut signals = Signals::new(&[Sig::Int, Sig::Term]);
        let mut producers: Vec<Producer> = Vec::new();
        for a in &addrs {
            if producers.iter().any(|p| p.addr() == a) {
                continue;
            }
            match Producer::new(a, cfg.clone()) {
                Ok(p) => producers.push(p),
                Err(e) => app::fatal(format!("failed to create nsq.Producer - {e}")),
            }
        }
        if producers.is_empty() {
            app::fatal("--nsqd-tcp-address required");
        }

        let throttle = rate >= 1;
        let balance = Arc::new(AtomicI64::new(1));
        let interval = if throttle {
            Duration::from_nanos(1_000_000_000 / rate as u64)
        } else {
            Duration::ZERO
        };
        if throttle {
            let balance = balance.clone();
            tokio::spawn(async move {
                app::log(format!("Throttling messages rate to max:{rate}/second"));
                let mut ticker =
                    tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
                loop {
                    ticker.tick().await;
                    let n = balance.fetch_add(1, Ordering::SeqCst) + 1;
                    if n > rate {
                        balance.store(rate, Ordering::SeqCst);
                    }
                }
            });
        }

        // Held while a record is being published; set to true once a signal arrived, so
        // the record in flight is published completely and no further one is started.
        let stopping = Arc::new(tokio::sync::Mutex::new(false));
        let handle = tokio::runtime::Handle::current();
        let publishers = producers.clone();
        let reader_stopping = stopping.clone();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut r = stdin.lock();
            loop {
                if throttle && balance.load(Ordering::SeqCst) <= 0 {
                    std::thread::sleep(interval);
                }
                let (line, eof) = match read_record(&mut r, delim) {
                    Ok(x) => x,
                    Err(e) => app::fatal(e),
                };
                let stop = handle.block_on(async {
                    let stopping = reader_stopping.lock().await;
                    if *stopping {
                        return true;
                    }
                    if !line.is_empty() {
                        for p in &publishers {
                            if let Err(e) = p.publish(&topic, &line).await {
                                app::fatal(e);
                            }
                        }
                    }
                    false
                });
                if stop {
                    return;
                }
                if throttle {
                    balance.fetch_sub(1, Ordering::SeqCst);
                }
                if eof {
                    break;
                }
            }
            let _ = done_tx.send(());
        });

        tokio::select! {
            _ = signals.recv() => {
                // Let the record being published finish (bounded), then stop.
                if let Ok(mut s) = tokio::time::timeout(Duration::from_secs(10), stopping.lock()).await {
                    *s = true;
                }
            }
            _ = done_rx => {}
        }
        for p in &producers {
            p.stop().await;
        }
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[u8], delim: u8) -> Vec<Vec<u8>> {
        let mut r = std::io::Cursor::new(input.to_vec());
        let mut out = Vec::new();
        loop {
            let (line, eof) = read_record(&mut r, delim).expect("read");
            if !line.is_empty() {
                out.push(line);
            }
            if eof {
                return out;
            }
        }
    }

    #[test]
    fn records_follow_the_reference_quirks() {
        assert_eq!(
            records(b"abc\n\ndef", b'\n'),
            vec![b"abc".to_vec(), b"de".to_vec()]
        );
        assert_eq!(
            records(b"a,b,c,", b','),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert!(records(b"", b'\n').is_empty());
        assert!(records(b"x", b'\n').is_empty());
    }

    #[test]
    fn flags_parse_go_style() {
        let set = flag_set("to_nsq");
        let a = set
            .parse(
                [
                    "-topic",
                    "t",
                    "--nsqd-tcp-address=a:1",
                    "--nsqd-tcp-address",
                    "b:2",
                    "--rate=10",
                ]
                .map(String::from),
            )
            .expect("parse");
        let v = nsq_cli::resolve(&set, &a, None).expect("resolve");
        assert_eq!(v.str("topic"), "t");
        assert_eq!(v.str_list("nsqd-tcp-address"), ["a:1", "b:2"]);
        assert_eq!(v.int("rate"), 10);
        assert_eq!(v.str("delimiter"), "\n");
        assert!(set.parse(["--version".to_string()]).is_err());
    }
}
