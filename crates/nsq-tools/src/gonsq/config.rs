//! go-nsq's `Config`, as the utilities' `--consumer-opt` / `--producer-opt` flags set it.
//!
//! Every NSQ utility passes `key,value` pairs straight into go-nsq's `Config.Set`, so
//! scripts written for the Go tools use go-nsq option names (`max_in_flight`,
//! `lookupd_poll_interval`, `client_id`, ...), go-nsq's coercions (durations as Go duration
//! text, bools as `strconv.ParseBool` words, `key` alone meaning `true`) and see go-nsq's
//! error texts. This module reproduces that option table (names, types, defaults, min/max)
//! and the texts; the consumer and producer read their behaviour from it.

use std::time::Duration;

use nsq_cli::strconv::{format_float, parse_bool, parse_float, parse_int, NumError, NumErrorKind};
use nsq_cli::{format_go_duration_nanos, parse_go_duration_nanos};

const MS: i64 = 1_000_000;
const SEC: i64 = 1_000 * MS;
const MIN: i64 = 60 * SEC;

/// How long a consumer backs off after `attempt` consecutive failures (go-nsq's
/// `BackoffStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffStrategy {
    /// `backoff_multiplier * 2^attempt` (the default, `exponential`).
    Exponential,
    /// A random duration in `[0, backoff_multiplier * 2^attempt)` (`full_jitter`).
    FullJitter,
}

/// A value handed to [`Config::set`]: `--consumer-opt=key,value` gives a string,
/// `--consumer-opt=key` gives `true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptValue {
    /// The text after the first comma.
    Str(String),
    /// A bare key.
    True,
}

impl std::fmt::Display for OptValue {
    /// Go's `%v` of the value (`true` for a bare key).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptValue::Str(s) => f.write_str(s),
            OptValue::True => f.write_str("true"),
        }
    }
}

/// Why an option could not be set; `Display` is go-nsq's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No option of that name: `invalid option <name>`.
    #[error("invalid option {0}")]
    Unknown(String),
    /// The value does not coerce to the option's type.
    #[error("failed to coerce option {option} ({value}) - {reason}")]
    Coerce {
        /// The option name.
        option: String,
        /// The value as given.
        value: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The value is below the option's minimum: `invalid <name> ! <v> < <min>`.
    #[error("invalid {option} ! {value} < {limit}")]
    Below {
        /// The option (or, from [`Config::validate`], the Go field) name.
        option: String,
        /// The value, formatted like Go's `%v`.
        value: String,
        /// The minimum, formatted like Go's `%v`.
        limit: String,
    },
    /// The value is above the option's maximum: `invalid <name> ! <v> > <max>`.
    #[error("invalid {option} ! {value} > {limit}")]
    Above {
        /// The option (or Go field) name.
        option: String,
        /// The value, formatted like Go's `%v`.
        value: String,
        /// The maximum, formatted like Go's `%v`.
        limit: String,
    },
    /// The heartbeat would not arrive within the read timeout.
    #[error("HeartbeatInterval {heartbeat} must be less than ReadTimeout {read}")]
    Heartbeat {
        /// `heartbeat_interval`, Go duration text.
        heartbeat: String,
        /// `read_timeout`, Go duration text.
        read: String,
    },
}

