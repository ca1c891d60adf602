//! Client → server command lines.
//!
//! A command is a line ending in `\n`; one trailing `\r` is dropped; the line is split on
//! every single space (no collapsing, so `SUB  t c` has an empty second parameter); the first
//! parameter is the case-sensitive command name. Body-carrying commands (IDENTIFY, AUTH, PUB,
//! MPUB, DPUB) are followed by a 4-byte big-endian signed size and the body; reading those is
//! the connection's job because the reference validates parameters before reading bodies.

/// The commands of protocol V2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandName {
    /// Feature negotiation and client metadata.
    Identify,
    /// Authenticate with a secret.
    Auth,
    /// Subscribe to a topic/channel.
    Sub,
    /// Set the ready count (max in flight).
    Rdy,
    /// Finish a message.
    Fin,
    /// Requeue a message, optionally deferred.
    Req,
    /// Reset a message's timeout.
    Touch,
    /// Start closing: stop deliveries.
    Cls,
    /// No-op (heartbeat answer).
    Nop,
    /// Publish one message.
    Pub,
    /// Publish several messages atomically.
    Mpub,
    /// Publish one deferred message.
    Dpub,
}

impl CommandName {
    /// Parses a command name (case-sensitive); unknown names yield `None`.
    pub fn parse(name: &[u8]) -> Option<CommandName> {
        Some(match name {
            b"IDENTIFY" => CommandName::Identify,
            b"AUTH" => CommandName::Auth,
            b"SUB" => CommandName::Sub,
            b"RDY" => CommandName::Rdy,
            b"FIN" => CommandName::Fin,
            b"REQ" => CommandName::Req,
            b"TOUCH" => CommandName::Touch,
            b"CLS" => CommandName::Cls,
            b"NOP" => CommandName::Nop,
            b"PUB" => CommandName::Pub,
            b"MPUB" => CommandName::Mpub,
            b"DPUB" => CommandName::Dpub,
            _ => return None,
        })
    }

    /// The name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandName::Identify => "IDENTIFY",
            CommandName::Auth => "AUTH",
            CommandName::Sub => "SUB",
            CommandName::Rdy => "RDY",
            CommandName::Fin => "FIN",
            CommandName::Req => "REQ",
            CommandName::Touch => "TOUCH",
            CommandName::Cls => "CLS",
            CommandName::Nop => "NOP",
            CommandName::Pub => "PUB",
            CommandName::Mpub => "MPUB",
            CommandName::Dpub => "DPUB",
        }
    }
}

/// Strips the line terminator (`\n`, then one optional `\r`) from a raw line.
pub fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits a trimmed line on every single space, like the reference (`bytes.Split`).
pub fn split_params(line: &[u8]) -> Vec<&[u8]> {
    line.split(|&b| b == b' ').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_matches_reference() {
        assert_eq!(
            split_params(b"SUB  t c"),
            vec![&b"SUB"[..], b"", b"t", b"c"]
        );
        assert_eq!(split_params(b""), vec![&b""[..]]);
        assert_eq!(split_params(b"RDY 5 "), vec![&b"RDY"[..], b"5", b""]);
        assert_eq!(trim_line(b"NOP\r\n"), b"NOP");
        assert_eq!(trim_line(b"NOP\r\r\n"), b"NOP\r");
    }

    #[test]
    fn names_are_case_sensitive() {
        assert_eq!(CommandName::parse(b"NOP"), Some(CommandName::Nop));
        assert_eq!(CommandName::parse(b"nop"), None);
        for n in [
            "IDENTIFY", "AUTH", "SUB", "RDY", "FIN", "REQ", "TOUCH", "CLS", "NOP", "PUB", "MPUB",
            "DPUB",
        ] {
            assert_eq!(
                CommandName::parse(n.as_bytes()).map(|c| c.as_str()),
                Some(n)
            );
        }
    }
}
