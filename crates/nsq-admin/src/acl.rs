//! Who may change the cluster, and who may reconfigure nsqadmin.
//!
//! Admin actions (create, delete, pause, unpause, empty, tombstone) are allowed to
//! everyone unless `--admin-user` names users; then the value of the `--acl-http-header`
//! request header (set by an authenticating proxy) must be one of them. `/config/:opt` is
//! guarded separately by the peer's IP (`--allow-config-from-cidr`).

use axum::http::HeaderMap;
use nsq_http::axum;

use crate::cidr::{peer_ip, Cidr};
use crate::options::Options;

/// Whether a request with `headers` may perform admin actions under `opts`.
pub fn is_admin(opts: &Options, headers: &HeaderMap) -> bool {
    if opts.admin_users.is_empty() {
        return true;
    }
    let user = headers
        .get(opts.acl_http_header.as_str())
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    opts.admin_users.iter().any(|u| u == user)
}

/// Why a `/config` request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigDenied {
    /// The peer address is not `ip:port` (400 `INVALID_REMOTE_ADDR`).
    #[error("INVALID_REMOTE_ADDR")]
    InvalidRemoteAddr,
    /// The peer is outside the allowed CIDR (403 `FORBIDDEN`).
    #[error("FORBIDDEN")]
    Forbidden,
}

/// Applies `--allow-config-from-cidr` (`None` = check disabled) to the TCP peer `remote`.
pub fn check_config_peer(cidr: Option<&Cidr>, remote: &str) -> Result<(), ConfigDenied> {
    let Some(cidr) = cidr else { return Ok(()) };
    let ip = peer_ip(remote).ok_or(ConfigDenied::InvalidRemoteAddr)?;
    if cidr.contains(ip) {
        Ok(())
    } else {
        Err(ConfigDenied::Forbidden)
    }
}

/// The user name of an `Authorization: Basic …` header (empty if absent or malformed),
/// which the reference reports as `user` in notifications.
pub fn basic_auth_user(headers: &HeaderMap) -> String {
    let Some(v) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return String::new();
    };
    let Some((scheme, b64)) = v.split_once(' ') else {
        return String::new();
    };
    if scheme != "Basic" {
        return String::new();
    }
    match base64_std_decode(b64) {
        Some(raw) => {
            let s = String::from_utf8_lossy(&raw);
            match s.split_once(':') {
                Some((user, _)) => user.to_string(),
                None => String::new(),
            }
        }
        None => String::new(),
    }
}

/// Standard base64 with padding (Go's `base64.StdEncoding.EncodeToString`).
pub fn base64_std_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Strict standard base64 (with padding), as Go's `base64.StdEncoding.DecodeString`.
fn base64_std_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if b.len() & 3 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, chunk) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn admin_users() {
        let mut o = Options::default();
        let mut h = HeaderMap::new();
        assert!(is_admin(&o, &h));
        o.admin_users = vec!["bob".into()];
        assert!(!is_admin(&o, &h));
        h.insert("x-forwarded-user", HeaderValue::from_static("bob"));
        assert!(is_admin(&o, &h));
        o.acl_http_header = "X-User".into();
        assert!(!is_admin(&o, &h));
    }

    #[test]
    fn config_peers() {
        let c = Cidr::parse("127.0.0.1/8").unwrap();
        assert_eq!(check_config_peer(Some(&c), "127.0.0.1:9"), Ok(()));
        assert_eq!(
            check_config_peer(Some(&c), "10.1.1.1:9"),
            Err(ConfigDenied::Forbidden)
        );
        assert_eq!(
            check_config_peer(Some(&c), "@"),
            Err(ConfigDenied::InvalidRemoteAddr)
        );
        assert_eq!(check_config_peer(None, "@"), Ok(()));
    }

    #[test]
    fn basic_auth() {
        let mut h = HeaderMap::new();
        assert_eq!(basic_auth_user(&h), "");
        // alice:pw
        h.insert(
            "authorization",
            HeaderValue::from_static("Basic YWxpY2U6cHc="),
        );
        assert_eq!(basic_auth_user(&h), "alice");
        h.insert("authorization", HeaderValue::from_static("Basic YWxpY2U"));
        assert_eq!(basic_auth_user(&h), "");
        h.insert(
            "authorization",
            HeaderValue::from_static("Bearer YWxpY2U6cHc="),
        );
        assert_eq!(basic_auth_user(&h), "");
        assert_eq!(base64_std_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_std_decode("YWI=").unwrap(), b"ab");
        assert!(base64_std_decode("Y===").is_none());
        for s in ["", "a", "ab", "abc", "user:pass"] {
            assert_eq!(
                base64_std_decode(&base64_std_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_std_encode(b"alice:pw"), "YWxpY2U6cHc=");
    }
}
