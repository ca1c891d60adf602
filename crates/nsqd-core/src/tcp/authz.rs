//! One connection's authorization (spec §1.11 AUTH, §7): the `AUTH` command after its body
//! has been read, and the check that PUB, MPUB, DPUB and SUB run, re-querying the auth server
//! with the stored secret once the answer's TTL has run out.
//!
//! The error frames are the reference's exactly; why an auth server query failed is only
//! logged, never sent to the client.

use nsq_protocol::gostr::quote;
use nsq_protocol::{ClientError, ErrorCode};

use crate::auth::{auth_response_json, AuthClient, AuthRequest, State};

/// What the auth server is told about the peer besides the secret.
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    /// Client IP (empty for unix sockets).
    pub remote_ip: &'a str,
    /// Upgraded to TLS.
    pub tls: bool,
    /// Client certificate CN.
    pub common_name: &'a str,
    /// For log lines.
    pub remote_addr: &'a str,
}

/// The secret and the last valid answer. Invariant: `state` is only replaced by a valid
/// answer; a failed query leaves the previous one (and the connection is closed anyway).
#[derive(Debug, Default)]
pub struct AuthSession {
    secret: Vec<u8>,
    state: Option<State>,
}

fn auth_failed() -> ClientError {
    ClientError::new(ErrorCode::AuthFailed, "AUTH failed")
}

impl AuthSession {
    /// The current answer, if any.
    pub fn state(&self) -> Option<&State> {
        self.state.as_ref()
    }

    /// The connection holds at least one authorization.
    pub fn has_authorizations(&self) -> bool {
        self.state.as_ref().is_some_and(State::has_authorizations)
    }

    async fn query(&mut self, client: &AuthClient, peer: Peer<'_>) -> Result<(), ClientError> {
        let req = AuthRequest {
            remote_ip: peer.remote_ip.to_string(),
            tls: peer.tls,
            secret: self.secret.clone(),
            common_name: peer.common_name.to_string(),
        };
        match client.query(&req).await {
            Ok(s) => {
                self.state = Some(s);
                Ok(())
            }
            Err(e) => {
                tracing::warn!("PROTOCOL(V2): [{}] AUTH failed {e}", peer.remote_addr);
                Err(auth_failed())
            }
        }
    }

    /// `AUTH` once its body (`secret`) has been read: returns the JSON answer to send.
    pub async fn auth(
        &mut self,
        client: Option<&AuthClient>,
        secret: &[u8],
        peer: Peer<'_>,
    ) -> Result<String, ClientError> {
        if self.has_authorizations() {
            return Err(ClientError::invalid("AUTH already set"));
        }
        let Some(client) = client else {
            return Err(ClientError::new(ErrorCode::AuthDisabled, "AUTH disabled"));
        };
        self.secret = secret.to_vec();
        self.query(client, peer).await?;
        match self.state.as_ref() {
            Some(s) if s.has_authorizations() => Ok(auth_response_json(s)),
            _ => Err(ClientError::new(
                ErrorCode::Unauthorized,
                "AUTH no authorizations found",
            )),
        }
    }

    /// The reference's `CheckAuth` for `cmd` on `topic`/`channel` (`channel` empty for
    /// publishes). A no-op when auth is disabled.
    pub async fn check(
        &mut self,
        client: Option<&AuthClient>,
        cmd: &str,
        topic: &[u8],
        channel: &[u8],
        peer: Peer<'_>,
    ) -> Result<(), ClientError> {
        let Some(client) = client else {
            return Ok(());
        };
        if !self.has_authorizations() {
            return Err(ClientError::new(
                ErrorCode::AuthFirst,
                format!("AUTH required before {cmd}"),
            ));
        }
        if self.state.as_ref().is_some_and(State::is_expired) {
            self.query(client, peer).await?;
        }
        let allowed = self.state.as_ref().is_some_and(|s| {
            s.is_allowed(
                &String::from_utf8_lossy(topic),
                &String::from_utf8_lossy(channel),
            )
        });
        if !allowed {
            return Err(ClientError::new(
                ErrorCode::Unauthorized,
                format!(
                    "AUTH failed for {cmd} on {} {}",
                    quote(topic),
                    quote(channel)
                ),
            ));
        }
        Ok(())
    }
}
