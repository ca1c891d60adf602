//! `nsq_to_http`: consume a topic/channel and make one HTTP request per message.
//!
//! `--post` sends the body as the request body (success: any 2xx); `--get` substitutes the
//! query-escaped body into the address's single `%s` (success: exactly 200). Anything
//! else, or a transport error, fails the handler and go-nsq requeues with backoff.
//! Destinations are chosen per message by `--mode`: `round-robin`, `hostpool` (default)
//! or `epsilon-greedy`; any other value sends every message to every address in turn
//! (the first failure requeues, which can duplicate). `--sample` FINs a fraction of
//! messages without sending them. Latency status lines come every `--status-every`
//! requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};
use hyper::Method;
use nsq_cli::FlagSet;
use rand::Rng;

use crate::app::{self, Sig, Signals};
use crate::gofmt::sprintf_one;
use crate::gonsq::{user_agent, Config, Consumer, Delivery, Handler};
use crate::hostpool::HostPool;
use crate::http_client::HttpClient;
use crate::query::query_escape_bytes;
use crate::timer_metrics::TimerMetrics;

const TOOL: &str = "nsq_to_http";
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// The flag set (named after the program path, as Go's default flag set is).
pub fn flag_set(program: &str) -> FlagSet {
    let d = Duration::from_secs;
    FlagSet::new(
        program,
        vec![
            app::boolean("version", false, "print version string"),
            app::string("topic", "", "nsq topic"),
            app::string("channel", "nsq_to_http", "nsq channel"),
            app::int("max-in-flight", 200, "max number of messages to allow in flight"),
            app::int("n", 100, "number of concurrent publishers"),
            app::string(
                "mode",
                "hostpool",
                "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy",
            ),
            app::float("sample", 1.0, "% of messages to publish (float b/w 0 -> 1)"),
            app::duration("http-client-connect-timeout", d(2), "timeout for HTTP connect"),
            app::duration("http-client-request-timeout", d(20), "timeout for HTTP request"),
            app::int(
                "status-every",
                250,
                "the # of requests between logging status (per handler), 0 disables",
            ),
            app::string(
                "content-type",
                DEFAULT_CONTENT_TYPE,
                "the Content-Type used for POST requests",
            ),
            app::str_list(
                "post",
                "HTTP address to make a POST request to.  data will be in the body (may be given multiple times)",
            ),
            app::str_list("header", "Custom header for HTTP requests (may be given multiple times)"),
            app::str_list(
                "get",
                "HTTP address to make a GET request to. '%s' will be printf replaced with data (may be given multiple times)",
            ),
            app::str_list("nsqd-tcp-address", "nsqd TCP address (may be given multiple times)"),
            app::str_list(
                "lookupd-http-address",
                "lookupd HTTP address (may be given multiple times)",
            ),
            app::str_list(
                "consumer-opt",
                "option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)",
            ),
        ],
    )
}

