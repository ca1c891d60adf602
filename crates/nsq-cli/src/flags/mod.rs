//! Go `flag`-package command lines.
//!
//! Every NSQ program is invoked by scripts, systemd units and container specs written for the
//! Go binaries, which parse their arguments with Go's `flag` package: single- or double-dash
//! long names (`-tcp-address` = `--tcp-address`), `=` or space-separated values, bool flags
//! that never consume the next argument, parsing that stops at the first positional
//! argument, base-prefixed integers (`0x10`, octal `010`), Go durations, and exact error texts
//! with exit status 2. Generic Rust parsers (clap & co.) differ on most of these points, so
//! this module reimplements the Go semantics; `--help` output follows Go's `PrintDefaults`.
//!
//! A program declares its flags as a list of [`FlagSpec`]s in a [`FlagSet`], parses the
//! arguments into [`ParsedArgs`] (only what was given explicitly), then merges them with its
//! config file and the defaults through [`crate::config::resolve`].

mod parse;
mod usage;

use crate::logging::LogLevel;
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

/// The type of a flag: how its argument text is parsed and how config values are coerced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagKind {
    /// Go `flag.Bool`: `-x` means true; a value only with `=` (`-x=false`), using
    /// Go's `strconv.ParseBool` words. Value: [`Value::Bool`].
    Bool,
    /// Go `flag.Int`/`flag.Int64`: `strconv.ParseInt(s, 0, 64)` (`0x10`, `010` octal,
    /// `0b1`, `0o7`, `1_000`). Value: [`Value::Int`].
    Int,
    /// Go `flag.Float64`: `strconv.ParseFloat(s, 64)`. Value: [`Value::Float`].
    Float,
    /// Go `flag.String`. Value: [`Value::Str`].
    Str,
    /// Go `flag.Duration`: `time.ParseDuration` syntax (negative durations are rejected
    /// because [`std::time::Duration`] cannot hold them). Value: [`Value::Duration`].
    Duration,
    /// A repeatable string flag; each occurrence appends one value verbatim (no comma
    /// splitting on the command line). Value: [`Value::StrList`].
    StrList,
    /// A repeatable float flag; each occurrence is split on `,` and every piece parsed as a
    /// float and appended, in order (not sorted). Value: [`Value::FloatList`].
    FloatList,
    /// A bool-style flag whose value is free text (nsqd's `--tls-required`): bare `-x` means
    /// the string `"true"`, a value only with `=` (`-x=tcp-https`). Value: [`Value::Str`].
    /// Validate the text with [`FlagSet::with_check`] if needed.
    BoolStr,
    /// NSQ's log level (`--log-level`): one of `debug info warn error fatal`, any case, with
    /// Go NSQ's error text otherwise. Value: [`Value::Str`] holding the lower-case word
    /// (parse it with [`LogLevel`]'s `FromStr`, or use [`crate::Values::log_level`]).
    /// `--help` shows it as `-log-level value` with `(default INFO)`, as Go NSQ does.
    LogLevel,
}

impl FlagKind {
    /// Whether the flag never consumes the following argument (Go's `IsBoolFlag`).
    pub fn is_bool_style(self) -> bool {
        matches!(self, FlagKind::Bool | FlagKind::BoolStr)
    }

    /// Whether repeated occurrences accumulate instead of replacing each other.
    pub fn is_list(self) -> bool {
        matches!(self, FlagKind::StrList | FlagKind::FloatList)
    }

    /// Whether `value` is an acceptable default for this kind (`BoolStr` accepts a
    /// [`Value::Bool`] too, stored as `"true"`/`"false"`; `LogLevel` needs a valid level word).
    pub fn accepts_default(self, value: &Value) -> bool {
        match (self, value) {
            (FlagKind::Bool, Value::Bool(_))
            | (FlagKind::Int, Value::Int(_))
            | (FlagKind::Float, Value::Float(_))
            | (FlagKind::Str, Value::Str(_))
            | (FlagKind::Duration, Value::Duration(_))
            | (FlagKind::StrList, Value::StrList(_))
            | (FlagKind::FloatList, Value::FloatList(_))
            | (FlagKind::BoolStr, Value::Str(_) | Value::Bool(_)) => true,
            (FlagKind::LogLevel, Value::Str(s)) => s.parse::<LogLevel>().is_ok(),
            _ => false,
        }
    }
}

/// A typed flag or option value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A [`FlagKind::Bool`] value.
    Bool(bool),
    /// A [`FlagKind::Int`] value.
    Int(i64),
    /// A [`FlagKind::Float`] value.
    Float(f64),
    /// A [`FlagKind::Str`], [`FlagKind::BoolStr`] or [`FlagKind::LogLevel`] value.
    Str(String),
    /// A [`FlagKind::Duration`] value.
    Duration(Duration),
    /// A [`FlagKind::StrList`] value.
    StrList(Vec<String>),
    /// A [`FlagKind::FloatList`] value.
    FloatList(Vec<f64>),
}

