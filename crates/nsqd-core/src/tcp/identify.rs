//! IDENTIFY: decoding the client's JSON the way Go's `encoding/json` would, validating it in
//! the reference's order, and rendering the feature-negotiation response.

use serde_json::Value;

use crate::options::Options;

/// The fields a client may send. Absent or `null` fields keep their zero value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdentifyData {
    /// `client_id`.
    pub client_id: String,
    /// `hostname`.
    pub hostname: String,
    /// `feature_negotiation`.
    pub feature_negotiation: bool,
    /// `heartbeat_interval` ms (-1 disables, 0 default).
    pub heartbeat_interval: i64,
    /// `output_buffer_size` bytes (-1 unbuffered, 0 default).
    pub output_buffer_size: i64,
    /// `output_buffer_timeout` ms (-1 none, 0 default).
    pub output_buffer_timeout: i64,
    /// `tls_v1`.
    pub tls_v1: bool,
    /// `deflate`.
    pub deflate: bool,
    /// `deflate_level`.
    pub deflate_level: i64,
    /// `snappy`.
    pub snappy: bool,
    /// `sample_rate` (Go int32).
    pub sample_rate: i32,
    /// `user_agent`.
    pub user_agent: String,
    /// `msg_timeout` ms (0 default).
    pub msg_timeout: i64,
    /// `topology_region`.
    pub topology_region: String,
    /// `topology_zone`.
    pub topology_zone: String,
}

/// The body was not decodable into [`IdentifyData`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("failed to decode JSON body")]
pub struct DecodeError;

fn as_string(v: &Value) -> Result<Option<String>, DecodeError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(DecodeError),
    }
}

fn as_bool(v: &Value) -> Result<Option<bool>, DecodeError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        _ => Err(DecodeError),
    }
}

fn as_int(v: &Value) -> Result<Option<i64>, DecodeError> {
    match v {
        Value::Null => Ok(None),
        // Go accepts only integer literals for int fields (no `1.0`, no `1e3`).
        Value::Number(n) => n.as_i64().map(Some).ok_or(DecodeError),
        _ => Err(DecodeError),
    }
}

impl IdentifyData {
    /// Decodes a body with Go semantics: keys match case-insensitively, unknown keys are
    /// ignored, type mismatches fail, `null` leaves the zero value, later keys win.
    pub fn decode(body: &[u8]) -> Result<IdentifyData, DecodeError> {
        let v: Value = serde_json::from_slice(body).map_err(|_| DecodeError)?;
        let mut d = IdentifyData::default();
        let obj = match v {
            Value::Null => return Ok(d),
            Value::Object(o) => o,
            _ => return Err(DecodeError),
        };
        for (key, val) in obj.iter() {
            let k = key.to_ascii_lowercase();
            match k.as_str() {
                "client_id" => set(&mut d.client_id, as_string(val)?),
                "hostname" => set(&mut d.hostname, as_string(val)?),
                "user_agent" => set(&mut d.user_agent, as_string(val)?),
                "topology_region" => set(&mut d.topology_region, as_string(val)?),
                "topology_zone" => set(&mut d.topology_zone, as_string(val)?),
                "feature_negotiation" => set(&mut d.feature_negotiation, as_bool(val)?),
                "tls_v1" => set(&mut d.tls_v1, as_bool(val)?),
                "deflate" => set(&mut d.deflate, as_bool(val)?),
                "snappy" => set(&mut d.snappy, as_bool(val)?),
                "heartbeat_interval" => set(&mut d.heartbeat_interval, as_int(val)?),
                "output_buffer_size" => set(&mut d.output_buffer_size, as_int(val)?),
                "output_buffer_timeout" => set(&mut d.output_buffer_timeout, as_int(val)?),
                "deflate_level" => set(&mut d.deflate_level, as_int(val)?),
                "msg_timeout" => set(&mut d.msg_timeout, as_int(val)?),
                "sample_rate" => {
                    if let Some(n) = as_int(val)? {
                        d.sample_rate = i32::try_from(n).map_err(|_| DecodeError)?;
                    }
                }
                _ => {}
            }
        }
        Ok(d)
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// The effective per-connection settings after a successful IDENTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Heartbeat interval in ms; 0 = disabled.
    pub heartbeat_ms: i64,
    /// Output buffer size in bytes.
    pub output_buffer_size: i64,
    /// Output buffer timeout in ms; 0 = no timer flush.
    pub output_buffer_timeout_ms: i64,
    /// Sample rate.
    pub sample_rate: i32,
    /// msg timeout in ms.
    pub msg_timeout_ms: i64,
}

/// Validates in the reference's order (heartbeat, output buffer timeout, output buffer size,
/// sample rate, msg timeout). `current` holds the values before this IDENTIFY. The error is
/// the text after `IDENTIFY ` in the `E_BAD_BODY` frame.
pub fn validate(
    d: &IdentifyData,
    opts: &Options,
    current: Negotiated,
) -> Result<Negotiated, String> {
    let mut n = current;
    let max_hb = opts.max_heartbeat_interval.as_millis() as i64;
    match d.heartbeat_interval {
        -1 => n.heartbeat_ms = 0,
        0 => {}
        v if (1000..=max_hb).contains(&v) => n.heartbeat_ms = v,
        v => return Err(format!("heartbeat interval ({v}) is invalid")),
    }
    let min_obt = opts.min_output_buffer_timeout.as_millis() as i64;
    let max_obt = opts.max_output_buffer_timeout.as_millis() as i64;
    match d.output_buffer_timeout {
        -1 => n.output_buffer_timeout_ms = 0,
        0 => {}
        v if (min_obt..=max_obt).contains(&v) => n.output_buffer_timeout_ms = v,
        v => return Err(format!("output buffer timeout ({v}) is invalid")),
    }
    match d.output_buffer_size {
        -1 => {
            n.output_buffer_size = 1;
            n.output_buffer_timeout_ms = 0;
        }
        0 => {}
        v if (64..=opts.max_output_buffer_size).contains(&v) => n.output_buffer_size = v,
        v => return Err(format!("output buffer size ({v}) is invalid")),
    }
    if !(0..=99).contains(&d.sample_rate) {
        return Err(format!("sample rate ({}) is invalid", d.sample_rate));
    }
    n.sample_rate = d.sample_rate;
    let max_mt = opts.max_msg_timeout.as_millis() as i64;
    match d.msg_timeout {
        0 => {}
        v if (1000..=max_mt).contains(&v) => n.msg_timeout_ms = v,
        v => return Err(format!("msg timeout ({v}) is invalid")),
    }
    Ok(n)
}

/// What the server agreed to upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Upgrades {
    /// TLS.
    pub tls: bool,
    /// Snappy.
    pub snappy: bool,
    /// Deflate.
    pub deflate: bool,
    /// Effective deflate level.
    pub deflate_level: i64,
}

