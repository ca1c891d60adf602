//! What an auth server granted one connection (spec §7.3/§7.4): decoding its JSON answer the
//! way Go's `encoding/json` decodes it into the reference's structs, validating it, and
//! deciding whether a PUB/SUB is allowed.

use std::time::Duration;

use regex::Regex;
use serde_json::{Map, Value};
use tokio::time::Instant;

/// One entry of `authorizations`, with its regexes compiled. Invariant: `permissions` only
/// holds `subscribe` and `publish`.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// Topic regex (unanchored search).
    pub topic: Regex,
    /// Channel regexes (unanchored search); a publish needs one that matches `""`.
    pub channels: Vec<Regex>,
    /// `subscribe` and/or `publish`.
    pub permissions: Vec<String>,
}

impl Authorization {
    fn has_permission(&self, p: &str) -> bool {
        self.permissions.iter().any(|x| x == p)
    }

    /// True iff this entry allows a SUB (non-empty `channel`) or a publish (`channel` empty).
    pub fn is_allowed(&self, topic: &str, channel: &str) -> bool {
        let needed = if channel.is_empty() {
            "publish"
        } else {
            "subscribe"
        };
        self.has_permission(needed)
            && self.topic.is_match(topic)
            && self.channels.iter().any(|c| c.is_match(channel))
    }
}

/// A validated auth server answer. Invariant: `ttl > 0`; `expires` is when it must be
/// fetched again.
#[derive(Debug, Clone)]
pub struct State {
    /// Seconds the answer is valid for.
    pub ttl: i64,
    /// The grants, in the server's order.
    pub authorizations: Vec<Authorization>,
    /// `identity` (shown in /stats, echoed by AUTH).
    pub identity: String,
    /// `identity_url`.
    pub identity_url: String,
    /// `now + ttl` at the time of the query (saturating).
    pub expires: Instant,
}

impl State {
    /// At least one grant (what the reference calls "has authorizations").
    pub fn has_authorizations(&self) -> bool {
        !self.authorizations.is_empty()
    }

    /// True iff any grant allows the request.
    pub fn is_allowed(&self, topic: &str, channel: &str) -> bool {
        self.authorizations
            .iter()
            .any(|a| a.is_allowed(topic, channel))
    }

    /// True once the TTL has run out.
    pub fn is_expired(&self) -> bool {
        self.expires < Instant::now()
    }
}

/// Why an answer was rejected (logged only; the client sees `E_AUTH_FAILED AUTH failed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not JSON, or a field of the wrong type.
    #[error("{0}")]
    Json(String),
    /// A permission other than `subscribe`/`publish`.
    #[error("unknown permission {0}")]
    UnknownPermission(String),
    /// A topic regex that does not compile.
    #[error("unable to compile topic {0:?} {1}")]
    BadTopicRegex(String, String),
    /// A channel regex that does not compile.
    #[error("unable to compile channel {0:?} {1}")]
    BadChannelRegex(String, String),
    /// `ttl <= 0`.
    #[error("invalid TTL {0} (must be >0)")]
    InvalidTtl(i64),
}

fn type_error(field: &str, want: &str) -> StateError {
    StateError::Json(format!(
        "json: cannot unmarshal into field {field} of type {want}"
    ))
}

/// Looks a key up the way Go matches struct fields: exact name first, else ASCII
/// case-insensitively.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn string_field(obj: &Map<String, Value>, name: &str) -> Result<String, StateError> {
    match field(obj, name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(type_error(name, "string")),
    }
}

fn string_list(obj: &Map<String, Value>, name: &str) -> Result<Vec<String>, StateError> {
    match field(obj, name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                // Go leaves a null slice element at its zero value.
                Value::Null => Ok(String::new()),
                Value::String(s) => Ok(s.clone()),
                _ => Err(type_error(name, "string")),
            })
            .collect(),
        Some(_) => Err(type_error(name, "[]string")),
    }
}

/// An authorization entry before validation.
struct RawAuthorization {
    topic: String,
    channels: Vec<String>,
    permissions: Vec<String>,
}

fn raw_authorization(v: &Value) -> Result<RawAuthorization, StateError> {
    match v {
        Value::Null => Ok(RawAuthorization {
            topic: String::new(),
            channels: Vec::new(),
            permissions: Vec::new(),
        }),
        Value::Object(o) => Ok(RawAuthorization {
            topic: string_field(o, "topic")?,
            channels: string_list(o, "channels")?,
            permissions: string_list(o, "permissions")?,
        }),
        _ => Err(type_error("authorizations", "auth.Authorization")),
    }
}

