//! `--datetime-format`: strftime directives converted to a Go layout, then formatted with
//! Go's `time.Format` rules, in local time.
//!
//! The reference converts `%Y-%m-%d_%H` to the Go layout `2006-01-02_15` and formats that.
//! Everything else in the format is left in the layout, so literal text that happens to be
//! a Go layout element is reinterpreted (a literal `1` becomes the month, `Mon` the
//! weekday). File names depend on this, so both steps are reproduced exactly: the
//! directive table, and Go's layout tokenizer and element formatting.

use std::ffi::CStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// A broken-down local time with its zone, as Go's `time.Time` methods see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTime {
    /// Year (e.g. 2024).
    pub year: i64,
    /// Month 1..=12.
    pub month: u32,
    /// Day of month 1..=31.
    pub day: u32,
    /// Hour 0..=23.
    pub hour: u32,
    /// Minute 0..=59.
    pub minute: u32,
    /// Second 0..=60.
    pub second: u32,
    /// Nanoseconds 0..1e9.
    pub nanos: u32,
    /// Day of week, 0 = Sunday.
    pub weekday: u32,
    /// Day of year, 1..=366.
    pub yday: u32,
    /// Zone abbreviation (`UTC`, `CET`), possibly empty.
    pub zone: String,
    /// Offset east of UTC in seconds.
    pub offset: i64,
}

impl LocalTime {
    /// `t` in the process's local time zone (UTC if it cannot be determined).
    pub fn from_system(t: SystemTime) -> LocalTime {
        let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(_) => (0, 0),
        };
        let tt = secs as libc::time_t;
        // SAFETY: `tm` is plain data for which all-zero bytes are valid; `localtime_r` only
        // writes into it, and both pointers are valid for the duration of the call.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&tt, &mut tm).is_null() };
        if !ok {
            return LocalTime::utc(secs, nanos);
        }
        let zone = if tm.tm_zone.is_null() {
            String::new()
        } else {
            // SAFETY: `tm_zone` points at a NUL-terminated static string owned by libc.
            unsafe { CStr::from_ptr(tm.tm_zone) }
                .to_string_lossy()
                .into_owned()
        };
        LocalTime {
            year: i64::from(tm.tm_year) + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
            nanos,
            weekday: tm.tm_wday as u32,
            yday: (tm.tm_yday + 1) as u32,
            zone,
            offset: tm.tm_gmtoff,
        }
    }

    /// The current local time.
    pub fn now() -> LocalTime {
        LocalTime::from_system(SystemTime::now())
    }

    /// UTC broken down from Unix seconds.
    pub fn utc(secs: i64, nanos: u32) -> LocalTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        const CUM: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let yday = CUM[(month - 1) as usize] + day + u32::from(leap && month > 2);
        LocalTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            nanos,
            weekday: (days + 4).rem_euclid(7) as u32,
            yday,
            zone: "UTC".to_string(),
            offset: 0,
        }
    }
}

