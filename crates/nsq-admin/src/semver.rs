//! Semantic versions as blang/semver v3 parses and orders them.
//!
//! `/api/nodes` flags an nsqd as `out_of_date` when its version is lower than the highest
//! version in the cluster; versions that do not parse count as `0.0.0`. Only parsing and
//! ordering are needed.

use std::cmp::Ordering;

/// One dot-separated pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pre {
    Num(u64),
    Alnum(String),
}

impl Ord for Pre {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Pre::Num(a), Pre::Num(b)) => a.cmp(b),
            (Pre::Num(_), Pre::Alnum(_)) => Ordering::Less,
            (Pre::Alnum(_), Pre::Num(_)) => Ordering::Greater,
            (Pre::Alnum(a), Pre::Alnum(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Pre {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A parsed version. Build metadata is ignored for ordering, as semver requires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Pre>,
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn numeric(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-pre][+build]`; `None` where blang/semver fails.
    pub fn parse(s: &str) -> Option<Version> {
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        if let Some(b) = build {
            if !b.split('.').all(is_ident) {
                return None;
            }
        }
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let mut parts = core.split('.');
        let major = numeric(parts.next()?)?;
        let minor = numeric(parts.next()?)?;
        let patch = numeric(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        let mut v = Version {
            major,
            minor,
            patch,
            pre: Vec::new(),
        };
        if let Some(p) = pre {
            for id in p.split('.') {
                if !is_ident(id) {
                    return None;
                }
                if id.bytes().all(|b| b.is_ascii_digit()) {
                    v.pre.push(Pre::Num(numeric(id)?));
                } else {
                    v.pre.push(Pre::Alnum(id.to_string()));
                }
            }
        }
        Some(v)
    }

    /// Parses like [`Version::parse`], falling back to `0.0.0` as nsqadmin does.
    pub fn parse_or_zero(s: &str) -> Version {
        Version::parse(s).unwrap_or_default()
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn ordering() {
        assert!(v("1.2.1") < v("1.3.0"));
        assert!(v("1.3.0-alpha") < v("1.3.0"));
        assert!(v("1.3.0-alpha.1") < v("1.3.0-alpha.beta"));
        assert!(v("1.3.0-1") < v("1.3.0-alpha"));
        assert_eq!(v("1.3.0+build.5"), v("1.3.0"));
        assert!(Version::parse_or_zero("unknown") < v("0.0.1"));
        assert_eq!(Version::parse("1.3"), None);
        assert_eq!(Version::parse("01.3.0"), None);
        assert_eq!(Version::parse("1.3.0-"), None);
    }
}
