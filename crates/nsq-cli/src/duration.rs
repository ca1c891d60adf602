//! Go `time.Duration` text syntax.
//!
//! NSQ accepts durations on the command line and in config files in Go's
//! `time.ParseDuration` syntax (`250ms`, `1m30s`, `1.5h`) and prints them with Go's
//! `Duration.String()` (`/stats` text output, `--help` defaults, HTTP access-log latencies).
//! Operators' scripts and configs rely on both, so we reproduce them exactly rather than
//! using a Rust crate with a similar but different grammar.

use std::fmt::{self, Write};
use std::time::Duration;

/// Why a duration string was rejected. The `Display` text matches Go's
/// `time.ParseDuration` errors (`time: invalid duration "x"`), except for
/// [`DurationError::Negative`], which Go accepts but [`std::time::Duration`] cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not in the grammar, or overflows an `int64` count of nanoseconds.
    #[error("time: invalid duration {}", TimeQuoted(.0))]
    Invalid(String),
    /// A number without a unit (other than a bare `0`).
    #[error("time: missing unit in duration {}", TimeQuoted(.0))]
    MissingUnit(String),
    /// A unit that is not one of `ns us µs μs ms s m h`.
    #[error("time: unknown unit {} in duration {}", TimeQuoted(.unit), TimeQuoted(.input))]
    UnknownUnit {
        /// The offending unit text.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// A valid but negative duration, which [`parse_go_duration`] cannot represent
    /// (use [`parse_go_duration_nanos`] to accept it).
    #[error("negative duration {} is not allowed", TimeQuoted(.0))]
    Negative(String),
}

/// Parses Go duration syntax into a signed nanosecond count, exactly like Go's
/// `time.ParseDuration`: an optional sign, then one or more `<number><unit>` terms where
/// the number may have a fraction (`1.5h`, `.5s`, `1.s`) and the unit is one of
/// `ns`, `us`, `µs` (U+00B5), `μs` (U+03BC), `ms`, `s`, `m`, `h`. A bare `0` (optionally
/// signed) is zero; any other unit-less number is an error. Totals beyond `i64` are errors.
pub fn parse_go_duration_nanos(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let mut s = input;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part.
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &c in &b[..int_len] {
            if v > LIMIT / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(c - b'0');
            if v > LIMIT {
                return Err(invalid());
            }
        }
        s = &s[int_len..];
        let pre = int_len > 0;
        // Fraction part.
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.starts_with('.') {
            s = &s[1..];
            let fb = s.as_bytes();
            let frac_len = fb.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for &c in &fb[..frac_len] {
                if overflow {
                    continue;
                }
                if frac > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = frac * 10 + u64::from(c - b'0');
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                frac = y;
                scale *= 10.0;
            }
            s = &s[frac_len..];
            post = frac_len > 0;
        }
        if !pre && !post {
            return Err(invalid());
        }
        // Unit: everything up to the next digit or '.'.
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_string()));
        }
        let unit_text = &s[..unit_len];
        s = &s[unit_len..];
        let unit: u64 = match unit_text {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit_text.to_string(),
                    input: input.to_string(),
                })
            }
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if frac > 0 {
            // Same float arithmetic as Go, so fractional results agree to the nanosecond.
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        total += v;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        // total <= 2^63, so this is at least i64::MIN.
        return Ok((total as i64).wrapping_neg());
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// Parses Go duration syntax (see [`parse_go_duration_nanos`]) into a
/// [`std::time::Duration`]. Negative values (`-1s`) are rejected with
/// [`DurationError::Negative`]; `-0` and `-0s` are zero.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let nanos = parse_go_duration_nanos(input)?;
    if nanos < 0 {
        return Err(DurationError::Negative(input.to_string()));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// Formats a duration exactly like Go's `time.Duration.String()`: `0s`; below one second
/// the largest fitting of `ns`, `µs` (U+00B5), `ms` with trailing fractional zeros trimmed
/// (`1.5µs`, `250ms`); otherwise `[<h>h][<m>m]<s>[.<frac>]s` (`1m5s`, `1h30m0s`,
/// `1.049203842s`). Durations above Go's range keep the same layout with more hours.
pub fn format_go_duration(d: Duration) -> String {
    format_nanos(false, d.as_nanos())
}

/// Formats a signed nanosecond count exactly like Go's `time.Duration.String()`
/// (e.g. `-1.5s`); the counterpart of [`parse_go_duration_nanos`].
pub fn format_go_duration_nanos(nanos: i64) -> String {
    format_nanos(nanos < 0, u128::from(nanos.unsigned_abs()))
}

fn format_nanos(neg: bool, mut u: u128) -> String {
    const SECOND: u128 = 1_000_000_000;
    // Built right to left, as Go does.
    let mut buf: Vec<char> = Vec::with_capacity(32);
    if u < SECOND {
        buf.push('s');
        let prec;
        if u == 0 {
            return "0s".to_string();
        } else if u < 1_000 {
            prec = 0;
            buf.push('n');
        } else if u < 1_000_000 {
            prec = 3;
            buf.push('\u{b5}');
        } else {
            prec = 6;
            buf.push('m');
        }
        u = push_frac(&mut buf, u, prec);
        push_int(&mut buf, u);
    } else {
        buf.push('s');
        u = push_frac(&mut buf, u, 9);
        push_int(&mut buf, u % 60);
        u /= 60;
        if u > 0 {
            buf.push('m');
            push_int(&mut buf, u % 60);
            u /= 60;
            if u > 0 {
                buf.push('h');
                push_int(&mut buf, u);
            }
        }
    }
    if neg {
        buf.push('-');
    }
    buf.iter().rev().collect()
}

/// Pushes (reversed) the `prec` low decimal digits of `v` as a fraction, trimming trailing
/// zeros and the point itself when all are zero; returns the remaining integer part.
fn push_frac(buf: &mut Vec<char>, mut v: u128, prec: u32) -> u128 {
    let mut print = false;
    for _ in 0..prec {
        let digit = (v % 10) as u32;
        print = print || digit != 0;
        if print {
            buf.push(char::from_digit(digit, 10).unwrap_or('0'));
        }
        v /= 10;
    }
    if print {
        buf.push('.');
    }
    v
}

/// Pushes (reversed) the decimal digits of `v`.
fn push_int(buf: &mut Vec<char>, mut v: u128) {
    if v == 0 {
        buf.push('0');
        return;
    }
    while v > 0 {
        buf.push(char::from_digit((v % 10) as u32, 10).unwrap_or('0'));
        v /= 10;
    }
}

/// Go's `time` package quoting (simpler than `strconv.Quote`): every byte of a character
/// that is non-ASCII or below a space becomes `\xNN`; `"` and `\` are backslash-escaped.
struct TimeQuoted<'a>(&'a str);

impl fmt::Display for TimeQuoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            if (c as u32) >= 0x80 || c < ' ' {
                let mut utf8 = [0u8; 4];
                for b in c.encode_utf8(&mut utf8).bytes() {
                    write!(f, "\\x{b:02x}")?;
                }
            } else {
                if c == '"' || c == '\\' {
                    f.write_char('\\')?;
                }
                f.write_char(c)?;
            }
        }
        f.write_char('"')
    }
}

#[cfg(test)]
#[path = "duration_tests.rs"]
mod tests;