impl Value {
    /// A short name of the variant, for error messages (`bool`, `int`, `float`, `string`,
    /// `duration`, `string list`, `float list`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Duration(_) => "duration",
            Value::StrList(_) => "string list",
            Value::FloatList(_) => "float list",
        }
    }
}

/// The declaration of one flag.
///
/// Invariant (checked by [`FlagSet::new`]): `default` is of the variant `kind` produces.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagSpec {
    /// The flag name without dashes, e.g. `tcp-address`.
    pub name: &'static str,
    /// How the argument is parsed.
    pub kind: FlagKind,
    /// The value used when neither the command line nor the config file sets it.
    pub default: Value,
    /// The config-file key: `None` means the name with `-` replaced by `_`; `Some("")` means
    /// the flag cannot be set from the config file (e.g. `--config`, `--version`).
    pub cfg_key: Option<&'static str>,
    /// The help text. As in Go, a back-quoted word in it (`` `addr` ``) is shown as the
    /// argument name in `--help` and the quotes are removed.
    pub usage: &'static str,
}

impl FlagSpec {
    /// A spec with the default config key (name with `-` → `_`).
    pub fn new(name: &'static str, kind: FlagKind, default: Value, usage: &'static str) -> Self {
        FlagSpec {
            name,
            kind,
            default,
            cfg_key: None,
            usage,
        }
    }

    /// Sets an explicit config key (e.g. `id` for `node-id`).
    pub fn cfg(mut self, key: &'static str) -> Self {
        self.cfg_key = Some(key);
        self
    }

    /// Makes the flag command-line only (equivalent to `cfg_key: Some("")`).
    pub fn no_cfg(mut self) -> Self {
        self.cfg_key = Some("");
        self
    }

    /// The key under which the config file may set this flag, or `None` if it cannot.
    pub fn config_key(&self) -> Option<Cow<'static, str>> {
        match self.cfg_key {
            None => Some(Cow::Owned(self.name.replace('-', "_"))),
            Some("") => None,
            Some(k) => Some(Cow::Borrowed(k)),
        }
    }
}

/// An extra validation for a [`FlagKind::Str`], [`FlagKind::BoolStr`] flag's text, run on
/// command-line values and config values. `Err` carries the reason shown after
/// `invalid value "x" for flag -name: ` (see [`FlagSet::with_check`]).
pub type CheckFn = fn(&str) -> Result<(), String>;

/// Why parsing stopped without a result. `Display` is exactly what Go prints before the
/// usage text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// `-h`, `-help` or `--help` was given (and no flag of that name is defined): print the
    /// usage and exit 0.
    #[error("flag: help requested")]
    Help,
    /// A bad command line, with Go's message (`flag provided but not defined: -bogus`,
    /// `flag needs an argument: -topic`, `invalid value "x" for flag -n: parse error`, ...):
    /// print it and the usage, exit 2.
    #[error("{0}")]
    Invalid(String),
}

/// The result of parsing: the flags explicitly given (with their parsed, accumulated values)
/// and the positional arguments (everything from the first non-flag argument on, or after
/// `--`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedArgs {
    values: HashMap<String, Value>,
    order: Vec<String>,
    positional: Vec<String>,
}

