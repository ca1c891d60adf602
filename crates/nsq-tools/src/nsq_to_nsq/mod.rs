//! `nsq_to_nsq`: consume topics and republish every message to destination nsqds.
//!
//! One consumer per `--topic`, each with as many concurrent handlers as there are
//! destinations. A message is published asynchronously to one destination chosen by
//! `--mode` (`hostpool` default, `epsilon-greedy`, `round-robin`; anything else is
//! round robin) under `--destination-topic` or its own topic name, and the source message
//! is FIN'd when the destination acknowledged, REQ'd (with backoff) when it failed. Optional
//! JSON filtering lives in [`json_filter`]. Latency status lines come every
//! `--status-every` publishes.

pub mod json_filter;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nsq_cli::FlagSet;
use nsq_protocol::names::{is_valid_channel_name, is_valid_topic_name};

use self::json_filter::{JsonFilter, Verdict};
use crate::app::{self, Sig, Signals};
use crate::gonsq::{user_agent, Config, Consumer, Delivery, Handler, Producer, ProducerError};
use crate::hostpool::HostPool;
use crate::timer_metrics::TimerMetrics;

const TOOL: &str = "nsq_to_nsq";

/// The flag set (named after the program path, as Go's default flag set is).
pub fn flag_set(program: &str) -> FlagSet {
    FlagSet::new(
        program,
        vec![
            app::boolean("version", false, "print version string"),
            app::string("channel", "nsq_to_nsq", "nsq channel"),
            app::string(
                "destination-topic",
                "",
                "use this destination topic for all consumed topics (default is consumed topic name)",
            ),
            app::int("max-in-flight", 200, "max number of messages to allow in flight"),
            app::int(
                "status-every",
                250,
                "the # of requests between logging status (per destination), 0 disables",
            ),
            app::string(
                "mode",
                "hostpool",
                "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy",
            ),
            app::str_list("nsqd-tcp-address", "nsqd TCP address (may be given multiple times)"),
            app::str_list(
                "destination-nsqd-tcp-address",
                "destination nsqd TCP address (may be given multiple times)",
            ),
            app::str_list(
                "lookupd-http-address",
                "lookupd HTTP address (may be given multiple times)",
            ),
            app::str_list("topic", "nsq topic (may be given multiple times)"),
            app::str_list(
                "whitelist-json-field",
                "for JSON messages: pass this field (may be given multiple times)",
            ),
            app::string(
                "require-json-field",
                "",
                "for JSON messages: only pass messages that contain this field",
            ),
            app::string(
                "require-json-value",
                "",
                "for JSON messages: only pass messages in which the required field has this value",
            ),
            app::str_list(
                "consumer-opt",
                "option to passthrough to nsq.Consumer (may be given multiple times, see http://godoc.org/github.com/nsqio/go-nsq#Config)",
            ),
            app::str_list(
                "producer-opt",
                "option to passthrough to nsq.Producer (may be given multiple times, see http://godoc.org/github.com/nsqio/go-nsq#Config)",
            ),
        ],
    )
}

/// How a destination is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A counter modulo the number of destinations (also any unrecognised `--mode`).
    RoundRobin,
    /// go-hostpool (standard or epsilon-greedy).
    HostPool,
}

impl Mode {
    /// The reference's mode selection.
    pub fn parse(s: &str) -> Mode {
        match s {
            "hostpool" | "epsilon-greedy" => Mode::HostPool,
            _ => Mode::RoundRobin,
        }
    }
}

struct Relay {
    addresses: Vec<String>,
    producers: HashMap<String, Producer>,
    mode: Mode,
    pool: HostPool,
    counter: AtomicU64,
    filter: JsonFilter,
    per_address: HashMap<String, TimerMetrics>,
    aggregate: TimerMetrics,
}

impl Relay {
    async fn handle(self: Arc<Self>, d: Delivery, destination: Arc<str>) -> Result<(), String> {
        let mut body: Bytes = d.body().clone();
        if self.filter.active() {
            match self.filter.apply(&body) {
                Verdict::Drop => return Ok(()),
                Verdict::Backoff => return Err("backoff".to_string()),
                Verdict::Pass(b) => body = Bytes::from(b),
            }
        }
        let start = Instant::now();
        let (addr, host) = match self.mode {
            Mode::RoundRobin => {
                let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
                let i = (n % self.addresses.len() as u64) as usize;
                (self.addresses[i].clone(), None)
            }
            Mode::HostPool => {
                let r = self.pool.get();
                (r.host.clone(), Some(r))
            }
        };
        let Some(producer) = self.producers.get(&addr) else {
            return Err(format!("no producer for {addr}"));
        };
        let rx = match producer.publish_async(&destination, &body).await {
            Ok(rx) => rx,
            Err(e) => {
                if let Some(r) = &host {
                    self.pool.mark(r, false);
                }
                return Err(e.to_string());
            }
        };
        d.disable_auto_response();
        let me = self.clone();
        tokio::spawn(async move {
            let ok = rx.await.unwrap_or(Err(ProducerError::NotConnected)).is_ok();
            if let Some(r) = &host {
                me.pool.mark(r, ok);
            }
            if ok {
                d.finish();
            } else {
                d.requeue(None);
            }
            if let Some(m) = me.per_address.get(&addr) {
                m.status(start);
            }
            me.aggregate.status(start);
        });
        Ok(())
    }
}

