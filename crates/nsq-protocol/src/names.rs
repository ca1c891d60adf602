//! Topic and channel name rules.
//!
//! A name is valid iff it is 1..=64 bytes and matches `^[.a-zA-Z0-9_-]+(#ephemeral)?$`; the
//! same rule applies to topics and channels, and the 64-byte limit includes the suffix.

/// The suffix that marks a topic or channel as ephemeral (memory only, auto-deleted).
pub const EPHEMERAL_SUFFIX: &str = "#ephemeral";

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-'
}

/// True iff `name` is a valid topic or channel name.
pub fn is_valid_name(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > 64 {
        return false;
    }
    let base = name
        .strip_suffix(EPHEMERAL_SUFFIX.as_bytes())
        .unwrap_or(name);
    !base.is_empty() && base.iter().all(|&b| is_name_byte(b))
}

/// True iff `name` is a valid topic name (same rule as channels).
pub fn is_valid_topic_name(name: &str) -> bool {
    is_valid_name(name.as_bytes())
}

/// True iff `name` is a valid channel name (same rule as topics).
pub fn is_valid_channel_name(name: &str) -> bool {
    is_valid_name(name.as_bytes())
}

/// True iff the name carries the `#ephemeral` suffix.
pub fn is_ephemeral(name: &str) -> bool {
    name.ends_with(EPHEMERAL_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        assert!(is_valid_topic_name("test"));
        assert!(is_valid_topic_name("test-with_period."));
        assert!(is_valid_topic_name("test#ephemeral"));
        assert!(!is_valid_topic_name("test:ephemeral"));
        assert!(!is_valid_topic_name(""));
        assert!(!is_valid_topic_name("#ephemeral"));
        assert!(!is_valid_topic_name("a#ephemeral#ephemeral"));
        assert!(!is_valid_topic_name("name$"));
        assert!(is_valid_topic_name(&"a".repeat(64)));
        assert!(!is_valid_topic_name(&"a".repeat(65)));
        let e = format!("{}{}", "a".repeat(54), EPHEMERAL_SUFFIX);
        assert_eq!(e.len(), 64);
        assert!(is_valid_topic_name(&e));
        assert!(!is_valid_topic_name(&format!("a{e}")));
    }

    #[test]
    fn ephemeral_detection() {
        assert!(is_ephemeral("x#ephemeral"));
        assert!(!is_ephemeral("x"));
    }
}
