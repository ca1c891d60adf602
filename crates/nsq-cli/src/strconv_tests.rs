//! Expected values below were observed with Go 1.26 `strconv` (throwaway program).

use super::*;

fn int0(s: &str) -> Result<i64, NumErrorKind> {
    parse_int(s, 0).map_err(|e| e.kind)
}

#[test]
fn parse_int_base0_matches_go() {
    use NumErrorKind::*;
    let cases: &[(&str, Result<i64, NumErrorKind>)] = &[
        ("0", Ok(0)),
        ("5", Ok(5)),
        ("+5", Ok(5)),
        ("-5", Ok(-5)),
        ("0x10", Ok(16)),
        ("0X10", Ok(16)),
        ("010", Ok(8)),
        ("0b101", Ok(5)),
        ("0o17", Ok(15)),
        ("0O17", Ok(15)),
        ("1_000", Ok(1000)),
        ("0_10", Ok(8)),
        ("0x_1F", Ok(31)),
        ("-0x10", Ok(-16)),
        ("9223372036854775807", Ok(i64::MAX)),
        ("-9223372036854775808", Ok(i64::MIN)),
        ("9223372036854775808", Err(Range)),
        ("-9223372036854775809", Err(Range)),
        ("99999999999999999999x", Err(Range)),
        ("_1", Err(Syntax)),
        ("1_", Err(Syntax)),
        ("1__0", Err(Syntax)),
        ("0x", Err(Syntax)),
        ("0b", Err(Syntax)),
        ("08", Err(Syntax)),
        ("0b102", Err(Syntax)),
        ("abc", Err(Syntax)),
        ("", Err(Syntax)),
        ("+", Err(Syntax)),
        ("+-5", Err(Syntax)),
        (" 5", Err(Syntax)),
        ("5 ", Err(Syntax)),
        ("1.0", Err(Syntax)),
        ("١", Err(Syntax)),
    ];
    for (input, want) in cases {
        assert_eq!(int0(input), *want, "ParseInt({input:?}, 0, 64)");
    }
}

#[test]
fn parse_int_base10_has_no_prefixes_or_underscores() {
    assert_eq!(parse_int("20", 10), Ok(20));
    assert_eq!(parse_int("+5", 10), Ok(5));
    assert_eq!(parse_int("-5", 10), Ok(-5));
    assert_eq!(parse_int("010", 10), Ok(10));
    for bad in ["0x10", "1_000", " 5", ""] {
        assert_eq!(
            parse_int(bad, 10).map_err(|e| e.kind),
            Err(NumErrorKind::Syntax)
        );
    }
    assert_eq!(parse_int("z", 36), Ok(35));
    assert!(parse_int("1", 1).is_err());
}

#[test]
fn num_error_text_matches_go() {
    assert_eq!(
        parse_int("0x10", 10).unwrap_err().to_string(),
        "strconv.ParseInt: parsing \"0x10\": invalid syntax"
    );
    assert_eq!(
        parse_int("9223372036854775808", 0).unwrap_err().to_string(),
        "strconv.ParseInt: parsing \"9223372036854775808\": value out of range"
    );
    assert_eq!(
        parse_float("1e400").unwrap_err().to_string(),
        "strconv.ParseFloat: parsing \"1e400\": value out of range"
    );
    assert_eq!(
        parse_bool("yes").unwrap_err().to_string(),
        "strconv.ParseBool: parsing \"yes\": invalid syntax"
    );
}

#[test]
fn parse_bool_words() {
    for t in ["1", "t", "T", "true", "TRUE", "True"] {
        assert_eq!(parse_bool(t), Ok(true), "{t}");
    }
    for f in ["0", "f", "F", "false", "FALSE", "False"] {
        assert_eq!(parse_bool(f), Ok(false), "{f}");
    }
    for bad in ["yes", "no", "tRUE", "on", "", " true", "2"] {
        assert!(parse_bool(bad).is_err(), "{bad}");
    }
}

#[test]
fn parse_float_matches_go() {
    use NumErrorKind::*;
    let ok: &[(&str, f64)] = &[
        ("1", 1.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("+.5e+2", 50.0),
        ("1_000.5", 1000.5),
        ("0.1e-1_0", 1e-11),
        ("0x1p-2", 0.25),
        ("0x1.8p1", 3.0),
        ("0X_1p0", 1.0),
        ("0x.8p1", 1.0),
        ("1e-400", 0.0),
        ("4.9e-324", 5e-324),
        ("2.5e-324", 5e-324),
        ("1.7976931348623157e308", f64::MAX),
        ("0x1.fffffffffffffp1023", f64::MAX),
        ("0x1p-1074", 5e-324),
        ("0x1p-1075", 0.0),
        ("0x1.8p-1074", 1e-323),
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("inf", f64::INFINITY),
        ("+Inf", f64::INFINITY),
        ("-infinity", f64::NEG_INFINITY),
        ("INFINITY", f64::INFINITY),
    ];
    for (input, want) in ok {
        assert_eq!(parse_float(input), Ok(*want), "ParseFloat({input:?})");
    }
    assert!(parse_float("nan").is_ok_and(f64::is_nan));
    assert!(parse_float("NaN").is_ok_and(f64::is_nan));
    let bad: &[(&str, NumErrorKind)] = &[
        ("0x1", Syntax),
        ("infin", Syntax),
        ("+nan", Syntax),
        (".", Syntax),
        ("e5", Syntax),
        ("1e", Syntax),
        ("1e+", Syntax),
        ("1__0", Syntax),
        ("_1", Syntax),
        ("1_", Syntax),
        ("0x1p", Syntax),
        ("", Syntax),
        (" 1", Syntax),
        ("1 ", Syntax),
        ("1.5.5", Syntax),
        ("1e400", Range),
        ("-1e400", Range),
        ("1.7976931348623159e308", Range),
        ("0x1.fffffffffffff8p1023", Range),
    ];
    for (input, want) in bad {
        assert_eq!(
            parse_float(input).map_err(|e| e.kind),
            Err(*want),
            "ParseFloat({input:?})"
        );
    }
}

#[test]
fn format_float_matches_go_g_shortest() {
    let cases: &[(f64, &str)] = &[
        (1.0, "1"),
        (0.5, "0.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e21, "1e+21"),
        (1e20, "1e+20"),
        (-2.5, "-2.5"),
        (0.0, "0"),
        (-0.0, "-0"),
        (100.0, "100"),
        (0.99, "0.99"),
        (0.999999999, "0.999999999"),
        (1.5e-7, "1.5e-07"),
        (123456.7, "123456.7"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
    ];
    for (v, want) in cases {
        assert_eq!(format_float(*v), *want, "FormatFloat({v:?}, 'g', -1, 64)");
    }
}

#[test]
fn quote_matches_go() {
    let cases: &[(&str, &str)] = &[
        ("a\"b", r#""a\"b""#),
        ("back\\slash", r#""back\\slash""#),
        ("tab\there", r#""tab\there""#),
        ("nl\n", r#""nl\n""#),
        ("\u{1}", r#""\x01""#),
        ("\u{7f}", r#""\x7f""#),
        ("é", "\"é\""),
        ("\u{200b}", r#""\u200b""#),
        ("\u{a0}", r#""\u00a0""#),
        ("\u{85}", r#""\u0085""#),
        ("\u{feff}", r#""\ufeff""#),
        ("日本", "\"日本\""),
        ("😀", "\"😀\""),
        ("", r#""""#),
    ];
    for (input, want) in cases {
        assert_eq!(quote(input), *want, "Quote({input:?})");
    }
}
