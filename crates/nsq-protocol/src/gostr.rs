//! Go-compatible string rendering.
//!
//! Error texts quote names with Go's `%q` (e.g. `E_BAD_TOPIC PUB topic name "a b" is not
//! valid`), and JSON produced by Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and
//! U+2029. Clients compare these strings, so we reproduce them.

use std::fmt::Write;

/// Renders `bytes` like Go's `strconv.Quote` (`%q`): double quotes, Go escapes for
/// non-printable characters, `\xNN` for bytes that are not valid UTF-8.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_quoted_str(&mut out, s);
                rest = &[];
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // valid_up_to guarantees `good` is UTF-8.
                push_quoted_str(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for b in &bad[..n.min(bad.len())] {
                    let _ = write!(out, "\\x{b:02x}");
                }
                rest = &bad[n.min(bad.len())..];
            }
        }
    }
    out.push('"');
    out
}

fn push_quoted_str(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
}

/// Approximation of Go's `strconv.IsPrint`: ASCII space plus graphic characters (no
/// controls, no other whitespace, no format characters, no private-use or unassigned
/// planes).
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format_or_private = matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xE0000..=0xE007F | 0xFFFE | 0xFFFF);
    !format_or_private
}

/// Appends `s` as a JSON string literal with Go `encoding/json` escaping.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Returns `s` as a JSON string literal with Go `encoding/json` escaping.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_json_string(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote(b"abc"), "\"abc\"");
        assert_eq!(quote(b"a b"), "\"a b\"");
        assert_eq!(quote(b"a\"b\\"), "\"a\\\"b\\\\\"");
        assert_eq!(quote(b"\n\t\x01"), "\"\\n\\t\\x01\"");
        assert_eq!(quote(b"\xff"), "\"\\xff\"");
        assert_eq!(quote("é".as_bytes()), "\"é\"");
        assert_eq!(quote(b""), "\"\"");
    }

    #[test]
    fn json_escapes_like_go() {
        assert_eq!(json_string("a<b>&"), "\"a\\u003cb\\u003e\\u0026\"");
        assert_eq!(json_string("x\u{1}"), "\"x\\u0001\"");
    }
}
