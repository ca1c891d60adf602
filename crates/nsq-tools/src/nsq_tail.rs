//! `nsq_tail`: print the messages of one or more topics to stdout.
//!
//! Each message is written as `[<topic> | ]<body>\n`. Without `--channel` an ephemeral
//! channel `tail<NNNNNN>#ephemeral` is used. With `--n`, the process exits 0 as soon as
//! *one* topic's handler printed n messages (the count is per topic) and `--max-in-flight`
//! is lowered to n. SIGINT/SIGTERM stop the consumers gracefully.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use nsq_cli::FlagSet;
use rand::Rng;

use crate::app::{self, Sig, Signals};
use crate::gonsq::{user_agent, Config, Consumer, Delivery, Handler};

const TOOL: &str = "nsq_tail";

/// The flag set (named after the program path, as Go's default flag set is).
pub fn flag_set(program: &str) -> FlagSet {
    FlagSet::new(
        program,
        vec![
            app::boolean("version", false, "print version string"),
            app::string("channel", "", "NSQ channel"),
            app::int(
                "max-in-flight",
                200,
                "max number of messages to allow in flight",
            ),
            app::int("n", 0, "total messages to show (will wait if starved)"),
            app::boolean(
                "print-topic",
                false,
                "print topic name where message was received",
            ),
            app::str_list(
                "nsqd-tcp-address",
                "nsqd TCP address (may be given multiple times)",
            ),
            app::str_list(
                "lookupd-http-address",
                "lookupd HTTP address (may be given multiple times)",
            ),
            app::str_list("topic", "NSQ topic (may be given multiple times)"),
            app::str_list(
                "consumer-opt",
                "option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)",
            ),
        ],
    )
}

/// The default channel: `tail` + a random number below 999999, zero-padded to six digits,
/// + `#ephemeral`.
pub fn random_channel() -> String {
    let n: u64 = rand::thread_rng().gen::<u64>() >> 1;
    format!("tail{:06}#ephemeral", n % 999_999)
}

/// One printed line: `[<topic> | ]<body>\n`.
pub fn render(topic: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1 + topic.map_or(0, |t| t.len() + 3));
    if let Some(t) = topic {
        out.extend_from_slice(t.as_bytes());
        out.extend_from_slice(b" | ");
    }
    out.extend_from_slice(body);
    out.push(b'\n');
    out
}

fn tail_handler(topic: String, print_topic: bool, total: i64) -> Handler {
    let shown = Arc::new(AtomicI64::new(0));
    Arc::new(move |d: Delivery| {
        let shown = shown.clone();
        let topic = topic.clone();
        Box::pin(async move {
            let n = shown.fetch_add(1, Ordering::SeqCst) + 1;
            let line = render(print_topic.then_some(topic.as_str()), d.body());
            if let Err(e) = app::write_stdout(&line) {
                app::fatal(format!("ERROR: failed to write to os.Stdout - {e}"));
            }
            if total > 0 && n >= total {
                std::process::exit(0);
            }
            Ok(())
        })
    })
}

/// Runs `nsq_tail` with this process's arguments; returns the exit status.
pub fn main() -> i32 {
    let set = flag_set(&app::program_name(TOOL));
    let (_args, v) = app::parse(&set);
    let mut cfg = Config::default();
    app::apply_config_flags(&set, "consumer-opt", v.str_list("consumer-opt"), &mut cfg);

    if v.bool("version") {
        println!("{}", nsq_cli::tool_version_string(TOOL));
        return 0;
    }
    let channel = match v.str("channel") {
        "" => random_channel(),
        c => c.to_string(),
    };
    let nsqds = v.str_list("nsqd-tcp-address").to_vec();
    let lookupds = v.str_list("lookupd-http-address").to_vec();
    let topics = v.str_list("topic").to_vec();
    if nsqds.is_empty() && lookupds.is_empty() {
        app::fatal("--nsqd-tcp-address or --lookupd-http-address required");
    }
    if !nsqds.is_empty() && !lookupds.is_empty() {
        app::fatal("use --nsqd-tcp-address or --lookupd-http-address not both");
    }
    if topics.is_empty() {
        app::fatal("--topic required");
    }
    let total = v.int("n");
    let mut max_in_flight = v.int("max-in-flight");
    if total > 0 && total < max_in_flight {
        max_in_flight = total;
    }
    cfg.user_agent = user_agent(TOOL);
    cfg.max_in_flight = max_in_flight;
    let print_topic = v.bool("print-topic");

    app::run(async move {
        let mut signals = Signals::new(&[Sig::Int, Sig::Term]);
        let mut consumers = Vec::new();
        for topic in &topics {
            app::log(format!("Adding consumer for topic: {topic}\n"));
            let consumer = match Consumer::new(topic, &channel, cfg.clone()) {
                Ok(c) => c,
                Err(e) => app::fatal(e),
            };
            consumer.add_handler(tail_handler(topic.clone(), print_topic, total));
            if let Err(e) = consumer.connect_to_nsqds(&nsqds).await {
                app::fatal(e);
            }
            if let Err(e) = consumer.connect_to_lookupds(&lookupds).await {
                app::fatal(e);
            }
            consumers.push(consumer);
        }
        signals.recv().await;
        for c in &consumers {
            c.stop();
        }
        for c in &consumers {
            c.wait_stopped().await;
        }
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_and_lines() {
        let c = random_channel();
        assert!(c.starts_with("tail") && c.ends_with("#ephemeral"), "{c}");
        assert_eq!(c.len(), "tail".len() + 6 + "#ephemeral".len());
        assert!(nsq_protocol::names::is_valid_channel_name(&c));
        assert_eq!(render(None, b"hi"), b"hi\n");
        assert_eq!(render(Some("t"), b"hi"), b"t | hi\n");
    }
}
