//! TOML config files and option resolution.
//!
//! Go NSQ daemons read `--config=<file>` (TOML) and merge it with the command line through
//! mreiferson/go-options v1.0.0: for each option, an explicitly given flag wins, then the
//! config key, then the flag default; config values are coerced loosely (numeric strings for
//! ints, integers as *milliseconds* for durations, comma-separated strings for lists, and the
//! inverted integer-as-bool quirk). Existing config files depend on these rules, so
//! [`resolve`] applies them exactly; unlike Go it reports uncoercible values as errors
//! instead of panicking or producing garbage.

use crate::duration::parse_go_duration;
use crate::flags::{FlagKind, FlagSet, FlagSpec, ParsedArgs, Value};
use crate::logging::LogLevel;
use crate::strconv::{format_float, parse_bool, parse_float, parse_int};
use crate::values::Values;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// A config file that could not be used. Each `Display` is the text the daemons print after
/// `FATAL: ` (then they exit 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or is not valid TOML:
    /// `failed to load config file <path> - <reason>`.
    #[error("failed to load config file {path} - {reason}")]
    Load {
        /// The path as given.
        path: String,
        /// `open <path>: <os error>`, or `toml: line L, column C: <message>`.
        reason: String,
    },
    /// A value rejected by a level or [`FlagSet::with_check`] validation, with Go NSQ's text:
    /// `failed parsing <key> <value>` (e.g. `failed parsing log_level bogus`).
    #[error("failed parsing {key} {value}")]
    Invalid {
        /// The config key.
        key: String,
        /// The value as Go's `%v` would print it.
        value: String,
    },
    /// A value of a type that cannot be coerced to the option's type:
    /// `failed to coerce config option <key> (<value>) - <reason>`.
    #[error("failed to coerce config option {key} ({value}) - {reason}")]
    Coerce {
        /// The config key.
        key: String,
        /// The value in TOML notation.
        value: String,
        /// What was expected, or the parse error.
        reason: String,
    },
}

/// Reads and parses a TOML config file into its top-level table. Keys are not checked here
/// (unknown keys are ignored by [`resolve`]).
pub fn load_config_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let shown = path.display().to_string();
    let load_err = |reason: String| ConfigError::Load {
        path: shown.clone(),
        reason,
    };
    let mut file = std::fs::File::open(path)
        .map_err(|e| load_err(format!("open {shown}: {}", os_error(&e))))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| load_err(format!("read {shown}: {}", os_error(&e))))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        load_err(format!(
            "toml: invalid UTF-8 at byte {}",
            e.utf8_error().valid_up_to()
        ))
    })?;
    parse_config_str(&text).map_err(load_err)
}

/// Parses TOML text into its top-level table; `Err` is a one-line reason
/// (`toml: line L, column C: <message>`).
pub fn parse_config_str(text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| {
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("toml: line {line}, column {column}: {message}")
            }
            None => format!("toml: {message}"),
        }
    })
}

/// An OS error in Go's wording: the `strerror` text with a lower-case first letter and no
/// `(os error N)` suffix.
fn os_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Computes every flag's effective value: an explicitly given command-line flag wins, then
/// the config value under the flag's config key (see [`FlagSpec::config_key`]), then the
/// default. Config keys that match no flag are ignored.
///
/// Coercion of config values by kind (go-options v1.0.0 rules, plus friendlier errors):
/// * `Bool`: a TOML bool; a string in `strconv.ParseBool` syntax; **an integer `n` means
///   `n == 0`** (go-options quirk, kept for compatibility: `deflate = 0` enables it).
/// * `Int`: an integer, or a base-10 string (`"20"`; no `0x` prefixes, unlike flags).
/// * `Float`: a float, an integer, or a string in `strconv.ParseFloat` syntax.
/// * `Str`: a string. `Duration`: a Go duration string (`"2h"`), or an integer of
///   **milliseconds** (`msg_timeout = 5000` is 5s); negative values are rejected.
/// * `StrList`: an array of strings, or one string split on `,` (no trimming).
/// * `FloatList`: an array of numbers (or numeric strings), or one string split on `,`
///   with each piece trimmed.
/// * `BoolStr`: a bool (`"true"`/`"false"`), a string, or an integer (its decimal text).
/// * `LogLevel`: the value's text must be a level word, else
///   `failed parsing log_level <value>`.
///
/// Values of `Str`/`BoolStr` flags with a [`FlagSet::with_check`] are validated too. As in
/// Go NSQ, the config values of `LogLevel` flags and checked flags are validated even when
/// the command line overrides them.
pub fn resolve(
    set: &FlagSet,
    args: &ParsedArgs,
    config: Option<&toml::Table>,
) -> Result<Values, ConfigError> {
    let mut values = HashMap::with_capacity(set.specs().len());
    for spec in set.specs() {
        let value = if let Some(v) = args.get(spec.name) {
            // Go NSQ validates `log_level` (and nsqd's TLS options) in the config file even
            // when the command line overrides them; so do we for levels and checked flags.
            if spec.kind == FlagKind::LogLevel || set.check(spec.name).is_some() {
                if let Some((key, raw)) = config_entry(spec, config) {
                    coerce(set, spec, &key, raw)?;
                }
            }
            v.clone()
        } else if let Some((key, raw)) = config_entry(spec, config) {
            coerce(set, spec, &key, raw)?
        } else {
            normalize_default(spec)
        };
        values.insert(spec.name.to_string(), value);
    }
    Ok(Values::from_map(values))
}

