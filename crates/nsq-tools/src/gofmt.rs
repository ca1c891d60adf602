//! Go's `fmt.Sprintf(format, s)` with one string argument, which `nsq_to_http` applies to
//! each `--get` address (`http://host/path?data=%s`).
//!
//! Addresses are only checked to contain exactly one `%s`, so other `%` sequences reach
//! Sprintf too (`%%` is a percent sign, a `%2F` in the address becomes
//! `%!F(MISSING)`-style noise). Reproducing Go's verb handling keeps the requested URLs
//! identical to the reference's.

/// Go's `fmt.Sprintf(format, arg)` for a single string argument: verbs `s`, `v` (the
/// string), `q` (Go-quoted), `x`/`X` (hex); flags `-`, `+`, `#`, ` `, `0`, width and
/// precision for `s`/`v`; any other verb yields `%!<verb>(string=<arg>)`; verbs beyond the
/// first argument `%!<verb>(MISSING)`; an unused argument `%!(EXTRA string=<arg>)`.
pub fn sprintf_one(format: &str, arg: &str) -> String {
    let b = format.as_bytes();
    let mut out = String::with_capacity(format.len() + arg.len());
    let mut used = false;
    let mut i = 0;
    let mut lit_start = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        out.push_str(&format[lit_start..i]);
        i += 1;
        let mut minus = false;
        while i < b.len() && matches!(b[i], b'-' | b'+' | b'#' | b' ' | b'0') {
            minus |= b[i] == b'-';
            i += 1;
        }
        let mut width = None;
        let ws = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i > ws {
            width = format[ws..i].parse::<usize>().ok();
        }
        let mut precision = None;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let ps = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            precision = Some(format[ps..i].parse::<usize>().unwrap_or(0));
        }
        if i >= b.len() {
            out.push_str("%!(NOVERB)");
            lit_start = i;
            break;
        }
        // The verb is one (possibly multi-byte) character.
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        lit_start = i;
        if verb == '%' {
            out.push('%');
            continue;
        }
        if used {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        }
        used = true;
        let pad = |text: &str| -> String {
            let len = text.chars().count();
            let fill = " ".repeat(width.map_or(0, |w| w.saturating_sub(len)));
            if minus {
                format!("{text}{fill}")
            } else {
                format!("{fill}{text}")
            }
        };
        let text = match verb {
            's' | 'v' => {
                let s: String = match precision {
                    Some(p) => arg.chars().take(p).collect(),
                    None => arg.to_string(),
                };
                s
            }
            'q' => nsq_protocol::gostr::quote(arg.as_bytes()),
            'x' => arg.bytes().map(|c| format!("{c:02x}")).collect(),
            'X' => arg.bytes().map(|c| format!("{c:02X}")).collect(),
            other => {
                // Go prints the argument with the verb's width inside the error.
                out.push_str(&format!("%!{other}(string={})", pad(arg)));
                continue;
            }
        };
        out.push_str(&pad(&text));
    }
    if lit_start < b.len() {
        out.push_str(&format[lit_start..]);
    }
    if !used {
        out.push_str(&format!("%!(EXTRA string={arg})"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_go() {
        assert_eq!(sprintf_one("http://h/p?d=%s", "a+b"), "http://h/p?d=a+b");
        assert_eq!(sprintf_one("100%% %s", "x"), "100% x");
        assert_eq!(sprintf_one("%s %s", "x"), "x %!s(MISSING)");
        assert_eq!(
            sprintf_one("/a%2Fb?%s", "x"),
            "/a%!F(string= x)b?%!s(MISSING)"
        );
        assert_eq!(sprintf_one("none", "x"), "none%!(EXTRA string=x)");
        assert_eq!(sprintf_one("%5s|%-3s|", "ab"), "   ab|%!s(MISSING)|");
        assert_eq!(sprintf_one("%q", "a\"b"), "\"a\\\"b\"");
        assert_eq!(sprintf_one("x%", "a"), "x%!(NOVERB)%!(EXTRA string=a)");
        assert_eq!(sprintf_one("%.1s", "ab"), "a");
    }
}