/// Decodes and validates an auth server's 200 answer, as the reference does: permissions
/// must be `subscribe`/`publish`, every regex must compile, `ttl` must be positive.
pub fn parse(body: &[u8], now: Instant) -> Result<State, StateError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| StateError::Json(e.to_string()))?;
    let empty = Map::new();
    let obj = match &v {
        Value::Object(o) => o,
        Value::Null => &empty,
        _ => return Err(type_error("", "auth.State")),
    };
    let ttl = match field(obj, "ttl") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| type_error("ttl", "int"))?,
        Some(_) => return Err(type_error("ttl", "int")),
    };
    let raw: Vec<RawAuthorization> = match field(obj, "authorizations") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(raw_authorization)
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(type_error("authorizations", "[]auth.Authorization")),
    };
    let identity = string_field(obj, "identity")?;
    let identity_url = string_field(obj, "identity_url")?;

    let mut authorizations = Vec::with_capacity(raw.len());
    for a in raw {
        if let Some(p) = a
            .permissions
            .iter()
            .find(|p| *p != "subscribe" && *p != "publish")
        {
            return Err(StateError::UnknownPermission(p.clone()));
        }
        let topic = Regex::new(&a.topic)
            .map_err(|e| StateError::BadTopicRegex(a.topic.clone(), e.to_string()))?;
        let channels = a
            .channels
            .iter()
            .map(|c| {
                Regex::new(c).map_err(|e| StateError::BadChannelRegex(c.clone(), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        authorizations.push(Authorization {
            topic,
            channels,
            permissions: a.permissions,
        });
    }
    if ttl <= 0 {
        return Err(StateError::InvalidTtl(ttl));
    }
    let expires = u64::try_from(ttl)
        .ok()
        .and_then(|s| now.checked_add(Duration::from_secs(s)))
        // A TTL beyond what the clock can represent never expires.
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
    Ok(State {
        ttl,
        authorizations,
        identity,
        identity_url,
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<State, StateError> {
        parse(s.as_bytes(), Instant::now())
    }

    #[test]
    fn matching_rules() {
        let s = p(
            r#"{"ttl":60,"identity":"i","identity_url":"u","authorizations":[
            {"topic":"^p","channels":[".*"],"permissions":["publish"]},
            {"topic":"s","channels":["^c1$"],"permissions":["subscribe"]},
            {"topic":"none","channels":[],"permissions":["publish","subscribe"]}]}"#,
        )
        .expect("valid");
        assert_eq!(s.identity, "i");
        assert!(s.is_allowed("p1", ""));
        assert!(!s.is_allowed("xp", ""));
        assert!(!s.is_allowed("p1", "c1")); // no subscribe grant on ^p
        assert!(s.is_allowed("xsx", "c1"));
        assert!(!s.is_allowed("xsx", "c12"));
        assert!(!s.is_allowed("s", "")); // subscribe only
                                         // channels [] grants nothing, not even publish
        assert!(!s.is_allowed("none", ""));
        assert!(!s.is_allowed("none", "c"));
        assert_eq!(s.authorizations.len(), 3);
    }

    #[test]
    fn go_json_rules() {
        // case-insensitive keys, unknown keys ignored, nulls are zero values
        let s = p(r#"{"TTL":5,"Authorizations":[null,{"Topic":"t","CHANNELS":[null],"permissions":null}],"x":1,"identity":null}"#)
            .expect("valid");
        assert_eq!(s.ttl, 5);
        assert_eq!(s.authorizations.len(), 2);
        assert!(!s.is_allowed("t", ""));
        assert!(p(r#"{"ttl":"5","authorizations":[]}"#).is_err());
        assert!(p(r#"{"ttl":5.5,"authorizations":[]}"#).is_err());
        assert!(p(r#"{"ttl":5,"authorizations":{}}"#).is_err());
        assert!(p(r#"{"ttl":5,"authorizations":[{"topic":1}]}"#).is_err());
        assert!(p(r#"{"ttl":5,"authorizations":[{"channels":"x"}]}"#).is_err());
        assert!(p(r#"[]"#).is_err());
        assert!(p("nonsense").is_err());
        assert_eq!(p("null").err(), Some(StateError::InvalidTtl(0)));
    }

    #[test]
    fn validation() {
        assert_eq!(
            p(r#"{"ttl":5,"authorizations":[{"topic":"t","channels":[".*"],"permissions":["admin"]}]}"#).err(),
            Some(StateError::UnknownPermission("admin".into()))
        );
        assert!(matches!(
            p(r#"{"ttl":5,"authorizations":[{"topic":"(","channels":[],"permissions":[]}]}"#),
            Err(StateError::BadTopicRegex(..))
        ));
        assert!(matches!(
            p(r#"{"ttl":5,"authorizations":[{"topic":"t","channels":["["],"permissions":[]}]}"#),
            Err(StateError::BadChannelRegex(..))
        ));
        assert_eq!(
            p(r#"{"ttl":0,"authorizations":[]}"#).err(),
            Some(StateError::InvalidTtl(0))
        );
        assert_eq!(p(r#"{"ttl":-3}"#).err(), Some(StateError::InvalidTtl(-3)));
        // zero authorizations is a valid answer (AUTH then says E_UNAUTHORIZED)
        let s = p(r#"{"ttl":1,"authorizations":[]}"#).expect("valid");
        assert!(!s.has_authorizations());
        // absurd ttl does not overflow
        let s = p(r#"{"ttl":9223372036854775807}"#).expect("valid");
        assert!(!s.is_expired());
    }
}
