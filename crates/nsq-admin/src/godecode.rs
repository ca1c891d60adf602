//! Decoding JSON with Go `encoding/json`'s acceptance rules and error texts.
//!
//! The reference answers a malformed action body with 400 and the Go decoder's own error
//! (`EOF`, `invalid character 'o' in literal null (expecting 'u')`, `json: cannot unmarshal
//! number into Go struct field .topic of type string`), and it reads only the *first* JSON
//! value of a body (`json.Decoder.Decode`), ignoring anything after it. serde_json differs
//! on all of those points, so [`scan`] runs Go's scanner state machine to find the first
//! value (or Go's syntax error) and [`decode_string_fields`] applies Go's struct rules
//! (case-insensitive keys, `null` leaves a field alone, type errors name the field).

use serde_json::Value;

/// How much input the caller hands over: a stream (`json.Decoder.Decode`: the first value,
/// trailing bytes ignored) or a whole document (`json.Unmarshal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `json.Decoder.Decode`.
    Stream,
    /// `json.Unmarshal`.
    Document,
}

/// Go's quoting of one byte in scanner errors (`'x'`, `'\n'`, `'\''`, `'"'`).
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let q = nsq_protocol::gostr::quote(&[c]);
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    ObjectKey,
    ObjectValue,
    Array,
}

/// Scans the first JSON value of `input`. `Ok(end)` is the byte offset just past it;
/// `Err` is Go's error text.
pub fn scan(input: &[u8], mode: Mode) -> Result<usize, String> {
    let eof_err = |started: bool| -> String {
        match (mode, started) {
            (Mode::Stream, false) => "EOF".to_string(),
            (Mode::Stream, true) => "unexpected EOF".to_string(),
            (Mode::Document, _) => "unexpected end of JSON input".to_string(),
        }
    };
    let bad = |c: u8, ctx: &str| format!("invalid character {} {ctx}", quote_char(c));
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let n = input.len();
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let mut started = false;
    // Each iteration parses one value at position i (after skipping whitespace), then the
    // punctuation that follows it inside containers.
    'value: loop {
        while i < n && ws(input[i]) {
            i += 1;
        }
        let Some(&c) = input.get(i) else {
            return Err(eof_err(started));
        };
        started = true;
        match c {
            b'{' => {
                i += 1;
                while i < n && ws(input[i]) {
                    i += 1;
                }
                match input.get(i) {
                    None => return Err(eof_err(true)),
                    Some(b'}') => i += 1,
                    Some(b'"') => {
                        if stack.len() >= 10000 {
                            return Err("exceeded max depth".to_string());
                        }
                        stack.push(Frame::ObjectKey);
                        i = scan_string(input, i, mode)?;
                        // Fall through to end-of-value handling for the key.
                    }
                    Some(&o) => return Err(bad(o, "looking for beginning of object key string")),
                }
            }
            b'[' => {
                i += 1;
                while i < n && ws(input[i]) {
                    i += 1;
                }
                match input.get(i) {
                    None => return Err(eof_err(true)),
                    Some(b']') => i += 1,
                    Some(_) => {
                        if stack.len() >= 10000 {
                            return Err("exceeded max depth".to_string());
                        }
                        stack.push(Frame::Array);
                        continue 'value;
                    }
                }
            }
            b'"' => i = scan_string(input, i, mode)?,
            b'-' | b'0'..=b'9' => i = scan_number(input, i, mode)?,
            b't' => i = scan_literal(input, i, b"true", mode)?,
            b'f' => i = scan_literal(input, i, b"false", mode)?,
            b'n' => i = scan_literal(input, i, b"null", mode)?,
            _ => return Err(bad(c, "looking for beginning of value")),
        }
        // End of a value: unwind containers.
        loop {
            let Some(top) = stack.last().copied() else {
                if mode == Mode::Document {
                    while i < n && ws(input[i]) {
                        i += 1;
                    }
                    if let Some(&t) = input.get(i) {
                        return Err(bad(t, "after top-level value"));
                    }
                }
                return Ok(i);
            };
            while i < n && ws(input[i]) {
                i += 1;
            }
            let Some(&p) = input.get(i) else {
                return Err(eof_err(true));
            };
            match (top, p) {
                (Frame::ObjectKey, b':') => {
                    i += 1;
                    if let Some(t) = stack.last_mut() {
                        *t = Frame::ObjectValue;
                    }
                    continue 'value;
                }
                (Frame::ObjectKey, _) => return Err(bad(p, "after object key")),
                (Frame::ObjectValue, b',') => {
                    i += 1;
                    while i < n && ws(input[i]) {
                        i += 1;
                    }
                    match input.get(i) {
                        None => return Err(eof_err(true)),
                        Some(b'"') => {
                            if let Some(t) = stack.last_mut() {
                                *t = Frame::ObjectKey;
                            }
                            i = scan_string(input, i, mode)?;
                            continue;
                        }
                        Some(&o) => {
                            return Err(bad(o, "looking for beginning of object key string"))
                        }
                    }
                }
                (Frame::ObjectValue, b'}') | (Frame::Array, b']') => {
                    i += 1;
                    stack.pop();
                }
                (Frame::ObjectValue, _) => return Err(bad(p, "after object key:value pair")),
                (Frame::Array, b',') => {
                    i += 1;
                    continue 'value;
                }
                (Frame::Array, _) => return Err(bad(p, "after array element")),
            }
        }
    }
}