/// The reference's `parseCustomHeaders`: `Key: Value`, split on the first `:`, both sides
/// trimmed and non-empty.
pub fn parse_custom_headers(strs: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for s in strs {
        let Some((k, v)) = s.split_once(':') else {
            return Err(format!("invalid header: {}", nsq_cli::strconv::quote(s)));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(format!("invalid header: {}", nsq_cli::strconv::quote(s)));
        }
        out.retain(|(ek, _)| !ek.eq_ignore_ascii_case(k));
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// How destinations are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every address, in order (any unrecognised `--mode`).
    All,
    /// A counter modulo the number of addresses.
    RoundRobin,
    /// go-hostpool (standard or epsilon-greedy).
    HostPool,
}

impl Mode {
    /// The reference's mode selection.
    pub fn parse(s: &str) -> Mode {
        match s {
            "round-robin" => Mode::RoundRobin,
            "hostpool" | "epsilon-greedy" => Mode::HostPool,
            _ => Mode::All,
        }
    }
}

struct Publisher {
    get: bool,
    client: HttpClient,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Publisher {
    async fn publish(&self, addr: &str, body: &Bytes) -> Result<(), String> {
        if self.get {
            let endpoint = sprintf_one(addr, &query_escape_bytes(body));
            let status = self
                .client
                .request(Method::GET, &endpoint, &self.headers, Bytes::new())
                .await
                .map_err(|e| e.to_string())?;
            if status != 200 {
                return Err(format!("got status code {status}"));
            }
        } else {
            let status = self
                .client
                .request(Method::POST, addr, &self.headers, body.clone())
                .await
                .map_err(|e| e.to_string())?;
            if !(200..300).contains(&status) {
                return Err(format!("got status code {status}"));
            }
        }
        Ok(())
    }
}

struct PublishHandler {
    publisher: Publisher,
    addresses: Vec<String>,
    mode: Mode,
    pool: HostPool,
    counter: AtomicU64,
    sample: f64,
    per_address: Vec<TimerMetrics>,
    aggregate: TimerMetrics,
}

impl PublishHandler {
    fn metrics(&self, addr: &str) -> Option<&TimerMetrics> {
        let i = self.addresses.iter().position(|a| a == addr)?;
        self.per_address.get(i)
    }

    async fn handle(&self, d: &Delivery) -> Result<(), String> {
        if self.sample < 1.0 && rand::thread_rng().gen::<f64>() > self.sample {
            return Ok(());
        }
        let start = Instant::now();
        match self.mode {
            Mode::All => {
                for addr in &self.addresses {
                    let st = Instant::now();
                    self.publisher.publish(addr, d.body()).await?;
                    if let Some(m) = self.metrics(addr) {
                        m.status(st);
                    }
                }
            }
            Mode::RoundRobin => {
                let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
                let addr = &self.addresses[(n % self.addresses.len() as u64) as usize];
                self.publisher.publish(addr, d.body()).await?;
                if let Some(m) = self.metrics(addr) {
                    m.status(start);
                }
            }
            Mode::HostPool => {
                let r = self.pool.get();
                let res = self.publisher.publish(&r.host, d.body()).await;
                self.pool.mark(&r, res.is_ok());
                res?;
                if let Some(m) = self.metrics(&r.host) {
                    m.status(start);
                }
            }
        }
        self.aggregate.status(start);
        Ok(())
    }
}

/// Runs `nsq_to_http` with this process's arguments; returns the exit status.
pub fn main() -> i32 {
    let set = flag_set(&app::program_name(TOOL));
    let (_args, v) = app::parse(&set);
    let mut cfg = Config::default();
    app::apply_config_flags(&set, "consumer-opt", v.str_list("consumer-opt"), &mut cfg);
    let connect_timeout = v.duration("http-client-connect-timeout");
    let request_timeout = v.duration("http-client-request-timeout");

    if v.bool("version") {
        println!("{}", nsq_cli::tool_version_string(TOOL));
        return 0;
    }
    let mut custom = Vec::new();
    if !v.str_list("header").is_empty() {
        let parsed = parse_custom_headers(v.str_list("header"));
        let valid = parsed.ok().and_then(|hs| {
            hs.into_iter()
                .map(|(k, val)| {
                    Some((
                        HeaderName::from_bytes(k.as_bytes()).ok()?,
                        HeaderValue::from_str(&val).ok()?,
                    ))
                })
                .collect::<Option<Vec<_>>>()
        });
        match valid {
            Some(h) => custom = h,
            None => app::fatal("--header value format should be 'key=value'"),
        }
    }
    let topic = v.str("topic").to_string();
    let channel = v.str("channel").to_string();
    if topic.is_empty() || channel.is_empty() {
        app::fatal("--topic and --channel are required");
    }
    let posts = v.str_list("post").to_vec();
    let gets = v.str_list("get").to_vec();
    let content_type = v.str("content-type").to_string();
    if content_type != DEFAULT_CONTENT_TYPE {
        if posts.is_empty() {
            app::fatal("--content-type only used with --post");
        }
        if content_type.is_empty() {
            app::fatal("--content-type requires a value when used");
        }
    }
    let nsqds = v.str_list("nsqd-tcp-address").to_vec();
    let lookupds = v.str_list("lookupd-http-address").to_vec();
    if nsqds.is_empty() && lookupds.is_empty() {
        app::fatal("--nsqd-tcp-address or --lookupd-http-address required");
    }
    if !nsqds.is_empty() && !lookupds.is_empty() {
        app::fatal("use --nsqd-tcp-address or --lookupd-http-address not both");
    }
    if gets.is_empty() && posts.is_empty() {
        app::fatal("--get or --post required");
    }
    if !gets.is_empty() && !posts.is_empty() {
        app::fatal("use --get or --post not both");
    }
    if gets.iter().any(|g| g.matches("%s").count() != 1) {
        app::fatal("invalid GET address - must be a printf string");
    }
    let mode_text = v.str("mode").to_string();
    let mode = Mode::parse(&mode_text);
    let sample = v.float("sample");
    if !(0.0..=1.0).contains(&sample) {
        app::fatal("ERROR: --sample must be between 0.0 and 1.0");
    }
    let (get, addresses) = if posts.is_empty() {
        (true, gets)
    } else {
        (false, posts)
    };
    let mut headers = vec![(
        USER_AGENT,
        HeaderValue::from_str(&nsq_cli::tool_version_string(TOOL))
            .unwrap_or(HeaderValue::from_static("nsq_to_http")),
    )];
    if !get {
        match HeaderValue::from_str(&content_type) {
            Ok(ct) => headers.push((CONTENT_TYPE, ct)),
            Err(_) => app::fatal("--content-type requires a value when used"),
        }
    }
    for (k, val) in custom {
        headers.retain(|(h, _)| *h != k);
        headers.push((k, val));
    }
    cfg.user_agent = user_agent(TOOL);
    cfg.max_in_flight = v.int("max-in-flight");
    let status_every = v.int("status-every");
    let concurrency = usize::try_from(v.int("n")).unwrap_or(0);

    app::run(async move {
        let mut signals = Signals::new(&[Sig::Int, Sig::Term]);
        let tls = match nsq_admin::client::tls::client_config(&Default::default()) {
            Ok(t) => t,
            Err(e) => app::fatal(e),
        };
        let client = HttpClient::new(connect_timeout, request_timeout, tls);
        let consumer = match Consumer::new(&topic, &channel, cfg) {
            Ok(c) => c,
            Err(e) => app::fatal(e),
        };
        let per_address = if addresses.len() == 1 {
            vec![TimerMetrics::new(0, "")]
        } else {
            addresses
                .iter()
                .map(|a| TimerMetrics::new(status_every, &format!("[{a}]:")))
                .collect()
        };
        let pool = if mode_text == "epsilon-greedy" {
            HostPool::new_epsilon_greedy(&addresses, Duration::ZERO)
        } else {
            HostPool::new(&addresses)
        };
        let ph = Arc::new(PublishHandler {
            publisher: Publisher {
                get,
                client,
                headers,
            },
            addresses,
            mode,
            pool,
            counter: AtomicU64::new(0),
            sample,
            per_address,
            aggregate: TimerMetrics::new(status_every, "[aggregate]:"),
        });
        let handler: Handler = Arc::new(move |d: Delivery| {
            let ph = ph.clone();
            Box::pin(async move { ph.handle(&d).await })
        });
        consumer.add_concurrent_handlers(handler, concurrency);
        if let Err(e) = consumer.connect_to_nsqds(&nsqds).await {
            app::fatal(e);
        }
        if let Err(e) = consumer.connect_to_lookupds(&lookupds).await {
            app::fatal(e);
        }
        loop {
            tokio::select! {
                _ = consumer.wait_stopped() => break,
                _ = signals.recv() => consumer.stop(),
            }
        }
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_headers_like_the_reference() {
        let h = parse_custom_headers(&["X-A: 1".into(), " b :c:d ".into()]).expect("valid");
        assert_eq!(
            h,
            vec![("X-A".into(), "1".into()), ("b".into(), "c:d".into())]
        );
        assert!(parse_custom_headers(&["novalue:".into()]).is_err());
        assert!(parse_custom_headers(&[":v".into()]).is_err());
        assert!(parse_custom_headers(&["k=v".into()]).is_err());
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::parse("round-robin"), Mode::RoundRobin);
        assert_eq!(Mode::parse("hostpool"), Mode::HostPool);
        assert_eq!(Mode::parse("epsilon-greedy"), Mode::HostPool);
        assert_eq!(Mode::parse("fanout"), Mode::All);
    }
}
