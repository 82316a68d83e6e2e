//! [`StdoutRecorder`], its builder, the environment variables it reads and its errors.

use std::env;
use std::error::Error;
use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use tracer_api::export::{BatchConfig, BatchRecorder, ConfigError};
use tracer_api::SpanRecord;

use crate::reporter::{Sink, StdoutReporter};

/// The output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per span and line, with every field of the record (the default). The
    /// schema is in the crate docs and is stable.
    #[default]
    Json,
    /// An indented tree per trace and batch, for reading in a terminal.
    Pretty,
}

impl Format {
    /// `json` or `pretty`, as `STDOUT_FORMAT` spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Pretty => "pretty",
        }
    }

    /// Appends `batch` rendered in this format to `out`: what the reporter writes for one
    /// batch. `color` adds ANSI colours to the `pretty` format; `json` never has any.
    pub fn render(self, batch: &[SpanRecord], color: bool, out: &mut String) {
        match self {
            Format::Json => {
                for span in batch {
                    crate::json::push_span(out, span);
                }
            }
            Format::Pretty => crate::pretty::push_batch(out, batch, color),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the `pretty` format uses ANSI colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ColorChoice {
    /// Colour when the target is standard output or standard error, that stream is a terminal
    /// and `NO_COLOR` is unset or empty; never for a writer given with `with_writer` (the
    /// default).
    #[default]
    Auto,
    /// Always colour, whatever the target.
    Always,
    /// Never colour.
    Never,
}

impl From<bool> for ColorChoice {
    /// `true` forces colour, `false` turns it off.
    fn from(on: bool) -> ColorChoice {
        if on {
            ColorChoice::Always
        } else {
            ColorChoice::Never
        }
    }
}

/// Why a stdout recorder could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// An environment variable this crate reads has a value it does not understand.
    InvalidEnv {
        /// The variable, such as `STDOUT_FORMAT`.
        variable: &'static str,
        /// Its value (its first 64 characters, lossily converted when it was not UTF-8).
        value: String,
        /// The values it accepts.
        expected: &'static str,
    },
    /// The export pipeline's configuration is invalid (from
    /// [`with_batch_config`](StdoutRecorderBuilder::with_batch_config) or from the
    /// `TRACER_EXPORT_*` variables).
    BatchConfig(ConfigError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidEnv {
                variable,
                value,
                expected,
            } => write!(
                f,
                "environment variable {variable} has the invalid value {value:?}; \
                 expected {expected}, or leave it unset for the default"
            ),
            BuildError::BatchConfig(e) => {
                write!(f, "invalid export pipeline configuration: {e}")
            }
        }
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BuildError::InvalidEnv { .. } => None,
            BuildError::BatchConfig(e) => Some(e),
        }
    }
}

/// Builds the stdout recorder: [`StdoutRecorder::builder`] for defaults, or
/// [`StdoutRecorder::from_env`] to start from the environment.
///
/// What [`build`](StdoutRecorderBuilder::build) returns is a
/// [`BatchRecorder<StdoutReporter>`]: install it with `TracerBuilder::with_recorder`.
#[derive(Debug)]
pub struct StdoutRecorder {
    _private: (),
}

impl StdoutRecorder {
    /// A builder with the defaults: JSON lines, standard output, colour `auto` (which the
    /// JSON format ignores), [`BatchConfig::default`].
    pub fn builder() -> StdoutRecorderBuilder {
        StdoutRecorderBuilder {
            format: Format::Json,
            target: Target::Stdout,
            color: ColorChoice::Auto,
            batch: BatchConfig::default(),
        }
    }

