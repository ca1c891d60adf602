//! RDY distribution and backoff (go-nsq's `updateRDY`, `redistributeRDY` and
//! `startStopContinueBackoff`).
//!
//! `max_in_flight` is split evenly over the connections (at least 1 each, never more than
//! nsqd's `max_rdy_count`, never more than `max_in_flight` in total). When there are more
//! connections than `max_in_flight`, or during backoff, RDY is periodically moved between
//! connections so none starves. A failed message puts the consumer in backoff: RDY 0
//! everywhere for `backoff_multiplier * 2^level` (at most `max_backoff_duration`), then
//! RDY 1 on one random connection; each success lowers the level, and level 0 restores the
//! normal RDY counts.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::conn::ConnShared;
use super::{lock, Inner};
use crate::gonsq::config::{to_std, BackoffStrategy};
use crate::gonsq::log::Level;

/// What a message's answer means for backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A FIN: leave backoff gradually.
    Resume,
    /// A REQ with backoff: enter or deepen backoff.
    Backoff,
    /// A REQ without backoff: no change.
    Continue,
}

/// RDY could not be raised because the consumer is at its `max_in_flight`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RdyError {
    Closing,
    OverMaxInFlight,
}

impl Inner {
    pub(crate) fn in_backoff(&self) -> bool {
        self.backoff_counter.load(Ordering::SeqCst) > 0
    }

    fn in_backoff_timeout(&self) -> bool {
        self.backoff_duration_ns.load(Ordering::SeqCst) > 0
    }

    fn per_conn_max_in_flight(&self) -> i64 {
        let b = self.max_in_flight.load(Ordering::SeqCst) as f64;
        let s = b / self.conns_snapshot().len() as f64;
        s.max(1.0).min(b) as i64
    }

    /// The backoff duration for a level, in ns (go-nsq's `BackoffStrategy.Calculate`).
    fn calculate_backoff(&self, attempt: i64) -> i64 {
        let exp = self.cfg.backoff_multiplier as f64 * 2f64.powi(attempt.clamp(0, 62) as i32);
        let d = exp as i64;
        match self.cfg.backoff_strategy {
            BackoffStrategy::Exponential => d,
            BackoffStrategy::FullJitter => {
                if d <= 0 {
                    0
                } else {
                    (self.random_f64() * d as f64) as i64
                }
            }
        }
    }

    pub(crate) fn start_stop_continue_backoff(self: &Arc<Self>, signal: Signal) {
        let _guard = lock(&self.backoff);
        if self.in_backoff_timeout() {
            return;
        }
        let mut counter = self.backoff_counter.load(Ordering::SeqCst);
        let mut updated = false;
        match signal {
            Signal::Resume => {
                if counter > 0 {
                    counter -= 1;
                    updated = true;
                }
            }
            Signal::Backoff => {
                let next = self.calculate_backoff(counter + 1);
                if next <= self.cfg.max_backoff_duration {
                    counter += 1;
                    updated = true;
                }
            }
            Signal::Continue => {}
        }
        self.backoff_counter.store(counter, Ordering::SeqCst);
        if counter == 0 && updated {
            let count = self.per_conn_max_in_flight();
            self.log.log(
                Level::Warning,
                format_args!("exiting backoff, returning all to RDY {count}"),
            );
            for c in self.conns_snapshot() {
                let _ = self.update_rdy(&c, count);
            }
        } else if counter > 0 {
            let d = self
                .calculate_backoff(counter)
                .min(self.cfg.max_backoff_duration);
            self.log.log(
                Level::Warning,
                format_args!(
                    "backing off for {} (backoff level {counter}), setting all to RDY 0",
                    nsq_cli::format_go_duration_nanos(d)
                ),
            );
            for c in self.conns_snapshot() {
                let _ = self.update_rdy(&c, 0);
            }
            self.backoff(d);
        }
    }