/// The go-nsq client configuration.
///
/// Invariant: every value set through [`Config::set`] passed go-nsq's coercion and min/max
/// checks; durations are signed nanoseconds as in Go (a negative `heartbeat_interval`
/// disables heartbeats).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `dial_timeout` (ns).
    pub dial_timeout: i64,
    /// `read_timeout` (ns): the longest a connection may be silent.
    pub read_timeout: i64,
    /// `write_timeout` (ns).
    pub write_timeout: i64,
    /// `local_addr`: the local address to dial from.
    pub local_addr: Option<std::net::SocketAddr>,
    /// `lookupd_poll_interval` (ns); also the nsqd reconnect interval without lookupd.
    pub lookupd_poll_interval: i64,
    /// `lookupd_poll_jitter` (fraction of the interval).
    pub lookupd_poll_jitter: f64,
    /// `lookupd_poll_timeout` (ns).
    pub lookupd_poll_timeout: i64,
    /// `max_requeue_delay` (ns).
    pub max_requeue_delay: i64,
    /// `default_requeue_delay` (ns), multiplied by the attempt count.
    pub default_requeue_delay: i64,
    /// `backoff_strategy`.
    pub backoff_strategy: BackoffStrategy,
    /// `max_backoff_duration` (ns); 0 disables backoff.
    pub max_backoff_duration: i64,
    /// `backoff_multiplier` (ns).
    pub backoff_multiplier: i64,
    /// `max_attempts`; 0 = unlimited.
    pub max_attempts: u16,
    /// `low_rdy_idle_timeout` (ns).
    pub low_rdy_idle_timeout: i64,
    /// `low_rdy_timeout` (ns).
    pub low_rdy_timeout: i64,
    /// `rdy_redistribute_interval` (ns).
    pub rdy_redistribute_interval: i64,
    /// `client_id` (default: the short host name).
    pub client_id: String,
    /// `hostname` (default: the host name).
    pub hostname: String,
    /// `user_agent`.
    pub user_agent: String,
    /// `heartbeat_interval` (ns).
    pub heartbeat_interval: i64,
    /// `sample_rate` (0..=99).
    pub sample_rate: i32,
    /// `tls_v1` (not supported by this client: connecting fails when set).
    pub tls_v1: bool,
    /// `deflate` (not supported by this client: connecting fails when set).
    pub deflate: bool,
    /// `deflate_level`.
    pub deflate_level: i64,
    /// `snappy` (not supported by this client: connecting fails when set).
    pub snappy: bool,
    /// `output_buffer_size`.
    pub output_buffer_size: i64,
    /// `output_buffer_timeout` (ns).
    pub output_buffer_timeout: i64,
    /// `max_in_flight`.
    pub max_in_flight: i64,
    /// `msg_timeout` (ns); 0 = the server's default.
    pub msg_timeout: i64,
    /// `auth_secret`.
    pub auth_secret: String,
    /// `skip_lookupd_authorization` (go-nsq's `LookupdAuthorization`): send the auth secret
    /// to lookupd as a bearer token.
    pub lookupd_authorization: bool,
    /// `tls_root_ca_file`, `tls_insecure_skip_verify`, `tls_cert`, `tls_key`,
    /// `tls_min_version`: accepted and kept, unused (TLS is not supported).
    pub tls_settings: Vec<(String, String)>,
}

/// The short host name (up to the first `.`) and the host name, as go-nsq reads them.
pub fn host_names() -> (String, String) {
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let short = host.split('.').next().unwrap_or_default().to_string();
    (short, host)
}

impl Default for Config {
    /// go-nsq's `NewConfig()` defaults.
    fn default() -> Self {
        let (short, host) = host_names();
        Config {
            dial_timeout: SEC,
            read_timeout: 60 * SEC,
            write_timeout: SEC,
            local_addr: None,
            lookupd_poll_interval: 60 * SEC,
            lookupd_poll_jitter: 0.3,
            lookupd_poll_timeout: MIN,
            max_requeue_delay: 15 * MIN,
            default_requeue_delay: 90 * SEC,
            backoff_strategy: BackoffStrategy::Exponential,
            max_backoff_duration: 2 * MIN,
            backoff_multiplier: SEC,
            max_attempts: 5,
            low_rdy_idle_timeout: 10 * SEC,
            low_rdy_timeout: 30 * SEC,
            rdy_redistribute_interval: 5 * SEC,
            client_id: short,
            hostname: host,
            user_agent: "go-nsq/1.1.0".to_string(),
            heartbeat_interval: 30 * SEC,
            sample_rate: 0,
            tls_v1: false,
            deflate: false,
            deflate_level: 6,
            snappy: false,
            output_buffer_size: 16384,
            output_buffer_timeout: 250 * MS,
            max_in_flight: 1,
            msg_timeout: 0,
            auth_secret: String::new(),
            lookupd_authorization: true,
            tls_settings: Vec::new(),
        }
    }
}

/// A bound on an option (go-nsq's `min`/`max` struct tags).
#[derive(Clone, Copy)]
enum Bound {
    Dur(i64),
    Int(i64),
    Float(f64),
}

fn dur_text(ns: i64) -> String {
    format_go_duration_nanos(ns)
}

