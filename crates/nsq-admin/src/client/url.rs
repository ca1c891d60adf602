//! The small subset of URL handling the upstream client needs.
//!
//! nsqadmin builds its own `http://<host:port>/<path>?<query>` URLs for nsqlookupd and nsqd
//! and also takes two URLs from the operator (the notification endpoint and the graphite
//! URL). [`Url::parse`] splits any of them into what a connection needs (scheme, host,
//! port, request target, optional Basic-auth user info) without pulling in a URL crate.

use std::fmt;

/// A URL the client can fetch.
///
/// Invariant: `scheme` is `http` or `https`; `host` is non-empty and carries no brackets
/// (an IPv6 literal is stored bare); `target` starts with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `http` or `https`.
    pub scheme: String,
    /// The host name or IP literal, without IPv6 brackets.
    pub host: String,
    /// The port (explicit, or 80/443 from the scheme).
    pub port: u16,
    /// Whether the port was written in the URL (then the `Host` header carries it).
    pub explicit_port: bool,
    /// Path and query, e.g. `/stats?format=json`.
    pub target: String,
    /// `user:password` before the host, if any (percent-decoding is not applied).
    pub userinfo: Option<String>,
}

/// Why a URL cannot be fetched; displays as Go's `net/http` / `net/url` texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No `scheme://` prefix, or a scheme other than http/https.
    #[error("unsupported protocol scheme {0:?}")]
    Scheme(String),
    /// The host part is empty.
    #[error("no Host in request URL")]
    NoHost,
    /// The port is not a number in 0..=65535.
    #[error("invalid port {0:?} after host")]
    Port(String),
    /// An IPv6 literal lacks its closing bracket.
    #[error("missing ']' in host")]
    Bracket,
}

impl Url {
    /// Splits `url`. The fragment, if any, is dropped.
    pub fn parse(url: &str) -> Result<Url, UrlError> {
        let (scheme, rest) = match url.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => return Err(UrlError::Scheme(String::new())),
        };
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(UrlError::Scheme(scheme)),
        };
        let rest = rest.split('#').next().unwrap_or("");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        let target = if target.is_empty() {
            "/".to_string()
        } else if target.starts_with('?') {
            format!("/{target}")
        } else {
            target.to_string()
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or(UrlError::Bracket)?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        let (port, explicit_port) = match port {
            None | Some("") => (default_port, false),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => (n, true),
                _ => return Err(UrlError::Port(format!(":{p}"))),
            },
        };
        Ok(Url {
            scheme,
            host,
            port,
            explicit_port,
            target,
            userinfo,
        })
    }

    /// `host:port` with IPv6 brackets, as Go's `net.JoinHostPort` and dial errors print it.
    pub fn host_port(&self) -> String {
        join_host_port(&self.host, self.port)
    }

    /// The `Host` header value: the host (bracketed if IPv6) plus `:port` when the URL
    /// named one.
    pub fn host_header(&self) -> String {
        if self.explicit_port {
            self.host_port()
        } else if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// The same URL with another scheme and port (the 403 → https retry).
    pub fn with_scheme_port(&self, scheme: &str, port: u16) -> Url {
        Url {
            scheme: scheme.to_string(),
            port,
            explicit_port: true,
            ..self.clone()
        }
    }
}

impl fmt::Display for Url {
    /// `scheme://host[:port]target`, without user info (as Go prints request URLs in
    /// errors, minus the password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.host_header(), self.target)
    }
}

/// Go's `net.JoinHostPort`: brackets around hosts containing `:`.
pub fn join_host_port(host: &str, port: impl fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_nsqadmin_builds() {
        let u = Url::parse("http://127.0.0.1:4151/stats?format=json").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("127.0.0.1", 4151, "/stats?format=json")
        );
        assert_eq!(u.to_string(), "http://127.0.0.1:4151/stats?format=json");
        let u = Url::parse("https://[::1]:443?x=1#frag").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 443));
        assert_eq!(u.target, "/?x=1");
        assert_eq!(u.host_port(), "[::1]:443");
        let u = Url::parse("http://user:pw@graphite").unwrap();
        assert_eq!(u.userinfo.as_deref(), Some("user:pw"));
        assert_eq!((u.port, u.host_header().as_str()), (80, "graphite"));
        assert_eq!(u.to_string(), "http://graphite/");
    }

    #[test]
    fn rejects() {
        assert_eq!(
            Url::parse("ftp://x").unwrap_err().to_string(),
            "unsupported protocol scheme \"ftp\""
        );
        assert_eq!(
            Url::parse("x:1").unwrap_err(),
            UrlError::Scheme(String::new())
        );
        assert_eq!(Url::parse("http:///a").unwrap_err(), UrlError::NoHost);
        assert!(Url::parse("http://h:99999/").is_err());
        assert!(Url::parse("http://[::1/").is_err());
    }
}
