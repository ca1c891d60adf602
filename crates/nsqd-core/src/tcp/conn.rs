//! One client connection's IO loop: reads commands strictly in order, executes them, and
//! writes responses. Responses to pipelined commands are batched into one write, which is
//! issued before the loop blocks on the socket again.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use nsq_protocol::frame::{write_frame, CLOSE_WAIT, OK};
use nsq_protocol::gostr::quote;
use nsq_protocol::names::is_valid_name;
use nsq_protocol::number::parse_base10;
use nsq_protocol::{ClientError, CommandName, ErrorCode, FrameType, MessageId};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex as AsyncMutex;

use super::authz::{AuthSession, Peer};
use super::identify::{self, IdentifyData, Negotiated, Upgrades};
use super::reader::{CommandReader, ReadError};
use super::transport::ConnWriter;
use super::upgrade;
use crate::client::{state, Client};
use crate::daemon::Daemon;
use crate::options::TlsRequired;
use crate::security::Security;
use crate::topic::Topic;

type CmdResult = Result<Option<&'static [u8]>, ClientError>;

/// The IO loop's state for one connection.
pub struct Conn {
    daemon: Arc<Daemon>,
    client: Arc<Client>,
    reader: CommandReader,
    writer: Arc<AsyncMutex<ConnWriter>>,
    /// Responses not yet written.
    out: BytesMut,
    negotiated: Negotiated,
    /// Last topic published to, to skip the topic-map lookup on the hot path.
    topic_cache: Option<Arc<Topic>>,
    /// TLS and auth configuration.
    security: Arc<Security>,
    /// The client's IP for the auth server (empty for unix sockets).
    remote_ip: String,
    /// Subject CN of the client certificate after a TLS upgrade.
    tls_common_name: String,
    /// AUTH secret and the auth server's answer.
    authz: AuthSession,
}

/// Why a body could not be read: maps to the command's "failed to read ..." texts.
enum BodyError {
    Read(ReadError),
}

impl Conn {
    /// Sets up the IO loop state.
    pub fn new(
        daemon: Arc<Daemon>,
        client: Arc<Client>,
        reader: CommandReader,
        writer: Arc<AsyncMutex<ConnWriter>>,
        security: Arc<Security>,
    ) -> Conn {
        let remote_ip = super::listener::split_host_port(&client.remote_addr)
            .map(|(host, _)| host)
            .unwrap_or_default();
        let negotiated = Negotiated {
            heartbeat_ms: client.heartbeat_ms.load(Ordering::Relaxed),
            output_buffer_size: client.output_buffer_size.load(Ordering::Relaxed),
            output_buffer_timeout_ms: daemon.opts.output_buffer_timeout.as_millis() as i64,
            sample_rate: 0,
            msg_timeout_ms: daemon.opts.msg_timeout.as_millis() as i64,
        };
        Conn {
            daemon,
            client,
            reader,
            writer,
            out: BytesMut::with_capacity(1024),
            negotiated,
            topic_cache: None,
            security,
            remote_ip,
            tls_common_name: String::new(),
            authz: AuthSession::default(),
        }
    }

    /// Runs until EOF, a fatal error, a read deadline, or a close request.
    pub async fn run(mut self) {
        loop {
            self.arm_deadline();
            let line = match self.next_line().await {
                Ok(l) => l,
                Err(e) => {
                    match e {
                        ReadError::Eof => {}
                        ReadError::Io(ref io)
                            if io.kind() == std::io::ErrorKind::Other
                                && self.client.exiting.load(Ordering::Acquire) => {}
                        e => tracing::error!(
                            "[{}] IOLoop error - failed to read command - {e}",
                            self.client.remote_addr
                        ),
                    }
                    break;
                }
            };
            let line = nsq_protocol::command::trim_line(&line).to_vec();
            match self.exec(&line).await {
                Ok(Some(resp)) => write_frame(&mut self.out, FrameType::Response, resp),
                Ok(None) => {}
                Err(err) => {
                    write_frame(&mut self.out, FrameType::Error, err.to_string().as_bytes());
                    if err.is_fatal() {
                        tracing::error!("[{}] - {err}", self.client.remote_addr);
                        let _ = self.flush_out().await;
                        break;
                    }
                }
            }
        }
        let _ = self.flush_out().await;
    }

    fn arm_deadline(&mut self) {
        let hb = self.client.heartbeat_ms.load(Ordering::Relaxed);
        self.reader.deadline =
            (hb > 0).then(|| tokio::time::Instant::now() + Duration::from_millis(2 * hb as u64));
    }

