//! The builder, environment configuration and build errors.

use std::fmt;
#[cfg(feature = "tls")]
use std::path::PathBuf;
use std::time::Duration;

use tracer_api::export::{BatchConfig, BatchRecorder, ConfigError};

use crate::client::{AppdashReporter, ClientConfig};

/// `APPDASH_COLLECTOR`: the collector's `host:port` (default `127.0.0.1:7701`).
pub const ENV_COLLECTOR: &str = "APPDASH_COLLECTOR";
/// `APPDASH_TLS_CA`: a PEM file of CA certificates; setting it turns TLS on (feature `tls`).
pub const ENV_TLS_CA: &str = "APPDASH_TLS_CA";
/// `APPDASH_TLS_SERVER_NAME`: the name the collector's certificate must match (feature `tls`;
/// default: the host part of the collector address).
pub const ENV_TLS_SERVER_NAME: &str = "APPDASH_TLS_SERVER_NAME";

/// The collector address used when none is configured: Appdash's default collector port on
/// the local machine.
pub const DEFAULT_COLLECTOR_ADDR: &str = "127.0.0.1:7701";

/// Entry point: [`AppdashRecorder::builder`] and [`AppdashRecorder::from_env`] make an
/// [`AppdashRecorderBuilder`], whose [`build`](AppdashRecorderBuilder::build) gives the
/// recorder to install on a tracer.
#[derive(Debug, Clone, Copy)]
pub struct AppdashRecorder;

impl AppdashRecorder {
    /// A builder with the defaults: collector `127.0.0.1:7701`, plain TCP, the default
    /// [`BatchConfig`].
    pub fn builder() -> AppdashRecorderBuilder {
        AppdashRecorderBuilder::default()
    }

    /// A builder pre-filled from the environment: `APPDASH_COLLECTOR`, `APPDASH_TLS_CA` and
    /// `APPDASH_TLS_SERVER_NAME` (feature `tls`), and the pipeline's `TRACER_EXPORT_*`
    /// variables ([`BatchConfig::from_env`]). Unset or empty variables keep the defaults;
    /// setters called on the builder afterwards override the environment. A malformed value is
    /// an error naming the variable.
    pub fn from_env() -> Result<AppdashRecorderBuilder, BuildError> {
        AppdashRecorder::from_lookup(|name| {
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        })
    }

    /// Like [`from_env`](AppdashRecorder::from_env), reading variables through `lookup`
    /// instead of the process environment.
    pub fn from_lookup(
        mut lookup: impl FnMut(&str) -> Option<String>,
    ) -> Result<AppdashRecorderBuilder, BuildError> {
        let mut get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut builder = AppdashRecorder::builder();
        if let Some(addr) = get(ENV_COLLECTOR) {
            if let Err(reason) = check_addr(&addr) {
                return Err(BuildError::Env {
                    var: ENV_COLLECTOR,
                    value: addr,
                    reason: reason.to_owned(),
                });
            }
            builder.collector_addr = addr;
        }
        let ca = get(ENV_TLS_CA);
        let server_name = get(ENV_TLS_SERVER_NAME);
        #[cfg(feature = "tls")]
        {
            if let Some(ca) = ca {
                builder.tls_ca_file = Some(PathBuf::from(ca));
            }
            if let Some(name) = server_name {
                if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
                    return Err(BuildError::Env {
                        var: ENV_TLS_SERVER_NAME,
                        value: name,
                        reason: "expected a DNS name or an IP address".to_owned(),
                    });
                }
                builder.tls_server_name = Some(name);
            }
        }
        #[cfg(not(feature = "tls"))]
        for (var, value) in [(ENV_TLS_CA, ca), (ENV_TLS_SERVER_NAME, server_name)] {
            if let Some(value) = value {
                return Err(BuildError::Env {
                    var,
                    value,
                    reason: "TLS needs recorder-appdash's `tls` feature; enable it or unset the \
                             variable"
                        .to_owned(),
                });
            }
        }
        let batch = BatchConfig::from_lookup(|name| get(name)).map_err(BuildError::Pipeline)?;
        builder.batch = batch;
        Ok(builder)
    }
}

/// Configures and builds the Appdash recorder. See the [crate docs](crate) for the defaults.
#[derive(Debug, Clone)]
pub struct AppdashRecorderBuilder {
    collector_addr: String,
    #[cfg(feature = "tls")]
    tls_ca_file: Option<PathBuf>,
    #[cfg(feature = "tls")]
    tls_server_name: Option<String>,
    batch: BatchConfig,
    connect_timeout: Duration,
    write_timeout: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
    extra_annotations: bool,
}

impl Default for AppdashRecorderBuilder {
    fn default() -> AppdashRecorderBuilder {
        AppdashRecorderBuilder {
            collector_addr: DEFAULT_COLLECTOR_ADDR.to_owned(),
            #[cfg(feature = "tls")]
            tls_ca_file: None,
            #[cfg(feature = "tls")]
            tls_server_name: None,
            batch: BatchConfig::default(),
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            extra_annotations: true,
        }
    }
}