fn eof(mode: Mode) -> String {
    match mode {
        Mode::Stream => "unexpected EOF".to_string(),
        Mode::Document => "unexpected end of JSON input".to_string(),
    }
}

/// Scans a string starting at the opening quote; returns the offset after the closing one.
fn scan_string(input: &[u8], start: usize, mode: Mode) -> Result<usize, String> {
    let mut i = start + 1;
    loop {
        let Some(&c) = input.get(i) else {
            return Err(eof(mode));
        };
        match c {
            b'"' => return Ok(i + 1),
            b'\\' => {
                let Some(&e) = input.get(i + 1) else {
                    return Err(eof(mode));
                };
                match e {
                    b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => i += 2,
                    b'u' => {
                        for k in 0..4 {
                            let Some(&h) = input.get(i + 2 + k) else {
                                return Err(eof(mode));
                            };
                            if !h.is_ascii_hexdigit() {
                                return Err(format!(
                                    "invalid character {} in \\u hexadecimal character escape",
                                    quote_char(h)
                                ));
                            }
                        }
                        i += 6;
                    }
                    _ => {
                        return Err(format!(
                            "invalid character {} in string escape code",
                            quote_char(e)
                        ))
                    }
                }
            }
            c if c < 0x20 => {
                return Err(format!(
                    "invalid character {} in string literal",
                    quote_char(c)
                ))
            }
            _ => i += 1,
        }
    }
}

/// Scans a number; it ends at the first byte that cannot continue it (or at EOF).
fn scan_number(input: &[u8], start: usize, mode: Mode) -> Result<usize, String> {
    let mut i = start;
    let digit = |i: usize| input.get(i).is_some_and(|c| c.is_ascii_digit());
    let need = |i: usize, ctx: &str| -> Result<(), String> {
        match input.get(i) {
            None => Err(eof(mode)),
            Some(c) if c.is_ascii_digit() => Ok(()),
            Some(&c) => Err(format!("invalid character {} {ctx}", quote_char(c))),
        }
    };
    if input.get(i) == Some(&b'-') {
        i += 1;
        need(i, "in numeric literal")?;
    }
    if input.get(i) == Some(&b'0') {
        i += 1;
    } else {
        while digit(i) {
            i += 1;
        }
    }
    if input.get(i) == Some(&b'.') {
        i += 1;
        need(i, "after decimal point in numeric literal")?;
        while digit(i) {
            i += 1;
        }
    }
    if matches!(input.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(input.get(i), Some(b'+') | Some(b'-')) {
            i += 1;
        }
        need(i, "in exponent of numeric literal")?;
        while digit(i) {
            i += 1;
        }
    }
    Ok(i)
}

fn scan_literal(input: &[u8], start: usize, word: &[u8], mode: Mode) -> Result<usize, String> {
    let name = String::from_utf8_lossy(word);
    for (k, &want) in word.iter().enumerate().skip(1) {
        match input.get(start + k) {
            None => return Err(eof(mode)),
            Some(&c) if c == want => {}
            Some(&c) => {
                return Err(format!(
                    "invalid character {} in literal {name} (expecting {})",
                    quote_char(c),
                    quote_char(want)
                ))
            }
        }
    }
    Ok(start + word.len())
}

