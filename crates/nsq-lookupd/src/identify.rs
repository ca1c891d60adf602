//! The IDENTIFY body an nsqd sends, decoded with Go `encoding/json` semantics.
//!
//! The reference unmarshals the body into its `PeerInfo` struct, so what it accepts is
//! Go's rule set, not serde's: keys match field names exactly or case-insensitively, unknown
//! keys and `null` values are ignored, a top-level `null` decodes to nothing, a later
//! duplicate key wins, integers must be integer literals that fit an `int64`, and any
//! syntax or type error rejects the whole body. Bytes that are not UTF-8 are read as
//! U+FFFD, as Go does inside strings.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// The fields nsqlookupd reads from an IDENTIFY body. Missing fields are empty/zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifyBody {
    /// `broadcast_address`: required non-empty.
    pub broadcast_address: String,
    /// `hostname`: optional.
    pub hostname: String,
    /// `tcp_port`: required non-zero.
    pub tcp_port: i64,
    /// `http_port`: required non-zero.
    pub http_port: i64,
    /// `version`: required non-empty.
    pub version: String,
    /// `topology_zone`: optional (post-1.3.0).
    pub topology_zone: String,
    /// `topology_region`: optional (post-1.3.0).
    pub topology_region: String,
}

impl IdentifyBody {
    /// Decodes `body` as the reference does; `Err` carries the decoder's reason (logged only;
    /// the peer gets `E_BAD_BODY IDENTIFY failed to decode JSON body`).
    pub fn decode(body: &[u8]) -> Result<IdentifyBody, serde_json::Error> {
        let text = String::from_utf8_lossy(body);
        serde_json::from_str(&text)
    }

    /// True iff the fields the reference requires are present: non-empty
    /// `broadcast_address` and `version`, non-zero `tcp_port` and `http_port`.
    pub fn has_required_fields(&self) -> bool {
        !self.broadcast_address.is_empty()
            && self.tcp_port != 0
            && self.http_port != 0
            && !self.version.is_empty()
    }
}

#[derive(Clone, Copy)]
enum Field {
    BroadcastAddress,
    Hostname,
    TcpPort,
    HttpPort,
    Version,
    TopologyZone,
    TopologyRegion,
    RemoteAddress,
}

const FIELDS: [(&str, Field); 8] = [
    ("remote_address", Field::RemoteAddress),
    ("hostname", Field::Hostname),
    ("broadcast_address", Field::BroadcastAddress),
    ("tcp_port", Field::TcpPort),
    ("http_port", Field::HttpPort),
    ("version", Field::Version),
    ("topology_zone", Field::TopologyZone),
    ("topology_region", Field::TopologyRegion),
];

/// Go's case-insensitive key match for our all-ASCII field names: ASCII case folding plus
/// the two non-ASCII letters that fold to ASCII (`K` KELVIN SIGN → k, `ſ` LONG S → s).
fn fold_eq(key: &str, name: &str) -> bool {
    let mut k = key.chars();
    for n in name.chars() {
        let Some(c) = k.next() else { return false };
        let c = match c {
            '\u{212A}' => 'k',
            '\u{17F}' => 's',
            c => c.to_ascii_lowercase(),
        };
        if c != n {
            return false;
        }
    }
    k.next().is_none()
}

fn field_for(key: &str) -> Option<Field> {
    FIELDS
        .iter()
        .find(|(name, _)| *name == key)
        .or_else(|| FIELDS.iter().find(|(name, _)| fold_eq(key, name)))
        .map(|(_, f)| *f)
}

/// A Go string field: a JSON string sets it, `null` leaves it, anything else is an error.
struct GoString(Option<String>);

impl<'de> Deserialize<'de> for GoString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GoStringVisitor)
    }
}

struct GoStringVisitor;