    fn backoff(self: &Arc<Self>, d_ns: i64) {
        self.backoff_duration_ns.store(d_ns, Ordering::SeqCst);
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(to_std(d_ns)).await;
            me.resume();
        });
    }

    fn resume(self: &Arc<Self>) {
        if self.is_stopping() {
            self.backoff_duration_ns.store(0, Ordering::SeqCst);
            return;
        }
        let conns = self.conns_snapshot();
        if conns.is_empty() {
            self.log.log(
                Level::Warning,
                format_args!("no connection available to resume"),
            );
            self.log
                .log(Level::Warning, format_args!("backing off for 1s"));
            self.backoff(1_000_000_000);
            return;
        }
        let choice = conns[self.random_index(conns.len())].clone();
        self.log.conn_log(
            Level::Warning,
            &choice.addr,
            format_args!("backoff timeout expired, sending RDY 1"),
        );
        if self.update_rdy(&choice, 1).is_err() {
            self.log.conn_log(
                Level::Warning,
                &choice.addr,
                format_args!("error resuming RDY 1 - over configure max-inflight"),
            );
            self.log
                .log(Level::Warning, format_args!("backing off for 1s"));
            self.backoff(1_000_000_000);
            return;
        }
        self.backoff_duration_ns.store(0, Ordering::SeqCst);
    }

    pub(crate) fn maybe_update_rdy(self: &Arc<Self>, c: &Arc<ConnShared>) {
        if self.in_backoff() || self.in_backoff_timeout() {
            return;
        }
        let count = self.per_conn_max_in_flight();
        let _ = self.update_rdy(c, count);
    }

    pub(crate) fn update_rdy(
        self: &Arc<Self>,
        c: &Arc<ConnShared>,
        count: i64,
    ) -> Result<(), RdyError> {
        if c.is_closing() {
            return Err(RdyError::Closing);
        }
        let mut count = count.min(c.max_rdy());
        if let Some(h) = lock(&self.rdy_retry).remove(&c.addr) {
            h.abort();
        }
        let rdy = c.rdy();
        let max_possible =
            self.max_in_flight.load(Ordering::SeqCst) - self.total_rdy.load(Ordering::SeqCst) + rdy;
        if max_possible > 0 && max_possible < count {
            count = max_possible;
        }
        if max_possible <= 0 && count > 0 {
            if rdy == 0 {
                // Retry later so a connection never stays at RDY 0 for good.
                let me = self.clone();
                let conn = c.clone();
                let h = tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    lock(&me.rdy_retry).remove(&conn.addr);
                    let _ = me.update_rdy(&conn, count);
                });
                lock(&self.rdy_retry).insert(c.addr.clone(), h);
            }
            return Err(RdyError::OverMaxInFlight);
        }
        self.send_rdy(c, count);
        Ok(())
    }

    fn send_rdy(&self, c: &ConnShared, count: i64) {
        let last = c.rdy();
        if count == 0 && last == 0 {
            return;
        }
        self.total_rdy.fetch_add(count - last, Ordering::SeqCst);
        c.set_rdy(count);
        if count == last {
            return;
        }
        c.send_rdy(count);
    }

    fn redistribute_rdy(self: &Arc<Self>) {
        if self.in_backoff_timeout() {
            return;
        }
        let conns = self.conns_snapshot();
        if conns.is_empty() {
            return;
        }
        let max_in_flight = self.max_in_flight.load(Ordering::SeqCst);
        if conns.len() as i64 > max_in_flight || (self.in_backoff() && conns.len() > 1) {
            self.need_rdy_redistributed.store(true, Ordering::SeqCst);
        }
        if !self.need_rdy_redistributed.swap(false, Ordering::SeqCst) {
            return;
        }
        let idle = to_std(self.cfg.low_rdy_idle_timeout);
        let low = to_std(self.cfg.low_rdy_timeout);
        let mut possible = Vec::with_capacity(conns.len());
        for c in conns {
            if c.rdy() > 0 && (c.since_last_message() > idle || c.since_last_rdy() > low) {
                let _ = self.update_rdy(&c, 0);
            }
            possible.push(c);
        }
        let mut available = if self.in_backoff() {
            1 - self.total_rdy.load(Ordering::SeqCst)
        } else {
            max_in_flight - self.total_rdy.load(Ordering::SeqCst)
        };
        while !possible.is_empty() && available > 0 {
            available -= 1;
            let i = self.random_index(possible.len());
            let c = possible.remove(i);
            let _ = self.update_rdy(&c, 1);
        }
    }
}

/// Redistributes RDY every `rdy_redistribute_interval` until the consumer exits.
pub(crate) async fn rdy_loop(inner: Arc<Inner>) {
    let period = to_std(inner.cfg.rdy_redistribute_interval).max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            _ = ticker.tick() => inner.redistribute_rdy(),
            _ = inner.exiting() => break,
        }
    }
    inner.log.log(Level::Info, format_args!("rdyLoop exiting"));
}