impl AppdashRecorderBuilder {
    /// The collector's `host:port` (default `127.0.0.1:7701`; IPv6 hosts in brackets,
    /// `[::1]:7701`). The host is resolved on each connect.
    pub fn with_collector_addr(mut self, addr: impl Into<String>) -> Self {
        self.collector_addr = addr.into();
        self
    }

    /// Turns TLS on, trusting the CA certificates of this PEM file (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn with_tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca_file = Some(path.into());
        self
    }

    /// The name the collector's certificate must match (feature `tls`; default: the host part
    /// of the collector address, which may be an IP address).
    #[cfg(feature = "tls")]
    pub fn with_tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }

    /// The export pipeline's queue, batching, concurrency, timeouts and retries (default
    /// [`BatchConfig::default`], or the environment with [`AppdashRecorder::from_env`]).
    pub fn with_batch_config(mut self, config: BatchConfig) -> Self {
        self.batch = config;
        self
    }

    /// How long a connect (with the TLS handshake) may take (default 5 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long writing and flushing one batch may take before the connection is dropped and
    /// the batch retried (default 5 s).
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// The reconnect backoff after failed connects: `min` after the first failure, doubling up
    /// to `max` (defaults 100 ms and 5 s).
    pub fn with_reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max;
        self
    }

    /// Whether spans also carry the `service.name`, `ref.follows_from` and `ref.child_of`
    /// annotations that Appdash's Go recorder does not write (default `true`). `false` sends
    /// exactly Go's annotations; see [`annotations`](crate::annotations).
    pub fn with_extra_annotations(mut self, on: bool) -> Self {
        self.extra_annotations = on;
        self
    }

    /// Builds the reporter alone, for use with a pipeline configured elsewhere.
    pub fn build_reporter(&self) -> Result<AppdashReporter, BuildError> {
        let host = check_addr(&self.collector_addr).map_err(|reason| BuildError::Address {
            addr: self.collector_addr.clone(),
            reason,
        })?;
        for (field, d) in [
            ("connect timeout", self.connect_timeout),
            ("write timeout", self.write_timeout),
            ("minimum reconnect backoff", self.min_backoff),
        ] {
            if d.is_zero() {
                return Err(BuildError::Setting {
                    reason: format!("the {field} must be longer than zero"),
                });
            }
        }
        if self.max_backoff < self.min_backoff {
            return Err(BuildError::Setting {
                reason: "the maximum reconnect backoff is below the minimum".to_owned(),
            });
        }
        #[cfg(feature = "tls")]
        let tls = match (&self.tls_ca_file, &self.tls_server_name) {
            (Some(ca), name) => Some(crate::tls::TlsConnect::new(
                ca,
                name.as_deref().unwrap_or(host),
            )?),
            (None, Some(_)) => {
                return Err(BuildError::Tls {
                    reason: "a TLS server name was set without a CA file; set the CA file \
                             (APPDASH_TLS_CA) to turn TLS on"
                        .to_owned(),
                })
            }
            (None, None) => None,
        };
        #[cfg(not(feature = "tls"))]
        let _ = host;
        Ok(AppdashReporter::new(ClientConfig {
            addr: self.collector_addr.clone(),
            connect_timeout: self.connect_timeout,
            write_timeout: self.write_timeout,
            min_backoff: self.min_backoff,
            max_backoff: self.max_backoff,
            extra_annotations: self.extra_annotations,
            #[cfg(feature = "tls")]
            tls,
        }))
    }

    /// Builds the recorder: an [`AppdashReporter`] on the export pipeline, whose worker runs
    /// on its own thread. Nothing connects until the first batch.
    pub fn build(self) -> Result<BatchRecorder<AppdashReporter>, BuildError> {
        let reporter = self.build_reporter()?;
        BatchRecorder::new(reporter, self.batch).map_err(BuildError::Pipeline)
    }
}

/// Checks `host:port`; returns the host (without IPv6 brackets).
fn check_addr(addr: &str) -> Result<&str, &'static str> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err("expected host:port, such as 127.0.0.1:7701");
    };
    match port.parse::<u16>() {
        Ok(p) if p != 0 => {}
        _ => return Err("the port must be a number from 1 to 65535"),
    }
    let host = match host.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .ok_or("an IPv6 host must be in brackets, such as [::1]:7701")?,
        None if host.contains(':') => {
            return Err("an IPv6 host must be in brackets, such as [::1]:7701")
        }
        None => host,
    };
    if host.is_empty() {
        return Err("the host is empty");
    }
    if host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err("the host contains a space or a slash; expected host:port without a scheme");
    }
    Ok(host)
}

