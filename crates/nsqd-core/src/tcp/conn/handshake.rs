//! IDENTIFY (validation, feature negotiation, TLS/snappy/deflate upgrades) and AUTH.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use nsq_protocol::frame::{write_frame, OK};
use nsq_protocol::{ClientError, ErrorCode, FrameType};

use super::{CmdResult, Conn};
use crate::client::state;
use crate::tcp::authz::Peer;
use crate::tcp::identify::{self, IdentifyData, Negotiated, Upgrades};
use crate::tcp::upgrade;

impl Conn {
    pub(super) async fn identify(&mut self) -> CmdResult {
        if !self.state_is(state::INIT) {
            return Err(ClientError::invalid("cannot IDENTIFY in current state"));
        }
        let max_body = self.daemon.opts.max_body_size;
        let body = self.read_sized_body("IDENTIFY", max_body).await?;
        let data = IdentifyData::decode(&body).map_err(|_| {
            ClientError::new(ErrorCode::BadBody, "IDENTIFY failed to decode JSON body")
        })?;
        tracing::debug!("PROTOCOL(V2): [{}] {:?}", self.client.remote_addr, data);
        {
            let mut m = self.client.meta.lock();
            m.client_id = data.client_id.clone();
            m.hostname = data.hostname.clone();
            m.user_agent = data.user_agent.clone();
            m.topology_region = data.topology_region.clone();
            m.topology_zone = data.topology_zone.clone();
        }
        let opts = Arc::clone(&self.daemon.opts);
        let n = identify::validate(&data, &opts, self.negotiated)
            .map_err(|r| ClientError::new(ErrorCode::BadBody, format!("IDENTIFY {r}")))?;
        self.negotiated = n;
        self.apply_negotiated(&n);
        if !data.feature_negotiation {
            return Ok(Some(OK));
        }
        let mut up = Upgrades {
            tls: self.security.tls.is_some() && data.tls_v1,
            snappy: opts.snappy && data.snappy,
            deflate: opts.deflate && data.deflate,
            deflate_level: 6,
        };
        if up.deflate && data.deflate_level > 0 {
            up.deflate_level = data.deflate_level;
        }
        up.deflate_level = up.deflate_level.min(opts.max_deflate_level);
        if up.deflate && up.snappy {
            return Err(ClientError::new(
                ErrorCode::IdentifyFailed,
                "cannot enable both deflate and snappy compression",
            ));
        }
        let json = identify::response_json(&opts, &n, &up, self.security.auth.is_some());
        write_frame(&mut self.out, FrameType::Response, json.as_bytes());
        if up.tls || up.snappy || up.deflate {
            self.upgrade(&up).await?;
        }
        Ok(None)
    }

    /// Sends the IDENTIFY answer, then performs the negotiated upgrades in the reference's
    /// order (TLS, snappy, deflate), each acknowledged by an `OK` in the new encoding. The
    /// writer stays locked throughout so the pump cannot interleave a frame.
    pub(super) async fn upgrade(&mut self, up: &Upgrades) -> Result<(), ClientError> {
        let failed = |e: &dyn std::fmt::Display| {
            ClientError::new(ErrorCode::IdentifyFailed, format!("IDENTIFY failed {e}"))
        };
        let writer = Arc::clone(&self.writer);
        let mut w = writer.lock().await;
        self.flush_out_to(&mut w).await.map_err(|e| failed(&e))?;
        let already = {
            let m = self.client.meta.lock();
            m.tls || m.snappy || m.deflate
        };
        if already {
            // A repeated IDENTIFY cannot stack another upgrade on an upgraded stream.
            return Err(failed(&"connection already upgraded"));
        }
        if up.tls {
            tracing::info!(
                "PROTOCOL(V2): [{}] upgrading connection to TLS",
                self.client.remote_addr
            );
            let config = self
                .security
                .tls
                .clone()
                .ok_or_else(|| failed(&"TLS not configured"))?;
            let info = upgrade::tls(&mut self.reader, &mut w, config)
                .await
                .map_err(|e| failed(&e))?;
            {
                let mut m = self.client.meta.lock();
                m.tls = true;
                m.tls_version = info.version;
                m.tls_cipher_suite = info.cipher_suite;
            }
            self.tls_common_name = info.common_name;
            write_frame(&mut self.out, FrameType::Response, OK);
            self.flush_out_to(&mut w).await.map_err(|e| failed(&e))?;
        }
        if up.snappy {
            tracing::info!(
                "PROTOCOL(V2): [{}] upgrading connection to snappy",
                self.client.remote_addr
            );
            upgrade::snappy(&mut self.reader, &mut w);
            self.client.meta.lock().snappy = true;
            write_frame(&mut self.out, FrameType::Response, OK);
            self.flush_out_to(&mut w).await.map_err(|e| failed(&e))?;
        }
        if up.deflate {
            tracing::info!(
                "PROTOCOL(V2): [{}] upgrading connection to deflate (level {})",
                self.client.remote_addr,
                up.deflate_level
            );
            // The level is within 1..=9 (clamped to --max-deflate-level, itself 1..=9).
            upgrade::deflate(
                &mut self.reader,
                &mut w,
                up.deflate_level.clamp(1, 9) as u32,
            );
            self.client.meta.lock().deflate = true;
            write_frame(&mut self.out, FrameType::Response, OK);
            self.flush_out_to(&mut w).await.map_err(|e| failed(&e))?;
        }
        Ok(())
    }

