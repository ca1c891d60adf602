//! Expected values below were observed with Go 1.26 `time` (throwaway program).

use super::*;

#[test]
fn parse_matches_go() {
    let ok: &[(&str, i64)] = &[
        ("0", 0),
        ("-0", 0),
        ("+0", 0),
        ("0s", 0),
        ("1h30m", 5_400_000_000_000),
        ("1.5h", 5_400_000_000_000),
        (".5s", 500_000_000),
        ("1.s", 1_000_000_000),
        ("1.049203842s", 1_049_203_842),
        ("250ms", 250_000_000),
        ("1us", 1_000),
        ("1\u{b5}s", 1_000),
        ("1\u{3bc}s", 1_000),
        ("3ns", 3),
        ("1h.5m", 3_630_000_000_000),
        ("3m0.5s", 180_500_000_000),
        ("1m1m", 120_000_000_000),
        ("0.3333333333h", 1_199_999_999_880),
        ("1.0000000000000000000001s", 1_000_000_000),
        ("2562047h47m16.854775807s", i64::MAX),
        ("-2562047h47m16.854775808s", i64::MIN),
        ("9223372036854775807ns", i64::MAX),
        ("-1.5s", -1_500_000_000),
        ("+2m", 120_000_000_000),
    ];
    for (input, want) in ok {
        assert_eq!(
            parse_go_duration_nanos(input),
            Ok(*want),
            "ParseDuration({input:?})"
        );
    }
}

#[test]
fn parse_errors_match_go_text() {
    let bad: &[(&str, &str)] = &[
        ("5", r#"time: missing unit in duration "5""#),
        ("1", r#"time: missing unit in duration "1""#),
        ("1.5", r#"time: missing unit in duration "1.5""#),
        ("", r#"time: invalid duration """#),
        ("-", r#"time: invalid duration "-""#),
        ("+", r#"time: invalid duration "+""#),
        ("1x", r#"time: unknown unit "x" in duration "1x""#),
        (".s", r#"time: invalid duration ".s""#),
        ("-.s", r#"time: invalid duration "-.s""#),
        ("s", r#"time: invalid duration "s""#),
        ("1h-30m", r#"time: unknown unit "h-" in duration "1h-30m""#),
        ("1e3s", r#"time: unknown unit "e" in duration "1e3s""#),
        ("1 s", r#"time: unknown unit " s" in duration "1 s""#),
        (
            "2562047h47m16.854775808s",
            r#"time: invalid duration "2562047h47m16.854775808s""#,
        ),
        (
            "9223372036854775808ns",
            r#"time: invalid duration "9223372036854775808ns""#,
        ),
        (
            "100000000000000000000ns",
            r#"time: invalid duration "100000000000000000000ns""#,
        ),
        (
            "1\u{b5}x",
            r#"time: unknown unit "\xc2\xb5x" in duration "1\xc2\xb5x""#,
        ),
    ];
    for (input, want) in bad {
        let err = parse_go_duration_nanos(input).expect_err(input);
        assert_eq!(err.to_string(), *want, "ParseDuration({input:?})");
    }
}

#[test]
fn unsigned_parse_rejects_negative_only() {
    assert_eq!(parse_go_duration("-0s"), Ok(Duration::ZERO));
    assert_eq!(parse_go_duration("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(
        parse_go_duration("-1s"),
        Err(DurationError::Negative("-1s".into()))
    );
    assert!(matches!(
        parse_go_duration("5"),
        Err(DurationError::MissingUnit(_))
    ));
}

#[test]
fn format_matches_go() {
    let cases: &[(i64, &str)] = &[
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1_000, "1\u{b5}s"),
        (1_500, "1.5\u{b5}s"),
        (1_000_000, "1ms"),
        (250_000_000, "250ms"),
        (1_049_203_842, "1.049203842s"),
        (1_000_000_001, "1.000000001s"),
        (61_000_000_000, "1m1s"),
        (65_000_000_000, "1m5s"),
        (3_600_000_000_000, "1h0m0s"),
        (5_400_000_000_000, "1h30m0s"),
        (-1_500_000_000, "-1.5s"),
        (i64::MAX, "2562047h47m16.854775807s"),
        (i64::MIN, "-2562047h47m16.854775808s"),
    ];
    for (nanos, want) in cases {
        assert_eq!(format_go_duration_nanos(*nanos), *want, "{nanos}ns");
        if *nanos >= 0 {
            assert_eq!(
                format_go_duration(Duration::from_nanos(*nanos as u64)),
                *want
            );
        }
    }
    // Beyond Go's range the layout continues with more hours.
    assert_eq!(
        format_go_duration(Duration::from_secs(10 * 365 * 86_400 * 100)),
        "8760000h0m0s"
    );
}

#[test]
fn format_then_parse_round_trips() {
    for nanos in [
        0i64,
        1,
        999,
        1_234,
        5_000_000,
        1_049_203_842,
        5_400_000_000_001,
    ] {
        let text = format_go_duration_nanos(nanos);
        assert_eq!(parse_go_duration_nanos(&text), Ok(nanos), "{text}");
    }
}
