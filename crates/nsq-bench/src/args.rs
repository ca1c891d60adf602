//! A tiny `--flag=value` / `--flag value` parser: the tools need a handful of typed flags
//! each, and unknown flags must be rejected so that a typo in bench/run.sh fails loudly.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::error::{BenchError, Result};

/// Parsed flags of one subcommand.
///
/// Invariant: every key present was declared by the subcommand (see [`Args::parse`]).
#[derive(Debug, Default)]
pub struct Args {
    values: BTreeMap<String, Vec<String>>,
}

impl Args {
    /// Parses `args` accepting only the flags in `known` (names without dashes).
    pub fn parse(args: &[String], known: &[&str]) -> Result<Args> {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(flag) = a.strip_prefix("--") else {
                return Err(BenchError::Usage(format!("unexpected argument {a:?}")));
            };
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    let v = it
                        .next()
                        .ok_or_else(|| BenchError::Usage(format!("--{flag} needs a value")))?;
                    (flag.to_string(), v.clone())
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(BenchError::Usage(format!(
                    "unknown flag --{name} (known: {})",
                    known.join(", ")
                )));
            }
            values.entry(name).or_default().push(value);
        }
        Ok(Args { values })
    }

    /// The last value of `name` parsed as `T`, or `default` when absent.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T> {
        match self.values.get(name).and_then(|v| v.last()) {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| BenchError::Usage(format!("--{name}: cannot parse {s:?}"))),
        }
    }

    /// The last value of `name`, which must be present.
    pub fn required<T: FromStr>(&self, name: &str) -> Result<T> {
        let s = self
            .values
            .get(name)
            .and_then(|v| v.last())
            .ok_or_else(|| BenchError::Usage(format!("--{name} is required")))?;
        s.parse()
            .map_err(|_| BenchError::Usage(format!("--{name}: cannot parse {s:?}")))
    }

    /// Every value given for a repeatable flag, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}

/// Parses a duration like `5s`, `500ms`, `2.5s` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration> {
    let bad = || BenchError::Usage(format!("bad duration {s:?}"));
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    if !v.is_finite() || v < 0.0 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs_f64(v * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_both_spellings_and_rejects_unknown() {
        let a = Args::parse(
            &v(&["--rate=10", "--addr", "x:1", "--ch", "a", "--ch=b"]),
            &["rate", "addr", "ch"],
        )
        .expect("valid");
        assert_eq!(a.get("rate", 0u64).expect("rate"), 10);
        assert_eq!(a.required::<String>("addr").expect("addr"), "x:1");
        assert_eq!(a.all("ch"), vec!["a", "b"]);
        assert_eq!(a.get("missing", 7u32).expect("default"), 7);
        assert!(a.required::<u32>("missing").is_err());
        assert!(Args::parse(&v(&["--nope=1"]), &["rate"]).is_err());
        assert!(Args::parse(&v(&["--rate"]), &["rate"]).is_err());
        assert!(Args::parse(&v(&["rate"]), &["rate"]).is_err());
        assert!(a.get::<u64>("addr", 0).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").expect("5s").as_millis(), 5000);
        assert_eq!(parse_duration("250ms").expect("ms").as_millis(), 250);
        assert_eq!(parse_duration("1.5").expect("bare").as_millis(), 1500);
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("xs").is_err());
    }
}
