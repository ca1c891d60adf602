//! URL path helpers with Go's rules.
//!
//! The reference routes on the *decoded* path (`%6E` matches `n`), rejects a bad `%` escape
//! in the path with a bare 400, cleans paths (`//ping`, `/./ping`) before its
//! case-insensitive redirect lookup, and re-escapes paths it redirects to. These functions
//! reproduce each of those steps so the router and the redirect responses match byte for
//! byte.

use std::fmt::Write;

/// A path contained a `%` not followed by two hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URL escape {0:?}")]
pub struct PathEscapeError(pub String);

/// Percent-decodes a request path like Go's `url.PathUnescape` (`+` stays `+`).
///
/// Decoded bytes that are not UTF-8 become U+FFFD; such a path can never match a route.
pub fn decode_path(raw: &str) -> Result<String, PathEscapeError> {
    if !raw.contains('%') {
        return Ok(raw.to_string());
    }
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (
                b.get(i + 1).copied().and_then(hex_val),
                b.get(i + 2).copied().and_then(hex_val),
            ) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => {
                    let end = (i + 3).min(b.len());
                    return Err(PathEscapeError(
                        String::from_utf8_lossy(&b[i..end]).into_owned(),
                    ));
                }
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Escapes a decoded path like Go's `url.URL.EscapedPath` for a path without a usable raw
/// form: ASCII letters, digits and `-_.~$&+,/:;=@` stay as they are; every other byte
/// becomes `%XX` with upper-case hex.
pub fn escape_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &c in path.as_bytes() {
        let keep = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_'
                    | b'.'
                    | b'~'
                    | b'$'
                    | b'&'
                    | b'+'
                    | b','
                    | b'/'
                    | b':'
                    | b';'
                    | b'='
                    | b'@'
            );
        if keep {
            out.push(c as char);
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
    out
}

/// httprouter's `CleanPath`: the canonical form of a URL path.
///
/// Guarantees: the result starts with `/`; runs of `/` collapse to one; `.` segments are
/// dropped; `..` removes the previous segment (never climbing above the root); a trailing
/// `/` of the input is kept unless the result is the root itself. `""` becomes `/`.
pub fn clean_path(p: &str) -> String {
    let trailing = p.len() > 1 && p.ends_with('/');
    let mut stack: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                stack.pop();
            }
            s => stack.push(s),
        }
    }
    let mut out = String::with_capacity(p.len() + 1);
    for s in &stack {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || trailing {
        out.push('/');
    }
    out
}

/// Escapes text for an HTML attribute like Go's `net/http` redirect body does:
/// `&` `<` `>` `"` `'` become `&amp;` `&lt;` `&gt;` `&#34;` `&#39;`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(decode_path("/pi%6Eg").unwrap(), "/ping");
        assert_eq!(decode_path("/a+b%2Fc").unwrap(), "/a+b/c");
        assert!(decode_path("/pi%zzg").is_err());
        assert!(decode_path("/x%4").is_err());
        assert!(decode_path("/x%").is_err());
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_path("/topics"), "/topics");
        assert_eq!(escape_path("/a b?c%"), "/a%20b%3Fc%25");
        assert_eq!(escape_path("/x:y@z;$&+,=~"), "/x:y@z;$&+,=~");
        assert_eq!(escape_path("/é"), "/%C3%A9");
    }

    #[test]
    fn cleaning() {
        for (input, want) in [
            ("", "/"),
            ("/", "/"),
            ("//ping", "/ping"),
            ("/./ping", "/ping"),
            ("/a/../ping", "/ping"),
            ("/../ping", "/ping"),
            ("/ping/", "/ping/"),
            ("/ping//", "/ping/"),
            ("ping", "/ping"),
            ("/a/..", "/"),
            ("/a/../", "/"),
            ("/a/b/./c/", "/a/b/c/"),
        ] {
            assert_eq!(clean_path(input), want, "clean_path({input:?})");
        }
    }

    #[test]
    fn html() {
        assert_eq!(
            html_escape("/t?a=b&c=<'\">"),
            "/t?a=b&amp;c=&lt;&#39;&#34;&gt;"
        );
    }
}
