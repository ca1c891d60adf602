//! Go's `net/url` query escaping, which the tools use when they build URLs
//! (`/lookup?topic=`, `/stats?topic=`) and when `nsq_to_http` substitutes a message into a
//! `--get` address (`url.QueryEscape`: space becomes `+`).

/// Go's `url.QueryEscape`: unreserved bytes (`A-Z a-z 0-9 - _ . ~`) stay, space becomes
/// `+`, every other byte `%XX` with upper-case hex.
pub fn query_escape(s: &str) -> String {
    query_escape_bytes(s.as_bytes())
}

/// [`query_escape`] for arbitrary bytes (message bodies need not be UTF-8).
pub fn query_escape_bytes(s: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    out
}

/// Lenient `url.QueryUnescape`: `+` is a space, `%XX` a byte; a malformed escape is kept
/// literally. Invalid UTF-8 is replaced.
pub fn query_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        assert_eq!(query_escape("a b/c#e?&=é"), "a+b%2Fc%23e%3F%26%3D%C3%A9");
        assert_eq!(query_escape("t.1_-~"), "t.1_-~");
        assert_eq!(query_escape_bytes(b"\xff\n"), "%FF%0A");
    }

    #[test]
    fn unescapes_leniently() {
        assert_eq!(query_unescape("a+b%2Fc"), "a b/c");
        assert_eq!(query_unescape("100%"), "100%");
        assert_eq!(query_unescape("%zz%4"), "%zz%4");
    }
}
