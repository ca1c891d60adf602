//! Go `strconv` number and bool syntax.
//!
//! NSQ's programs parse their flags with Go's `flag` package, which delegates to
//! `strconv.ParseInt(s, 0, 64)`, `strconv.ParseFloat(s, 64)` and `strconv.ParseBool`. Those
//! accept forms Rust's `str::parse` does not (`0x10`, `010` as octal, `1_000`, hex floats,
//! `T`/`F`) and reject forms Rust accepts, so a drop-in replacement needs its own parsers.
//! The error texts mirror Go's `*strconv.NumError` so messages printed to operators match.

use std::fmt::Write;

/// Why a Go-style number parse failed (Go's `strconv.ErrSyntax` / `strconv.ErrRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumErrorKind {
    /// The text is not a number in the accepted syntax.
    Syntax,
    /// The text is a number but does not fit the target type.
    Range,
}

/// A failed parse, rendered exactly like Go's `*strconv.NumError`:
/// `strconv.ParseInt: parsing "x": invalid syntax`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("strconv.{func}: parsing {}: {}", quote(.input), match .kind { NumErrorKind::Syntax => "invalid syntax", NumErrorKind::Range => "value out of range" })]
pub struct NumError {
    /// The Go function name (`ParseInt`, `ParseFloat`, `ParseBool`).
    pub func: &'static str,
    /// The text that failed to parse.
    pub input: String,
    /// Syntax or range failure.
    pub kind: NumErrorKind,
}

impl NumError {
    fn new(func: &'static str, input: &str, kind: NumErrorKind) -> Self {
        NumError {
            func,
            input: input.to_string(),
            kind,
        }
    }
}

/// Parses a bool exactly like Go's `strconv.ParseBool`: `1 t T TRUE true True` are true,
/// `0 f F FALSE false False` are false, anything else is an error.
pub fn parse_bool(s: &str) -> Result<bool, NumError> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(NumError::new("ParseBool", s, NumErrorKind::Syntax)),
    }
}

/// Parses a signed 64-bit integer exactly like Go's `strconv.ParseInt(s, base, 64)`.
///
/// `base == 0` infers the base from the prefix (`0x`/`0X` hex, `0b`/`0B` binary, `0o`/`0O`
/// octal, a bare leading `0` octal, otherwise decimal) and allows `_` digit separators where
/// Go allows them. Bases 2..=36 take no prefix and no underscores. An optional `+`/`-` sign
/// is accepted in every base. Any other base is reported as a syntax error.
pub fn parse_int(s: &str, base: u32) -> Result<i64, NumError> {
    let err = |kind| NumError::new("ParseInt", s, kind);
    if s.is_empty() {
        return Err(err(NumErrorKind::Syntax));
    }
    let (neg, digits) = match s.as_bytes()[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let un = parse_uint(digits, base).map_err(err)?;
    let cutoff = 1u64 << 63;
    if !neg && un >= cutoff {
        return Err(err(NumErrorKind::Range));
    }
    if neg && un > cutoff {
        return Err(err(NumErrorKind::Range));
    }
    // `un <= 2^63` here; wrapping handles the i64::MIN case.
    let n = un as i64;
    Ok(if neg { n.wrapping_neg() } else { n })
}

/// Go's `strconv.ParseUint(s, base, 64)` without the sign handling; returns the error kind.
fn parse_uint(s: &str, base: u32) -> Result<u64, NumErrorKind> {
    if s.is_empty() {
        return Err(NumErrorKind::Syntax);
    }
    let bytes = s.as_bytes();
    let base0 = base == 0;
    let (base, body): (u64, &[u8]) = if base0 {
        if bytes[0] == b'0' {
            let second = bytes.get(1).map(u8::to_ascii_lowercase);
            match second {
                Some(b'b') if bytes.len() >= 3 => (2, &bytes[2..]),
                Some(b'o') if bytes.len() >= 3 => (8, &bytes[2..]),
                Some(b'x') if bytes.len() >= 3 => (16, &bytes[2..]),
                _ => (8, &bytes[1..]),
            }
        } else {
            (10, bytes)
        }
    } else if (2..=36).contains(&base) {
        (u64::from(base), bytes)
    } else {
        return Err(NumErrorKind::Syntax);
    };

    let cutoff = u64::MAX / base + 1;
    let mut underscores = false;
    let mut n: u64 = 0;
    for &c in body {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            _ if c.is_ascii_alphabetic() => u64::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => return Err(NumErrorKind::Syntax),
        };
        if d >= base {
            return Err(NumErrorKind::Syntax);
        }
        if n >= cutoff {
            return Err(NumErrorKind::Range);
        }
        n *= base;
        n = n.checked_add(d).ok_or(NumErrorKind::Range)?;
    }
    if underscores && !underscore_ok(s) {
        return Err(NumErrorKind::Syntax);
    }
    Ok(n)
}

