//! Expected results below were observed with Go 1.26's `flag` package on an equivalent
//! flag set (throwaway program), unless marked otherwise.

use super::*;

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// Mirrors the Go observation program's flag set.
fn set() -> FlagSet {
    FlagSet::new(
        "nsqd",
        vec![
            FlagSpec::new(
                "deflate",
                FlagKind::Bool,
                Value::Bool(true),
                "enable deflate",
            ),
            FlagSpec::new(
                "v",
                FlagKind::Bool,
                Value::Bool(false),
                "verbose one-letter bool",
            ),
            FlagSpec::new(
                "version",
                FlagKind::Bool,
                Value::Bool(false),
                "print version string",
            )
            .no_cfg(),
            FlagSpec::new(
                "mem-queue-size",
                FlagKind::Int,
                Value::Int(10000),
                "number of messages to keep in memory",
            ),
            FlagSpec::new("n", FlagKind::Int, Value::Int(0), "count"),
            FlagSpec::new("sample", FlagKind::Float, Value::Float(1.0), "sample rate"),
            FlagSpec::new(
                "zero-float",
                FlagKind::Float,
                Value::Float(0.0),
                "zero float",
            ),
            FlagSpec::new(
                "log-prefix",
                FlagKind::Str,
                s("[nsqd] "),
                "log message prefix",
            ),
            FlagSpec::new("topic", FlagKind::Str, s(""), "nsq `topic` name"),
            FlagSpec::new(
                "msg-timeout",
                FlagKind::Duration,
                Value::Duration(Duration::from_secs(60)),
                "default duration",
            ),
            FlagSpec::new(
                "zero-dur",
                FlagKind::Duration,
                Value::Duration(Duration::ZERO),
                "zero dur",
            ),
            FlagSpec::new(
                "lookupd-tcp-address",
                FlagKind::StrList,
                Value::StrList(vec![]),
                "lookupd TCP address (may be given multiple times)",
            )
            .cfg("nsqlookupd_tcp_addresses"),
            FlagSpec::new(
                "tls-required",
                FlagKind::BoolStr,
                s("false"),
                "require TLS for client connections (true, false, tcp-https)",
            ),
        ],
    )
}

