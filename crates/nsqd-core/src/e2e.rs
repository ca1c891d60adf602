//! End-to-end processing latency: how long messages took from publish to FIN, as a few
//! configured quantiles over a sliding window (`--e2e-processing-latency-percentile`,
//! `--e2e-processing-latency-window-time`; spec §8.2).
//!
//! Each channel keeps an [`E2eLatency`]: two targeted-quantile sketches, one receiving new
//! samples and one holding the previous half window. Every `window / 2` the roles swap and
//! the sketch that becomes current is cleared, so a snapshot covers between half a window
//! and a whole window of history, as in the reference. A snapshot merges both sketches; a
//! topic's figures merge the sketches of all its channels ([`E2eLatency::merged`]).
//!
//! The sketch is the targeted-quantile variant of the Cormode–Korn–Muthukrishnan–Srivastava
//! streaming algorithm ("Effective Computation of Biased Quantiles over Data Streams"), with
//! the same error bound (ε = 0.01) and insert buffer size (500) the reference uses, so the
//! figures behave like the reference's. Inserting is a push onto a buffer under a mutex; the
//! buffer is folded into the compressed summary every 500 samples.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::channel::Channel;
use crate::daemon::{Daemon, Event};

/// Allowed rank error of the sketch.
const EPSILON: f64 = 0.01;
/// Samples buffered before they are folded into the summary.
const BUFFER_CAP: usize = 500;

/// One entry of a sketch summary: a value standing for `width` observations, whose true
/// rank is uncertain by at most `delta`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    value: f64,
    width: f64,
    delta: f64,
}

/// A targeted-quantile sketch.
///
/// Invariant: `summary` is sorted by value and `observed` equals the sum of its widths;
/// `buffer` holds raw observations not yet folded in.
#[derive(Debug, Clone)]
struct Sketch {
    summary: Vec<Entry>,
    observed: f64,
    buffer: Vec<f64>,
    sorted: bool,
}

impl Sketch {
    fn new() -> Sketch {
        Sketch {
            summary: Vec::new(),
            observed: 0.0,
            buffer: Vec::with_capacity(BUFFER_CAP),
            sorted: true,
        }
    }

    fn clear(&mut self) {
        self.summary.clear();
        self.observed = 0.0;
        self.buffer.clear();
        self.sorted = true;
    }

    /// Observations seen (summary widths plus the buffer).
    fn count(&self) -> f64 {
        self.observed + self.buffer.len() as f64
    }

    fn insert(&mut self, targets: &[f64], v: f64) {
        self.buffer.push(v);
        self.sorted = false;
        if self.buffer.len() >= BUFFER_CAP {
            self.fold_buffer(targets);
            self.compress(targets);
        }
    }

    /// The largest rank uncertainty allowed at rank `rank` so that every target quantile
    /// keeps its error bound.
    fn allowed(&self, targets: &[f64], rank: f64) -> f64 {
        let n = self.observed;
        let mut best = f64::MAX;
        for &q in targets {
            let f = if q * n <= rank {
                2.0 * EPSILON * rank / q
            } else {
                2.0 * EPSILON * (n - rank) / (1.0 - q)
            };
            best = best.min(f);
        }
        best
    }

    fn fold_buffer(&mut self, targets: &[f64]) {
        if !self.sorted {
            self.buffer.sort_by(f64::total_cmp);
            self.sorted = true;
        }
        let buffered = std::mem::take(&mut self.buffer);
        let entries: Vec<Entry> = buffered
            .iter()
            .map(|&value| Entry {
                value,
                width: 1.0,
                delta: 0.0,
            })
            .collect();
        self.merge_sorted(targets, &entries);
        self.buffer = buffered;
        self.buffer.clear();
    }