/// Runs `nsq_to_nsq` with this process's arguments; returns the exit status.
pub fn main() -> i32 {
    let set = flag_set(&app::program_name(TOOL));
    let (_args, v) = app::parse(&set);
    let mut ccfg = Config::default();
    let mut pcfg = Config::default();
    app::apply_config_flags(&set, "consumer-opt", v.str_list("consumer-opt"), &mut ccfg);
    app::apply_config_flags(&set, "producer-opt", v.str_list("producer-opt"), &mut pcfg);
    if v.bool("version") {
        println!("{}", nsq_cli::tool_version_string(TOOL));
        return 0;
    }
    let topics = v.str_list("topic").to_vec();
    let channel = v.str("channel").to_string();
    if topics.is_empty() || channel.is_empty() {
        app::fatal("--topic and --channel are required");
    }
    if topics.iter().any(|t| !is_valid_topic_name(t)) {
        app::fatal("--topic is invalid");
    }
    let dest_topic = v.str("destination-topic").to_string();
    if !dest_topic.is_empty() && !is_valid_topic_name(&dest_topic) {
        app::fatal("--destination-topic is invalid");
    }
    if !is_valid_channel_name(&channel) {
        app::fatal("--channel is invalid");
    }
    let nsqds = v.str_list("nsqd-tcp-address").to_vec();
    let lookupds = v.str_list("lookupd-http-address").to_vec();
    if nsqds.is_empty() && lookupds.is_empty() {
        app::fatal("--nsqd-tcp-address or --lookupd-http-address required");
    }
    if !nsqds.is_empty() && !lookupds.is_empty() {
        app::fatal("use --nsqd-tcp-address or --lookupd-http-address not both");
    }
    let dests = v.str_list("destination-nsqd-tcp-address").to_vec();
    if dests.is_empty() {
        app::fatal("--destination-nsqd-tcp-address required");
    }
    let mode_text = v.str("mode").to_string();
    let mode = Mode::parse(&mode_text);
    let ua = user_agent(TOOL);
    ccfg.user_agent = ua.clone();
    ccfg.max_in_flight = v.int("max-in-flight");
    pcfg.user_agent = ua;
    let status_every = v.int("status-every");
    let filter = JsonFilter::new(
        v.str("require-json-field"),
        v.str("require-json-value"),
        v.str_list("whitelist-json-field"),
    );

    app::run(async move {
        let mut signals = Signals::new(&[Sig::Int, Sig::Term]);
        let mut producers = HashMap::new();
        for a in &dests {
            match Producer::new(a, pcfg.clone()) {
                Ok(p) => {
                    producers.insert(a.clone(), p);
                }
                Err(e) => app::fatal(format!("failed creating producer {e}")),
            }
        }
        let mut per_address = HashMap::new();
        if dests.len() == 1 {
            per_address.insert(dests[0].clone(), TimerMetrics::new(0, ""));
        } else {
            for a in &dests {
                per_address.insert(
                    a.clone(),
                    TimerMetrics::new(status_every, &format!("[{a}]:")),
                );
            }
        }
        let pool = if mode_text == "epsilon-greedy" {
            HostPool::new_epsilon_greedy(&dests, Duration::ZERO)
        } else {
            HostPool::new(&dests)
        };
        let relay = Arc::new(Relay {
            addresses: dests.clone(),
            producers,
            mode,
            pool,
            counter: AtomicU64::new(0),
            filter,
            per_address,
            aggregate: TimerMetrics::new(status_every, "[aggregate]:"),
        });
        let mut consumers = Vec::new();
        for topic in &topics {
            let consumer = match Consumer::new(topic, &channel, ccfg.clone()) {
                Ok(c) => c,
                Err(e) => app::fatal(e),
            };
            let destination: Arc<str> = if dest_topic.is_empty() {
                Arc::from(topic.as_str())
            } else {
                Arc::from(dest_topic.as_str())
            };
            let r = relay.clone();
            let handler: Handler =
                Arc::new(move |d: Delivery| Box::pin(r.clone().handle(d, destination.clone())));
            consumer.add_concurrent_handlers(handler, dests.len());
            consumers.push(consumer);
        }
        for c in &consumers {
            if let Err(e) = c.connect_to_nsqds(&nsqds).await {
                app::fatal(e);
            }
        }
        for c in &consumers {
            if let Err(e) = c.connect_to_lookupds(&lookupds).await {
                app::fatal(e);
            }
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
    fn modes() {
        assert_eq!(Mode::parse("hostpool"), Mode::HostPool);
        assert_eq!(Mode::parse("epsilon-greedy"), Mode::HostPool);
        assert_eq!(Mode::parse("round-robin"), Mode::RoundRobin);
        assert_eq!(Mode::parse("anything"), Mode::RoundRobin);
    }
}
