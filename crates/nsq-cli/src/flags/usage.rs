//! `--help` text in the layout of Go's `flag.PrintDefaults`.
//!
//! Operators and docs compare help output with the Go binaries'; reproducing the layout
//! (sorted names, type words, tab-indented usage, defaults only when not the zero value,
//! quoted string defaults) keeps them interchangeable.

use super::{FlagKind, FlagSet, FlagSpec, Value};
use crate::duration::format_go_duration;
use crate::logging::LogLevel;
use crate::strconv::{format_float, quote};

pub(super) fn usage(set: &FlagSet) -> String {
    let mut out = format!("Usage of {}:\n", set.program());
    let mut specs: Vec<&FlagSpec> = set.specs().iter().collect();
    specs.sort_by(|a, b| a.name.cmp(b.name));
    for spec in specs {
        out.push_str(&flag_entry(spec));
        out.push('\n');
    }
    out
}

/// One flag's entry without the final newline.
fn flag_entry(spec: &FlagSpec) -> String {
    let mut line = format!("  -{}", spec.name);
    let (arg_name, text) = unquote_usage(spec);
    if !arg_name.is_empty() {
        line.push(' ');
        line.push_str(&arg_name);
    }
    // Go puts the usage of one-letter bool flags on the same line.
    if line.len() <= 4 {
        line.push('\t');
    } else {
        line.push_str("\n    \t");
    }
    line.push_str(&text.replace('\n', "\n    \t"));
    if let Some(default) = default_text(spec) {
        line.push_str(" (default ");
        line.push_str(&default);
        line.push(')');
    }
    line
}

/// Go's `UnquoteUsage`: the first back-quoted word names the argument (and loses its quotes
/// in the text); otherwise the name is the type word, empty for bool-style flags.
fn unquote_usage(spec: &FlagSpec) -> (String, String) {
    let usage = spec.usage;
    if let Some(start) = usage.find('`') {
        if let Some(len) = usage[start + 1..].find('`') {
            let name = &usage[start + 1..start + 1 + len];
            let text = format!("{}{}{}", &usage[..start], name, &usage[start + 2 + len..]);
            return (name.to_string(), text);
        }
    }
    let name = match spec.kind {
        FlagKind::Bool | FlagKind::BoolStr => "",
        FlagKind::Int => "int",
        FlagKind::Float => "float",
        FlagKind::Str => "string",
        FlagKind::Duration => "duration",
        FlagKind::StrList | FlagKind::FloatList | FlagKind::LogLevel => "value",
    };
    (name.to_string(), usage.to_string())
}

/// The `(default X)` text, or `None` when the default equals the kind's zero value (Go's
/// `isZeroValue`), mirroring what Go NSQ's flag types print.
fn default_text(spec: &FlagSpec) -> Option<String> {
    match (&spec.default, spec.kind) {
        (Value::Str(s), FlagKind::LogLevel) => {
            // lg.LogLevel prints its upper-case name; its zero value prints "invalid".
            Some(
                s.parse::<LogLevel>()
                    .unwrap_or_default()
                    .label()
                    .to_string(),
            )
        }
        (Value::Str(s), FlagKind::BoolStr) => {
            (!s.is_empty() && s != "false").then(|| s.to_string())
        }
        (Value::Bool(b), _) => b.then(|| "true".to_string()),
        (Value::Int(i), _) => (*i != 0).then(|| i.to_string()),
        (Value::Float(f), _) => (*f != 0.0 || f.is_sign_negative()).then(|| format_float(*f)),
        (Value::Str(s), _) => (!s.is_empty()).then(|| quote(s)),
        (Value::Duration(d), _) => (!d.is_zero()).then(|| format_go_duration(*d)),
        (Value::StrList(v), _) => (!v.is_empty()).then(|| v.join(",")),
        (Value::FloatList(v), _) => (!v.is_empty()).then(|| {
            v.iter()
                .map(|f| format!("{f:.6}"))
                .collect::<Vec<_>>()
                .join(",")
        }),
    }
}