    /// Inserts entries sorted by value into the summary. An entry landing before existing
    /// ones gets the uncertainty allowed at its rank; one landing at the end is exact.
    fn merge_sorted(&mut self, targets: &[f64], entries: &[Entry]) {
        if entries.is_empty() {
            return;
        }
        let old = std::mem::take(&mut self.summary);
        let mut out = Vec::with_capacity(old.len() + entries.len());
        let mut rest = old.into_iter().peekable();
        let mut rank = 0.0;
        for e in entries {
            while let Some(o) = rest.next_if(|o| o.value <= e.value) {
                rank += o.width;
                out.push(o);
            }
            let delta = if rest.peek().is_some() {
                let d = self.allowed(targets, rank).floor() - 1.0;
                // With only the 1.0 target the bound is infinite; an exact rank is sane.
                if d.is_finite() {
                    d.max(0.0)
                } else {
                    0.0
                }
            } else {
                0.0
            };
            out.push(Entry {
                value: e.value,
                width: e.width,
                delta,
            });
            self.observed += e.width;
        }
        out.extend(rest);
        self.summary = out;
    }

    /// Merges neighbouring entries while the error bound allows it, walking from the top.
    fn compress(&mut self, targets: &[f64]) {
        if self.summary.len() < 2 {
            return;
        }
        let old = std::mem::take(&mut self.summary);
        let mut kept = Vec::with_capacity(old.len());
        let mut down = old.into_iter().rev();
        let Some(mut top) = down.next() else { return };
        let mut rank = self.observed - 1.0 - top.width;
        for cur in down {
            if cur.width + top.width + top.delta <= self.allowed(targets, rank) {
                top.width += cur.width;
            } else {
                kept.push(top);
                top = cur;
            }
            rank -= cur.width;
        }
        kept.push(top);
        kept.reverse();
        self.summary = kept;
    }

    /// The summary with the buffer folded in (compressed), for merging elsewhere.
    fn entries(&mut self, targets: &[f64]) -> Vec<Entry> {
        if self.summary.is_empty() {
            let mut raw: Vec<Entry> = self
                .buffer
                .iter()
                .map(|&value| Entry {
                    value,
                    width: 1.0,
                    delta: 0.0,
                })
                .collect();
            raw.sort_by(|a, b| a.value.total_cmp(&b.value));
            return raw;
        }
        if !self.buffer.is_empty() {
            self.fold_buffer(targets);
        }
        self.compress(targets);
        self.summary.clone()
    }

    /// The value at quantile `q` of the summary (0 when empty).
    fn query(&self, targets: &[f64], q: f64) -> f64 {
        let Some(first) = self.summary.first() else {
            return 0.0;
        };
        let mut t = (q * self.observed).ceil();
        t += (self.allowed(targets, t) / 2.0).ceil();
        let mut prev = *first;
        let mut rank = 0.0;
        for e in &self.summary[1..] {
            if rank + e.width + e.delta > t {
                return prev.value;
            }
            rank += prev.width;
            prev = *e;
        }
        prev.value
    }
}

/// A point-in-time view of a latency stream.
#[derive(Debug, Clone, PartialEq)]
pub struct E2eSnapshot {
    /// Samples in the window.
    pub count: u64,
    /// `(quantile, value in ns)` for each configured quantile, in configured order.
    pub percentiles: Vec<(f64, f64)>,
}

/// Two half-window sketches and the time of the last switch.
#[derive(Debug)]
struct Windows {
    sketches: [Sketch; 2],
    current: usize,
    last_switch: Instant,
}

impl Windows {
    /// Switches sketches for every half window that passed since the last switch.
    fn rotate(&mut self, half: Duration, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last_switch);
        if half.is_zero() {
            // No window at all: nothing is kept.
            self.sketches[0].clear();
            self.sketches[1].clear();
            self.last_switch = now;
            return;
        }
        if elapsed <= half {
            return;
        }
        let half_ns = half.as_nanos();
        let switches = (elapsed.as_nanos() - 1) / half_ns;
        for _ in 0..switches.min(2) {
            self.current ^= 1;
            self.sketches[self.current].clear();
        }
        let advance = half_ns.saturating_mul(switches);
        let advance = Duration::from_nanos(u64::try_from(advance).unwrap_or(u64::MAX));
        self.last_switch = self.last_switch.checked_add(advance).unwrap_or(now);
    }
}

