//! Authorization against `--auth-http-address` servers (spec §7).
//!
//! [`AuthClient::query`] asks the servers (starting at a random one, trying each in turn)
//! what a connection may do, given its remote IP, TLS state, client-certificate CN and the
//! secret it sent with `AUTH`; [`State`] holds the validated answer until its TTL runs out,
//! and decides PUB/SUB permissions. Failures are logged in detail but clients only ever see
//! `E_AUTH_FAILED AUTH failed`, so nothing about the auth servers leaks to them.

pub mod http;
pub mod state;

use std::sync::Arc;

use nsq_protocol::gostr::json_string;
use rand::Rng;
use tokio::time::Instant;

use crate::options::Options;
pub use http::{HttpClient, Method};
pub use state::{Authorization, State, StateError};

/// What the auth server is told about a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthRequest {
    /// The client's IP (empty for unix sockets).
    pub remote_ip: String,
    /// The connection was upgraded to TLS.
    pub tls: bool,
    /// The `AUTH` body, as sent.
    pub secret: Vec<u8>,
    /// Subject CN of the client's TLS certificate, or empty.
    pub common_name: String,
}

impl AuthRequest {
    fn params(&self) -> [(&'static str, std::borrow::Cow<'_, [u8]>); 4] {
        // Sorted by key, as Go's url.Values.Encode and json.Marshal emit them.
        [
            ("common_name", self.common_name.as_bytes().into()),
            ("remote_ip", self.remote_ip.as_bytes().into()),
            ("secret", self.secret.as_slice().into()),
            (
                "tls",
                if self.tls {
                    &b"true"[..]
                } else {
                    &b"false"[..]
                }
                .into(),
            ),
        ]
    }

    /// The GET query string: `common_name=..&remote_ip=..&secret=..&tls=..`, escaped like
    /// Go's `url.QueryEscape`.
    pub fn query_string(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.params().iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(k);
            out.push('=');
            query_escape(v, &mut out);
        }
        out
    }

    /// The POST body: a JSON object of one-element string arrays, like Go's
    /// `json.Marshal(url.Values)`.
    pub fn json_body(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.params().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&json_string(k));
            out.push_str(":[");
            out.push_str(&json_string(&String::from_utf8_lossy(v)));
            out.push(']');
        }
        out.push('}');
        out
    }
}

/// Go's `url.QueryEscape`: unreserved bytes as is, space as `+`, the rest `%XX`.
fn query_escape(v: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in v {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
}

/// The configured auth servers. Invariant: `addresses` is non-empty (auth is enabled iff an
/// `AuthClient` exists).
#[derive(Debug, Clone)]
pub struct AuthClient {
    addresses: Vec<String>,
    method: Method,
    http: HttpClient,
}

/// Every server failed; the text lists each failure (logged only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

impl AuthClient {
    /// The client for `--auth-http-address`/`--auth-http-request-method` and the HTTP
    /// client timeouts, or `None` when no auth server is configured (auth disabled).
    pub fn from_options(opts: &Options, tls: Arc<rustls::ClientConfig>) -> Option<AuthClient> {
        if opts.auth_http_addresses.is_empty() {
            return None;
        }
        Some(AuthClient {
            addresses: opts.auth_http_addresses.clone(),
            method: if opts.auth_http_request_method == "post" {
                Method::Post
            } else {
                Method::Get
            },
            http: HttpClient {
                tls,
                connect_timeout: opts.http_client_connect_timeout,
                request_timeout: opts.http_client_request_timeout,
            },
        })
    }

    /// The endpoint for a configured address: used verbatim if it contains `://`, else
    /// `http://<address>/auth`.
    pub fn endpoint(address: &str) -> String {
        if address.contains("://") {
            address.to_string()
        } else {
            format!("http://{address}/auth")
        }
    }

    /// Asks the servers in turn, from a random one, until one gives a valid answer.
    pub async fn query(&self, req: &AuthRequest) -> Result<State, AuthError> {
        let n = self.addresses.len();
        let start = rand::thread_rng().gen_range(0..n);
        let mut errors: Vec<String> = Vec::new();
        for i in 0..n {
            let address = &self.addresses[(start + i) % n];
            match self.query_one(address, req).await {
                Ok(s) => return Ok(s),
                Err(e) => errors.push(format!("failed to auth against {address} - {e}")),
            }
        }
        Err(AuthError(errors.join("; ")))
    }

    async fn query_one(&self, address: &str, req: &AuthRequest) -> Result<State, String> {
        let endpoint = Self::endpoint(address);
        let body = match self.method {
            Method::Get => {
                let url = format!("{endpoint}?{}", req.query_string());
                self.http.request_v1(Method::Get, &url, None).await
            }
            Method::Post => {
                let json = req.json_body();
                self.http
                    .request_v1(Method::Post, &endpoint, Some(&json))
                    .await
            }
        }
        .map_err(|e| e.to_string())?;
        state::parse(&body, Instant::now()).map_err(|e| e.to_string())
    }
}

/// The success answer to `AUTH`: `{"identity":..,"identity_url":..,"permission_count":N}`
/// where N counts authorization entries.
pub fn auth_response_json(s: &State) -> String {
    format!(
        "{{\"identity\":{},\"identity_url\":{},\"permission_count\":{}}}",
        json_string(&s.identity),
        json_string(&s.identity_url),
        s.authorizations.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> AuthRequest {
        AuthRequest {
            remote_ip: "127.0.0.1".into(),
            tls: false,
            secret: b"pubonly".to_vec(),
            common_name: String::new(),
        }
    }

    #[test]
    fn get_query_matches_reference_capture() {
        assert_eq!(
            req().query_string(),
            "common_name=&remote_ip=127.0.0.1&secret=pubonly&tls=false"
        );
        let r = AuthRequest {
            secret: b"a b&c=d/\xff~".to_vec(),
            tls: true,
            common_name: "test.local".into(),
            ..req()
        };
        assert_eq!(
            r.query_string(),
            "common_name=test.local&remote_ip=127.0.0.1&secret=a+b%26c%3Dd%2F%FF~&tls=true"
        );
    }

    #[test]
    fn post_body_matches_reference_capture() {
        let r = AuthRequest {
            secret: b"pubok".to_vec(),
            ..req()
        };
        assert_eq!(
            r.json_body(),
            r#"{"common_name":[""],"remote_ip":["127.0.0.1"],"secret":["pubok"],"tls":["false"]}"#
        );
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            AuthClient::endpoint("127.0.0.1:4181"),
            "http://127.0.0.1:4181/auth"
        );
        assert_eq!(
            AuthClient::endpoint("https://auth.example/v1/check"),
            "https://auth.example/v1/check"
        );
    }

    #[test]
    fn response_json() {
        let s = state::parse(
            br#"{"ttl":1,"identity":"a<b","authorizations":[{"topic":"t","channels":[".*"],"permissions":["publish"]}]}"#,
            Instant::now(),
        )
        .expect("valid");
        assert_eq!(
            auth_response_json(&s),
            r#"{"identity":"a\u003cb","identity_url":"","permission_count":1}"#
        );
    }
}
