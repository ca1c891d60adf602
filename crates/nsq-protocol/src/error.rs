//! Protocol error codes and the fatal/non-fatal split.
//!
//! An error frame carries `CODE + " " + description`. Only `E_FIN_FAILED`, `E_REQ_FAILED` and
//! `E_TOUCH_FAILED` leave the connection open; every other error closes it right after the
//! frame is written.

use std::fmt;

/// Every error code nsqd sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Wrong 4-byte magic (sent bare, without description).
    BadProtocol,
    /// Unknown command, wrong state, bad parameters.
    Invalid,
    /// IDENTIFY/AUTH/MPUB body problems.
    BadBody,
    /// PUB/DPUB body problems, per-message MPUB problems.
    BadMessage,
    /// Invalid topic name.
    BadTopic,
    /// Invalid channel name.
    BadChannel,
    /// Feature negotiation failed.
    IdentifyFailed,
    /// AUTH while auth is not configured.
    AuthDisabled,
    /// The auth server could not be queried or answered nonsense.
    AuthFailed,
    /// A command that needs AUTH came before it.
    AuthFirst,
    /// Not permitted.
    Unauthorized,
    /// The AUTH response could not be sent.
    AuthError,
    /// SUB failed.
    SubFailed,
    /// PUB could not store the message.
    PubFailed,
    /// MPUB could not store the messages.
    MpubFailed,
    /// DPUB could not store the message.
    DpubFailed,
    /// FIN of an unknown or foreign message (non-fatal).
    FinFailed,
    /// REQ of an unknown or foreign message (non-fatal).
    ReqFailed,
    /// TOUCH of an unknown or foreign message (non-fatal).
    TouchFailed,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadProtocol => "E_BAD_PROTOCOL",
            ErrorCode::Invalid => "E_INVALID",
            ErrorCode::BadBody => "E_BAD_BODY",
            ErrorCode::BadMessage => "E_BAD_MESSAGE",
            ErrorCode::BadTopic => "E_BAD_TOPIC",
            ErrorCode::BadChannel => "E_BAD_CHANNEL",
            ErrorCode::IdentifyFailed => "E_IDENTIFY_FAILED",
            ErrorCode::AuthDisabled => "E_AUTH_DISABLED",
            ErrorCode::AuthFailed => "E_AUTH_FAILED",
            ErrorCode::AuthFirst => "E_AUTH_FIRST",
            ErrorCode::Unauthorized => "E_UNAUTHORIZED",
            ErrorCode::AuthError => "E_AUTH_ERROR",
            ErrorCode::SubFailed => "E_SUB_FAILED",
            ErrorCode::PubFailed => "E_PUB_FAILED",
            ErrorCode::MpubFailed => "E_MPUB_FAILED",
            ErrorCode::DpubFailed => "E_DPUB_FAILED",
            ErrorCode::FinFailed => "E_FIN_FAILED",
            ErrorCode::ReqFailed => "E_REQ_FAILED",
            ErrorCode::TouchFailed => "E_TOUCH_FAILED",
        }
    }

    /// True iff the server closes the connection after sending this error.
    pub fn is_fatal(self) -> bool {
        !matches!(
            self,
            ErrorCode::FinFailed | ErrorCode::ReqFailed | ErrorCode::TouchFailed
        )
    }
}

/// An error to report to a client: code plus free-form description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// The wire code.
    pub code: ErrorCode,
    /// Human-readable description (may be empty only for `E_BAD_PROTOCOL`).
    pub desc: String,
}

impl ClientError {
    /// Builds an error with a description.
    pub fn new(code: ErrorCode, desc: impl Into<String>) -> Self {
        ClientError {
            code,
            desc: desc.into(),
        }
    }

    /// Shorthand for the ubiquitous `E_INVALID`.
    pub fn invalid(desc: impl Into<String>) -> Self {
        ClientError::new(ErrorCode::Invalid, desc)
    }

    /// True iff the connection must be closed after this error.
    pub fn is_fatal(&self) -> bool {
        self.code.is_fatal()
    }

    /// The bytes of the error frame's data: `CODE desc` (or the bare code if no description).
    pub fn wire_text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.desc.is_empty() {
            f.write_str(self.code.as_str())
        } else {
            write!(f, "{} {}", self.code.as_str(), self.desc)
        }
    }
}

impl std::error::Error for ClientError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_three_are_non_fatal() {
        assert!(!ErrorCode::FinFailed.is_fatal());
        assert!(!ErrorCode::ReqFailed.is_fatal());
        assert!(!ErrorCode::TouchFailed.is_fatal());
        assert!(ErrorCode::Invalid.is_fatal());
        assert!(ErrorCode::PubFailed.is_fatal());
    }

    #[test]
    fn text() {
        assert_eq!(
            ClientError::invalid("invalid command ASDF").to_string(),
            "E_INVALID invalid command ASDF"
        );
        assert_eq!(
            ClientError::new(ErrorCode::BadProtocol, "").to_string(),
            "E_BAD_PROTOCOL"
        );
    }
}