/// The latency stream of one channel. Thread-safe; [`E2eLatency::record`] is a short
/// critical section.
///
/// Invariant: `percentiles` is non-empty, each in (0, 1], in the configured (descending)
/// order; snapshots report them in that order.
#[derive(Debug)]
pub struct E2eLatency {
    percentiles: Vec<f64>,
    half_window: Duration,
    windows: Mutex<Windows>,
}

impl E2eLatency {
    /// A stream reporting `percentiles` over `window`. The sketches switch every
    /// `window / 2`; a zero window keeps nothing (the reference would spin forever).
    pub fn new(window: Duration, percentiles: &[f64]) -> E2eLatency {
        E2eLatency {
            percentiles: percentiles.to_vec(),
            half_window: window / 2,
            windows: Mutex::new(Windows {
                sketches: [Sketch::new(), Sketch::new()],
                current: 0,
                last_switch: Instant::now(),
            }),
        }
    }

    /// The configured quantiles.
    pub fn percentiles(&self) -> &[f64] {
        &self.percentiles
    }

    /// Records one latency sample in nanoseconds (negative values, from clock skew between
    /// publisher and us, are recorded as they are, like the reference).
    pub fn record(&self, latency_ns: i64) {
        self.record_at(latency_ns, Instant::now());
    }

    fn record_at(&self, latency_ns: i64, now: Instant) {
        let mut w = self.windows.lock();
        w.rotate(self.half_window, now);
        let cur = w.current;
        w.sketches[cur].insert(&self.percentiles, latency_ns as f64);
    }

    /// This stream's figures now.
    pub fn snapshot(&self) -> E2eSnapshot {
        Self::merged_at(&self.percentiles, &[self], Instant::now())
    }

    /// The figures of several streams merged (a topic's view of its channels), reporting
    /// `percentiles`. Each stream is rotated first, so idle streams do not report stale
    /// samples.
    pub fn merged(percentiles: &[f64], streams: &[&E2eLatency]) -> E2eSnapshot {
        Self::merged_at(percentiles, streams, Instant::now())
    }

    fn merged_at(percentiles: &[f64], streams: &[&E2eLatency], now: Instant) -> E2eSnapshot {
        let mut merged = Sketch::new();
        for s in streams {
            let mut w = s.windows.lock();
            w.rotate(s.half_window, now);
            for i in 0..2 {
                let entries = w.sketches[i].entries(&s.percentiles);
                merged.merge_sorted(percentiles, &entries);
            }
        }
        E2eSnapshot {
            count: merged.count() as u64,
            percentiles: percentiles
                .iter()
                .map(|&q| (q, merged.query(percentiles, q)))
                .collect(),
        }
    }
}

