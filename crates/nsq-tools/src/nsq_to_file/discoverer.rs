//! Which topics get a logger (the reference's `TopicDiscoverer`).
//!
//! With `--topic`s those topics are logged and nothing is refreshed. Without, every
//! `--topic-refresh` the lookupds' `/topics` are fetched and a logger is started for each
//! new topic matching `--topic-pattern` (there is no fetch at startup, so the first files
//! appear after one interval). A failed or partial fetch is logged and skipped. SIGHUP is
//! passed to every logger; SIGINT/SIGTERM stop them all and wait for them to finish.

use std::collections::HashMap;
use std::sync::Arc;

use nsq_admin::cluster::ClusterInfo;
use nsq_cli::LogLevel;
use regex::Regex;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::file_logger::FileLogger;
use super::logf::Logf;
use super::Options;
use crate::app::{Sig, Signals};
use crate::gonsq::Config;

struct Running {
    hup: mpsc::Sender<()>,
    task: JoinHandle<()>,
}

/// The discoverer's state.
pub struct Discoverer {
    log: Logf,
    opts: Arc<Options>,
    cfg: Config,
    ci: ClusterInfo,
    pattern: Option<Result<Regex, regex::Error>>,
    topics: HashMap<String, Running>,
    term: watch::Sender<bool>,
}

impl Discoverer {
    /// A discoverer for `opts`, querying lookupds through `ci`.
    pub fn new(log: Logf, opts: Arc<Options>, cfg: Config, ci: ClusterInfo) -> Discoverer {
        let pattern = (!opts.topic_pattern.is_empty()).then(|| Regex::new(&opts.topic_pattern));
        Discoverer {
            log,
            opts,
            cfg,
            ci,
            pattern,
            topics: HashMap::new(),
            term: watch::channel(false).0,
        }
    }

    /// The reference's `isTopicAllowed`: an unanchored match; an invalid pattern allows
    /// nothing.
    pub fn is_topic_allowed(&self, topic: &str) -> bool {
        match &self.pattern {
            None => true,
            Some(Ok(re)) => re.is_match(topic),
            Some(Err(_)) => false,
        }
    }

    async fn update_topics(&mut self, topics: &[String]) {
        for topic in topics {
            if self.topics.contains_key(topic) {
                continue;
            }
            if !self.is_topic_allowed(topic) {
                self.log.log(
                    LogLevel::Warn,
                    format_args!(
                        "skipping topic {topic} (doesn't match pattern {})",
                        self.opts.topic_pattern
                    ),
                );
                continue;
            }
            let fl = match FileLogger::new(self.log.clone(), self.opts.clone(), topic, &self.cfg)
                .await
            {
                Ok(fl) => fl,
                Err(e) => {
                    self.log.log(
                        LogLevel::Error,
                        format_args!("couldn't create logger for new topic {topic}: {e}"),
                    );
                    continue;
                }
            };
            let (hup, hup_rx) = mpsc::channel(1);
            let task = tokio::spawn(fl.router(self.term.subscribe(), hup_rx));
            self.topics.insert(topic.clone(), Running { hup, task });
        }
    }

    /// Runs until SIGINT/SIGTERM and every logger has finished.
    pub async fn run(mut self, mut signals: Signals) {
        let refresh = self.opts.topic_refresh;
        let mut ticker = (self.opts.topics.is_empty() && !refresh.is_zero())
            .then(|| tokio::time::interval_at(tokio::time::Instant::now() + refresh, refresh));
        let explicit = self.opts.topics.clone();
        self.update_topics(&explicit).await;
        loop {
            tokio::select! {
                _ = async { match ticker.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending::<()>().await } } => {
                    match self.ci.lookupd_topics(&self.opts.lookupd_http_addrs).await {
                        Ok(p) if p.errors.is_empty() => {
                            let topics = p.value.unwrap_or_default();
                            self.update_topics(&topics).await;
                        }
                        Ok(p) => self.log.log(LogLevel::Error, format_args!(
                            "could not retrieve topic list: {}", p.errors.join("\n"))),
                        Err(e) => self.log.log(LogLevel::Error, format_args!(
                            "could not retrieve topic list: {e}")),
                    }
                }
                sig = signals.recv() => match sig {
                    Sig::Hup => {
                        for r in self.topics.values() {
                            let _ = r.hup.send(()).await;
                        }
                    }
                    Sig::Int | Sig::Term => {
                        self.term.send_replace(true);
                        break;
                    }
                },
            }
        }
        for (_, r) in self.topics.drain() {
            let _ = r.task.await;
        }
    }
}
