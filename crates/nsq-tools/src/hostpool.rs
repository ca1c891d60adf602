//! go-hostpool (v0.1.0), the destination selection of `nsq_to_http` and `nsq_to_nsq`
//! in `hostpool` and `epsilon-greedy` modes.
//!
//! Standard pool: round robin over hosts not marked dead. A failure marks the host dead
//! for 30 s; when its retry time has passed it is tried again (the delay doubling, up to
//! 900 s); if every host is dead all are revived. Epsilon-greedy: with probability epsilon
//! (0.3, decaying by 0.9 per exploration to at least 0.01) pick round robin, otherwise pick
//! at random weighted by 1 / (recent average response time), measured per 1/120 of a
//! 5 minute window.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng;

const EPSILON_BUCKETS: usize = 120;
const EPSILON_DECAY: f32 = 0.90;
const MIN_EPSILON: f32 = 0.01;
const INITIAL_EPSILON: f32 = 0.3;
const INITIAL_RETRY_DELAY: Duration = Duration::from_secs(30);
const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(900);
/// The default epsilon-greedy decay window.
pub const DEFAULT_DECAY: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Entry {
    host: String,
    next_retry: Instant,
    retry_delay: Duration,
    dead: bool,
    counts: Vec<i64>,
    values: Vec<i64>,
    index: usize,
    value: f64,
    percentage: f64,
}

impl Entry {
    fn can_try(&self, now: Instant) -> bool {
        !self.dead || self.next_retry < now
    }

    fn will_retry(&mut self) {
        self.retry_delay = (self.retry_delay * 2).min(MAX_RETRY_INTERVAL);
        self.next_retry = Instant::now() + self.retry_delay;
    }

    fn weighted_average_response_time(&self) -> f64 {
        let mut value = 0.0;
        let mut last = 0.0;
        for i in 1..=EPSILON_BUCKETS {
            let pos = (self.index + i) % EPSILON_BUCKETS;
            let count = self.counts[pos];
            let weight = i as f64 / EPSILON_BUCKETS as f64;
            if count > 0 {
                let current = self.values[pos] as f64 / count as f64;
                value += current * weight;
                last = current;
            } else {
                value += last * weight;
            }
        }
        value
    }
}

#[derive(Debug)]
struct State {
    hosts: Vec<Entry>,
    next: usize,
    epsilon: f32,
}

/// A pool of destination hosts. Cheap to clone; clones share state.
///
/// Invariant: the host list never changes after construction and is non-empty when
/// [`HostPool::get`] is called.
#[derive(Debug, Clone)]
pub struct HostPool {
    state: Arc<Mutex<State>>,
    greedy: bool,
}

/// A host handed out by [`HostPool::get`]; report the outcome with [`HostPool::mark`].
#[derive(Debug, Clone)]
pub struct HostResponse {
    /// The chosen host.
    pub host: String,
    started: Instant,
}

impl HostPool {
    fn build(hosts: &[String], greedy: bool) -> HostPool {
        let now = Instant::now();
        let entries = hosts
            .iter()
            .map(|h| Entry {
                host: h.clone(),
                next_retry: now,
                retry_delay: INITIAL_RETRY_DELAY,
                dead: false,
                counts: vec![0; EPSILON_BUCKETS],
                values: vec![0; EPSILON_BUCKETS],
                index: 0,
                value: 0.0,
                percentage: 0.0,
            })
            .collect();
        HostPool {
            state: Arc::new(Mutex::new(State {
                hosts: entries,
                next: 0,
                epsilon: INITIAL_EPSILON,
            })),
            greedy,
        }
    }

    /// go-hostpool's `New`: round robin that avoids failing hosts.
    pub fn new(hosts: &[String]) -> HostPool {
        HostPool::build(hosts, false)
    }

    /// go-hostpool's `NewEpsilonGreedy` with the linear value calculator; spawns the decay
    /// task (needs a tokio runtime), which ends when every clone of the pool is dropped.
    pub fn new_epsilon_greedy(hosts: &[String], decay: Duration) -> HostPool {
        let pool = HostPool::build(hosts, true);
        let decay = if decay.is_zero() {
            DEFAULT_DECAY
        } else {
            decay
        };
        let per_bucket = decay / EPSILON_BUCKETS as u32;
        let weak = Arc::downgrade(&pool.state);
        tokio::spawn(async move {
            let mut t =
                tokio::time::interval_at(tokio::time::Instant::now() + per_bucket, per_bucket);
            loop {
                t.tick().await;
                let Some(state) = weak.upgrade() else { return };
                let mut s = lock(&state);
                for h in s.hosts.iter_mut() {
                    h.index = (h.index + 1) % EPSILON_BUCKETS;
                    let i = h.index;
                    h.counts[i] = 0;
                    h.values[i] = 0;
                }
            }
        });
        pool
    }

