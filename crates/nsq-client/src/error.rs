//! The one error type of the client: IO, protocol violations by the peer, and error frames.

use std::io;

/// Everything that can go wrong talking to nsqd.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket failed (connect, read, write).
    #[error("io: {0}")]
    Io(#[from] io::Error),
    /// Connecting or a request did not finish in time.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The server sent bytes that are not valid protocol V2 (bad size, unknown frame type,
    /// short message payload, non-JSON IDENTIFY reply...).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The server answered with an error frame, e.g. `E_BAD_TOPIC ...`.
    #[error("server error: {code} {description}")]
    Server {
        /// The code (`E_INVALID`, `E_FIN_FAILED`, ...).
        code: String,
        /// The rest of the error text.
        description: String,
    },
    /// A frame arrived that the current request cannot accept (e.g. a JSON body when `OK`
    /// was expected).
    #[error("unexpected response: {0}")]
    Unexpected(String),
    /// The caller asked for something this client does not implement (TLS, compression).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

impl Error {
    /// Builds an [`Error::Server`] from an error frame's data (`CODE description`).
    pub fn from_error_frame(data: &[u8]) -> Error {
        let text = String::from_utf8_lossy(data);
        let (code, description) = match text.split_once(' ') {
            Some((c, d)) => (c.to_string(), d.to_string()),
            None => (text.to_string(), String::new()),
        };
        Error::Server { code, description }
    }

    /// True for the error codes after which nsqd keeps the connection open
    /// (`E_FIN_FAILED`, `E_REQ_FAILED`, `E_TOUCH_FAILED`).
    pub fn is_non_fatal_server_error(&self) -> bool {
        matches!(self, Error::Server { code, .. } if is_non_fatal_code(code))
    }
}

/// True for the error codes after which nsqd keeps the connection open.
pub fn is_non_fatal_code(code: &str) -> bool {
    matches!(code, "E_FIN_FAILED" | "E_REQ_FAILED" | "E_TOUCH_FAILED")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_frame_split() {
        match Error::from_error_frame(b"E_BAD_TOPIC PUB topic name \"a b\" is not valid") {
            Error::Server { code, description } => {
                assert_eq!(code, "E_BAD_TOPIC");
                assert_eq!(description, "PUB topic name \"a b\" is not valid");
            }
            other => panic!("{other:?}"),
        }
        match Error::from_error_frame(b"E_BAD_PROTOCOL") {
            Error::Server { code, description } => {
                assert_eq!(code, "E_BAD_PROTOCOL");
                assert!(description.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(Error::from_error_frame(b"E_FIN_FAILED x").is_non_fatal_server_error());
        assert!(!Error::from_error_frame(b"E_INVALID x").is_non_fatal_server_error());
    }
}