/// The reference's strftime → Go layout conversion: known `%x` directives become layout
/// elements; everything else (including unknown directives) is copied.
pub fn strftime_to_layout(format: &str) -> String {
    let b = format.as_bytes();
    let mut out = Vec::with_capacity(b.len() * 2);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 1 < b.len() {
            let rep: Option<&str> = match b[i + 1] {
                b'B' => Some("January"),
                b'b' => Some("Jan"),
                b'm' => Some("01"),
                b'A' => Some("Monday"),
                b'a' => Some("Mon"),
                b'd' => Some("02"),
                b'H' => Some("15"),
                b'I' => Some("03"),
                b'M' => Some("04"),
                b'S' => Some("05"),
                b'Y' => Some("2006"),
                b'y' => Some("06"),
                b'p' => Some("PM"),
                b'Z' => Some("MST"),
                b'z' => Some("-0700"),
                b'%' => Some("%"),
                _ => None,
            };
            if let Some(r) = rep {
                out.extend_from_slice(r.as_bytes());
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The reference's `strftime(format, t)`.
pub fn strftime(format: &str, t: &LocalTime) -> String {
    format_layout(&strftime_to_layout(format), t)
}

/// Go layout elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    PmLower,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// Fractional seconds: digits, trailing zeros trimmed (`9`), separator.
    Frac(usize, bool, u8),
}

fn starts_lower(s: &[u8]) -> bool {
    s.first().is_some_and(|c| c.is_ascii_lowercase())
}

/// Go's `nextStdChunk`: (prefix length, element, bytes consumed by the element).
fn next_chunk(l: &[u8]) -> Option<(usize, Std, usize)> {
    let has = |i: usize, s: &str| l.len() >= i + s.len() && &l[i..i + s.len()] == s.as_bytes();
    for i in 0..l.len() {
        match l[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    return Some((i, Std::LongMonth, 7));
                }
                if !starts_lower(&l[i + 3..]) {
                    return Some((i, Std::Month, 3));
                }
            }
            b'M' if l.len() >= i + 3 => {
                if has(i, "Mon") {
                    if has(i, "Monday") {
                        return Some((i, Std::LongWeekDay, 6));
                    }
                    if !starts_lower(&l[i + 3..]) {
                        return Some((i, Std::WeekDay, 3));
                    }
                }
                if has(i, "MST") {
                    return Some((i, Std::Tz, 3));
                }
            }
            b'0' => {
                if l.len() >= i + 2 && (b'1'..=b'6').contains(&l[i + 1]) {
                    let s = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][usize::from(l[i + 1] - b'1')];
                    return Some((i, s, 2));
                }
                if has(i, "002") {
                    return Some((i, Std::ZeroYearDay, 3));
                }
            }
            b'1' => {
                if has(i, "15") {
                    return Some((i, Std::Hour, 2));
                }
                return Some((i, Std::NumMonth, 1));
            }
            b'2' => {
                if has(i, "2006") {
                    return Some((i, Std::LongYear, 4));
                }
                return Some((i, Std::Day, 1));
            }
            b'_' => {
                if l.len() >= i + 2 && l[i + 1] == b'2' {
                    if has(i + 1, "2006") {
                        // `_2006` is a literal `_` followed by the long year.
                        return Some((i + 1, Std::LongYear, 4));
                    }
                    return Some((i, Std::UnderDay, 2));
                }
                if has(i, "__2") {
                    return Some((i, Std::UnderYearDay, 3));
                }
            }
            b'3' => return Some((i, Std::Hour12, 1)),
            b'4' => return Some((i, Std::Minute, 1)),
            b'5' => return Some((i, Std::Second, 1)),
            b'P' if has(i, "PM") => return Some((i, Std::Pm, 2)),
            b'p' if has(i, "pm") => return Some((i, Std::PmLower, 2)),
            b'-' => {
                for (tok, s) in [
                    ("-070000", Std::NumSecondsTz),
                    ("-07:00:00", Std::NumColonSecondsTz),
                    ("-0700", Std::NumTz),
                    ("-07:00", Std::NumColonTz),
                    ("-07", Std::NumShortTz),
                ] {
                    if has(i, tok) {
                        return Some((i, s, tok.len()));
                    }
                }
            }
            b'Z' => {
                for (tok, s) in [
                    ("Z070000", Std::Iso8601SecondsTz),
                    ("Z07:00:00", Std::Iso8601ColonSecondsTz),
                    ("Z0700", Std::Iso8601Tz),
                    ("Z07:00", Std::Iso8601ColonTz),
                    ("Z07", Std::Iso8601ShortTz),
                ] {
                    if has(i, tok) {
                        return Some((i, s, tok.len()));
                    }
                }
            }
            c @ (b'.' | b',') if i + 1 < l.len() && (l[i + 1] == b'0' || l[i + 1] == b'9') => {
                let ch = l[i + 1];
                let mut j = i + 1;
                while j < l.len() && l[j] == ch {
                    j += 1;
                }
                if !(j < l.len() && l[j].is_ascii_digit()) {
                    return Some((i, Std::Frac(j - (i + 1), ch == b'9', c), j - i));
                }
            }
            _ => {}
        }
    }
    None
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn pad(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    let s = v.unsigned_abs().to_string();
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(&s);
}