    /// A builder filled in from the environment: `STDOUT_FORMAT` (`json` | `pretty`),
    /// `STDOUT_TARGET` (`stdout` | `stderr`), `STDOUT_COLOR` (`auto` | `always` | `never`)
    /// and the pipeline's `TRACER_EXPORT_*` variables ([`BatchConfig::from_env`]). Unset or
    /// empty variables keep the defaults; values are case-insensitive. Setters called on the
    /// builder afterwards override the environment.
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidEnv`] naming the variable when a value is not one of those
    /// listed; [`BuildError::BatchConfig`] when a `TRACER_EXPORT_*` variable is invalid.
    pub fn from_env() -> Result<StdoutRecorderBuilder, BuildError> {
        let batch = BatchConfig::from_env().map_err(BuildError::BatchConfig)?;
        StdoutRecorder::builder()
            .with_batch_config(batch)
            .apply_env(&process_env)
    }
}

/// The environment variable `name`: `None` when unset or blank, trimmed otherwise.
fn process_env(name: &'static str) -> Result<Option<String>, BuildError> {
    match env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_owned())),
        Err(env::VarError::NotPresent) => Ok(None),
        Err(env::VarError::NotUnicode(raw)) => Err(BuildError::InvalidEnv {
            variable: name,
            value: raw.to_string_lossy().chars().take(64).collect(),
            expected: "UTF-8 text",
        }),
    }
}

enum Target {
    Stdout,
    Stderr,
    Writer(Box<dyn Write + Send>),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Stdout => "Stdout",
            Target::Stderr => "Stderr",
            Target::Writer(_) => "Writer",
        })
    }
}

/// The builder of a stdout recorder; see [`StdoutRecorder`].
#[derive(Debug)]
pub struct StdoutRecorderBuilder {
    format: Format,
    target: Target,
    color: ColorChoice,
    batch: BatchConfig,
}

impl StdoutRecorderBuilder {
    /// The output format (default [`Format::Json`]).
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Writes to `writer` instead of standard output: a file, a socket, a shared buffer in
    /// tests. Wrap slow writers in a `BufWriter`; the reporter writes each batch with one
    /// `write_all`-like loop and then flushes.
    pub fn with_writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.target = Target::Writer(Box::new(writer));
        self
    }

    /// Writes to standard output (the default).
    pub fn with_stdout(mut self) -> Self {
        self.target = Target::Stdout;
        self
    }

    /// Writes to standard error.
    pub fn with_stderr(mut self) -> Self {
        self.target = Target::Stderr;
        self
    }

    /// Colours for the `pretty` format: `true`, `false` or a [`ColorChoice`] (default
    /// [`ColorChoice::Auto`]).
    pub fn with_color(mut self, color: impl Into<ColorChoice>) -> Self {
        self.color = color.into();
        self
    }

    /// The export pipeline's settings (default [`BatchConfig::default`]; with
    /// [`from_env`](StdoutRecorder::from_env), [`BatchConfig::from_env`]). A shorter
    /// `batch_interval` makes spans appear sooner.
    pub fn with_batch_config(mut self, config: BatchConfig) -> Self {
        self.batch = config;
        self
    }

    /// Starts the export pipeline (its own thread) with a [`StdoutReporter`].
    ///
    /// # Errors
    ///
    /// [`BuildError::BatchConfig`] when the batch configuration is invalid.
    pub fn build(self) -> Result<BatchRecorder<StdoutReporter>, BuildError> {
        let StdoutRecorderBuilder {
            format,
            target,
            color,
            batch,
        } = self;
        let reporter = reporter(format, target, color);
        BatchRecorder::new(reporter, batch).map_err(BuildError::BatchConfig)
    }

    /// Only the reporter, without a pipeline: for a pipeline you assemble yourself, or to
    /// call [`Reporter::report`](tracer_api::export::Reporter::report) directly. The batch
    /// configuration is not used.
    pub fn build_reporter(self) -> StdoutReporter {
        reporter(self.format, self.target, self.color)
    }

    fn apply_env(
        mut self,
        get: &dyn Fn(&'static str) -> Result<Option<String>, BuildError>,
    ) -> Result<Self, BuildError> {
        if let Some(v) = get("STDOUT_FORMAT")? {
            self.format = match v.to_ascii_lowercase().as_str() {
                "json" => Format::Json,
                "pretty" => Format::Pretty,
                _ => return Err(invalid("STDOUT_FORMAT", v, "json or pretty")),
            };
        }
        if let Some(v) = get("STDOUT_TARGET")? {
            self.target = match v.to_ascii_lowercase().as_str() {
                "stdout" => Target::Stdout,
                "stderr" => Target::Stderr,
                _ => return Err(invalid("STDOUT_TARGET", v, "stdout or stderr")),
            };
        }
        if let Some(v) = get("STDOUT_COLOR")? {
            self.color = match v.to_ascii_lowercase().as_str() {
                "auto" => ColorChoice::Auto,
                "always" => ColorChoice::Always,
                "never" => ColorChoice::Never,
                _ => return Err(invalid("STDOUT_COLOR", v, "auto, always or never")),
            };
        }
        Ok(self)
    }
}

/// The error for a value `variable` does not accept; the value is cut to its first 64
/// characters so a huge variable cannot flood a log.
fn invalid(variable: &'static str, value: String, expected: &'static str) -> BuildError {
    BuildError::InvalidEnv {
        variable,
        value: value.chars().take(64).collect(),
        expected,
    }
}

fn reporter(format: Format, target: Target, color: ColorChoice) -> StdoutReporter {
    let no_color = || env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (sink, auto) = match target {
        Target::Stdout => (Sink::Stdout, io::stdout().is_terminal()),
        Target::Stderr => (Sink::Stderr, io::stderr().is_terminal()),
        Target::Writer(w) => (Sink::Writer(Mutex::new(w)), false),
    };
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => auto && !no_color(),
    };
    StdoutReporter::new(format, color, sink)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with_env(vars: &[(&'static str, &str)]) -> Result<StdoutRecorderBuilder, BuildError> {
        let map: HashMap<&str, String> = vars.iter().map(|&(k, v)| (k, v.to_owned())).collect();
        StdoutRecorder::builder().apply_env(&move |name| Ok(map.get(name).cloned()))
    }

    #[test]
    fn environment_sets_format_target_and_colour() {
        let b = with_env(&[
            ("STDOUT_FORMAT", "Pretty"),
            ("STDOUT_TARGET", "stderr"),
            ("STDOUT_COLOR", "always"),
        ])
        .unwrap();
        assert_eq!(b.format, Format::Pretty);
        assert!(matches!(b.target, Target::Stderr));
        assert_eq!(b.color, ColorChoice::Always);
        let r = b.build_reporter();
        assert!(r.color());
        assert_eq!(r.format(), Format::Pretty);
    }

    #[test]
    fn unset_keeps_defaults_and_code_overrides_environment() {
        let b = with_env(&[]).unwrap();
        assert_eq!(b.format, Format::Json);
        assert!(matches!(b.target, Target::Stdout));
        let b = with_env(&[("STDOUT_FORMAT", "pretty"), ("STDOUT_COLOR", "always")])
            .unwrap()
            .with_format(Format::Json)
            .with_writer(Vec::new());
        assert_eq!(b.format, Format::Json);
        let r = b.build_reporter();
        assert!(!r.color(), "json never has colour");
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (var, value) in [
            ("STDOUT_FORMAT", "xml"),
            ("STDOUT_TARGET", "/dev/null"),
            ("STDOUT_COLOR", "yes"),
        ] {
            let err = with_env(&[(var, value)]).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(var) && text.contains(value), "{text}");
            assert!(matches!(err, BuildError::InvalidEnv { variable, .. } if variable == var));
        }
    }

    #[test]
    fn colour_choice() {
        assert_eq!(ColorChoice::from(true), ColorChoice::Always);
        assert_eq!(ColorChoice::from(false), ColorChoice::Never);
        let auto = StdoutRecorder::builder()
            .with_format(Format::Pretty)
            .with_writer(Vec::new())
            .build_reporter();
        assert!(!auto.color(), "a writer is never a terminal to auto");
        let forced = StdoutRecorder::builder()
            .with_format(Format::Pretty)
            .with_writer(Vec::new())
            .with_color(true)
            .build_reporter();
        assert!(forced.color());
    }
}
