//! nsq_to_nsq's JSON handling: `--require-json-field` / `--require-json-value` decide
//! whether a message is relayed, `--whitelist-json-field` rewrites it to the listed keys.
//!
//! The reference decodes bodies into a Go `map[string]interface{}` (every number becomes
//! a float64) and re-encodes with `encoding/json` (sorted keys, HTML-safe escapes, Go float
//! text), printing integral top-level values as integers. The same rules are applied here
//! so relayed bytes are identical.

use serde_json::{Map, Number, Value};

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Relay these bytes.
    Pass(Vec<u8>),
    /// Do not relay; FIN the source message.
    Drop,
    /// Do not relay; fail the handler so the source message is requeued with backoff.
    Backoff,
}

/// The JSON filter settings.
///
/// Invariant: `value_number` is `Some` iff `require_value` parses as a Go float.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonFilter {
    require_field: String,
    require_value: String,
    value_number: Option<f64>,
    whitelist: Vec<String>,
}

/// Converts every number to a float, as Go's decoder into `interface{}` does.
fn to_go_floats(v: Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(a) => Value::Array(a.into_iter().map(to_go_floats).collect()),
        Value::Object(o) => {
            // Sorted insertion keeps Go's key order even with serde_json's `preserve_order`.
            let mut entries: Vec<(String, Value)> = o.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, to_go_floats(v)))
                    .collect(),
            )
        }
        other => other,
    }
}

impl JsonFilter {
    /// A filter from the three flags.
    pub fn new(require_field: &str, require_value: &str, whitelist: &[String]) -> JsonFilter {
        JsonFilter {
            require_field: require_field.to_string(),
            require_value: require_value.to_string(),
            value_number: nsq_cli::strconv::parse_float(require_value).ok(),
            whitelist: whitelist.to_vec(),
        }
    }

    /// Whether messages are decoded at all (a required field or a whitelist is set).
    pub fn active(&self) -> bool {
        !self.require_field.is_empty() || !self.whitelist.is_empty()
    }

    fn should_pass(&self, js: &Map<String, Value>) -> (bool, bool) {
        if self.require_field.is_empty() {
            return (true, false);
        }
        let Some(v) = js.get(&self.require_field) else {
            if !self.require_value.is_empty() {
                crate::app::log("ERROR: missing field to check required value");
                return (false, true);
            }
            return (false, false);
        };
        if self.require_value.is_empty() {
            return (true, false);
        }
        let pass = match (v, self.value_number) {
            (Value::String(s), _) => *s == self.require_value,
            (Value::Number(n), Some(want)) => n.as_f64() == Some(want),
            _ => false,
        };
        (pass, false)
    }

    fn whitelisted(&self, js: &Map<String, Value>) -> Vec<u8> {
        // A BTreeMap keeps Go's sorted keys whatever serde_json's map features are.
        let mut out = std::collections::BTreeMap::new();
        for key in &self.whitelist {
            if let Some(v) = js.get(key) {
                let v = match v {
                    Value::Number(n) => match n.as_f64() {
                        // Go: int64(f) when that converts back exactly.
                        Some(f)
                            if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 =>
                        {
                            Value::Number(Number::from(f as i64))
                        }
                        _ => v.clone(),
                    },
                    other => other.clone(),
                };
                out.insert(key.clone(), v);
            }
        }
        nsq_http::gojson::to_vec(&out).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// Decides what happens to `body`. Logs `ERROR: Unable to decode json: <body>` (and
    /// drops the message) when the body is not a JSON object.
    pub fn apply(&self, body: &[u8]) -> Verdict {
        let js: Map<String, Value> = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => match to_go_floats(Value::Object(o)) {
                Value::Object(o) => o,
                _ => Map::new(),
            },
            Ok(Value::Null) => Map::new(),
            _ => {
                crate::app::log(format!(
                    "ERROR: Unable to decode json: {}",
                    String::from_utf8_lossy(body)
                ));
                return Verdict::Drop;
            }
        };
        match self.should_pass(&js) {
            (true, _) => {}
            (false, true) => return Verdict::Backoff,
            (false, false) => return Verdict::Drop,
        }
        if self.whitelist.is_empty() {
            return Verdict::Pass(body.to_vec());
        }
        Verdict::Pass(self.whitelisted(&js))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(field: &str, value: &str, wl: &[&str]) -> JsonFilter {
        let wl: Vec<String> = wl.iter().map(|s| s.to_string()).collect();
        JsonFilter::new(field, value, &wl)
    }

    #[test]
    fn required_field_and_value() {
        let j = f("k", "", &[]);
        assert!(j.active());
        assert_eq!(
            j.apply(br#"{"k":1}"#),
            Verdict::Pass(br#"{"k":1}"#.to_vec())
        );
        assert_eq!(j.apply(br#"{"x":1}"#), Verdict::Drop);
        assert_eq!(j.apply(b"[1]"), Verdict::Drop);
        let j = f("k", "v", &[]);
        assert_eq!(
            j.apply(br#"{"k":"v"}"#),
            Verdict::Pass(br#"{"k":"v"}"#.to_vec())
        );
        assert_eq!(j.apply(br#"{"k":"w"}"#), Verdict::Drop);
        assert_eq!(j.apply(br#"{"x":"v"}"#), Verdict::Backoff);
        let j = f("k", "2", &[]);
        assert_eq!(
            j.apply(br#"{"k":2.0}"#),
            Verdict::Pass(br#"{"k":2.0}"#.to_vec())
        );
        assert_eq!(
            j.apply(br#"{"k":"2"}"#),
            Verdict::Pass(br#"{"k":"2"}"#.to_vec())
        );
        assert_eq!(j.apply(br#"{"k":true}"#), Verdict::Drop);
    }

    #[test]
    fn whitelist_reencodes_like_go() {
        let j = f("", "", &["b", "a", "n", "missing"]);
        assert!(j.active());
        assert_eq!(
            j.apply(br#"{"z":1,"b":"<&>","a":3.0,"n":{"x":1.5,"y":[2.0,1e21]}}"#),
            Verdict::Pass(
                br#"{"a":3,"b":"\u003c\u0026\u003e","n":{"x":1.5,"y":[2,1e+21]}}"#.to_vec()
            )
        );
        assert_eq!(j.apply(b"null"), Verdict::Pass(b"{}".to_vec()));
        assert!(!f("", "x", &[]).active());
    }
}