/// Go's rule for `_` separators: only between digits, or between a base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let mut s = s.as_bytes();
    if let Some(b'-' | b'+') = s.first() {
        s = &s[1..];
    }
    // '^' start, '0' digit or prefix, '_' underscore, '!' anything else.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c.is_ascii_digit() || (hex && matches!(c.to_ascii_lowercase(), b'a'..=b'f')) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Parses a float exactly like Go's `strconv.ParseFloat(s, 64)`.
///
/// Accepts an optional sign, decimal mantissas with optional fraction and exponent (`1`,
/// `.5`, `5.`, `1e-3`), hexadecimal mantissas with a mandatory binary exponent (`0x1p-2`),
/// `_` separators where Go allows them, and case-insensitive `inf`, `infinity`, `nan`.
/// A finite number too large for `f64` is a range error, as in Go.
pub fn parse_float(s: &str) -> Result<f64, NumError> {
    let err = |kind| NumError::new("ParseFloat", s, kind);
    if let Some((v, n)) = special_float(s) {
        return if n == s.len() {
            Ok(v)
        } else {
            Err(err(NumErrorKind::Syntax))
        };
    }
    let r = read_float(s.as_bytes()).ok_or(err(NumErrorKind::Syntax))?;
    if r.end != s.len() {
        return Err(err(NumErrorKind::Syntax));
    }
    if r.hex {
        return hex_float(r.mantissa, r.exp, r.neg, r.trunc).ok_or(err(NumErrorKind::Range));
    }
    // The syntax is now known to be Go's decimal form, which (without underscores) is also
    // Rust's, and both round correctly to nearest-even, so the values agree.
    let cleaned: String = s.chars().filter(|&c| c != '_').collect();
    let v: f64 = cleaned.parse().map_err(|_| err(NumErrorKind::Syntax))?;
    if v.is_infinite() {
        return Err(err(NumErrorKind::Range));
    }
    Ok(v)
}

/// `inf`, `infinity` (optionally signed) and `nan`; returns the value and bytes consumed.
fn special_float(s: &str) -> Option<(f64, usize)> {
    let b = s.as_bytes();
    let first = *b.first()?;
    let (sign, nsign, rest) = match first {
        b'+' => (1.0, 1, &b[1..]),
        b'-' => (-1.0, 1, &b[1..]),
        b'n' | b'N' => {
            return (common_prefix_ignore_case(b, b"nan") == 3).then_some((f64::NAN, 3));
        }
        _ => (1.0, 0, b),
    };
    if nsign == 0 && !matches!(first, b'i' | b'I') {
        return None;
    }
    let mut n = common_prefix_ignore_case(rest, b"infinity");
    if 3 < n && n < 8 {
        n = 3;
    }
    (n == 3 || n == 8).then_some((sign * f64::INFINITY, nsign + n))
}

fn common_prefix_ignore_case(s: &[u8], prefix: &[u8]) -> usize {
    s.iter()
        .zip(prefix)
        .take_while(|(c, p)| c.to_ascii_lowercase() == **p)
        .count()
}

/// Result of scanning a float's syntax (Go's `readFloat`).
struct FloatScan {
    mantissa: u64,
    exp: i64,
    neg: bool,
    trunc: bool,
    hex: bool,
    end: usize,
}