    /// What the auth server is told about this connection.
    pub(super) fn peer(&self) -> (bool, String) {
        (self.client.meta.lock().tls, self.client.remote_addr.clone())
    }

    /// Runs the auth check for `cmd` (see [`AuthSession::check`]), then mirrors the auth
    /// state into the stats fields.
    pub(super) async fn check_auth(
        &mut self,
        cmd: &str,
        topic: &[u8],
        channel: &[u8],
    ) -> Result<(), ClientError> {
        if self.security.auth.is_none() {
            return Ok(());
        }
        let security = Arc::clone(&self.security);
        let (tls, remote_addr) = self.peer();
        let peer = Peer {
            remote_ip: &self.remote_ip,
            tls,
            common_name: &self.tls_common_name,
            remote_addr: &remote_addr,
        };
        let res = self
            .authz
            .check(security.auth.as_ref(), cmd, topic, channel, peer)
            .await;
        self.sync_auth_meta();
        res
    }

    pub(super) fn sync_auth_meta(&self) {
        let mut m = self.client.meta.lock();
        m.authed = self.authz.has_authorizations();
        if let Some(s) = self.authz.state() {
            m.auth_identity = s.identity.clone();
            m.auth_identity_url = s.identity_url.clone();
        }
    }

    pub(super) fn apply_negotiated(&self, n: &Negotiated) {
        let c = &self.client;
        c.heartbeat_ms.store(n.heartbeat_ms, Ordering::Relaxed);
        c.output_buffer_size
            .store(n.output_buffer_size, Ordering::Relaxed);
        let default_obt = self.daemon.opts.output_buffer_timeout.as_millis() as i64;
        let timer = if n.output_buffer_timeout_ms != default_obt {
            n.output_buffer_timeout_ms
        } else {
            0
        };
        c.timer_flush_ms.store(timer, Ordering::Relaxed);
        c.sample_rate.store(n.sample_rate as u8, Ordering::Relaxed);
        c.msg_timeout_ns
            .store(n.msg_timeout_ms * 1_000_000, Ordering::Relaxed);
        {
            let mut m = c.meta.lock();
            m.output_buffer_size = n.output_buffer_size;
            m.output_buffer_timeout_ms = n.output_buffer_timeout_ms;
        }
        c.pump_wake.notify_one();
    }

    pub(super) async fn auth(&mut self, params: &[&[u8]]) -> CmdResult {
        if !self.state_is(state::INIT) {
            return Err(ClientError::invalid("cannot AUTH in current state"));
        }
        if params.len() != 1 {
            return Err(ClientError::invalid("AUTH invalid number of parameters"));
        }
        let max_body = self.daemon.opts.max_body_size;
        let secret = self.read_sized_body("AUTH", max_body).await?;
        let security = Arc::clone(&self.security);
        let (tls, remote_addr) = self.peer();
        let peer = Peer {
            remote_ip: &self.remote_ip,
            tls,
            common_name: &self.tls_common_name,
            remote_addr: &remote_addr,
        };
        let res = self.authz.auth(security.auth.as_ref(), &secret, peer).await;
        self.sync_auth_meta();
        let json = res?;
        write_frame(&mut self.out, FrameType::Response, json.as_bytes());
        Ok(None)
    }
}
