//! Which backend the app's spans go to, and the error for one that is not compiled in.
//!
//! Each backend is a Cargo feature of this crate (`appdash`, the default, `zipkin`, `kafka`,
//! `stdout`); the one to use is picked at startup with `--backend` or `TRACER_BACKEND`.

use std::fmt;
use std::str::FromStr;

/// A backend the app can send its spans to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Appdash: the embedded collector and web UI, or an Appdash collector at
    /// `APPDASH_COLLECTOR`. Feature `appdash` (default).
    Appdash,
    /// Zipkin over HTTP (`ZIPKIN_ENDPOINT`). Feature `zipkin`.
    Zipkin,
    /// Zipkin through Kafka (`KAFKA_BOOTSTRAP_SERVERS`). Feature `kafka`.
    Kafka,
    /// Standard output (`STDOUT_FORMAT`). Feature `stdout`.
    Stdout,
}

impl Backend {
    /// Every backend, in the order [`Backend::default_compiled`] prefers them.
    pub const ALL: [Backend; 4] = [
        Backend::Appdash,
        Backend::Zipkin,
        Backend::Kafka,
        Backend::Stdout,
    ];

    /// The backend's name, as `--backend` and `TRACER_BACKEND` spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Appdash => "appdash",
            Backend::Zipkin => "zipkin",
            Backend::Kafka => "kafka",
            Backend::Stdout => "stdout",
        }
    }

    /// The Cargo feature of this crate that compiles the backend in (its name).
    pub const fn feature(self) -> &'static str {
        self.as_str()
    }

    /// True when the backend's feature is on in this build.
    pub const fn is_compiled(self) -> bool {
        match self {
            Backend::Appdash => cfg!(feature = "appdash"),
            Backend::Zipkin => cfg!(feature = "zipkin"),
            Backend::Kafka => cfg!(feature = "kafka"),
            Backend::Stdout => cfg!(feature = "stdout"),
        }
    }

    /// The backend used when none is chosen: the first compiled in, in the order of
    /// [`Backend::ALL`] (so `appdash` in a default build).
    pub fn default_compiled() -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.is_compiled())
    }

    /// `Ok(self)` when the backend is compiled in, otherwise an error naming its feature.
    pub fn ensure_compiled(self) -> Result<Backend, NotCompiled> {
        if self.is_compiled() {
            Ok(self)
        } else {
            Err(NotCompiled(self))
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = UnknownBackend;

    /// Parses a backend name, ignoring case and surrounding blanks.
    fn from_str(s: &str) -> Result<Backend, UnknownBackend> {
        let name = s.trim();
        Backend::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownBackend(name.to_owned()))
    }
}

/// A backend name that is not one of `appdash`, `zipkin`, `kafka`, `stdout`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBackend(pub String);

impl fmt::Display for UnknownBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown backend {:?}: expected appdash, zipkin, kafka or stdout",
            self.0
        )
    }
}

impl std::error::Error for UnknownBackend {}

/// A backend whose Cargo feature is off in this build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotCompiled(pub Backend);

impl fmt::Display for NotCompiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = self.0;
        write!(
            f,
            "the {backend} backend is not compiled in: build with `--features {}` \
             (for example `cargo run -p examples --features {}`)",
            backend.feature(),
            backend.feature()
        )?;
        let compiled: Vec<&str> = Backend::ALL
            .into_iter()
            .filter(|b| b.is_compiled())
            .map(Backend::as_str)
            .collect();
        if compiled.is_empty() {
            f.write_str("; this build has no backend")
        } else {
            write!(f, "; this build has: {}", compiled.join(", "))
        }
    }
}

impl std::error::Error for NotCompiled {}
