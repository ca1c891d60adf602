//! Time sources.
//!
//! Message timestamps are wall-clock nanoseconds (they travel on the wire and to disk).
//! Deadlines (in-flight timeouts, deferral due times) use a monotonic clock, expressed as
//! nanoseconds since process start so they fit in an `i64` and compare cheaply.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static START: OnceLock<Instant> = OnceLock::new();

fn start() -> Instant {
    *START.get_or_init(Instant::now)
}

/// Wall-clock nanoseconds since the Unix epoch.
pub fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Wall-clock seconds since the Unix epoch.
pub fn unix_secs() -> i64 {
    unix_nanos() / 1_000_000_000
}

/// Monotonic nanoseconds since process start.
pub fn mono_nanos() -> i64 {
    start().elapsed().as_nanos() as i64
}

/// The tokio instant corresponding to a monotonic nanosecond value.
pub fn instant_at(mono: i64) -> tokio::time::Instant {
    let base = tokio::time::Instant::from_std(start());
    base + std::time::Duration::from_nanos(mono.max(0) as u64)
}