/// Go's `time.Time.Format(layout)`.
pub fn format_layout(layout: &str, t: &LocalTime) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout.as_bytes();
    while let Some((prefix, std, len)) = next_chunk(rest) {
        out.push_str(&String::from_utf8_lossy(&rest[..prefix]));
        rest = &rest[prefix + len..];
        let hr12 = match t.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::LongMonth => out.push_str(LONG_MONTHS[(t.month as usize + 11) % 12]),
            Std::Month => out.push_str(&LONG_MONTHS[(t.month as usize + 11) % 12][..3]),
            Std::NumMonth => pad(&mut out, i64::from(t.month), 0),
            Std::ZeroMonth => pad(&mut out, i64::from(t.month), 2),
            Std::LongWeekDay => out.push_str(LONG_DAYS[t.weekday as usize % 7]),
            Std::WeekDay => out.push_str(&LONG_DAYS[t.weekday as usize % 7][..3]),
            Std::Day => pad(&mut out, i64::from(t.day), 0),
            Std::UnderDay => {
                if t.day < 10 {
                    out.push(' ');
                }
                pad(&mut out, i64::from(t.day), 0);
            }
            Std::ZeroDay => pad(&mut out, i64::from(t.day), 2),
            Std::UnderYearDay => {
                if t.yday < 100 {
                    out.push(' ');
                    if t.yday < 10 {
                        out.push(' ');
                    }
                }
                pad(&mut out, i64::from(t.yday), 0);
            }
            Std::ZeroYearDay => pad(&mut out, i64::from(t.yday), 3),
            Std::Hour => pad(&mut out, i64::from(t.hour), 2),
            Std::Hour12 => pad(&mut out, i64::from(hr12), 0),
            Std::ZeroHour12 => pad(&mut out, i64::from(hr12), 2),
            Std::Minute => pad(&mut out, i64::from(t.minute), 0),
            Std::ZeroMinute => pad(&mut out, i64::from(t.minute), 2),
            Std::Second => pad(&mut out, i64::from(t.second), 0),
            Std::ZeroSecond => pad(&mut out, i64::from(t.second), 2),
            Std::LongYear => pad(&mut out, t.year, 4),
            Std::Year => pad(&mut out, t.year.rem_euclid(100), 2),
            Std::Pm => out.push_str(if t.hour >= 12 { "PM" } else { "AM" }),
            Std::PmLower => out.push_str(if t.hour >= 12 { "pm" } else { "am" }),
            Std::Tz => {
                if t.zone.is_empty() {
                    let zone = t.offset / 60;
                    out.push(if zone < 0 { '-' } else { '+' });
                    pad(&mut out, zone.abs() / 60, 2);
                    pad(&mut out, zone.abs() % 60, 2);
                } else {
                    out.push_str(&t.zone);
                }
            }
            Std::Frac(n, trim, sep) => {
                let digits = format!("{:09}", t.nanos);
                let mut d = &digits[..n.min(9)];
                if trim {
                    d = d.trim_end_matches('0');
                    if d.is_empty() {
                        continue;
                    }
                }
                out.push(sep as char);
                out.push_str(d);
                for _ in 9..n {
                    out.push('0');
                }
            }
            tz => {
                let iso = matches!(
                    tz,
                    Std::Iso8601Tz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601ColonSecondsTz
                );
                if t.offset == 0 && iso {
                    out.push('Z');
                    continue;
                }
                let zone = t.offset / 60;
                out.push(if zone < 0 { '-' } else { '+' });
                let (zone, abs) = (zone.abs(), t.offset.abs());
                pad(&mut out, zone / 60, 2);
                let colon = matches!(
                    tz,
                    Std::Iso8601ColonTz
                        | Std::NumColonTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumColonSecondsTz
                );
                if colon {
                    out.push(':');
                }
                if !matches!(tz, Std::NumShortTz | Std::Iso8601ShortTz) {
                    pad(&mut out, zone % 60, 2);
                }
                if matches!(
                    tz,
                    Std::Iso8601SecondsTz
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTz
                        | Std::Iso8601ColonSecondsTz
                ) {
                    if matches!(tz, Std::NumColonSecondsTz | Std::Iso8601ColonSecondsTz) {
                        out.push(':');
                    }
                    pad(&mut out, abs % 60, 2);
                }
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2009-02-13 23:31:30.123456789 UTC, a Friday, day 44.
    fn t() -> LocalTime {
        LocalTime::utc(1_234_567_890, 123_456_789)
    }

    #[test]
    fn utc_breakdown() {
        let t = t();
        assert_eq!((t.year, t.month, t.day), (2009, 2, 13));
        assert_eq!((t.hour, t.minute, t.second), (23, 31, 30));
        assert_eq!((t.weekday, t.yday), (5, 44));
    }

    #[test]
    fn default_format() {
        assert_eq!(strftime_to_layout("%Y-%m-%d_%H"), "2006-01-02_15");
        assert_eq!(strftime("%Y-%m-%d_%H", &t()), "2009-02-13_23");
        assert_eq!(strftime("%Y%m%d", &t()), "20090213");
    }

    #[test]
    fn every_directive() {
        assert_eq!(
            strftime("%B %b %m %A %a %d %H %I %M %S %Y %y %p %Z %z %%", &t()),
            "February Feb 02 Friday Fri 13 23 11 31 30 2009 09 PM UTC +0000 %"
        );
        // unknown directives and a trailing % are copied
        assert_eq!(strftime("%q%", &t()), "%q%");
    }

    #[test]
    fn literal_layout_tokens_are_reinterpreted() {
        // the reference's quirk: literal digits and words are Go layout elements
        assert_eq!(strftime("v1", &t()), "v2");
        assert_eq!(strftime("Monday", &t()), "Friday");
        assert_eq!(strftime("Mondays", &t()), "Fridays");
        assert_eq!(strftime("Month", &t()), "Month");
        assert_eq!(strftime("x.000", &t()), "x.123");
        assert_eq!(strftime("5.999999999", &t()), "30.123456789");
        assert_eq!(
            format_layout("_2 __2 002 3 4 pm Z07:00", &t()),
            "13  44 044 11 31 pm Z"
        );
        assert_eq!(format_layout("_2006", &t()), "_2009");
    }

    #[test]
    fn zones() {
        let mut t = t();
        t.offset = -(5 * 3600 + 30 * 60);
        t.zone = String::new();
        assert_eq!(
            format_layout("MST -07 -07:00 -0700 Z0700 -07:00:00", &t),
            "-0530 -05 -05:30 -0530 -0530 -05:30:00"
        );
    }
}
