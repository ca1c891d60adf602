//! Producer commands: PUB, MPUB, DPUB, and per-connection publish accounting.

use std::sync::Arc;

use bytes::Bytes;
use nsq_protocol::frame::OK;
use nsq_protocol::gostr::quote;
use nsq_protocol::names::is_valid_name;
use nsq_protocol::number::parse_base10;
use nsq_protocol::{ClientError, ErrorCode};

use super::{CmdResult, Conn};
use crate::topic::Topic;

impl Conn {
    /// The topic to publish to, from the per-connection cache when possible.
    pub(super) fn publish_topic(&mut self, name: &[u8]) -> Option<Arc<Topic>> {
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

    pub(super) fn count_publish(&self, topic: &str, n: u64) {
        let mut m = self.client.meta.lock();
        match m.pub_counts.get_mut(topic) {
            Some(c) => *c += n,
            None => {
                m.pub_counts.insert(topic.to_string(), n);
            }
        }
    }

    pub(super) async fn read_message_body(&mut self, cmd: &str) -> Result<Bytes, ClientError> {
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

    pub(super) async fn publish(&mut self, params: &[&[u8]]) -> CmdResult {
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

    pub(super) async fn dpub(&mut self, params: &[&[u8]]) -> CmdResult {
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

    pub(super) async fn mpub(&mut self, params: &[&[u8]]) -> CmdResult {
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