impl<'de> Visitor<'de> for GoStringVisitor {
    type Value = GoString;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<GoString, E> {
        Ok(GoString(Some(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<GoString, E> {
        Ok(GoString(Some(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<GoString, E> {
        Ok(GoString(None))
    }
}

/// A Go `int` field: an integer literal within int64 sets it, `null` leaves it, anything
/// else (fractions, exponents, overflow, strings) is an error.
struct GoInt(Option<i64>);

impl<'de> Deserialize<'de> for GoInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GoIntVisitor)
    }
}

struct GoIntVisitor;

impl<'de> Visitor<'de> for GoIntVisitor {
    type Value = GoInt;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<GoInt, E> {
        Ok(GoInt(Some(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<GoInt, E> {
        i64::try_from(v)
            .map(|v| GoInt(Some(v)))
            .map_err(|_| E::custom("integer overflows int64"))
    }
    /// serde_json reads the integer literal `-0` as the float `-0.0`; Go accepts it as 0.
    /// (`-0.0` and `-0e0`, which Go rejects, are indistinguishable here and accepted too.)
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<GoInt, E> {
        if v == 0.0 && v.is_sign_negative() {
            Ok(GoInt(Some(0)))
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<GoInt, E> {
        Ok(GoInt(None))
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = IdentifyBody;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<IdentifyBody, E> {
        Ok(IdentifyBody::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdentifyBody, A::Error> {
        let mut b = IdentifyBody::default();
        while let Some(key) = map.next_key::<String>()? {
            let Some(field) = field_for(&key) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let set_str = |slot: &mut String, v: GoString| {
                if let Some(s) = v.0 {
                    *slot = s;
                }
            };
            match field {
                Field::BroadcastAddress => set_str(&mut b.broadcast_address, map.next_value()?),
                Field::Hostname => set_str(&mut b.hostname, map.next_value()?),
                Field::Version => set_str(&mut b.version, map.next_value()?),
                Field::TopologyZone => set_str(&mut b.topology_zone, map.next_value()?),
                Field::TopologyRegion => set_str(&mut b.topology_region, map.next_value()?),
                // Decoded for type checking only: the connection's address replaces it.
                Field::RemoteAddress => {
                    map.next_value::<GoString>()?;
                }
                Field::TcpPort => {
                    if let Some(v) = map.next_value::<GoInt>()?.0 {
                        b.tcp_port = v;
                    }
                }
                Field::HttpPort => {
                    if let Some(v) = map.next_value::<GoInt>()?.0 {
                        b.http_port = v;
                    }
                }
            }
        }
        Ok(b)
    }
}

impl<'de> Deserialize<'de> for IdentifyBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BodyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> IdentifyBody {
        IdentifyBody::decode(s.as_bytes()).unwrap()
    }

    #[test]
    fn typical_nsqd_body() {
        let b = ok(
            r#"{"broadcast_address":"n1","hostname":"h1","http_port":4151,"tcp_port":4150,"topology_region":"r","topology_zone":"z","version":"1.3.0"}"#,
        );
        assert_eq!(b.broadcast_address, "n1");
        assert_eq!(b.hostname, "h1");
        assert_eq!((b.tcp_port, b.http_port), (4150, 4151));
        assert_eq!(b.version, "1.3.0");
        assert_eq!(
            (b.topology_zone.as_str(), b.topology_region.as_str()),
            ("z", "r")
        );
        assert!(b.has_required_fields());
    }

    #[test]
    fn go_quirks() {
        // case-insensitive keys, unknown keys, nulls, later duplicates win
        let b = ok(
            r#" {"BROADCAST_ADDRESS":"a","Tcp_Port":1,"x":[1,{"y":2}],"version":null,"http_port":2,"http_port":3} "#,
        );
        assert_eq!(b.broadcast_address, "a");
        assert_eq!((b.tcp_port, b.http_port), (1, 3));
        assert_eq!(b.version, "");
        assert!(!b.has_required_fields());
        // LONG S folds to s, as in Go
        assert_eq!(ok("{\"ho\u{17F}tname\":\"h\"}").hostname, "h");
        assert!(fold_eq("\u{212A}", "k"));
        assert_eq!(ok(r#"null"#), IdentifyBody::default());
        assert_eq!(ok(r#"{}"#), IdentifyBody::default());
        assert_eq!(ok(r#"{"tcp_port":-0}"#).tcp_port, 0);
        assert_eq!(ok("{\"hostname\":\"\u{e9}\"}").hostname, "\u{e9}");
        assert_eq!(
            IdentifyBody::decode(b"{\"hostname\":\"a\xffb\"}")
                .unwrap()
                .hostname,
            "a\u{fffd}b"
        );
    }

    #[test]
    fn rejected_like_go() {
        for bad in [
            "",
            "{",
            "[]",
            "\"x\"",
            "1",
            "true",
            r#"{"tcp_port":"x"}"#,
            r#"{"tcp_port":1.0}"#,
            r#"{"tcp_port":1e3}"#,
            r#"{"tcp_port":9223372036854775808}"#,
            r#"{"version":1}"#,
            r#"{"remote_address":5}"#,
            r#"{} x"#,
        ] {
            assert!(IdentifyBody::decode(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
