//! bitly/timer_metrics (v1.0.0): the latency status lines of `nsq_to_http` and
//! `nsq_to_nsq`.
//!
//! Every `status_every` recorded durations, one line goes to the standard log:
//! `<prefix> finished <n> - 99th: <x>ms - 95th: <y>ms - avg: <z>ms` (two decimals). The
//! window is a ring of the last `status_every` durations. `status_every == 0` disables it;
//! below 100 a warning about percentile accuracy is logged when the metrics are created.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A latency recorder that periodically logs percentiles.
///
/// Invariant: `timings.len() <= status_every`; `position` is in `0..=status_every`.
#[derive(Debug)]
pub struct TimerMetrics {
    state: Mutex<State>,
    prefix: String,
    status_every: usize,
}

#[derive(Debug, Default)]
struct State {
    timings: Vec<Duration>,
    position: usize,
}

/// The percentile rule of timer_metrics (index `ceil(perc/100 * len + 0.5)`, clamped).
fn percentile(perc: f64, sorted: &[Duration]) -> Duration {
    let len = sorted.len();
    if len == 0 {
        return Duration::ZERO;
    }
    let idx = ((perc / 100.0) * len as f64 + 0.5).ceil() as usize;
    sorted[idx.min(len - 1)]
}

/// The status line for a window of timings.
pub fn status_line(prefix: &str, timings: &[Duration]) -> String {
    let mut sorted = timings.to_vec();
    sorted.sort();
    let total: Duration = timings.iter().sum();
    let avg = if timings.is_empty() {
        Duration::ZERO
    } else {
        total / timings.len() as u32
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{prefix} finished {} - 99th: {:.2}ms - 95th: {:.2}ms - avg: {:.2}ms",
        timings.len(),
        ms(percentile(99.0, &sorted)),
        ms(percentile(95.0, &sorted)),
        ms(avg)
    )
}

impl TimerMetrics {
    /// New metrics printing every `status_every` records with `prefix`.
    pub fn new(status_every: i64, prefix: &str) -> TimerMetrics {
        let status_every = usize::try_from(status_every).unwrap_or(0);
        if status_every > 0 && status_every < 100 {
            crate::app::log(format!(
                "Warning: use more than 100 status values for accurate percentiles (configured with {status_every})"
            ));
        }
        TimerMetrics {
            state: Mutex::new(State {
                timings: Vec::with_capacity(status_every.min(1 << 16)),
                position: 0,
            }),
            prefix: prefix.to_string(),
            status_every,
        }
    }

    /// Records the time since `start`.
    pub fn status(&self, start: Instant) {
        if self.status_every == 0 {
            return;
        }
        self.status_duration(start.elapsed());
    }

    /// Records `d`; every `status_every` records, logs the window's status line.
    pub fn status_duration(&self, d: Duration) {
        if self.status_every == 0 {
            return;
        }
        let line = {
            let mut s = match self.state.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            s.position += 1;
            let looped = s.position > self.status_every;
            if looped {
                s.position = 1;
            }
            let pos = s.position;
            if pos > s.timings.len() {
                s.timings.push(d);
            } else {
                s.timings[pos - 1] = d;
            }
            if !looped {
                return;
            }
            status_line(&self.prefix, &s.timings)
        };
        crate::app::log(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format() {
        let t: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(
            status_line("[aggregate]:", &t),
            "[aggregate]: finished 100 - 99th: 100.00ms - 95th: 97.00ms - avg: 50.50ms"
        );
        assert_eq!(
            status_line("[x]:", &[]),
            "[x]: finished 0 - 99th: 0.00ms - 95th: 0.00ms - avg: 0.00ms"
        );
    }
}