fn check_bounds(
    option: &str,
    value: Bound,
    min: Option<Bound>,
    max: Option<Bound>,
) -> Result<(), ConfigError> {
    let text = |b: Bound| match b {
        Bound::Dur(d) => dur_text(d),
        Bound::Int(i) => i.to_string(),
        Bound::Float(f) => format_float(f),
    };
    let cmp = |a: Bound, b: Bound| -> std::cmp::Ordering {
        match (a, b) {
            (Bound::Dur(x), Bound::Dur(y)) | (Bound::Int(x), Bound::Int(y)) => x.cmp(&y),
            (Bound::Float(x), Bound::Float(y)) => {
                x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
            }
            _ => std::cmp::Ordering::Equal,
        }
    };
    if let Some(m) = min {
        if cmp(value, m) == std::cmp::Ordering::Less {
            return Err(ConfigError::Below {
                option: option.to_string(),
                value: text(value),
                limit: text(m),
            });
        }
    }
    if let Some(m) = max {
        if cmp(value, m) == std::cmp::Ordering::Greater {
            return Err(ConfigError::Above {
                option: option.to_string(),
                value: text(value),
                limit: text(m),
            });
        }
    }
    Ok(())
}

fn coerce_err(option: &str, value: &OptValue, reason: impl ToString) -> ConfigError {
    ConfigError::Coerce {
        option: option.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// go-nsq's `coerceDuration`: Go duration text; a bool is not a duration.
fn coerce_duration(option: &str, v: &OptValue) -> Result<i64, ConfigError> {
    match v {
        OptValue::Str(s) => parse_go_duration_nanos(s).map_err(|e| coerce_err(option, v, e)),
        OptValue::True => Err(coerce_err(option, v, "invalid value type")),
    }
}

/// go-nsq's `coerceInt64`: `strconv.ParseInt(s, 10, 64)`.
fn coerce_int(option: &str, v: &OptValue) -> Result<i64, ConfigError> {
    match v {
        OptValue::Str(s) => parse_int(s, 10).map_err(|e| coerce_err(option, v, e)),
        OptValue::True => Err(coerce_err(option, v, "invalid value type")),
    }
}

/// go-nsq's `coerceUint64`: `strconv.ParseUint(s, 10, 64)`.
fn coerce_uint(option: &str, v: &OptValue) -> Result<u64, ConfigError> {
    let syntax = |s: &str| NumError {
        func: "ParseUint",
        input: s.to_string(),
        kind: NumErrorKind::Syntax,
    };
    match v {
        OptValue::Str(s) if s.starts_with(['+', '-']) => Err(coerce_err(option, v, syntax(s))),
        OptValue::Str(s) => match parse_int(s, 10) {
            Ok(i) => Ok(i as u64),
            Err(mut e) => {
                e.func = "ParseUint";
                if e.kind == NumErrorKind::Range && s.bytes().all(|b| b.is_ascii_digit()) {
                    // Beyond i64 but perhaps within u64.
                    if let Ok(u) = s.parse::<u64>() {
                        return Ok(u);
                    }
                }
                Err(coerce_err(option, v, e))
            }
        },
        OptValue::True => Err(coerce_err(option, v, "invalid value type")),
    }
}

/// go-nsq's `coerceFloat64`.
fn coerce_float(option: &str, v: &OptValue) -> Result<f64, ConfigError> {
    match v {
        OptValue::Str(s) => parse_float(s).map_err(|e| coerce_err(option, v, e)),
        OptValue::True => Err(coerce_err(option, v, "invalid value type")),
    }
}

/// go-nsq's `coerceBool`.
fn coerce_bool(option: &str, v: &OptValue) -> Result<bool, ConfigError> {
    match v {
        OptValue::Str(s) => parse_bool(s).map_err(|e| coerce_err(option, v, e)),
        OptValue::True => Ok(true),
    }
}

/// go-nsq's `coerceString` (a bool prints as Go's `%s` of a bool would).
fn coerce_string(v: &OptValue) -> String {
    match v {
        OptValue::Str(s) => s.clone(),
        OptValue::True => "%!s(bool=true)".to_string(),
    }
}

impl Config {
    /// go-nsq's `ConfigFlag.Set`: `key,value` sets `key` to `value`; `key` alone sets it to
    /// `true`. `-` in the key is read as `_`.
    pub fn set_flag(&mut self, opt: &str) -> Result<(), ConfigError> {
        match opt.split_once(',') {
            Some((k, v)) => self.set(k, OptValue::Str(v.to_string())),
            None => self.set(opt, OptValue::True),
        }
    }

    /// go-nsq's `Config.Set(option, value)`: coerces `value` to the option's type and checks
    /// its bounds. Nothing changes on error.
    pub fn set(&mut self, option: &str, value: OptValue) -> Result<(), ConfigError> {
        let option = option.replace('-', "_");
        let o = option.as_str();
        let v = &value;
        let dur = |min: Option<i64>, max: Option<i64>| -> Result<i64, ConfigError> {
            let d = coerce_duration(o, v)?;
            check_bounds(o, Bound::Dur(d), min.map(Bound::Dur), max.map(Bound::Dur))?;
            Ok(d)
        };
        match o {
            "dial_timeout" => self.dial_timeout = dur(None, None)?,
            "read_timeout" => self.read_timeout = dur(Some(100 * MS), Some(5 * MIN))?,
            "write_timeout" => self.write_timeout = dur(Some(100 * MS), Some(5 * MIN))?,
            "local_addr" => {
                let s = coerce_string(v);
                let addr = resolve_tcp_addr(&s).map_err(|e| coerce_err(o, v, e))?;
                self.local_addr = Some(addr);
            }
            "lookupd_poll_interval" => {
                self.lookupd_poll_interval = dur(Some(10 * MS), Some(5 * MIN))?
            }
            "lookupd_poll_jitter" => {
                let f = coerce_float(o, v)?;
                check_bounds(
                    o,
                    Bound::Float(f),
                    Some(Bound::Float(0.0)),
                    Some(Bound::Float(1.0)),
                )?;
                self.lookupd_poll_jitter = f;
            }
            "lookupd_poll_timeout" => self.lookupd_poll_timeout = dur(None, None)?,
            "max_requeue_delay" => self.max_requeue_delay = dur(Some(0), Some(60 * MIN))?,
            "default_requeue_delay" => self.default_requeue_delay = dur(Some(0), Some(60 * MIN))?,
            "backoff_strategy" => {
                self.backoff_strategy = match v {
                    OptValue::Str(s) if s.is_empty() || s == "exponential" => {
                        BackoffStrategy::Exponential
                    }
                    OptValue::Str(s) if s == "full_jitter" => BackoffStrategy::FullJitter,
                    _ => return Err(coerce_err(o, v, "invalid value type")),
                }
            }
            "max_backoff_duration" => self.max_backoff_duration = dur(Some(0), Some(60 * MIN))?,
            "backoff_multiplier" => self.backoff_multiplier = dur(Some(0), Some(60 * MIN))?,
            "max_attempts" => {
                // Go stores the parsed uint64 into a uint16 field, truncating.
                self.max_attempts = coerce_uint(o, v)? as u16;
            }
            "low_rdy_idle_timeout" => self.low_rdy_idle_timeout = dur(Some(SEC), Some(5 * MIN))?,
            "low_rdy_timeout" => self.low_rdy_timeout = dur(Some(SEC), Some(5 * MIN))?,
            "rdy_redistribute_interval" => {
                self.rdy_redistribute_interval = dur(Some(MS), Some(5 * SEC))?
            }
            "client_id" => self.client_id = coerce_string(v),
            "hostname" => self.hostname = coerce_string(v),
            "user_agent" => self.user_agent = coerce_string(v),
            "heartbeat_interval" => self.heartbeat_interval = dur(None, None)?,
            "sample_rate" => {
                // Go stores the parsed int64 into an int32 field, truncating.
                let i = coerce_int(o, v)? as i32;
                check_bounds(
                    o,
                    Bound::Int(i64::from(i)),
                    Some(Bound::Int(0)),
                    Some(Bound::Int(99)),
                )?;
                self.sample_rate = i;
            }
            "tls_v1" => self.tls_v1 = coerce_bool(o, v)?,
            "deflate" => self.deflate = coerce_bool(o, v)?,
            "deflate_level" => {
                let i = coerce_int(o, v)?;
                check_bounds(o, Bound::Int(i), Some(Bound::Int(1)), Some(Bound::Int(9)))?;
                self.deflate_level = i;
            }
            "snappy" => self.snappy = coerce_bool(o, v)?,
            "output_buffer_size" => self.output_buffer_size = coerce_int(o, v)?,
            "output_buffer_timeout" => self.output_buffer_timeout = dur(None, None)?,
            "max_in_flight" => {
                let i = coerce_int(o, v)?;
                check_bounds(o, Bound::Int(i), Some(Bound::Int(0)), None)?;
                self.max_in_flight = i;
            }
            "msg_timeout" => self.msg_timeout = dur(Some(0), None)?,
            "auth_secret" => self.auth_secret = coerce_string(v),
            "skip_lookupd_authorization" => self.lookupd_authorization = coerce_bool(o, v)?,
            "tls_insecure_skip_verify" => {
                let b = coerce_bool(o, v)?;
                self.tls_settings.push((option.clone(), b.to_string()));
            }
            "tls_root_ca_file" | "tls_cert" | "tls_key" | "tls_min_version" => {
                self.tls_settings.push((option.clone(), coerce_string(v)));
            }
            _ => return Err(ConfigError::Unknown(option)),
        }
        Ok(())
    }

    /// go-nsq's `Config.Validate`, run when a consumer or producer is created: every bound
    /// (named by the Go field), and the heartbeat must fit in the read timeout.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = |name: &str, v: i64, min: Option<i64>, max: Option<i64>| {
            check_bounds(
                name,
                Bound::Dur(v),
                min.map(Bound::Dur),
                max.map(Bound::Dur),
            )
        };
        d(
            "ReadTimeout",
            self.read_timeout,
            Some(100 * MS),
            Some(5 * MIN),
        )?;
        d(
            "WriteTimeout",
            self.write_timeout,
            Some(100 * MS),
            Some(5 * MIN),
        )?;
        d(
            "LookupdPollInterval",
            self.lookupd_poll_interval,
            Some(10 * MS),
            Some(5 * MIN),
        )?;
        check_bounds(
            "LookupdPollJitter",
            Bound::Float(self.lookupd_poll_jitter),
            Some(Bound::Float(0.0)),
            Some(Bound::Float(1.0)),
        )?;
        d(
            "MaxRequeueDelay",
            self.max_requeue_delay,
            Some(0),
            Some(60 * MIN),
        )?;
        d(
            "DefaultRequeueDelay",
            self.default_requeue_delay,
            Some(0),
            Some(60 * MIN),
        )?;
        d(
            "MaxBackoffDuration",
            self.max_backoff_duration,
            Some(0),
            Some(60 * MIN),
        )?;
        d(
            "BackoffMultiplier",
            self.backoff_multiplier,
            Some(0),
            Some(60 * MIN),
        )?;
        d(
            "LowRdyIdleTimeout",
            self.low_rdy_idle_timeout,
            Some(SEC),
            Some(5 * MIN),
        )?;
        d(
            "LowRdyTimeout",
            self.low_rdy_timeout,
            Some(SEC),
            Some(5 * MIN),
        )?;
        d(
            "RDYRedistributeInterval",
            self.rdy_redistribute_interval,
            Some(MS),
            Some(5 * SEC),
        )?;
        check_bounds(
            "SampleRate",
            Bound::Int(i64::from(self.sample_rate)),
            Some(Bound::Int(0)),
            Some(Bound::Int(99)),
        )?;
        check_bounds(
            "DeflateLevel",
            Bound::Int(self.deflate_level),
            Some(Bound::Int(1)),
            Some(Bound::Int(9)),
        )?;
        check_bounds(
            "MaxInFlight",
            Bound::Int(self.max_in_flight),
            Some(Bound::Int(0)),
            None,
        )?;
        d("MsgTimeout", self.msg_timeout, Some(0), None)?;
        if self.heartbeat_interval > self.read_timeout {
            return Err(ConfigError::Heartbeat {
                heartbeat: dur_text(self.heartbeat_interval),
                read: dur_text(self.read_timeout),
            });
        }
        Ok(())
    }

    /// The features this client cannot provide that the configuration asks for, named by
    /// their option (`tls_v1`, `snappy`, `deflate`).
    pub fn unsupported_features(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.tls_v1 {
            out.push("tls_v1");
        }
        if self.snappy {
            out.push("snappy");
        }
        if self.deflate {
            out.push("deflate");
        }
        out
    }

    /// The IDENTIFY settings for [`nsq_client::Config`] (durations in ms, as go-nsq sends).
    pub fn client_config(&self) -> nsq_client::Config {
        nsq_client::Config {
            client_id: self.client_id.clone(),
            hostname: self.hostname.clone(),
            user_agent: self.user_agent.clone(),
            feature_negotiation: true,
            heartbeat_interval_ms: Some(self.heartbeat_interval / MS),
            output_buffer_size: Some(self.output_buffer_size),
            output_buffer_timeout_ms: Some(self.output_buffer_timeout / MS),
            msg_timeout_ms: Some(self.msg_timeout / MS),
            sample_rate: Some(self.sample_rate),
            connect_timeout: to_std(self.dial_timeout),
            read_buffer_size: 16 * 1024,
        }
    }
}

