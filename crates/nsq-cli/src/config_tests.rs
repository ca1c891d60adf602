//! Coercion expectations were checked against mreiferson/go-options v1.0.0 with
//! BurntSushi/toml v1.3.2 (throwaway Go program), except where marked as our choice.

use super::*;
use crate::flags::FlagSpec;
use std::io::Write;

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn set() -> FlagSet {
    FlagSet::new(
        "nsqd",
        vec![
            FlagSpec::new("config", FlagKind::Str, s(""), "config file").no_cfg(),
            FlagSpec::new("deflate", FlagKind::Bool, Value::Bool(true), ""),
            FlagSpec::new("snappy", FlagKind::Bool, Value::Bool(true), ""),
            FlagSpec::new("mem-queue-size", FlagKind::Int, Value::Int(10000), ""),
            FlagSpec::new("max-rdy-count", FlagKind::Int, Value::Int(2500), ""),
            FlagSpec::new("node-id", FlagKind::Int, Value::Int(7), "").cfg("id"),
            FlagSpec::new("sample", FlagKind::Float, Value::Float(1.0), ""),
            FlagSpec::new("log-prefix", FlagKind::Str, s("[nsqd] "), ""),
            FlagSpec::new(
                "msg-timeout",
                FlagKind::Duration,
                Value::Duration(Duration::from_secs(60)),
                "",
            ),
            FlagSpec::new(
                "sync-timeout",
                FlagKind::Duration,
                Value::Duration(Duration::from_secs(2)),
                "",
            ),
            FlagSpec::new(
                "lookupd-tcp-address",
                FlagKind::StrList,
                Value::StrList(vec![]),
                "",
            )
            .cfg("nsqlookupd_tcp_addresses"),
            FlagSpec::new(
                "auth-http-address",
                FlagKind::StrList,
                Value::StrList(vec![]),
                "",
            )
            .cfg("auth_http_addresses"),
            FlagSpec::new(
                "e2e-processing-latency-percentile",
                FlagKind::FloatList,
                Value::FloatList(vec![]),
                "",
            )
            .cfg("e2e_processing_latency_percentiles"),
            FlagSpec::new("tls-required", FlagKind::BoolStr, Value::Bool(false), ""),
            FlagSpec::new("tls-min-version", FlagKind::Str, s("tls1.0"), ""),
            FlagSpec::new("log-level", FlagKind::LogLevel, s("INFO"), ""),
        ],
    )
    .with_check("tls-min-version", |v| match v.to_lowercase().as_str() {
        "" | "tls1.0" | "tls1.1" | "tls1.2" | "tls1.3" => Ok(()),
        _ => Err("unknown".into()),
    })
    .with_check("tls-required", |v| {
        if v.eq_ignore_ascii_case("tcp-https") {
            return Ok(());
        }
        parse_bool(&v.to_lowercase())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

fn table(text: &str) -> toml::Table {
    parse_config_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn resolve_with(args: &[&str], cfg: &str) -> Result<Values, ConfigError> {
    let set = set();
    let parsed = set
        .parse(args.iter().map(|a| a.to_string()))
        .expect("test args parse");
    resolve(&set, &parsed, Some(&table(cfg)))
}

fn ok(args: &[&str], cfg: &str) -> Values {
    resolve_with(args, cfg).unwrap_or_else(|e| panic!("{cfg}: {e}"))
}

fn err(cfg: &str) -> ConfigError {
    match resolve_with(&[], cfg) {
        Ok(v) => panic!("{cfg} resolved: {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn defaults_when_nothing_given() {
    let set = set();
    let v = resolve(&set, &ParsedArgs::default(), None).unwrap();
    assert!(v.bool("deflate"));
    assert_eq!(v.int("mem-queue-size"), 10000);
    assert_eq!(v.float("sample"), 1.0);
    assert_eq!(v.str("log-prefix"), "[nsqd] ");
    assert_eq!(v.duration("msg-timeout"), Duration::from_secs(60));
    assert!(v.str_list("lookupd-tcp-address").is_empty());
    assert!(v.float_list("e2e-processing-latency-percentile").is_empty());
    // BoolStr bool defaults are stored as text; LogLevel defaults are normalised.
    assert_eq!(v.str("tls-required"), "false");
    assert_eq!(v.str("log-level"), "info");
    assert_eq!(v.log_level("log-level"), LogLevel::Info);
    assert_eq!(v.iter().count(), set.specs().len());
}

#[test]
fn go_options_coercions() {
    // Same file as the Go observation; Go result:
    // {Deflate:true Snappy:false MemQ:20 MsgTO:5s SyncTO:3s Lookupd:[a:1 b:2] Auth:[x y]
    //  Pcts:[0.99 0.5] Rdy:77 Prefix:[x] }
    let v = ok(
        &[],
        r#"
deflate = 0
snappy = 1
mem_queue_size = "20"
msg_timeout = 5000
sync_timeout = "3s"
nsqlookupd_tcp_addresses = "a:1,b:2"
auth_http_addresses = ["x", "y"]
e2e_processing_latency_percentiles = "0.99, 0.5"
max_rdy_count = 77
log_prefix = "[x] "
unknown_key = 5
[some_table]
deflate = false
"#,
    );
    assert!(v.bool("deflate"), "integer 0 => true (go-options quirk)");
    assert!(!v.bool("snappy"), "integer 1 => false (go-options quirk)");
    assert_eq!(v.int("mem-queue-size"), 20);
    assert_eq!(v.duration("msg-timeout"), Duration::from_secs(5));
    assert_eq!(v.duration("sync-timeout"), Duration::from_secs(3));
    assert_eq!(v.str_list("lookupd-tcp-address"), ["a:1", "b:2"]);
    assert_eq!(v.str_list("auth-http-address"), ["x", "y"]);
    assert_eq!(
        v.float_list("e2e-processing-latency-percentile"),
        [0.99, 0.5]
    );
    assert_eq!(v.int("max-rdy-count"), 77);
    assert_eq!(v.str("log-prefix"), "[x] ");
}

#[test]
fn more_coercions() {
    let v = ok(
        &[],
        r#"
deflate = "F"
snappy = true
sample = 2
id = "-3"
e2e_processing_latency_percentiles = [0.99, 1, "0.5"]
nsqlookupd_tcp_addresses = "a, b"
tls_required = "tcp-https"
log_level = "WARN"
"#,
    );
    assert!(!v.bool("deflate"));
    assert!(v.bool("snappy"));
    assert_eq!(v.float("sample"), 2.0);
    assert_eq!(v.int("node-id"), -3);
    // Go panics on a TOML integer inside the float array; we accept it (our choice).
    assert_eq!(
        v.float_list("e2e-processing-latency-percentile"),
        [0.99, 1.0, 0.5]
    );
    // Comma-split strings are not trimmed (as in go-options).
    assert_eq!(v.str_list("lookupd-tcp-address"), ["a", " b"]);
    assert_eq!(v.str("tls-required"), "tcp-https");
    assert_eq!(v.log_level("log-level"), LogLevel::Warn);

    let v = ok(
        &[],
        "tls_required = true\nsample = \"0.25\"\nmsg_timeout = \"1h30m\"",
    );
    assert_eq!(v.str("tls-required"), "true");
    assert_eq!(v.float("sample"), 0.25);
    assert_eq!(v.duration("msg-timeout"), Duration::from_secs(5400));
    let v = ok(&[], "tls_required = 1\nmsg_timeout = 0");
    assert_eq!(v.str("tls-required"), "1");
    assert_eq!(v.duration("msg-timeout"), Duration::ZERO);
}

#[test]
fn precedence_flag_over_config_over_default() {
    // Verified against Go nsqd: config 77 + --max-rdy-count=99 => 99.
    let v = ok(&["--max-rdy-count=99"], "max_rdy_count = 77");
    assert_eq!(v.int("max-rdy-count"), 99);
    let v = ok(&["--max-rdy-count=0x10"], "max_rdy_count = 77");
    assert_eq!(v.int("max-rdy-count"), 16);
    let v = ok(&[], "max_rdy_count = 77");
    assert_eq!(v.int("max-rdy-count"), 77);
    // A flag given with its default value still wins over the config.
    let v = ok(&["-deflate=true"], "deflate = false");
    assert!(v.bool("deflate"));
    // Lists from the command line replace the config list and are not comma-split.
    let v = ok(
        &["--lookupd-tcp-address=a,b"],
        "nsqlookupd_tcp_addresses = [\"c\"]",
    );
    assert_eq!(v.str_list("lookupd-tcp-address"), ["a,b"]);
    // Only the config key counts: the flag name is not a config key when cfg is overridden.
    let v = ok(&[], "lookupd_tcp_address = [\"c\"]\nnode_id = 5");
    assert!(v.str_list("lookupd-tcp-address").is_empty());
    assert_eq!(v.int("node-id"), 7);
    // no_cfg flags ignore the config file.
    let v = ok(&[], "config = \"/etc/x\"");
    assert_eq!(v.str("config"), "");
}

#[test]
fn coercion_errors_name_the_key() {
    let cases: &[(&str, &str)] = &[
        (
            "mem_queue_size = \"0x10\"",
            "failed to coerce config option mem_queue_size (\"0x10\") - strconv.ParseInt: parsing \"0x10\": invalid syntax",
        ),
        (
            "mem_queue_size = 1.5",
            "failed to coerce config option mem_queue_size (1.5) - expected an integer or a numeric string, got a TOML float",
        ),
        (
            "msg_timeout = \"5000\"",
            "failed to coerce config option msg_timeout (\"5000\") - time: missing unit in duration \"5000\"",
        ),
        (
            "msg_timeout = -5",
            "failed to coerce config option msg_timeout (-5) - negative durations are not allowed",
        ),
        (
            "log_prefix = 5",
            "failed to coerce config option log_prefix (5) - expected a string, got a TOML integer",
        ),
        (
            "deflate = \"yes\"",
            "failed to coerce config option deflate (\"yes\") - strconv.ParseBool: parsing \"yes\": invalid syntax",
        ),
        (
            "deflate = 1.0",
            "failed to coerce config option deflate (1.0) - expected a bool, got a TOML float",
        ),
        (
            "auth_http_addresses = [\"a\", 1]",
            "failed to coerce config option auth_http_addresses ([\"a\", 1]) - expected an array of strings, found a TOML integer",
        ),
        (
            "e2e_processing_latency_percentiles = \"0.5,x\"",
            "failed to coerce config option e2e_processing_latency_percentiles (\"0.5,x\") - strconv.ParseFloat: parsing \"x\": invalid syntax",
        ),
        (
            "sample = true",
            "failed to coerce config option sample (true) - expected a number or a numeric string, got a TOML boolean",
        ),
    ];
    for (cfg, want) in cases {
        let e = err(cfg);
        assert!(matches!(e, ConfigError::Coerce { .. }), "{cfg}");
        assert_eq!(e.to_string(), *want, "{cfg}");
    }
}

#[test]
fn level_and_check_errors_use_go_nsqd_text() {
    assert_eq!(
        err("log_level = \"bogus\"").to_string(),
        "failed parsing log_level bogus"
    );
    assert_eq!(
        err("log_level = 2").to_string(),
        "failed parsing log_level 2"
    );
    assert_eq!(
        err("tls_min_version = \"ssl3.0\"").to_string(),
        "failed parsing tls_min_version ssl3.0"
    );
    assert_eq!(
        err("tls_required = \"maybe\"").to_string(),
        "failed parsing tls_required maybe"
    );
    assert!(matches!(
        err("tls_required = 1.5"),
        ConfigError::Coerce { .. }
    ));
    let v = ok(&[], "tls_min_version = \"\"");
    assert_eq!(v.str("tls-min-version"), "");
}

#[test]
fn load_config_file_reads_and_reports() {
    let dir = std::env::temp_dir().join(format!("nsq-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.cfg");
    std::fs::File::create(&good)
        .unwrap()
        .write_all(b"mem_queue_size = 5\n# comment\nlog_prefix = \"[t] \"\n")
        .unwrap();
    let t = load_config_file(&good).unwrap();
    assert_eq!(t.get("mem_queue_size"), Some(&toml::Value::Integer(5)));

    let bad = dir.join("bad.cfg");
    std::fs::write(&bad, "a = 1\nx = = 1\n").unwrap();
    let e = load_config_file(&bad).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "failed to load config file {} - toml: line 2, column 5: ",
            bad.display()
        )),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text:?}");

    let missing = dir.join("missing.cfg");
    assert_eq!(
        load_config_file(&missing).unwrap_err().to_string(),
        format!(
            "failed to load config file {0} - open {0}: no such file or directory",
            missing.display()
        )
    );
    assert_eq!(
        load_config_file(&dir).unwrap_err().to_string(),
        format!(
            "failed to load config file {0} - read {0}: is a directory",
            dir.display()
        )
    );

    let binary = dir.join("binary.cfg");
    std::fs::write(&binary, b"a = \"\xff\"\n").unwrap();
    assert!(matches!(
        load_config_file(&binary),
        Err(ConfigError::Load { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn special_keys_are_validated_even_when_the_flag_overrides() {
    // Go NSQ validates log_level / tls_* config entries before resolution.
    assert_eq!(
        resolve_with(&["--log-level=debug"], "log_level = \"bogus\"")
            .unwrap_err()
            .to_string(),
        "failed parsing log_level bogus"
    );
    assert!(resolve_with(&["--tls-min-version=tls1.2"], "tls_min_version = \"x\"").is_err());
    let v = ok(&["--log-level=debug"], "log_level = \"error\"");
    assert_eq!(v.log_level("log-level"), LogLevel::Debug);
    // Ordinary options are only coerced when used (as in go-options).
    let v = ok(&["--mem-queue-size=5"], "mem_queue_size = \"abc\"");
    assert_eq!(v.int("mem-queue-size"), 5);
}

#[test]
fn values_set_and_getter_panics() {
    let set = set();
    let mut v = resolve(&set, &ParsedArgs::default(), None).unwrap();
    assert_eq!(v.set("node-id", Value::Int(9)), Some(Value::Int(7)));
    assert_eq!(v.int("node-id"), 9);
    assert_eq!(v.set("nope", Value::Int(1)), None);
    assert!(v.get("nope").is_none());
    let wrong_kind = std::panic::catch_unwind(|| v.bool("mem-queue-size"));
    assert!(wrong_kind.is_err());
    let undeclared = std::panic::catch_unwind(|| v.str("nope"));
    assert!(undeclared.is_err());
}
