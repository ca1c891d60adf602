//! The resolved option values a program runs with.
//!
//! [`crate::config::resolve`] produces one value for every declared flag, so programs read
//! options through typed getters without handling absence. A getter can only fail because
//! the program asked for a flag it never declared or with the wrong type: that is a bug in
//! the program, never a consequence of user input, so the getters panic instead of returning
//! `Result`.

use crate::flags::Value;
use crate::logging::LogLevel;
use std::collections::HashMap;
use std::time::Duration;

/// Every declared flag's effective value (flag > config > default).
///
/// Invariant: holds exactly one value per declared flag, of the variant its kind produces.
/// The typed getters panic only on a programming error (undeclared name or wrong type).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values {
    map: HashMap<String, Value>,
}

impl Values {
    pub(crate) fn from_map(map: HashMap<String, Value>) -> Self {
        Values { map }
    }

    /// The value of `name`, or `None` if no such flag was declared.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// Replaces the value of `name` (e.g. a daemon filling in a computed default); returns
    /// the previous value, or `None` if `name` was not declared (then nothing is stored).
    pub fn set(&mut self, name: &str, value: Value) -> Option<Value> {
        let slot = self.map.get_mut(name)?;
        Some(std::mem::replace(slot, value))
    }

    /// Iterates over all `(name, value)` pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn expect(&self, name: &str) -> &Value {
        match self.map.get(name) {
            Some(v) => v,
            None => panic!("nsq-cli: no flag named -{name} was declared"),
        }
    }

    fn wrong(&self, name: &str, wanted: &str) -> ! {
        panic!(
            "nsq-cli: flag -{name} holds a {}, not a {wanted}",
            self.expect(name).type_name()
        )
    }

    /// A `Bool` flag's value. Panics (programming error) on an undeclared name or other kind.
    pub fn bool(&self, name: &str) -> bool {
        match self.expect(name) {
            Value::Bool(b) => *b,
            _ => self.wrong(name, "bool"),
        }
    }

    /// An `Int` flag's value. Panics (programming error) on an undeclared name or other kind.
    pub fn int(&self, name: &str) -> i64 {
        match self.expect(name) {
            Value::Int(i) => *i,
            _ => self.wrong(name, "int"),
        }
    }

    /// A `Float` flag's value. Panics (programming error) on an undeclared name or other kind.
    pub fn float(&self, name: &str) -> f64 {
        match self.expect(name) {
            Value::Float(f) => *f,
            _ => self.wrong(name, "float"),
        }
    }

    /// A `Str`, `BoolStr` or `LogLevel` flag's text. Panics (programming error) on an
    /// undeclared name or other kind.
    pub fn str(&self, name: &str) -> &str {
        match self.expect(name) {
            Value::Str(s) => s,
            _ => self.wrong(name, "string"),
        }
    }

    /// A `Duration` flag's value. Panics (programming error) on an undeclared name or other
    /// kind.
    pub fn duration(&self, name: &str) -> Duration {
        match self.expect(name) {
            Value::Duration(d) => *d,
            _ => self.wrong(name, "duration"),
        }
    }

    /// A `StrList` flag's values in order. Panics (programming error) on an undeclared name
    /// or other kind.
    pub fn str_list(&self, name: &str) -> &[String] {
        match self.expect(name) {
            Value::StrList(v) => v,
            _ => self.wrong(name, "string list"),
        }
    }

    /// A `FloatList` flag's values in the order given (not sorted). Panics (programming
    /// error) on an undeclared name or other kind.
    pub fn float_list(&self, name: &str) -> &[f64] {
        match self.expect(name) {
            Value::FloatList(v) => v,
            _ => self.wrong(name, "float list"),
        }
    }

    /// A `LogLevel` flag's level. Its text was validated during parsing and resolution;
    /// panics (programming error) on an undeclared name, a non-string kind, or a string that
    /// is not a level word (only possible for a flag not declared as `LogLevel`).
    pub fn log_level(&self, name: &str) -> LogLevel {
        match self.str(name).parse() {
            Ok(level) => level,
            Err(e) => panic!("nsq-cli: flag -{name} is not a log level: {e}"),
        }
    }
}
