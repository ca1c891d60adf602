//! The subject common name of a client certificate, sent to the auth server as
//! `common_name` (spec §7.2).
//!
//! A minimal DER walk over `Certificate → TBSCertificate → subject` that never panics on
//! malformed input: anything unexpected yields no name. Like Go's `pkix.Name`, the last CN
//! attribute in the subject wins.

/// One DER element: (tag, contents, rest of the input).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags never appear in the fields we walk
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const CONTEXT_0: u8 = 0xa0;
/// 2.5.4.3 (id-at-commonName).
const CN_OID: [u8; 3] = [0x55, 0x04, 0x03];

/// Decodes an ASN.1 string value the way Go's x509 parser accepts it.
fn asn1_string(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, NumericString, PrintableString, T61String, IA5String
        0x0c | 0x12 | 0x13 | 0x14 | 0x16 => Some(String::from_utf8_lossy(value).into_owned()),
        // BMPString: UTF-16BE
        0x1e => {
            if !value.chunks_exact(2).remainder().is_empty() {
                return None;
            }
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// The subject CN of a DER certificate; empty if it has none or cannot be parsed.
pub fn common_name(der: &[u8]) -> String {
    subject_cn(der).unwrap_or_default()
}

fn subject_cn(der: &[u8]) -> Option<String> {
    let (tag, cert, _) = tlv(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    // optional explicit version
    if tag == CONTEXT_0 {
        rest = r;
    }
    // serialNumber, signature, issuer, validity
    for _ in 0..4 {
        let (_, _, r) = tlv(rest)?;
        rest = r;
    }
    let (tag, subject, _) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut cn = None;
    let mut rdns = subject;
    while !rdns.is_empty() {
        let (tag, set, r) = tlv(rdns)?;
        rdns = r;
        if tag != SET {
            return None;
        }
        let mut atvs = set;
        while !atvs.is_empty() {
            let (tag, atv, r) = tlv(atvs)?;
            atvs = r;
            if tag != SEQUENCE {
                return None;
            }
            let (tag, oid, r) = tlv(atv)?;
            if tag != OID || oid != CN_OID {
                continue;
            }
            let (vtag, value, _) = tlv(r)?;
            if let Some(s) = asn1_string(vtag, value) {
                cn = Some(s);
            }
        }
    }
    cn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        if content.len() < 0x80 {
            v.push(content.len() as u8);
        } else {
            v.push(0x82);
            v.extend_from_slice(&(content.len() as u16).to_be_bytes());
        }
        v.extend_from_slice(content);
        v
    }

    fn atv(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        der(
            SET,
            &der(SEQUENCE, &[der(OID, oid), der(tag, value)].concat()),
        )
    }

    fn cert_with_subject(subject: &[u8], with_version: bool) -> Vec<u8> {
        let mut tbs = Vec::new();
        if with_version {
            tbs.extend(der(CONTEXT_0, &der(0x02, &[2])));
        }
        tbs.extend(der(0x02, &[1])); // serial
        tbs.extend(der(SEQUENCE, &der(OID, &[0x2a]))); // signature alg
        tbs.extend(der(SEQUENCE, &[])); // issuer
        tbs.extend(der(SEQUENCE, &[])); // validity
        tbs.extend(der(SEQUENCE, subject));
        tbs.extend(der(SEQUENCE, &[0; 200])); // spki, long form length
        der(
            SEQUENCE,
            &[der(SEQUENCE, &tbs), der(SEQUENCE, &[]), der(0x03, &[0])].concat(),
        )
    }

    #[test]
    fn finds_last_cn() {
        let subject = [
            atv(&[0x55, 0x04, 0x0a], 0x0c, b"org"),
            atv(&CN_OID, 0x13, b"first"),
            atv(&CN_OID, 0x0c, b"test.local"),
        ]
        .concat();
        assert_eq!(
            common_name(&cert_with_subject(&subject, true)),
            "test.local"
        );
        assert_eq!(
            common_name(&cert_with_subject(&subject, false)),
            "test.local"
        );
    }

    #[test]
    fn bmp_string() {
        let subject = atv(&CN_OID, 0x1e, &[0, b'h', 0, b'i']);
        assert_eq!(common_name(&cert_with_subject(&subject, true)), "hi");
    }

    #[test]
    fn garbage_is_empty_never_panics() {
        assert_eq!(common_name(b""), "");
        assert_eq!(common_name(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), "");
        assert_eq!(common_name(&[0x30, 0x03, 0x30, 0x01]), "");
        let good = cert_with_subject(&atv(&CN_OID, 0x0c, b"x"), true);
        for cut in 0..good.len() {
            let _ = common_name(&good[..cut]);
        }
        let no_cn = cert_with_subject(&atv(&[0x55, 0x04, 0x0a], 0x0c, b"org"), true);
        assert_eq!(common_name(&no_cn), "");
    }
}