/// Renders the feature-negotiation response with the reference's key order.
pub fn response_json(opts: &Options, n: &Negotiated, up: &Upgrades, auth_required: bool) -> String {
    use nsq_protocol::gostr::json_string;
    format!(
        "{{\"max_rdy_count\":{},\"version\":{},\"max_msg_timeout\":{},\"msg_timeout\":{},\
\"tls_v1\":{},\"deflate\":{},\"deflate_level\":{},\"max_deflate_level\":{},\"snappy\":{},\
\"sample_rate\":{},\"auth_required\":{},\"output_buffer_size\":{},\
\"output_buffer_timeout\":{},\"topology_region\":{},\"topology_zone\":{}}}",
        opts.max_rdy_count,
        json_string(nsq_protocol::NSQ_VERSION),
        opts.max_msg_timeout.as_millis(),
        n.msg_timeout_ms,
        up.tls,
        up.deflate,
        up.deflate_level,
        opts.max_deflate_level,
        up.snappy,
        n.sample_rate,
        auth_required,
        n.output_buffer_size,
        n.output_buffer_timeout_ms,
        json_string(&opts.topology_region),
        json_string(&opts.topology_zone),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Negotiated {
        Negotiated {
            heartbeat_ms: 30_000,
            output_buffer_size: 16384,
            output_buffer_timeout_ms: 250,
            sample_rate: 0,
            msg_timeout_ms: 60_000,
        }
    }

    #[test]
    fn go_json_rules() {
        let d =
            IdentifyData::decode(br#"{"HEARTBEAT_INTERVAL":500,"short_id":"x","client_id":null}"#)
                .expect("ok");
        assert_eq!(d.heartbeat_interval, 500);
        assert!(IdentifyData::decode(br#"{"heartbeat_interval":"1000"}"#).is_err());
        assert!(IdentifyData::decode(br#"{"tls_v1":"true"}"#).is_err());
        assert!(IdentifyData::decode(br#"{"msg_timeout":1000.5}"#).is_err());
        assert!(IdentifyData::decode(br#"{"sample_rate":3000000000}"#).is_err());
        assert!(IdentifyData::decode(br#"[]"#).is_err());
        assert!(IdentifyData::decode(b"nope").is_err());
        assert_eq!(IdentifyData::decode(b"null"), Ok(IdentifyData::default()));
    }

    #[test]
    fn validation_order_and_texts() {
        let o = Options::default();
        let mut d = IdentifyData {
            heartbeat_interval: 300_001,
            ..Default::default()
        };
        let mut o2 = o.clone();
        o2.max_heartbeat_interval = std::time::Duration::from_secs(300);
        assert_eq!(
            validate(&d, &o2, defaults()).unwrap_err(),
            "heartbeat interval (300001) is invalid"
        );
        d.heartbeat_interval = 0;
        d.output_buffer_size = 524_289;
        d.output_buffer_timeout = 1;
        // timeout is validated before size
        assert_eq!(
            validate(&d, &o, defaults()).unwrap_err(),
            "output buffer timeout (1) is invalid"
        );
        d.output_buffer_timeout = 0;
        assert_eq!(
            validate(&d, &o, defaults()).unwrap_err(),
            "output buffer size (524289) is invalid"
        );
        d.output_buffer_size = -1;
        let n = validate(&d, &o, defaults()).expect("ok");
        assert_eq!((n.output_buffer_size, n.output_buffer_timeout_ms), (1, 0));
        d.sample_rate = 100;
        assert_eq!(
            validate(&d, &o, defaults()).unwrap_err(),
            "sample rate (100) is invalid"
        );
        d.sample_rate = 0;
        d.msg_timeout = -1;
        assert_eq!(
            validate(&d, &o, defaults()).unwrap_err(),
            "msg timeout (-1) is invalid"
        );
    }

    #[test]
    fn default_response_matches_reference() {
        let o = Options::default();
        let up = Upgrades {
            deflate_level: 6,
            ..Default::default()
        };
        assert_eq!(
            response_json(&o, &defaults(), &up, false),
            "{\"max_rdy_count\":2500,\"version\":\"1.3.0\",\"max_msg_timeout\":900000,\"msg_timeout\":60000,\"tls_v1\":false,\"deflate\":false,\"deflate_level\":6,\"max_deflate_level\":6,\"snappy\":false,\"sample_rate\":0,\"auth_required\":false,\"output_buffer_size\":16384,\"output_buffer_timeout\":250,\"topology_region\":\"\",\"topology_zone\":\"\"}"
        );
    }
}
