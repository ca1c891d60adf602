//! URL query strings, parsed exactly like Go's `url.ParseQuery`.
//!
//! NSQ daemons read every API argument from the raw query string, and clients depend on the
//! edge cases: the first value of a repeated key wins, `+` is a space, a key present without
//! `=` has the value `""`, and a bad `%` escape or a `;` anywhere in a pair makes the whole
//! query invalid (the reference then answers 400 `INVALID_REQUEST`). Boolean arguments use
//! the small table in [`parse_bool`].

use std::collections::HashMap;

/// Why a query string was rejected; every variant maps to 400 `INVALID_REQUEST`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A pair contained `;`, which Go (since 1.17) no longer accepts as a separator.
    #[error("invalid semicolon separator in query")]
    Semicolon,
    /// A `%` was not followed by two hexadecimal digits.
    #[error("invalid URL escape {0:?}")]
    BadEscape(String),
}

/// A parsed query string.
///
/// Invariant: every key maps to at least one value, in the order they appeared; values are
/// percent-decoded with `+` as space. Decoded bytes that are not UTF-8 are replaced by
/// U+FFFD (Go would keep the raw bytes; no NSQ name can contain them anyway).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    values: HashMap<String, Vec<String>>,
}

impl Query {
    /// Parses `raw` (the part after `?`, without the `?`) like Go's `url.ParseQuery`.
    ///
    /// Pairs are split on `&`; empty pairs are skipped; a pair without `=` has the value `""`.
    /// Like Go, parsing continues past a bad pair but the first error is returned, so any
    /// bad pair fails the whole query.
    pub fn parse(raw: &str) -> Result<Query, QueryError> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut first_err = None;
        for pair in raw.split('&') {
            if pair.contains(';') {
                first_err.get_or_insert(QueryError::Semicolon);
                continue;
            }
            if pair.is_empty() {
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = match unescape(k) {
                Ok(k) => k,
                Err(e) => {
                    first_err.get_or_insert(e);
                    continue;
                }
            };
            let value = match unescape(v) {
                Ok(v) => v,
                Err(e) => {
                    first_err.get_or_insert(e);
                    continue;
                }
            };
            values.entry(key).or_default().push(value);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(Query { values }),
        }
    }

    /// The first value of `key`, or `None` if the key is absent. `?k=` and `?k` give
    /// `Some("")`: present but empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of `key` in order of appearance, or `None` if the key is absent.
    pub fn get_all(&self, key: &str) -> Option<&[String]> {
        self.values.get(key).map(Vec::as_slice)
    }

    /// True iff `key` appeared at least once.
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }
}

/// Go's query-escape decoding (`url.QueryUnescape`): `+` is a space, `%XX` is a byte.
pub fn unescape(s: &str) -> Result<String, QueryError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = b.get(i + 1).copied().and_then(hex_val);
                let lo = b.get(i + 2).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => {
                        let end = (i + 3).min(b.len());
                        let bad = String::from_utf8_lossy(&b[i..end]).into_owned();
                        return Err(QueryError::BadEscape(bad));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The boolean table NSQ's HTTP handlers use for query flags: `true`/`1` → `Some(true)`,
/// `false`/`0` → `Some(false)`, anything else (including other cases such as `True`) →
/// `None`, for which each endpoint applies its own default.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_wins_and_empty_is_present() {
        let q = Query::parse("topic=a&topic=b&channel=&flag").unwrap();
        assert_eq!(q.get("topic"), Some("a"));
        assert_eq!(
            q.get_all("topic").unwrap(),
            &["a".to_string(), "b".to_string()]
        );
        assert_eq!(q.get("channel"), Some(""));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("missing"), None);
        assert!(!q.contains("missing"));
    }

    #[test]
    fn decoding() {
        let q = Query::parse("a=x+y%20z&b%3D=%3c%3E&&c==d").unwrap();
        assert_eq!(q.get("a"), Some("x y z"));
        assert_eq!(q.get("b="), Some("<>"));
        assert_eq!(q.get("c"), Some("=d"));
        assert_eq!(Query::parse("").unwrap(), Query::default());
        assert_eq!(Query::parse("a=%ff").unwrap().get("a"), Some("\u{fffd}"));
    }

    #[test]
    fn errors() {
        assert_eq!(Query::parse("a=1;b=2"), Err(QueryError::Semicolon));
        assert_eq!(Query::parse("a=1&b;"), Err(QueryError::Semicolon));
        assert!(matches!(
            Query::parse("topic=%zz"),
            Err(QueryError::BadEscape(_))
        ));
        assert!(matches!(
            Query::parse("topic=%4"),
            Err(QueryError::BadEscape(_))
        ));
        assert!(matches!(Query::parse("%=1"), Err(QueryError::BadEscape(_))));
        // The error is sticky even when later pairs are fine.
        assert!(Query::parse("x=%&topic=a").is_err());
    }

    #[test]
    fn bool_table() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("1"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("True"), None);
        assert_eq!(parse_bool(""), None);
        assert_eq!(parse_bool("yes"), None);
    }
}
