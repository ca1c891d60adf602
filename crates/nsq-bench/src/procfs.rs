//! Reading a daemon's resource use from `/proc`: CPU time (utime + stime from
//! `/proc/<pid>/stat`) and memory (VmRSS, VmHWM from `/proc/<pid>/status`).

use std::fs;

use crate::error::{BenchError, Result};

/// A snapshot of one process's counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcSample {
    /// User + system CPU time consumed so far, seconds (resolution: one clock tick).
    pub cpu_s: f64,
    /// Resident set size, KiB.
    pub rss_kb: u64,
    /// Peak resident set size (high-water mark), KiB.
    pub hwm_kb: u64,
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for unknown names.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime in clock ticks from the text of `/proc/<pid>/stat`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces: split after
    // the last ')'. Then field 3 (state) is index 0, utime (14) index 11, stime (15) 12.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The value in KiB of a `Key:   123 kB` line of `/proc/<pid>/status`.
pub fn parse_status_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Samples process `pid` now.
pub fn sample(pid: u32) -> Result<ProcSample> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let bad = |what: &str| BenchError::Run(format!("cannot parse {what} of pid {pid}"));
    let ticks = parse_stat_ticks(&stat).ok_or_else(|| bad("stat"))?;
    Ok(ProcSample {
        cpu_s: ticks as f64 / clock_ticks_per_second(),
        rss_kb: parse_status_kb(&status, "VmRSS").ok_or_else(|| bad("VmRSS"))?,
        hwm_kb: parse_status_kb(&status, "VmHWM").ok_or_else(|| bad("VmHWM"))?,
    })
}

/// Samples `pid` if given.
pub fn maybe_sample(pid: Option<u32>) -> Result<Option<ProcSample>> {
    pid.map(sample).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_in_name() {
        let s = "123 (my prog) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0 100 0 0";
        assert_eq!(parse_stat_ticks(s), Some(300));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn status_lines() {
        let s = "Name:\tnsqd\nVmHWM:\t  123456 kB\nVmRSS:\t   1000 kB\n";
        assert_eq!(parse_status_kb(s, "VmHWM"), Some(123_456));
        assert_eq!(parse_status_kb(s, "VmRSS"), Some(1000));
        assert_eq!(parse_status_kb(s, "VmSwap"), None);
    }

    #[test]
    fn samples_self() {
        let s = sample(std::process::id()).expect("self");
        assert!(s.rss_kb > 0 && s.hwm_kb >= s.rss_kb);
    }
}
