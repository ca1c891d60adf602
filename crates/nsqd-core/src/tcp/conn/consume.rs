//! Consumer commands: SUB, RDY, FIN, REQ, TOUCH, CLS.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nsq_protocol::frame::{CLOSE_WAIT, OK};
use nsq_protocol::gostr::quote;
use nsq_protocol::names::is_valid_name;
use nsq_protocol::number::parse_base10;
use nsq_protocol::{ClientError, ErrorCode, MessageId};

use super::{CmdResult, Conn};
use crate::client::state;

impl Conn {
    pub(super) async fn sub(&mut self, params: &[&[u8]]) -> CmdResult {
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

    pub(super) fn rdy(&mut self, params: &[&[u8]]) -> CmdResult {
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

    pub(super) fn in_flight_command_checks(
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

    pub(super) fn subscribed_channel(&self) -> Option<Arc<crate::channel::Channel>> {
        self.client.channel.lock().clone()
    }

    pub(super) fn fin(&mut self, params: &[&[u8]]) -> CmdResult {
        let id = self.in_flight_command_checks("FIN", params, 2)?;
        let failed =
            |r: String| ClientError::new(ErrorCode::FinFailed, format!("FIN {id} failed {r}"));
        let ch = self
            .subscribed_channel()
            .ok_or_else(|| failed("ID not in flight".into()))?;
        ch.finish(&id, &self.client)
            .map_err(|e| failed(e.to_string()))?;
        self.wake_pump = true;
        Ok(None)
    }

    pub(super) fn req(&mut self, params: &[&[u8]]) -> CmdResult {
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
        self.wake_pump = true;
        Ok(None)
    }

    pub(super) fn touch(&mut self, params: &[&[u8]]) -> CmdResult {
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

    pub(super) fn cls(&mut self) -> CmdResult {
        if !self.state_is(state::SUBSCRIBED) {
            return Err(ClientError::invalid("cannot CLS in current state"));
        }
        self.client.ready_count.store(0, Ordering::Release);
        self.client.state.store(state::CLOSING, Ordering::Release);
        self.client.pump_wake.notify_one();
        Ok(Some(CLOSE_WAIT))
    }
}