/// Our extra kinds (not in the Go observation program).
fn extra_set() -> FlagSet {
    FlagSet::new(
        "nsqd",
        vec![
            FlagSpec::new(
                "e2e-processing-latency-percentile",
                FlagKind::FloatList,
                Value::FloatList(vec![]),
                "percentiles",
            ),
            FlagSpec::new(
                "log-level",
                FlagKind::LogLevel,
                s("info"),
                "set log verbosity: debug, info, warn, error, or fatal",
            ),
            FlagSpec::new("tls-min-version", FlagKind::Str, s("tls1.0"), "min TLS"),
            FlagSpec::new("tls-required", FlagKind::BoolStr, s("false"), "require TLS"),
        ],
    )
    .with_check("tls-min-version", |v| match v.to_lowercase().as_str() {
        "" | "tls1.0" | "tls1.1" | "tls1.2" | "tls1.3" => Ok(()),
        other => Err(format!(
            "unknown tlsVersionOption {}",
            crate::strconv::quote(other)
        )),
    })
    .with_check("tls-required", |v| {
        if v.eq_ignore_ascii_case("tcp-https") {
            return Ok(());
        }
        crate::strconv::parse_bool(&v.to_lowercase())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

fn parse(args: &[&str]) -> Result<ParsedArgs, FlagError> {
    set().parse(args.iter().map(|a| a.to_string()))
}

fn ok(args: &[&str]) -> ParsedArgs {
    parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn err(args: &[&str]) -> String {
    match parse(args) {
        Ok(p) => panic!("{args:?} parsed: {p:?}"),
        Err(e) => e.to_string(),
    }
}

fn pos(p: &ParsedArgs) -> Vec<&str> {
    p.positional().iter().map(String::as_str).collect()
}

#[test]
fn value_forms_single_and_double_dash() {
    for args in [&["-n", "7"][..], &["-n=7"], &["--n", "7"], &["--n=7"]] {
        let p = ok(args);
        assert_eq!(p.get("n"), Some(&Value::Int(7)), "{args:?}");
        assert!(p.is_set("n"));
        assert!(!p.is_set("topic"));
        assert!(p.positional().is_empty());
    }
    let p = ok(&["-topic=t", "--log-prefix", "x "]);
    assert_eq!(p.get("topic"), Some(&s("t")));
    assert_eq!(p.get("log-prefix"), Some(&s("x ")));
}

#[test]
fn scalar_repeat_last_wins_and_positionals_stop_parsing() {
    let p = ok(&[
        "-mem-queue-size",
        "5",
        "--mem-queue-size=6",
        "-topic=t",
        "a",
        "b",
    ]);
    assert_eq!(p.get("mem-queue-size"), Some(&Value::Int(6)));
    assert_eq!(p.get("topic"), Some(&s("t")));
    assert_eq!(pos(&p), ["a", "b"]);
    let p = ok(&["a", "-n", "3"]);
    assert!(!p.is_set("n"));
    assert_eq!(pos(&p), ["a", "-n", "3"]);
}

#[test]
fn bare_bool_and_bool_with_space_value() {
    let p = ok(&["--deflate", "false", "-n", "3"]);
    assert_eq!(p.get("deflate"), Some(&Value::Bool(true)));
    assert!(!p.is_set("n"));
    assert_eq!(pos(&p), ["false", "-n", "3"]);

    let p = ok(&["-deflate=false", "-deflate=0", "-n=0x10"]);
    assert_eq!(p.get("deflate"), Some(&Value::Bool(false)));
    assert_eq!(p.get("n"), Some(&Value::Int(16)));

    let p = ok(&["-deflate=T", "-v"]);
    assert_eq!(p.get("deflate"), Some(&Value::Bool(true)));
    assert_eq!(p.get("v"), Some(&Value::Bool(true)));
    assert_eq!(
        err(&["-deflate=maybe"]),
        r#"invalid boolean value "maybe" for -deflate: parse error"#
    );
}

#[test]
fn terminators_and_lone_dash() {
    let p = ok(&["--", "-n", "3"]);
    assert!(!p.is_set("n"));
    assert_eq!(pos(&p), ["-n", "3"]);
    let p = ok(&["-n", "1", "--", "--", "x"]);
    assert_eq!(p.get("n"), Some(&Value::Int(1)));
    assert_eq!(pos(&p), ["--", "x"]);
    let p = ok(&["-", "-n", "3"]);
    assert_eq!(pos(&p), ["-", "-n", "3"]);
    let p = ok(&[]);
    assert!(p.positional().is_empty());
    assert_eq!(p.set_flags().count(), 0);
}

#[test]
fn value_taken_from_next_arg_even_if_it_looks_like_a_flag() {
    let p = ok(&["-topic", "-n"]);
    assert_eq!(p.get("topic"), Some(&s("-n")));
    assert!(!p.is_set("n"));
}

#[test]
fn int_bases() {
    let cases: &[(&str, i64)] = &[
        ("010", 8),
        ("0x10", 16),
        ("0b101", 5),
        ("0o17", 15),
        ("1_000", 1000),
        ("0_10", 8),
        ("0x_1F", 31),
        ("-9223372036854775808", i64::MIN),
        ("-5", -5),
    ];
    for (text, want) in cases {
        assert_eq!(
            ok(&["-n", text]).get("n"),
            Some(&Value::Int(*want)),
            "{text}"
        );
    }
}

#[test]
fn exact_error_messages() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["-n", "_1"],
            r#"invalid value "_1" for flag -n: parse error"#,
        ),
        (
            &["-n", "0x"],
            r#"invalid value "0x" for flag -n: parse error"#,
        ),
        (
            &["-n", "08"],
            r#"invalid value "08" for flag -n: parse error"#,
        ),
        (
            &["-n", "9223372036854775808"],
            r#"invalid value "9223372036854775808" for flag -n: value out of range"#,
        ),
        (
            &["-n", "99999999999999999999x"],
            r#"invalid value "99999999999999999999x" for flag -n: value out of range"#,
        ),
        (
            &["-n", "abc"],
            r#"invalid value "abc" for flag -n: parse error"#,
        ),
        (&["-n"], "flag needs an argument: -n"),
        (&["--topic"], "flag needs an argument: -topic"),
        (&["-n="], r#"invalid value "" for flag -n: parse error"#),
        (
            &["-n=3=4"],
            r#"invalid value "3=4" for flag -n: parse error"#,
        ),
        (
            &["-n", "x y"],
            r#"invalid value "x y" for flag -n: parse error"#,
        ),
        (&["-bogus"], "flag provided but not defined: -bogus"),
        (&["--bogus=1"], "flag provided but not defined: -bogus"),
        (
            &["-topic=é", "-bogus=x"],
            "flag provided but not defined: -bogus",
        ),
        (&["---n", "3"], "bad flag syntax: ---n"),
        (&["-=3"], "bad flag syntax: -=3"),
        (&["--=3"], "bad flag syntax: --=3"),
        (
            &["-msg-timeout", "5"],
            r#"invalid value "5" for flag -msg-timeout: parse error"#,
        ),
        (
            &["-sample", "1e400"],
            r#"invalid value "1e400" for flag -sample: value out of range"#,
        ),
        (
            &["-sample", "abc"],
            r#"invalid value "abc" for flag -sample: parse error"#,
        ),
        (
            &["-n", "a\"b"],
            r#"invalid value "a\"b" for flag -n: parse error"#,
        ),
    ];
    for (args, want) in cases {
        assert_eq!(err(args), *want, "{args:?}");
        assert!(matches!(parse(args), Err(FlagError::Invalid(_))));
    }
}

#[test]
fn negative_duration_is_rejected_with_explanation() {
    // Go accepts -1s; std::time::Duration cannot hold it (documented deviation).
    assert_eq!(
        err(&["-msg-timeout=-1s"]),
        r#"invalid value "-1s" for flag -msg-timeout: negative duration "-1s" is not allowed"#
    );
}

#[test]
fn help_forms() {
    for args in [
        &["-h"][..],
        &["-help"],
        &["--help"],
        &["-help=1"],
        &["-n", "1", "-h"],
    ] {
        assert_eq!(parse(args), Err(FlagError::Help), "{args:?}");
    }
    // A defined flag named h is an ordinary flag.
    let set = FlagSet::new("x", vec![FlagSpec::new("h", FlagKind::Str, s(""), "host")]);
    let p = set.parse(["-h".to_string(), "a".to_string()]).unwrap();
    assert_eq!(p.get("h"), Some(&s("a")));
}

#[test]
fn durations_and_floats() {
    let p = ok(&[
        "-msg-timeout",
        "1h30m",
        "-zero-dur",
        "0",
        "-sample",
        "0x1p-2",
    ]);
    assert_eq!(
        p.get("msg-timeout"),
        Some(&Value::Duration(Duration::from_secs(5400)))
    );
    assert_eq!(p.get("zero-dur"), Some(&Value::Duration(Duration::ZERO)));
    assert_eq!(p.get("sample"), Some(&Value::Float(0.25)));
}

#[test]
fn str_list_accumulates_verbatim() {
    let p = ok(&[
        "-lookupd-tcp-address",
        "a",
        "-n",
        "1",
        "-lookupd-tcp-address=b,c",
    ]);
    assert_eq!(
        p.get("lookupd-tcp-address"),
        Some(&Value::StrList(vec!["a".into(), "b,c".into()]))
    );
    assert_eq!(
        p.set_flags().collect::<Vec<_>>(),
        ["lookupd-tcp-address", "n"]
    );
}

#[test]
fn bool_str_forms() {
    assert_eq!(ok(&["-tls-required"]).get("tls-required"), Some(&s("true")));
    assert_eq!(
        ok(&["--tls-required=tcp-https"]).get("tls-required"),
        Some(&s("tcp-https"))
    );
    let p = ok(&["--tls-required", "tcp-https"]);
    assert_eq!(p.get("tls-required"), Some(&s("true")));
    assert_eq!(pos(&p), ["tcp-https"]);
}

fn extra(args: &[&str]) -> Result<ParsedArgs, FlagError> {
    extra_set().parse(args.iter().map(|a| a.to_string()))
}

#[test]
fn float_list_splits_each_occurrence_without_sorting() {
    let p = extra(&[
        "--e2e-processing-latency-percentile",
        "0.5",
        "--e2e-processing-latency-percentile=0.99,0.9",
    ])
    .unwrap();
    assert_eq!(
        p.get("e2e-processing-latency-percentile"),
        Some(&Value::FloatList(vec![0.5, 0.99, 0.9]))
    );
    assert_eq!(
        extra(&["--e2e-processing-latency-percentile=0.5,x"]).unwrap_err(),
        FlagError::Invalid(
            r#"invalid value "0.5,x" for flag -e2e-processing-latency-percentile: parse error"#
                .into()
        )
    );
}

#[test]
fn log_level_kind() {
    let p = extra(&["--log-level", "WARN"]).unwrap();
    assert_eq!(p.get("log-level"), Some(&s("warn")));
    // Text verified against Go nsqlookupd (spec lookupd-admin-tools.md §0.1).
    assert_eq!(
        extra(&["--log-level=warning"]).unwrap_err().to_string(),
        "invalid value \"warning\" for flag -log-level: invalid log level 'warning' \
         (debug, info, warn, error, fatal)"
    );
}

#[test]
fn checks_run_on_flag_values() {
    assert!(extra(&["--tls-min-version=TLS1.2"]).is_ok());
    assert_eq!(
        extra(&["--tls-min-version=ssl3.0"])
            .unwrap_err()
            .to_string(),
        r#"invalid value "ssl3.0" for flag -tls-min-version: unknown tlsVersionOption "ssl3.0""#
    );
    assert!(extra(&["--tls-required"]).is_ok());
    assert!(extra(&["--tls-required=TCP-HTTPS"]).is_ok());
    assert_eq!(
        extra(&["--tls-required=x"]).unwrap_err().to_string(),
        r#"invalid boolean value "x" for -tls-required: strconv.ParseBool: parsing "x": invalid syntax"#
    );
}

#[test]
fn usage_matches_go_print_defaults() {
    // Captured from Go's FlagSet.Usage for the same declarations.
    let want = "Usage of nsqd:
  -deflate
    \tenable deflate (default true)
  -log-prefix string
    \tlog message prefix (default \"[nsqd] \")
  -lookupd-tcp-address value
    \tlookupd TCP address (may be given multiple times)
  -mem-queue-size int
    \tnumber of messages to keep in memory (default 10000)
  -msg-timeout duration
    \tdefault duration (default 1m0s)
  -n int
    \tcount
  -sample float
    \tsample rate (default 1)
  -tls-required
    \trequire TLS for client connections (true, false, tcp-https)
  -topic topic
    \tnsq topic name
  -v\tverbose one-letter bool
  -version
    \tprint version string
  -zero-dur duration
    \tzero dur
  -zero-float float
    \tzero float
";
    assert_eq!(set().usage(), want);
}

#[test]
fn usage_of_extra_kinds() {
    let usage = extra_set().usage();
    assert!(usage.contains("  -log-level value\n    \tset log verbosity: debug, info, warn, error, or fatal (default INFO)\n"), "{usage}");
    assert!(usage.contains("  -e2e-processing-latency-percentile value\n    \tpercentiles\n"));
    assert!(usage.contains("  -tls-required\n    \trequire TLS\n"));
    assert!(usage.contains("  -tls-min-version string\n    \tmin TLS (default \"tls1.0\")\n"));
}

#[test]
fn spec_config_keys() {
    let spec = FlagSpec::new("mem-queue-size", FlagKind::Int, Value::Int(1), "");
    assert_eq!(spec.config_key().as_deref(), Some("mem_queue_size"));
    assert_eq!(spec.clone().cfg("id").config_key().as_deref(), Some("id"));
    assert_eq!(spec.no_cfg().config_key(), None);
}

#[test]
#[should_panic(expected = "declared twice")]
fn duplicate_names_panic() {
    let _ = FlagSet::new(
        "x",
        vec![
            FlagSpec::new("a", FlagKind::Int, Value::Int(0), ""),
            FlagSpec::new("a", FlagKind::Int, Value::Int(0), ""),
        ],
    );
}

#[test]
#[should_panic(expected = "invalid default")]
fn mismatched_default_panics() {
    let _ = FlagSet::new(
        "x",
        vec![FlagSpec::new("a", FlagKind::Int, Value::Bool(false), "")],
    );
}

#[test]
fn parse_never_panics_on_odd_input() {
    for args in [
        &["-\u{e9}"][..],
        &["--\u{e9}=\u{e9}"],
        &["-n=\u{e9}"],
        &["-"],
        &["--="],
        &["-\u{0}"],
        &["-e2e-processing-latency-percentile"],
    ] {
        let _ = parse(args);
        let _ = extra(args);
    }
}

/// Runs only as a child process of `parse_or_exit_exit_codes`.
#[test]
fn parse_or_exit_child() {
    if let Some(arg) = std::env::var_os("NSQ_CLI_FLAGS_CHILD") {
        let arg = arg.to_string_lossy().into_owned();
        let p = set().parse_or_exit([arg]);
        // Reached only when parsing succeeded.
        eprintln!("PARSED n={:?}", p.get("n"));
        std::process::exit(42);
    }
}

#[test]
fn parse_or_exit_exit_codes() {
    let run = |arg: &str| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "flags::tests::parse_or_exit_child",
                "--exact",
                "--nocapture",
            ])
            .env("NSQ_CLI_FLAGS_CHILD", arg)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let usage = set().usage();
    let (code, stderr) = run("-h");
    assert_eq!(code, Some(0));
    assert!(stderr.contains(&usage), "{stderr}");
    let (code, stderr) = run("-bogus");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("flag provided but not defined: -bogus\n{usage}")),
        "{stderr}"
    );
    let (code, stderr) = run("-n=5");
    assert_eq!(code, Some(42));
    assert!(stderr.contains("PARSED n=Some(Int(5))"), "{stderr}");
}

#[test]
fn typed_lookups_on_parsed_args() {
    let p = ok(&["-version", "-topic=t", "-n=1"]);
    assert_eq!(p.get_bool("version"), Some(true));
    assert_eq!(p.get_str("topic"), Some("t"));
    assert_eq!(p.get_str("n"), None);
    assert_eq!(p.get_bool("deflate"), None);
    assert_eq!(p.get_str("log-prefix"), None);
}
