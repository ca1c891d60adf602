//! The argument scanner: Go's `FlagSet.Parse` / `parseOne` semantics and error texts.
//!
//! Kept apart from the declarations so the exact control flow of Go's parser (what stops
//! parsing, when the next argument is consumed, which message each failure produces) can be
//! read and compared in one place.

use super::{FlagError, FlagKind, FlagSet, FlagSpec, ParsedArgs, Value};
use crate::duration::{parse_go_duration, DurationError};
use crate::logging::LogLevel;
use crate::strconv::{parse_bool, parse_float, parse_int, quote, NumError, NumErrorKind};

/// Parses `args` into explicitly-set flags and positional arguments.
pub(super) fn parse(set: &FlagSet, args: Vec<String>) -> Result<ParsedArgs, FlagError> {
    let mut parsed = ParsedArgs::default();
    let mut rest = args.into_iter().peekable();
    while let Some(arg) = rest.peek() {
        // A lone "-" or anything not starting with '-' is the first positional argument.
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let arg = rest.next().unwrap_or_default();
        let dashes = if arg.as_bytes()[1] == b'-' { 2 } else { 1 };
        if arg == "--" {
            break;
        }
        let body = &arg[dashes..];
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(FlagError::Invalid(format!("bad flag syntax: {arg}")));
        }
        // "=" at index 0 is excluded above, so a split always leaves a non-empty name.
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(spec) = set.spec(name) else {
            if name == "help" || name == "h" {
                return Err(FlagError::Help);
            }
            return Err(FlagError::Invalid(format!(
                "flag provided but not defined: -{name}"
            )));
        };
        let value = if spec.kind.is_bool_style() {
            parse_bool_style(set, spec, inline)?
        } else {
            let text = match inline {
                Some(v) => v,
                None => rest.next().ok_or_else(|| {
                    FlagError::Invalid(format!("flag needs an argument: -{name}"))
                })?,
            };
            parse_valued(set, spec, &text).map_err(|reason| {
                FlagError::Invalid(format!(
                    "invalid value {} for flag -{name}: {reason}",
                    quote(&text)
                ))
            })?
        };
        parsed.record(spec.name, value);
    }
    parsed.positional = rest.collect();
    Ok(parsed)
}

/// `Bool` and `BoolStr`: never consume the next argument.
fn parse_bool_style(
    set: &FlagSet,
    spec: &FlagSpec,
    inline: Option<String>,
) -> Result<Value, FlagError> {
    let name = spec.name;
    match (spec.kind, inline) {
        (FlagKind::Bool, None) => Ok(Value::Bool(true)),
        (FlagKind::Bool, Some(text)) => parse_bool(&text).map(Value::Bool).map_err(|_| {
            FlagError::Invalid(format!(
                "invalid boolean value {} for -{name}: parse error",
                quote(&text)
            ))
        }),
        (_, None) => {
            if let Some(check) = set.check(name) {
                check("true").map_err(|reason| {
                    FlagError::Invalid(format!("invalid boolean flag {name}: {reason}"))
                })?;
            }
            Ok(Value::Str("true".to_string()))
        }
        (_, Some(text)) => {
            if let Some(check) = set.check(name) {
                check(&text).map_err(|reason| {
                    FlagError::Invalid(format!(
                        "invalid boolean value {} for -{name}: {reason}",
                        quote(&text)
                    ))
                })?;
            }
            Ok(Value::Str(text))
        }
    }
}

/// Every other kind; `Err` is the reason shown after `invalid value "x" for flag -name: `.
fn parse_valued(set: &FlagSet, spec: &FlagSpec, text: &str) -> Result<Value, String> {
    match spec.kind {
        FlagKind::Int => parse_int(text, 0).map(Value::Int).map_err(flag_num_error),
        FlagKind::Float => parse_float(text).map(Value::Float).map_err(flag_num_error),
        FlagKind::Duration => parse_go_duration(text)
            .map(Value::Duration)
            .map_err(flag_duration_error),
        FlagKind::Str => {
            if let Some(check) = set.check(spec.name) {
                check(text)?;
            }
            Ok(Value::Str(text.to_string()))
        }
        FlagKind::StrList => Ok(Value::StrList(vec![text.to_string()])),
        FlagKind::FloatList => text
            .split(',')
            .map(|piece| parse_float(piece).map_err(flag_num_error))
            .collect::<Result<Vec<f64>, String>>()
            .map(Value::FloatList),
        FlagKind::LogLevel => text
            .parse::<LogLevel>()
            .map(|l| Value::Str(l.as_str().to_string()))
            .map_err(|e| e.to_string()),
        // Bool-style kinds are handled by `parse_bool_style`.
        FlagKind::Bool | FlagKind::BoolStr => Err("parse error".to_string()),
    }
}

/// Go's `flag` maps `strconv` failures to these two texts.
fn flag_num_error(e: NumError) -> String {
    match e.kind {
        NumErrorKind::Syntax => "parse error".to_string(),
        NumErrorKind::Range => "value out of range".to_string(),
    }
}

/// Go's `flag` reports every `time.ParseDuration` failure as `parse error`; negative values,
/// which Go accepts, get their own explanation.
fn flag_duration_error(e: DurationError) -> String {
    match e {
        DurationError::Negative(_) => e.to_string(),
        _ => "parse error".to_string(),
    }
}