fn read_float(s: &[u8]) -> Option<FloatScan> {
    let mut i = 0;
    let mut neg = false;
    let mut underscores = false;
    match s.first()? {
        b'+' => i += 1,
        b'-' => {
            i += 1;
            neg = true;
        }
        _ => {}
    }
    let mut base: u64 = 10;
    let mut max_mant_digits = 19;
    let mut exp_char = b'e';
    let mut hex = false;
    if i + 2 < s.len() && s[i] == b'0' && s[i + 1].eq_ignore_ascii_case(&b'x') {
        base = 16;
        max_mant_digits = 16;
        i += 2;
        exp_char = b'p';
        hex = true;
    }
    let (mut sawdot, mut sawdigits) = (false, false);
    let (mut nd, mut nd_mant, mut dp): (i64, i64, i64) = (0, 0, 0);
    let mut mantissa: u64 = 0;
    let mut trunc = false;
    while i < s.len() {
        let c = s[i];
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if sawdot {
                break;
            }
            sawdot = true;
            dp = nd;
        } else if c.is_ascii_digit() {
            sawdigits = true;
            if c == b'0' && nd == 0 {
                dp -= 1;
                i += 1;
                continue;
            }
            nd += 1;
            if nd_mant < max_mant_digits {
                mantissa = mantissa * base + u64::from(c - b'0');
                nd_mant += 1;
            } else if c != b'0' {
                trunc = true;
            }
        } else if base == 16 && matches!(c.to_ascii_lowercase(), b'a'..=b'f') {
            sawdigits = true;
            nd += 1;
            if nd_mant < max_mant_digits {
                mantissa = mantissa * 16 + u64::from(c.to_ascii_lowercase() - b'a') + 10;
                nd_mant += 1;
            } else {
                trunc = true;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !sawdigits {
        return None;
    }
    if !sawdot {
        dp = nd;
    }
    if base == 16 {
        dp *= 4;
        nd_mant *= 4;
    }
    if i < s.len() && s[i].to_ascii_lowercase() == exp_char {
        i += 1;
        let mut esign = 1;
        match s.get(i)? {
            b'+' => i += 1,
            b'-' => {
                i += 1;
                esign = -1;
            }
            _ => {}
        }
        if !s.get(i)?.is_ascii_digit() {
            return None;
        }
        let mut e: i64 = 0;
        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b'_') {
            if s[i] == b'_' {
                underscores = true;
            } else if e < 10000 {
                e = e * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        dp += e * esign;
    } else if base == 16 {
        return None;
    }
    let exp = if mantissa != 0 { dp - nd_mant } else { 0 };
    // `s[..i]` is ASCII up to here (only ASCII bytes were consumed).
    if underscores && !underscore_ok(std::str::from_utf8(&s[..i]).unwrap_or("")) {
        return None;
    }
    Some(FloatScan {
        mantissa,
        exp,
        neg,
        trunc,
        hex,
        end: i,
    })
}

/// Rounds a hexadecimal mantissa and binary exponent to the nearest `f64` (ties to even),
/// as Go's `atofHex` does; `None` means the value overflows (a range error).
fn hex_float(mut mantissa: u64, exp: i64, neg: bool, trunc: bool) -> Option<f64> {
    const MANTBITS: u32 = 52;
    const BIAS: i64 = -1023;
    const MAX_EXP: i64 = (1 << 11) + BIAS - 2;
    const MIN_EXP: i64 = BIAS + 1;
    let mut exp = exp + i64::from(MANTBITS);
    while mantissa != 0 && mantissa >> (MANTBITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if trunc {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANTBITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    while mantissa > 1 && exp < MIN_EXP - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANTBITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANTBITS == 0 {
        exp = BIAS;
    }
    if exp > MAX_EXP {
        return None;
    }
    let mut bits = mantissa & ((1 << MANTBITS) - 1);
    bits |= (((exp - BIAS) & ((1 << 11) - 1)) as u64) << MANTBITS;
    if neg {
        bits |= 1 << 63;
    }
    Some(f64::from_bits(bits))
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'g', -1, 64)` (used by the `flag`
/// package to show float defaults): the shortest digits that round-trip, in exponent form
/// when the decimal exponent is below -4 or at least 6 (`1e+06`, `123456`, `0.0001`,
/// `1e-05`, `1.5`, `+Inf`, `-Inf`, `NaN`).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if f == 0.0 {
        out.push('0');
        return out;
    }
    // Rust's `{:e}` prints the shortest round-tripping digits as "d.ddde<exp>".
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i64 = exp.parse().unwrap_or(0);
    let nd = digits.len() as i64;
    let dp = exp + 1;
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.abs());
    } else if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        for _ in 0..(dp - nd) {
            out.push('0');
        }
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Quotes a string like Go's `strconv.Quote` / `%q` (double quotes, Go escapes for
/// non-printable characters); one implementation shared with the protocol's error texts.
pub fn quote(s: &str) -> String {
    nsq_protocol::gostr::quote(s.as_bytes())
}

#[cfg(test)]
#[path = "strconv_tests.rs"]
mod tests;