    /// Picks a host.
    pub fn get(&self) -> HostResponse {
        let mut s = lock(&self.state);
        let host = if self.greedy {
            epsilon_greedy(&mut s)
        } else {
            round_robin(&mut s)
        };
        HostResponse {
            host,
            started: Instant::now(),
        }
    }

    /// Records the outcome of a request to `r.host`: success revives the host (and, in
    /// epsilon-greedy mode, records its response time); failure marks it dead for a while.
    pub fn mark(&self, r: &HostResponse, ok: bool) {
        let mut s = lock(&self.state);
        let Some(h) = s.hosts.iter_mut().find(|h| h.host == r.host) else {
            return;
        };
        if ok {
            h.dead = false;
            if self.greedy {
                let ms = r.started.elapsed().as_secs_f64() * 1000.0;
                let i = h.index;
                h.counts[i] += 1;
                h.values[i] += ms as i64;
            }
        } else if !h.dead {
            h.dead = true;
            h.retry_delay = INITIAL_RETRY_DELAY;
            h.next_retry = Instant::now() + h.retry_delay;
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn round_robin(s: &mut State) -> String {
    let now = Instant::now();
    let n = s.hosts.len();
    if n == 0 {
        return String::new();
    }
    for i in 0..n {
        let idx = (i + s.next) % n;
        let h = &mut s.hosts[idx];
        if !h.dead {
            s.next = idx + 1;
            return h.host.clone();
        }
        if h.next_retry < now {
            h.will_retry();
            s.next = idx + 1;
            return h.host.clone();
        }
    }
    for h in s.hosts.iter_mut() {
        h.dead = false;
    }
    s.next = 0;
    s.hosts[0].host.clone()
}

fn epsilon_greedy(s: &mut State) -> String {
    let mut rng = rand::thread_rng();
    if rng.gen::<f32>() < s.epsilon {
        s.epsilon = (s.epsilon * EPSILON_DECAY).max(MIN_EPSILON);
        return round_robin(s);
    }
    let now = Instant::now();
    let mut possible = Vec::new();
    let mut sum = 0.0;
    for (i, h) in s.hosts.iter_mut().enumerate() {
        if h.can_try(now) {
            let v = h.weighted_average_response_time();
            if v > 0.0 {
                h.value = 1.0 / v;
                sum += h.value;
                possible.push(i);
            }
        }
    }
    let mut chosen = None;
    if !possible.is_empty() {
        for &i in &possible {
            s.hosts[i].percentage = s.hosts[i].value / sum;
        }
        let pick: f64 = rng.gen();
        let mut ceiling = 0.0;
        for &i in &possible {
            ceiling += s.hosts[i].percentage;
            if pick <= ceiling {
                chosen = Some(i);
                break;
            }
        }
    }
    match chosen {
        None => {
            if !possible.is_empty() {
                crate::app::log("Failed to randomly choose a host, Dan loses");
            }
            round_robin(s)
        }
        Some(i) => {
            if s.hosts[i].dead {
                s.hosts[i].will_retry();
            }
            s.hosts[i].host.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn round_robin_skips_dead_hosts() {
        let p = HostPool::new(&hosts());
        let picks: Vec<String> = (0..4).map(|_| p.get().host).collect();
        assert_eq!(picks, ["a", "b", "c", "a"]);
        let b = p.get();
        assert_eq!(b.host, "b");
        p.mark(&b, false);
        let picks: Vec<String> = (0..3).map(|_| p.get().host).collect();
        assert_eq!(picks, ["c", "a", "c"]);
        p.mark(&b, true);
        assert_eq!(p.get().host, "a");
        assert_eq!(p.get().host, "b");
    }

    #[test]
    fn all_dead_revives_everyone() {
        let p = HostPool::new(&hosts());
        for _ in 0..3 {
            let r = p.get();
            p.mark(&r, false);
        }
        // the revival hands out the first host without advancing, as go-hostpool does
        assert_eq!(p.get().host, "a");
        assert_eq!(p.get().host, "a");
        assert_eq!(p.get().host, "b");
    }

    #[tokio::test]
    async fn epsilon_greedy_hands_out_known_hosts() {
        let p = HostPool::new_epsilon_greedy(&hosts(), Duration::ZERO);
        for _ in 0..50 {
            let r = p.get();
            assert!(hosts().contains(&r.host));
            p.mark(&r, true);
        }
    }
}