/// A Go duration in ns as a [`Duration`] (negative becomes zero).
pub fn to_std(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

/// Go's `net.ResolveTCPAddr("tcp", s)` for literal addresses.
fn resolve_tcp_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if !s.contains(':') {
        return Err(format!("address {s}: missing port in address"));
    }
    s.to_socket_addrs()
        .map_err(|e| format!("address {s}: {e}"))?
        .next()
        .ok_or_else(|| format!("address {s}: no suitable address found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_go_nsq() {
        let c = Config::default();
        assert_eq!(c.max_in_flight, 1);
        assert_eq!(c.max_attempts, 5);
        assert_eq!(c.default_requeue_delay, 90 * SEC);
        assert_eq!(c.user_agent, "go-nsq/1.1.0");
        assert!(c.validate().is_ok());
    }

    #[test]
    fn set_flag_coerces_like_go_nsq() {
        let mut c = Config::default();
        c.set_flag("max_in_flight,20").expect("int");
        assert_eq!(c.max_in_flight, 20);
        c.set_flag("max-backoff-duration,2s")
            .expect("dashes become underscores");
        assert_eq!(c.max_backoff_duration, 2 * SEC);
        c.set_flag("client_id,foo,bar")
            .expect("only the first comma splits");
        assert_eq!(c.client_id, "foo,bar");
        c.set_flag("snappy").expect("bare key is true");
        assert!(c.snappy);
        assert_eq!(c.unsupported_features(), vec!["snappy"]);
        c.set_flag("lookupd_poll_jitter,0.5").expect("float");
        assert_eq!(c.lookupd_poll_jitter, 0.5);
        c.set_flag("backoff_strategy,full_jitter")
            .expect("strategy");
        assert_eq!(c.backoff_strategy, BackoffStrategy::FullJitter);
    }

    #[test]
    fn error_texts_are_go_nsqs() {
        let mut c = Config::default();
        assert_eq!(
            c.set_flag("bogus,1").unwrap_err().to_string(),
            "invalid option bogus"
        );
        assert_eq!(
            c.set_flag("max_in_flight,x").unwrap_err().to_string(),
            "failed to coerce option max_in_flight (x) - strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            c.set_flag("read_timeout,1ms").unwrap_err().to_string(),
            "invalid read_timeout ! 1ms < 100ms"
        );
        assert_eq!(
            c.set_flag("sample_rate,100").unwrap_err().to_string(),
            "invalid sample_rate ! 100 > 99"
        );
        assert_eq!(
            c.set_flag("dial_timeout").unwrap_err().to_string(),
            "failed to coerce option dial_timeout (true) - invalid value type"
        );
        assert_eq!(
            c.set_flag("lookupd_poll_jitter,1.5")
                .unwrap_err()
                .to_string(),
            "invalid lookupd_poll_jitter ! 1.5 > 1"
        );
        assert_eq!(
            c.set_flag("max_attempts,-1").unwrap_err().to_string(),
            "failed to coerce option max_attempts (-1) - strconv.ParseUint: parsing \"-1\": invalid syntax"
        );
        c.set_flag("heartbeat_interval,90s").expect("set");
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "HeartbeatInterval 1m30s must be less than ReadTimeout 1m0s"
        );
    }

    #[test]
    fn identify_settings() {
        let mut c = Config::default();
        c.set_flag("heartbeat_interval,-1ms")
            .expect("negative allowed");
        let cc = c.client_config();
        assert_eq!(cc.heartbeat_interval_ms, Some(-1));
        assert_eq!(cc.output_buffer_timeout_ms, Some(250));
        assert_eq!(cc.msg_timeout_ms, Some(0));
    }
}