/// Parses the first value of `input` with Go's rules into a [`Value`]. Invalid UTF-8 in
/// strings becomes U+FFFD, as in Go.
pub fn parse_value(input: &[u8], mode: Mode) -> Result<Value, String> {
    let end = scan(input, mode)?;
    let text = String::from_utf8_lossy(&input[..end]);
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Go's name for the JSON kind of `v` in unmarshal type errors.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Decodes the first JSON value of `body` into a Go struct of string fields named `fields`
/// (their JSON tags). `go_type` is the struct's Go type text for top-level type errors.
/// Returns the field values (`""` when absent or `null`) or Go's error text.
pub fn decode_string_fields(
    body: &[u8],
    fields: &[&str],
    go_type: &str,
) -> Result<Vec<String>, String> {
    let v = parse_value(body, Mode::Stream)?;
    let mut out = vec![String::new(); fields.len()];
    let obj = match v {
        Value::Null => return Ok(out),
        Value::Object(m) => m,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type {go_type}",
                kind(&other)
            ))
        }
    };
    for (i, field) in fields.iter().enumerate() {
        // Go prefers an exact key match, else any case-insensitive one.
        let found = obj.get(*field).or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                .map(|(_, v)| v)
        });
        match found {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => out[i] = s.clone(),
            Some(other) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field .{field} of type string",
                    kind(other)
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(s: &str) -> Result<usize, String> {
        scan(s.as_bytes(), Mode::Stream)
    }

    #[test]
    fn go_stream_errors() {
        assert_eq!(stream("").unwrap_err(), "EOF");
        assert_eq!(stream("  \n").unwrap_err(), "EOF");
        assert_eq!(
            stream("notjson").unwrap_err(),
            "invalid character 'o' in literal null (expecting 'u')"
        );
        assert_eq!(
            stream("x").unwrap_err(),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(stream("{\"a\":").unwrap_err(), "unexpected EOF");
        assert_eq!(
            stream("{\"a\" 1}").unwrap_err(),
            "invalid character '1' after object key"
        );
        assert_eq!(
            stream("{\"a\":1 2}").unwrap_err(),
            "invalid character '2' after object key:value pair"
        );
        assert_eq!(
            stream("{a:1}").unwrap_err(),
            "invalid character 'a' looking for beginning of object key string"
        );
        assert_eq!(
            stream("[1 2]").unwrap_err(),
            "invalid character '2' after array element"
        );
        assert_eq!(
            stream("\"a\nb\"").unwrap_err(),
            "invalid character '\\n' in string literal"
        );
        assert_eq!(
            stream("-x").unwrap_err(),
            "invalid character 'x' in numeric literal"
        );
        assert_eq!(
            stream("{'a':1}").unwrap_err(),
            "invalid character '\\'' looking for beginning of object key string"
        );
    }

    #[test]
    fn first_value_only_in_streams() {
        let s = "{\"action\":\"pause\"} trailing";
        assert_eq!(stream(s).unwrap(), 18);
        assert_eq!(
            scan(s.as_bytes(), Mode::Document).unwrap_err(),
            "invalid character 't' after top-level value"
        );
        assert_eq!(
            scan(b"", Mode::Document).unwrap_err(),
            "unexpected end of JSON input"
        );
        assert_eq!(stream("[[],{},\"\\u00e9\",-1.5e+3,true,null]").unwrap(), 34);
    }

    #[test]
    fn struct_fields() {
        let ty = "struct { Action string \"json:\\\"action\\\"\" }";
        assert_eq!(
            decode_string_fields(br#"{"ACTION":"pause"}"#, &["action"], ty).unwrap(),
            vec!["pause"]
        );
        assert_eq!(
            decode_string_fields(b"null", &["action"], ty).unwrap(),
            vec![""]
        );
        assert_eq!(
            decode_string_fields(br#"{"action":5}"#, &["action"], ty).unwrap_err(),
            "json: cannot unmarshal number into Go struct field .action of type string"
        );
        assert_eq!(
            decode_string_fields(b"[]", &["action"], ty).unwrap_err(),
            format!("json: cannot unmarshal array into Go value of type {ty}")
        );
    }
}