impl ParsedArgs {
    /// Whether the flag appeared on the command line (even with its default value).
    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The value given on the command line (the last one for scalars, all accumulated for
    /// lists), or `None` if the flag was not given.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The text given for a `Str`, `BoolStr` or `LogLevel` flag (e.g. `--config`), or `None`
    /// if the flag was not given (or is of another kind).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The value given for a `Bool` flag (e.g. `--version`), or `None` if the flag was not
    /// given (or is of another kind).
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// The arguments left after flag parsing stopped (not including a `--` terminator).
    pub fn positional(&self) -> &[String] {
        &self.positional
    }

    /// Names of the flags given, in order of first appearance.
    pub fn set_flags(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    fn record(&mut self, name: &str, value: Value) {
        if !self.values.contains_key(name) {
            self.order.push(name.to_string());
        }
        match (self.values.get_mut(name), value) {
            (Some(Value::StrList(old)), Value::StrList(new)) => old.extend(new),
            (Some(Value::FloatList(old)), Value::FloatList(new)) => old.extend(new),
            (_, value) => {
                self.values.insert(name.to_string(), value);
            }
        }
    }
}

/// A program's flag declarations.
///
/// Invariants (checked by [`FlagSet::new`], which panics on violation because they are
/// programming errors): names are unique, non-empty, and neither start with `-` nor contain
/// `=`; every default matches its kind.
#[derive(Debug, Clone)]
pub struct FlagSet {
    program: String,
    specs: Vec<FlagSpec>,
    index: HashMap<&'static str, usize>,
    checks: HashMap<&'static str, CheckFn>,
}

impl FlagSet {
    /// Declares the flags of `program` (the name shown in `Usage of <program>:`).
    ///
    /// # Panics
    /// On a duplicate or malformed name, or a default that does not match its kind.
    pub fn new(program: &str, specs: Vec<FlagSpec>) -> Self {
        let mut index = HashMap::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            assert!(
                !spec.name.is_empty() && !spec.name.starts_with('-') && !spec.name.contains('='),
                "nsq-cli: malformed flag name {:?}",
                spec.name
            );
            assert!(
                spec.kind.accepts_default(&spec.default),
                "nsq-cli: flag -{} of kind {:?} has an invalid default {:?}",
                spec.name,
                spec.kind,
                spec.default
            );
            let previous = index.insert(spec.name, i);
            assert!(
                previous.is_none(),
                "nsq-cli: flag -{} declared twice",
                spec.name
            );
        }
        FlagSet {
            program: program.to_string(),
            specs,
            index,
            checks: HashMap::new(),
        }
    }

    /// Adds a validation for the text of a [`FlagKind::Str`] or [`FlagKind::BoolStr`] flag
    /// (e.g. nsqd's `--tls-min-version`). On the command line a rejection is reported like a
    /// Go `flag.Value` whose `Set` failed: `invalid value "x" for flag -name: <reason>`
    /// (`invalid boolean value "x" for -name: <reason>` for `BoolStr`), exit 2. From the
    /// config file it is `failed parsing <key> <value>` (see [`crate::ConfigError`]).
    ///
    /// # Panics
    /// If no flag `name` exists or it is not `Str`/`BoolStr`.
    pub fn with_check(mut self, name: &'static str, check: CheckFn) -> Self {
        let kind = self.spec(name).map(|s| s.kind);
        assert!(
            matches!(kind, Some(FlagKind::Str | FlagKind::BoolStr)),
            "nsq-cli: with_check on unknown or non-string flag -{name}"
        );
        self.checks.insert(name, check);
        self
    }

    /// The program name given to [`FlagSet::new`].
    pub fn program(&self) -> &str {
        &self.program
    }

    /// All specs, in declaration order.
    pub fn specs(&self) -> &[FlagSpec] {
        &self.specs
    }

    /// The spec named `name`, if declared.
    pub fn spec(&self, name: &str) -> Option<&FlagSpec> {
        self.index.get(name).map(|&i| &self.specs[i])
    }

    /// The check registered with [`FlagSet::with_check`] for `name`, if any.
    pub fn check(&self, name: &str) -> Option<CheckFn> {
        self.checks.get(name).copied()
    }

    /// Parses `args` (without the program name) with Go `flag` semantics; see the module
    /// documentation. Never panics on any input.
    pub fn parse<I: IntoIterator<Item = String>>(&self, args: I) -> Result<ParsedArgs, FlagError> {
        parse::parse(self, args.into_iter().collect())
    }

    /// The `--help` text, formatted like Go's `flag.FlagSet.PrintDefaults` after
    /// `Usage of <program>:` (flags sorted by name, one `  -name type` line and one
    /// `    \t<usage> (default X)` line each, defaults omitted when equal to the type's
    /// zero value). Ends with a newline.
    pub fn usage(&self) -> String {
        usage::usage(self)
    }

    /// [`FlagSet::parse`], handling errors like Go's `flag.ExitOnError`: on [`FlagError::Help`]
    /// prints the usage to stderr and exits 0; on [`FlagError::Invalid`] prints the message,
    /// a newline and the usage to stderr and exits 2.
    pub fn parse_or_exit<I: IntoIterator<Item = String>>(&self, args: I) -> ParsedArgs {
        match self.parse(args) {
            Ok(parsed) => parsed,
            Err(FlagError::Help) => {
                eprint!("{}", self.usage());
                std::process::exit(0)
            }
            Err(FlagError::Invalid(msg)) => {
                eprint!("{msg}\n{}", self.usage());
                std::process::exit(2)
            }
        }
    }

    /// [`FlagSet::parse_or_exit`] on this process's arguments (`std::env::args_os`, program
    /// name skipped). Arguments that are not valid UTF-8 are converted lossily instead of
    /// panicking.
    pub fn parse_env_or_exit(&self) -> ParsedArgs {
        self.parse_or_exit(
            std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned()),
        )
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