/// The config key and value for `spec`, if the flag is config-resolvable and present.
fn config_entry<'c>(
    spec: &FlagSpec,
    config: Option<&'c toml::Table>,
) -> Option<(std::borrow::Cow<'static, str>, &'c toml::Value)> {
    let key = spec.config_key()?;
    let raw = config?.get(key.as_ref())?;
    Some((key, raw))
}

/// Defaults are stored as the kind's value variant (`BoolStr` bools become strings).
fn normalize_default(spec: &FlagSpec) -> Value {
    match (&spec.default, spec.kind) {
        (Value::Bool(b), FlagKind::BoolStr) => Value::Str(b.to_string()),
        (Value::Str(s), FlagKind::LogLevel) => Value::Str(
            s.parse::<LogLevel>()
                .map(|l| l.as_str().to_string())
                .unwrap_or_else(|_| s.clone()),
        ),
        (v, _) => v.clone(),
    }
}

/// Coerces one config value to `spec`'s kind.
fn coerce(
    set: &FlagSet,
    spec: &FlagSpec,
    key: &str,
    raw: &toml::Value,
) -> Result<Value, ConfigError> {
    let fail = |reason: String| ConfigError::Coerce {
        key: key.to_string(),
        value: raw.to_string(),
        reason,
    };
    let wrong_type = |expected: &str| {
        fail(format!(
            "expected {expected}, got a TOML {}",
            raw.type_str()
        ))
    };
    let checked = |text: String| -> Result<Value, ConfigError> {
        if let Some(check) = set.check(spec.name) {
            if check(&text).is_err() {
                return Err(ConfigError::Invalid {
                    key: key.to_string(),
                    value: go_display(raw),
                });
            }
        }
        Ok(Value::Str(text))
    };
    use toml::Value as T;
    match spec.kind {
        FlagKind::Bool => match raw {
            T::Boolean(b) => Ok(Value::Bool(*b)),
            T::String(s) => parse_bool(s)
                .map(Value::Bool)
                .map_err(|e| fail(e.to_string())),
            // go-options quirk: an integer bool is inverted.
            T::Integer(i) => Ok(Value::Bool(*i == 0)),
            _ => Err(wrong_type("a bool")),
        },
        FlagKind::Int => match raw {
            T::Integer(i) => Ok(Value::Int(*i)),
            T::String(s) => parse_int(s, 10)
                .map(Value::Int)
                .map_err(|e| fail(e.to_string())),
            _ => Err(wrong_type("an integer or a numeric string")),
        },
        FlagKind::Float => match raw {
            T::Float(f) => Ok(Value::Float(*f)),
            T::Integer(i) => Ok(Value::Float(*i as f64)),
            T::String(s) => parse_float(s)
                .map(Value::Float)
                .map_err(|e| fail(e.to_string())),
            _ => Err(wrong_type("a number or a numeric string")),
        },
        FlagKind::Str => match raw {
            T::String(s) => checked(s.clone()),
            _ => Err(wrong_type("a string")),
        },
        FlagKind::Duration => match raw {
            T::String(s) => parse_go_duration(s)
                .map(Value::Duration)
                .map_err(|e| fail(e.to_string())),
            T::Integer(ms) => u64::try_from(*ms)
                .map(|ms| Value::Duration(Duration::from_millis(ms)))
                .map_err(|_| fail("negative durations are not allowed".to_string())),
            _ => Err(wrong_type(
                "a duration string or an integer of milliseconds",
            )),
        },
        FlagKind::StrList => match raw {
            T::String(s) => Ok(Value::StrList(s.split(',').map(str::to_string).collect())),
            T::Array(items) => items
                .iter()
                .map(|item| match item {
                    T::String(s) => Ok(s.clone()),
                    other => Err(fail(format!(
                        "expected an array of strings, found a TOML {}",
                        other.type_str()
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::StrList),
            _ => Err(wrong_type(
                "an array of strings or a comma-separated string",
            )),
        },
        FlagKind::FloatList => match raw {
            T::String(s) => s
                .split(',')
                .map(|piece| parse_float(piece.trim()).map_err(|e| fail(e.to_string())))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::FloatList),
            T::Array(items) => items
                .iter()
                .map(|item| match item {
                    T::Float(f) => Ok(*f),
                    T::Integer(i) => Ok(*i as f64),
                    T::String(s) => parse_float(s.trim()).map_err(|e| fail(e.to_string())),
                    other => Err(fail(format!(
                        "expected an array of numbers, found a TOML {}",
                        other.type_str()
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::FloatList),
            _ => Err(wrong_type(
                "an array of numbers or a comma-separated string",
            )),
        },
        FlagKind::BoolStr => match raw {
            T::Boolean(b) => checked(b.to_string()),
            T::String(s) => checked(s.clone()),
            T::Integer(i) => checked(i.to_string()),
            _ => Err(wrong_type("a bool or a string")),
        },
        FlagKind::LogLevel => go_display(raw)
            .parse::<LogLevel>()
            .map(|l| Value::Str(l.as_str().to_string()))
            .map_err(|_| ConfigError::Invalid {
                key: key.to_string(),
                value: go_display(raw),
            }),
    }
}

/// A TOML value as Go's `fmt` `%v` prints the decoded value (strings unquoted).
fn go_display(raw: &toml::Value) -> String {
    match raw {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format_float(*f),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
