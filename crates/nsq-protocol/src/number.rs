//! The reference's numeric parameter parser for command lines.
//!
//! It accepts only ASCII digits, treats the empty string as 0, and wraps on overflow
//! (no overflow check), exactly like the reference's `ByteToBase10`. Clients depend on the
//! quirks: `RDY ` means RDY 0 and `DPUB t ` is an immediate publish.

/// Error returned when a parameter contains a byte other than `0-9`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid digit")]
pub struct InvalidDigit;

/// Parses decimal digits with wrap-around; empty input is 0.
pub fn parse_base10(b: &[u8]) -> Result<u64, InvalidDigit> {
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(InvalidDigit);
        }
        n = n.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_base10(b""), Ok(0));
        assert_eq!(parse_base10(b"0"), Ok(0));
        assert_eq!(parse_base10(b"2500"), Ok(2500));
        assert_eq!(parse_base10(b"-1"), Err(InvalidDigit));
        assert_eq!(parse_base10(b"+1"), Err(InvalidDigit));
        assert_eq!(parse_base10(b" 1"), Err(InvalidDigit));
        // wraps instead of failing
        assert!(parse_base10(b"99999999999999999999999").is_ok());
    }
}