/// Gives every channel of `daemon`, present and future, a latency stream when
/// `--e2e-processing-latency-percentile` is set; returns at once otherwise. Runs until the
/// daemon shuts down.
///
/// Channels are enabled as their creation event arrives (a few microseconds after the
/// channel exists, before any consumer can have finished a message from it in practice).
pub async fn track_channels(daemon: Arc<Daemon>) {
    let percentiles = daemon.opts.e2e_processing_latency_percentiles.clone();
    if percentiles.is_empty() {
        return;
    }
    let window = daemon.opts.e2e_processing_latency_window_time;
    let enable = |c: &Channel| {
        if c.e2e().is_none() {
            c.enable_e2e(E2eLatency::new(window, &percentiles));
        }
    };
    let mut events = daemon.subscribe_events();
    for t in daemon.topics() {
        for c in t.channels() {
            enable(&c);
        }
    }
    loop {
        let ev = tokio::select! {
            ev = events.recv() => ev,
            _ = daemon.shutdown.notified() => None,
        };
        let Some(ev) = ev else { return };
        if let Event::ChannelCreated { topic, channel } = ev {
            if let Some(c) = daemon.topic(&topic).and_then(|t| t.channel(&channel)) {
                enable(&c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &[f64] = &[0.99, 0.5];

    #[test]
    fn empty_stream_reports_zeros() {
        let e = E2eLatency::new(Duration::from_secs(600), P);
        let s = e.snapshot();
        assert_eq!(s.count, 0);
        assert_eq!(s.percentiles, vec![(0.99, 0.0), (0.5, 0.0)]);
    }

    #[test]
    fn small_sets_are_close() {
        let e = E2eLatency::new(Duration::from_secs(600), P);
        for v in 1..=100 {
            e.record(v);
        }
        let s = e.snapshot();
        assert_eq!(s.count, 100);
        let p99 = s.percentiles[0].1;
        let p50 = s.percentiles[1].1;
        assert!((97.0..=100.0).contains(&p99), "p99 {p99}");
        assert!((45.0..=55.0).contains(&p50), "p50 {p50}");
    }

    #[test]
    fn large_sets_stay_within_error_bounds() {
        let e = E2eLatency::new(Duration::from_secs(600), &[0.99, 0.9, 0.5]);
        // A deterministic shuffle of 0..100_000.
        let n: i64 = 100_000;
        for i in 0..n {
            e.record((i * 7919) % n);
        }
        let s = e.snapshot();
        assert_eq!(s.count, n as u64);
        for (q, v) in s.percentiles {
            let want = q * n as f64;
            let err = (v - want).abs() / n as f64;
            assert!(err <= 2.0 * EPSILON, "q {q}: got {v}, want ~{want}");
        }
        // The summary is compressed far below the number of samples.
        let w = e.windows.lock();
        assert!(w.sketches[w.current].summary.len() < 5_000);
    }

    #[test]
    fn window_rotation_forgets_old_samples() {
        let e = E2eLatency::new(Duration::from_secs(10), P);
        let t0 = e.windows.lock().last_switch;
        e.record_at(1_000, t0 + Duration::from_secs(1));
        // Within the next half window the old sample is still reported.
        let s = E2eLatency::merged_at(P, &[&e], t0 + Duration::from_secs(6));
        assert_eq!(s.count, 1);
        e.record_at(2_000, t0 + Duration::from_secs(7));
        let s = E2eLatency::merged_at(P, &[&e], t0 + Duration::from_secs(9));
        assert_eq!(s.count, 2);
        // After another switch only the second half window's sample remains.
        let s = E2eLatency::merged_at(P, &[&e], t0 + Duration::from_secs(11));
        assert_eq!(s.count, 1);
        assert_eq!(s.percentiles[0].1, 2_000.0);
        // Long idle: everything is gone.
        let s = E2eLatency::merged_at(P, &[&e], t0 + Duration::from_secs(100));
        assert_eq!(s.count, 0);
    }

    #[test]
    fn merging_channels() {
        let a = E2eLatency::new(Duration::from_secs(600), P);
        let b = E2eLatency::new(Duration::from_secs(600), P);
        for v in 0..50 {
            a.record(v);
            b.record(1_000 + v);
        }
        let s = E2eLatency::merged(P, &[&a, &b]);
        assert_eq!(s.count, 100);
        assert!(s.percentiles[0].1 >= 1_040.0, "{:?}", s.percentiles);
        assert!(s.percentiles[1].1 <= 1_002.0 && s.percentiles[1].1 >= 45.0);
    }

    #[test]
    fn zero_window_keeps_nothing() {
        let e = E2eLatency::new(Duration::ZERO, &[1.0]);
        e.record(5);
        assert_eq!(e.snapshot().count, 0);
    }

    #[test]
    fn only_the_max_target() {
        let e = E2eLatency::new(Duration::from_secs(600), &[1.0]);
        for v in (0..2_000).rev() {
            e.record(v);
        }
        let s = e.snapshot();
        assert_eq!(s.count, 2_000);
        assert!(s.percentiles[0].1 >= 1_950.0, "{:?}", s.percentiles);
    }
}
