//! Why a tool run failed. A failed run makes the tool exit non-zero; a slow one never does.

/// Every failure of an `nsq-bench` subcommand.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad command line.
    #[error("usage: {0}")]
    Usage(String),
    /// Talking to nsqd failed.
    #[error("nsq: {0}")]
    Client(#[from] nsq_client::Error),
    /// Local IO (files, /proc, sockets outside the client).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The run did not complete as specified (lost messages, timeout, ...).
    #[error("run failed: {0}")]
    Run(String),
    /// A results file line could not be understood.
    #[error("results: {0}")]
    Results(String),
}

/// Result type of the tools.
pub type Result<T> = std::result::Result<T, BenchError>;