    /// Writes pending responses.
    async fn flush_out(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let writer = Arc::clone(&self.writer);
        let mut w = writer.lock().await;
        self.flush_out_to(&mut w).await
    }

    /// Writes (and flushes, for the TLS and compression layers) pending responses through an
    /// already locked writer, bounded by the heartbeat interval as the write deadline.
    async fn flush_out_to(&mut self, w: &mut ConnWriter) -> std::io::Result<()> {
        let hb = self.client.heartbeat_ms.load(Ordering::Relaxed);
        let write = async {
            w.write_all(&self.out).await?;
            w.flush().await
        };
        let res = if hb > 0 {
            match tokio::time::timeout(Duration::from_millis(hb as u64), write).await {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "write deadline exceeded",
                )),
            }
        } else {
            write.await
        };
        self.out.clear();
        res
    }

    /// Reads more bytes, first writing any pending responses (the client may be waiting for
    /// them before it sends more), and stopping early if the connection must close.
    async fn fill(&mut self) -> Result<(), ReadError> {
        if !self.out.is_empty() {
            self.flush_out().await?;
        }
        if self.client.exiting.load(Ordering::Acquire) {
            return Err(ReadError::Eof);
        }
        let client = Arc::clone(&self.client);
        tokio::select! {
            r = self.reader.fill() => r,
            _ = client.close_wake.notified() => Err(ReadError::Eof),
        }
    }

    async fn next_line(&mut self) -> Result<BytesMut, ReadError> {
        loop {
            if let Some(line) = self.reader.take_line()? {
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    async fn read_i32(&mut self) -> Result<i32, BodyError> {
        loop {
            if let Some(v) = self.reader.take_i32() {
                return Ok(v);
            }
            self.fill().await.map_err(BodyError::Read)?;
        }
    }

    async fn read_bytes(&mut self, n: usize) -> Result<Bytes, BodyError> {
        self.reader.reserve_for(n);
        loop {
            if let Some(b) = self.reader.take_bytes(n) {
                return Ok(b);
            }
            self.fill().await.map_err(BodyError::Read)?;
        }
    }

    async fn exec(&mut self, line: &[u8]) -> CmdResult {
        let params: Vec<&[u8]> = nsq_protocol::split_params(line);
        let name = params[0];
        let cmd = CommandName::parse(name);
        if cmd != Some(CommandName::Identify) && self.tls_required_but_missing() {
            return Err(ClientError::invalid(format!(
                "cannot {} in current state (TLS required)",
                String::from_utf8_lossy(name)
            )));
        }
        let Some(cmd) = cmd else {
            return Err(ClientError::invalid(format!(
                "invalid command {}",
                String::from_utf8_lossy(name)
            )));
        };
        match cmd {
            CommandName::Nop => Ok(None),
            CommandName::Identify => self.identify().await,
            CommandName::Auth => self.auth(&params).await,
            CommandName::Sub => self.sub(&params).await,
            CommandName::Rdy => self.rdy(&params),
            CommandName::Fin => self.fin(&params),
            CommandName::Req => self.req(&params),
            CommandName::Touch => self.touch(&params),
            CommandName::Cls => self.cls(),
            CommandName::Pub => self.publish(&params).await,
            CommandName::Mpub => self.mpub(&params).await,
            CommandName::Dpub => self.dpub(&params).await,
        }
    }

    fn tls_required_but_missing(&self) -> bool {
        self.daemon.opts.tls_required != TlsRequired::No && !self.client.meta.lock().tls
    }

    fn state_is(&self, s: u8) -> bool {
        self.client.state() == s
    }

    async fn read_sized_body(&mut self, cmd: &str, max: i64) -> Result<Bytes, ClientError> {
        let bad = |d: String| ClientError::new(ErrorCode::BadBody, d);
        let size = self
            .read_i32()
            .await
            .map_err(|_| bad(format!("{cmd} failed to read body size")))?;
        if i64::from(size) > max {
            return Err(bad(format!("{cmd} body too big {size} > {max}")));
        }
        if size <= 0 {
            return Err(bad(format!("{cmd} invalid body size {size}")));
        }
        self.read_bytes(size as usize)
            .await
            .map_err(|_| bad(format!("{cmd} failed to read body")))
    }

    async fn identify(&mut self) -> CmdResult {
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
    async fn upgrade(&mut self, up: &Upgrades) -> Result<(), ClientError> {
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
    fn peer(&self) -> (bool, String) {
        (self.client.meta.lock().tls, self.client.remote_addr.clone())
    }

    /// Runs the auth check for `cmd` (see [`AuthSession::check`]), then mirrors the auth
    /// state into the stats fields.
    async fn check_auth(
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

    fn sync_auth_meta(&self) {
        let mut m = self.client.meta.lock();
        m.authed = self.authz.has_authorizations();
        if let Some(s) = self.authz.state() {
            m.auth_identity = s.identity.clone();
            m.auth_identity_url = s.identity_url.clone();
        }
    }

    fn apply_negotiated(&self, n: &Negotiated) {
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

    async fn auth(&mut self, params: &[&[u8]]) -> CmdResult {
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

    async fn sub(&mut self, params: &[&[u8]]) -> CmdResult {
        if !self.state_is(state::INIT) {
            return Err(ClientError::invalid("cannot SUB in current state"));
        }
        if self.client.heartbeat_ms.load(Ordering::Relaxed) <= 0 {
            return Err(ClientError::invalid("cannot SUB with heartbeats disabled"));
        }
        if params.len() < 3 {
            return Err(ClientError::invalid(
                "SUB insufficient number of parameters",
            ));
        }
        let (t, c) = (params[1], params[2]);
        if !is_valid_name(t) {
            return Err(ClientError::new(
                ErrorCode::BadTopic,
                format!("SUB topic name {} is not valid", quote(t)),
            ));
        }
        if !is_valid_name(c) {
            return Err(ClientError::new(
                ErrorCode::BadChannel,
                format!("SUB channel name {} is not valid", quote(c)),
            ));
        }
        self.check_auth("SUB", t, c).await?;
        // Names are ASCII after validation.
        let topic_name = String::from_utf8_lossy(t).into_owned();
        let channel_name = String::from_utf8_lossy(c).into_owned();
        let mut retried = false;
        let channel = loop {
            let topic = self
                .daemon
                .get_or_create_topic(&topic_name)
                .ok_or_else(|| ClientError::new(ErrorCode::SubFailed, "SUB failed exiting"))?;
            let channel = topic.get_or_create_channel(&channel_name);
            channel
                .add_client(&self.client)
                .map_err(|e| ClientError::new(ErrorCode::SubFailed, format!("SUB failed {e}")))?;
            if (channel.ephemeral && channel.is_exiting())
                || (topic.ephemeral && topic.is_exiting())
            {
                channel.remove_client(self.client.id);
                if retried {
                    return Err(ClientError::new(
                        ErrorCode::SubFailed,
                        "SUB failed to deleted topic/channel",
                    ));
                }
                retried = true;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            break channel;
        };
        *self.client.channel.lock() = Some(channel);
        self.client
            .state
            .store(state::SUBSCRIBED, Ordering::Release);
        self.client.pump_wake.notify_one();
        Ok(Some(OK))
    }

    fn rdy(&mut self, params: &[&[u8]]) -> CmdResult {
        let st = self.client.state();
        if st == state::CLOSING {
            return Ok(None);
        }
        if st != state::SUBSCRIBED {
            return Err(ClientError::invalid("cannot RDY in current state"));
        }
        let count: i64 = match params.get(1) {
            None => 1,
            Some(p) => parse_base10(p).map_err(|_| {
                ClientError::invalid(format!(
                    "RDY could not parse count {}",
                    String::from_utf8_lossy(p)
                ))
            })? as i64,
        };
        let max = self.daemon.opts.max_rdy_count;
        if count < 0 || count > max {
            return Err(ClientError::invalid(format!(
                "RDY count {count} out of range 0-{max}"
            )));
        }
        self.client.ready_count.store(count, Ordering::Release);
        self.client.pump_wake.notify_one();
        Ok(None)
    }

    fn in_flight_command_checks(
        &self,
        cmd: &str,
        params: &[&[u8]],
        min_params: usize,
    ) -> Result<MessageId, ClientError> {
        let st = self.client.state();
        if st != state::SUBSCRIBED && st != state::CLOSING {
            return Err(ClientError::invalid(format!(
                "cannot {cmd} in current state"
            )));
        }
        if params.len() < min_params {
            return Err(ClientError::invalid(format!(
                "{cmd} insufficient number of params"
            )));
        }
        MessageId::from_slice(params[1]).ok_or_else(|| ClientError::invalid("invalid message ID"))
    }

    fn subscribed_channel(&self) -> Option<Arc<crate::channel::Channel>> {
        self.client.channel.lock().clone()
    }

    fn fin(&mut self, params: &[&[u8]]) -> CmdResult {
        let id = self.in_flight_command_checks("FIN", params, 2)?;
        let failed =
            |r: String| ClientError::new(ErrorCode::FinFailed, format!("FIN {id} failed {r}"));
        let ch = self
            .subscribed_channel()
            .ok_or_else(|| failed("ID not in flight".into()))?;
        ch.finish(&id, &self.client)
            .map_err(|e| failed(e.to_string()))?;
        Ok(None)
    }

    fn req(&mut self, params: &[&[u8]]) -> CmdResult {
        let id = self.in_flight_command_checks("REQ", params, 3)?;
        let ms = parse_base10(params[2]).map_err(|_| {
            ClientError::invalid(format!(
                "REQ could not parse timeout {}",
                String::from_utf8_lossy(params[2])
            ))
        })?;
        let max = self.daemon.opts.max_req_timeout.as_nanos() as i64;
        let mut delay = (ms as i64).wrapping_mul(1_000_000);
        if delay < 0 {
            delay = 0;
        } else if delay > max {
            tracing::info!(
                "PROTOCOL(V2): [{}] REQ timeout {} out of range 0-{}. Setting to max.",
                self.client.remote_addr,
                ms,
                max / 1_000_000
            );
            delay = max;
        }
        let failed =
            |r: String| ClientError::new(ErrorCode::ReqFailed, format!("REQ {id} failed {r}"));
        let ch = self
            .subscribed_channel()
            .ok_or_else(|| failed("ID not in flight".into()))?;
        ch.requeue(&id, &self.client, delay)
            .map_err(|e| failed(e.to_string()))?;
        Ok(None)
    }

    fn touch(&mut self, params: &[&[u8]]) -> CmdResult {
        let id = self.in_flight_command_checks("TOUCH", params, 2)?;
        let failed =
            |r: String| ClientError::new(ErrorCode::TouchFailed, format!("TOUCH {id} failed {r}"));
        let ch = self
            .subscribed_channel()
            .ok_or_else(|| failed("ID not in flight".into()))?;
        ch.touch(&id, &self.client)
            .map_err(|e| failed(e.to_string()))?;
        Ok(None)
    }

    fn cls(&mut self) -> CmdResult {
        if !self.state_is(state::SUBSCRIBED) {
            return Err(ClientError::invalid("cannot CLS in current state"));
        }
        self.client.ready_count.store(0, Ordering::Release);
        self.client.state.store(state::CLOSING, Ordering::Release);
        self.client.pump_wake.notify_one();
        Ok(Some(CLOSE_WAIT))
    }

    /// The topic to publish to, from the per-connection cache when possible.
    fn publish_topic(&mut self, name: &[u8]) -> Option<Arc<Topic>> {
        if let Some(t) = &self.topic_cache {
            if t.name.as_bytes() == name && !t.is_exiting() {
                return Some(Arc::clone(t));
            }
        }
        let t = self
            .daemon
            .get_or_create_topic(&String::from_utf8_lossy(name))?;
        self.topic_cache = Some(Arc::clone(&t));
        Some(t)
    }

    fn count_publish(&self, topic: &str, n: u64) {
        let mut m = self.client.meta.lock();
        match m.pub_counts.get_mut(topic) {
            Some(c) => *c += n,
            None => {
                m.pub_counts.insert(topic.to_string(), n);
            }
        }
    }

    async fn read_message_body(&mut self, cmd: &str) -> Result<Bytes, ClientError> {
        let bad = |d: String| ClientError::new(ErrorCode::BadMessage, d);
        let size = self
            .read_i32()
            .await
            .map_err(|_| bad(format!("{cmd} failed to read message body size")))?;
        if size <= 0 {
            return Err(bad(format!("{cmd} invalid message body size {size}")));
        }
        let max = self.daemon.opts.max_msg_size;
        if i64::from(size) > max {
            return Err(bad(format!("{cmd} message too big {size} > {max}")));
        }
        self.read_bytes(size as usize)
            .await
            .map_err(|_| bad(format!("{cmd} failed to read message body")))
    }

    async fn publish(&mut self, params: &[&[u8]]) -> CmdResult {
        if params.len() < 2 {
            return Err(ClientError::invalid(
                "PUB insufficient number of parameters",
            ));
        }
        let t = params[1];
        if !is_valid_name(t) {
            return Err(ClientError::new(
                ErrorCode::BadTopic,
                format!("PUB topic name {} is not valid", quote(t)),
            ));
        }
        let body = self.read_message_body("PUB").await?;
        self.check_auth("PUB", t, b"").await?;
        let failed = |r: String| ClientError::new(ErrorCode::PubFailed, format!("PUB failed {r}"));
        let topic = self
            .publish_topic(t)
            .ok_or_else(|| failed("exiting".into()))?;
        topic
            .publish(vec![body], 0)
            .map_err(|e| failed(e.to_string()))?;
        self.count_publish(&topic.name, 1);
        Ok(Some(OK))
    }

    async fn dpub(&mut self, params: &[&[u8]]) -> CmdResult {
        if params.len() < 3 {
            return Err(ClientError::invalid(
                "DPUB insufficient number of parameters",
            ));
        }
        let t = params[1];
        if !is_valid_name(t) {
            return Err(ClientError::new(
                ErrorCode::BadTopic,
                format!("DPUB topic name {} is not valid", quote(t)),
            ));
        }
        let ms = parse_base10(params[2]).map_err(|_| {
            ClientError::invalid(format!(
                "DPUB could not parse timeout {}",
                String::from_utf8_lossy(params[2])
            ))
        })?;
        let max = self.daemon.opts.max_req_timeout;
        let dur = (ms as i64).wrapping_mul(1_000_000);
        if dur < 0 || dur > max.as_nanos() as i64 {
            return Err(ClientError::invalid(format!(
                "DPUB timeout {ms} out of range 0-{}",
                max.as_millis()
            )));
        }
        let body = self.read_message_body("DPUB").await?;
        self.check_auth("DPUB", t, b"").await?;
        let failed =
            |r: String| ClientError::new(ErrorCode::DpubFailed, format!("DPUB failed {r}"));
        let topic = self
            .publish_topic(t)
            .ok_or_else(|| failed("exiting".into()))?;
        topic
            .publish(vec![body], ms)
            .map_err(|e| failed(e.to_string()))?;
        self.count_publish(&topic.name, 1);
        Ok(Some(OK))
    }

    async fn mpub(&mut self, params: &[&[u8]]) -> CmdResult {
        if params.len() < 2 {
            return Err(ClientError::invalid(
                "MPUB insufficient number of parameters",
            ));
        }
        let t = params[1];
        if !is_valid_name(t) {
            return Err(ClientError::new(
                ErrorCode::BadTopic,
                format!("E_BAD_TOPIC MPUB topic name {} is not valid", quote(t)),
            ));
        }
        self.check_auth("MPUB", t, b"").await?;
        let failed =
            |r: String| ClientError::new(ErrorCode::MpubFailed, format!("MPUB failed {r}"));
        // The reference creates the topic before reading the body.
        let topic = self
            .publish_topic(t)
            .ok_or_else(|| failed("exiting".into()))?;
        let bad_body = |d: String| ClientError::new(ErrorCode::BadBody, d);
        let body_size = self
            .read_i32()
            .await
            .map_err(|_| bad_body("MPUB failed to read body size".into()))?;
        if body_size <= 0 {
            return Err(bad_body(format!("MPUB invalid body size {body_size}")));
        }
        let max_body = self.daemon.opts.max_body_size;
        if i64::from(body_size) > max_body {
            return Err(bad_body(format!(
                "MPUB body too big {body_size} > {max_body}"
            )));
        }
        let count = self
            .read_i32()
            .await
            .map_err(|_| bad_body("MPUB failed to read message count".into()))?;
        if count <= 0 || i64::from(count) > (max_body - 4) / 5 {
            return Err(bad_body(format!("MPUB invalid message count {count}")));
        }
        // The declared body size bounds the batch, so reserve it once: all bodies of the
        // batch then share one allocation.
        self.reader.reserve_for(body_size as usize);
        let max_msg = self.daemon.opts.max_msg_size;
        let bad = |d: String| ClientError::new(ErrorCode::BadMessage, d);
        let mut bodies = Vec::with_capacity((count as usize).min(4096));
        for i in 0..count {
            let size = self
                .read_i32()
                .await
                .map_err(|_| bad(format!("MPUB failed to read message({i}) body size")))?;
            if size <= 0 {
                return Err(bad(format!("MPUB invalid message({i}) body size {size}")));
            }
            if i64::from(size) > max_msg {
                return Err(bad(format!("MPUB message too big {size} > {max_msg}")));
            }
            let b = self
                .read_bytes(size as usize)
                .await
                .map_err(|_| bad("MPUB failed to read message body".into()))?;
            bodies.push(b);
        }
        let n = topic
            .publish(bodies, 0)
            .map_err(|e| failed(e.to_string()))?;
        self.count_publish(&topic.name, n as u64);
        Ok(Some(OK))
    }
}

impl From<BodyError> for ReadError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Read(r) => r,
        }
    }
}