/// Why the recorder could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// An environment variable holds a malformed value.
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong and what it should hold.
        reason: String,
    },
    /// The collector address is not `host:port`.
    Address {
        /// The address given.
        addr: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A timeout or backoff setting is unusable.
    Setting {
        /// What is wrong.
        reason: String,
    },
    /// The TLS configuration failed (CA file unreadable or empty, bad server name).
    Tls {
        /// What is wrong.
        reason: String,
    },
    /// The export pipeline refused its configuration or could not start.
    Pipeline(ConfigError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Env { var, value, reason } => {
                write!(
                    f,
                    "environment variable {var}={value:?} is malformed: {reason}"
                )
            }
            BuildError::Address { addr, reason } => {
                write!(f, "invalid Appdash collector address {addr:?}: {reason}")
            }
            BuildError::Setting { reason } => {
                write!(f, "invalid Appdash recorder setting: {reason}")
            }
            BuildError::Tls { reason } => write!(f, "Appdash TLS configuration: {reason}"),
            BuildError::Pipeline(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Pipeline(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl FnMut(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn addresses() {
        assert_eq!(check_addr("127.0.0.1:7701"), Ok("127.0.0.1"));
        assert_eq!(check_addr("collector.internal:1"), Ok("collector.internal"));
        assert_eq!(check_addr("[::1]:7701"), Ok("::1"));
        for bad in [
            "",
            "7701",
            ":7701",
            "host:",
            "host:0",
            "host:70000",
            "host:x",
            "::1:7701",
            "[::1:7701",
            "tcp://host:7701",
            "ho st:1",
        ] {
            assert!(check_addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn environment_fills_the_builder() {
        let b = AppdashRecorder::from_lookup(lookup(&[
            ("APPDASH_COLLECTOR", " collector:9000 "),
            ("TRACER_EXPORT_MAX_BATCH_SPANS", "7"),
        ]))
        .unwrap();
        assert_eq!(b.collector_addr, "collector:9000");
        assert_eq!(b.batch.max_batch_spans, 7);
        let b = AppdashRecorder::from_lookup(lookup(&[("APPDASH_COLLECTOR", "")])).unwrap();
        assert_eq!(b.collector_addr, DEFAULT_COLLECTOR_ADDR);
        // Code overrides the environment.
        let b = b.with_collector_addr("other:1");
        assert_eq!(b.build_reporter().unwrap().collector_addr(), "other:1");
    }

    #[test]
    fn malformed_environment_names_the_variable() {
        let err =
            AppdashRecorder::from_lookup(lookup(&[("APPDASH_COLLECTOR", "nope")])).unwrap_err();
        assert!(matches!(
            err,
            BuildError::Env {
                var: "APPDASH_COLLECTOR",
                ..
            }
        ));
        assert!(err.to_string().contains("APPDASH_COLLECTOR"), "{err}");
        let err = AppdashRecorder::from_lookup(lookup(&[("TRACER_EXPORT_MAX_BATCH_SPANS", "x")]))
            .unwrap_err();
        assert!(
            err.to_string().contains("TRACER_EXPORT_MAX_BATCH_SPANS"),
            "{err}"
        );
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn tls_variables_without_the_feature_are_errors() {
        let err =
            AppdashRecorder::from_lookup(lookup(&[("APPDASH_TLS_CA", "/ca.pem")])).unwrap_err();
        assert!(err.to_string().contains("APPDASH_TLS_CA"), "{err}");
        assert!(err.to_string().contains("`tls` feature"), "{err}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_settings() {
        let err = AppdashRecorder::from_lookup(lookup(&[("APPDASH_TLS_SERVER_NAME", "a b")]))
            .unwrap_err();
        assert!(err.to_string().contains("APPDASH_TLS_SERVER_NAME"), "{err}");
        let b =
            AppdashRecorder::from_lookup(lookup(&[("APPDASH_TLS_CA", "/no/such/ca.pem")])).unwrap();
        let err = b.build_reporter().unwrap_err();
        assert!(matches!(err, BuildError::Tls { .. }));
        assert!(err.to_string().contains("/no/such/ca.pem"), "{err}");
        let err = AppdashRecorder::builder()
            .with_tls_server_name("collector")
            .build_reporter()
            .unwrap_err();
        assert!(matches!(err, BuildError::Tls { .. }), "{err}");
    }

    #[test]
    fn bad_settings_are_refused() {
        let err = AppdashRecorder::builder()
            .with_collector_addr("no-port")
            .build_reporter()
            .unwrap_err();
        assert!(matches!(err, BuildError::Address { .. }), "{err}");
        let err = AppdashRecorder::builder()
            .with_write_timeout(Duration::ZERO)
            .build_reporter()
            .unwrap_err();
        assert!(err.to_string().contains("write timeout"), "{err}");
        let err = AppdashRecorder::builder()
            .with_reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1))
            .build_reporter()
            .unwrap_err();
        assert!(matches!(err, BuildError::Setting { .. }), "{err}");
    }
}
