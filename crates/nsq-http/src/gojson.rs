//! JSON bytes identical to Go's `encoding/json.Marshal`.
//!
//! NSQ clients and tests compare response bodies byte for byte, and serde_json differs from
//! Go in three visible ways: Go escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings,
//! prints floats without a trailing `.0` (`1`, not `1.0`), and switches to exponent form
//! outside `[1e-6, 1e21)` (`1e+21`, `1e-7`). [`to_vec`] runs serde_json with a formatter that
//! applies Go's rules, so any `Serialize` type (structs keep field order, `BTreeMap`s and
//! `serde_json::Map`s keep sorted keys like Go maps) comes out as the reference would write it.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// A compact serde_json formatter with Go's string escaping and float rendering; every
/// other token is written exactly as serde_json's compact formatter writes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W>(&mut self, writer: &mut W, value: f64) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        writer.write_all(format_float(value, 64).as_bytes())
    }

    fn write_f32<W>(&mut self, writer: &mut W, value: f32) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        writer.write_all(format_float(f64::from(value), 32).as_bytes())
    }
}

/// Renders a float like Go's JSON encoder: shortest round-trip digits, plain notation for
/// magnitudes in `[1e-6, 1e21)` and zero, otherwise exponent form with a sign and at least
/// one exponent digit (`1e+21`, `1.5e-7`). Non-finite values, which Go refuses to encode,
/// render as `null`.
pub fn format_float(value: f64, bits: u32) -> String {
    if !value.is_finite() {
        return "null".to_string();
    }
    let abs = value.abs();
    let (lo, hi) = (1e-6, 1e21);
    let plain = abs == 0.0 || (abs >= lo && abs < hi);
    // f32 values are printed with f32 shortest digits, as Go does for float32 fields.
    let shortest = |exp: bool| -> String {
        match (bits, exp) {
            (32, false) => format!("{}", value as f32),
            (32, true) => format!("{:e}", value as f32),
            (_, false) => format!("{value}"),
            (_, true) => format!("{value:e}"),
        }
    };
    if plain {
        return shortest(false);
    }
    let s = shortest(true);
    match s.split_once('e') {
        Some((mant, exp)) if !exp.starts_with('-') => format!("{mant}e+{exp}"),
        _ => s,
    }
}

/// Serializes `value` to Go-identical compact JSON bytes.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Serializes `value` to a Go-identical compact JSON string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let v = to_vec(value)?;
    // The serializer only ever writes UTF-8.
    Ok(String::from_utf8(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct S {
        z: &'static str,
        a: f64,
        list: Vec<u32>,
        none: Option<Vec<u32>>,
    }

    #[test]
    fn go_escaping_and_order() {
        let s = S {
            z: "<a&b>\u{2028}\"\\\n\u{1}",
            a: 1.0,
            list: vec![],
            none: None,
        };
        assert_eq!(
            to_string(&s).unwrap(),
            r#"{"z":"\u003ca\u0026b\u003e\u2028\"\\\n\u0001","a":1,"list":[],"none":null}"#
        );
        let mut m = BTreeMap::new();
        m.insert("b", 2);
        m.insert("a", 1);
        assert_eq!(to_string(&m).unwrap(), r#"{"a":1,"b":2}"#);
    }

    #[test]
    fn floats() {
        for (v, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (0.99, "0.99"),
            (505910159.0, "505910159"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1.5e22, "1.5e+22"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (123456789012345680000.0, "123456789012345680000"),
        ] {
            assert_eq!(format_float(v, 64), want, "{v}");
        }
        assert_eq!(format_float(0.1f32 as f64, 32), "0.1");
        assert_eq!(format_float(f64::NAN, 64), "null");
    }
}
