//! [`HarnessError`]: why a peer could not be fetched, started, queried or stopped.

use std::fmt;

/// What went wrong in the harness. Every message says what happened and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HarnessError {
    /// A tool the harness needs to fetch or run a peer (Java, Maven, Go) is missing or too old.
    MissingTool {
        /// The program, e.g. `java`.
        tool: &'static str,
        /// What it is needed for and what was found instead.
        detail: String,
        /// The environment variables that point the tests at servers started elsewhere.
        instead: &'static str,
    },
    /// An environment variable is malformed or inconsistent with another one.
    Config(String),
    /// Fetching or building a peer failed (Maven, Go).
    Fetch(String),
    /// A peer did not start, died, or did not become ready in time.
    Peer(String),
    /// A query to a peer failed.
    Query(String),
    /// A file-system operation failed.
    Io(String),
}

impl HarnessError {
    pub(crate) fn io(what: impl fmt::Display, err: std::io::Error) -> HarnessError {
        HarnessError::Io(format!("{what}: {err}"))
    }
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::MissingTool {
                tool,
                detail,
                instead,
            } => write!(
                f,
                "`{tool}` is needed to run the integration tests' peers, but {detail}. Install \
                 it (a fresh machine needs Java 17+, Maven 3.8+ and Go 1.22+ on PATH), or start \
                 the peers yourself (`docker compose -f integration/docker-compose.yml up -d`, \
                 see integration/README.md) and set {instead}"
            ),
            HarnessError::Config(m) => write!(f, "integration configuration: {m}"),
            HarnessError::Fetch(m) => write!(f, "fetching a peer failed: {m}"),
            HarnessError::Peer(m) => write!(f, "peer: {m}"),
            HarnessError::Query(m) => write!(f, "query: {m}"),
            HarnessError::Io(m) => write!(f, "i/o: {m}"),
        }
    }
}

impl std::error::Error for HarnessError {}

/// The harness's result type.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;
