//! Embedding: the builder, the running collector's handle, and start errors.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
#[cfg(feature = "tls")]
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use recorder_appdash::wire::MAX_FRAME_SIZE;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::server::{self, CollectorStats, ConnLimits, Counters, Shared};
use crate::store::{Store, StoreConfig};
use crate::web::{self, AppState};

/// The collector port Appdash uses: `127.0.0.1:7701`.
pub const DEFAULT_COLLECTOR_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 7701);
/// The web UI port Appdash uses: `127.0.0.1:7700`.
pub const DEFAULT_HTTP_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 7700);

/// Entry point: [`Collector::builder`].
#[derive(Debug, Clone, Copy)]
pub struct Collector;

impl Collector {
    /// A builder with the defaults (see [`CollectorBuilder`]).
    pub fn builder() -> CollectorBuilder {
        CollectorBuilder::default()
    }
}

/// Configures and starts a collector.
///
/// | setter | default |
/// |---|---|
/// | [`with_collector_addr`](Self::with_collector_addr) | `127.0.0.1:7701` |
/// | [`with_http_addr`](Self::with_http_addr) | `127.0.0.1:7700` |
/// | [`with_max_traces`](Self::with_max_traces) | 10 000 |
/// | [`with_max_age`](Self::with_max_age) | 30 minutes (zero: no age limit) |
/// | [`with_max_spans_per_trace`](Self::with_max_spans_per_trace) | 10 000 |
/// | [`with_max_bytes`](Self::with_max_bytes) | 256 MiB of annotations |
/// | [`with_max_connections`](Self::with_max_connections) | 512 |
/// | [`with_max_frame_size`](Self::with_max_frame_size) | 1 MiB, Appdash's limit |
/// | [`with_idle_timeout`](Self::with_idle_timeout) | 5 minutes without a byte |
/// | [`with_frame_timeout`](Self::with_frame_timeout) | 30 s to finish a started frame (and a TLS handshake) |
/// | [`with_basic_auth`](Self::with_basic_auth) | none |
/// | `with_tls_files` / `with_tls_config` (feature `tls`) | plain TCP |
#[derive(Clone)]
pub struct CollectorBuilder {
    collector_addr: SocketAddr,
    http_addr: SocketAddr,
    store: StoreConfig,
    max_connections: usize,
    limits: ConnLimits,
    basic_auth: Option<(String, String)>,
    #[cfg(feature = "tls")]
    tls: Option<TlsSource>,
}

#[cfg(feature = "tls")]
#[derive(Clone)]
enum TlsSource {
    Files { cert: PathBuf, key: PathBuf },
    Config(Arc<rustls::ServerConfig>),
}

impl fmt::Debug for CollectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CollectorBuilder");
        d.field("collector_addr", &self.collector_addr)
            .field("http_addr", &self.http_addr)
            .field("store", &self.store)
            .field("max_connections", &self.max_connections)
            .field("limits", &self.limits)
            .field(
                "basic_auth",
                &self
                    .basic_auth
                    .as_ref()
                    .map(|(user, _)| (user, "<redacted>")),
            );
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls.is_some());
        d.finish()
    }
}

impl Default for CollectorBuilder {
    fn default() -> CollectorBuilder {
        CollectorBuilder {
            collector_addr: DEFAULT_COLLECTOR_ADDR,
            http_addr: DEFAULT_HTTP_ADDR,
            store: StoreConfig::default(),
            max_connections: 512,
            limits: ConnLimits {
                max_frame: MAX_FRAME_SIZE,
                idle_timeout: Duration::from_secs(5 * 60),
                frame_timeout: Duration::from_secs(30),
            },
            basic_auth: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl CollectorBuilder {
    /// Where the collector listens for Appdash clients (port 0: any free port; see
    /// [`CollectorHandle::collector_addr`]).
    pub fn with_collector_addr(mut self, addr: SocketAddr) -> Self {
        self.collector_addr = addr;
        self
    }

    /// Where the web UI and JSON API listen (port 0: any free port).
    pub fn with_http_addr(mut self, addr: SocketAddr) -> Self {
        self.http_addr = addr;
        self
    }

    /// The most traces kept; the oldest is evicted first.
    pub fn with_max_traces(mut self, max: usize) -> Self {
        self.store.max_traces = max;
        self
    }

    /// Traces older than this (since their first packet) are evicted; zero keeps them until the
    /// count limit evicts them.
    pub fn with_max_age(mut self, age: Duration) -> Self {
        self.store.max_age = (!age.is_zero()).then_some(age);
        self
    }

    /// The most spans kept per trace (later spans of a full trace are dropped and counted).
    pub fn with_max_spans_per_trace(mut self, max: usize) -> Self {
        self.store.max_spans_per_trace = max;
        self
    }

    /// The most annotation bytes the store keeps (see [`StoreConfig::max_bytes`]); the oldest
    /// traces are evicted to make room, and a packet larger than this is dropped and counted.
    pub fn with_max_bytes(mut self, bytes: usize) -> Self {
        self.store.max_bytes = bytes;
        self
    }

    /// All store limits at once.
    pub fn with_store_config(mut self, config: StoreConfig) -> Self {
        self.store = config;
        self
    }

    /// The most client connections open at once; further ones are closed as soon as they are
    /// accepted.
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// The largest frame accepted; a client announcing a larger one loses its connection.
    pub fn with_max_frame_size(mut self, bytes: usize) -> Self {
        self.limits.max_frame = bytes;
        self
    }

    /// How long a connection may stay silent between frames before it is closed.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// How long a client may take to send the rest of a frame it has started (and to finish a
    /// TLS handshake) before its connection is closed.
    pub fn with_frame_timeout(mut self, timeout: Duration) -> Self {
        self.limits.frame_timeout = timeout;
        self
    }

    /// Requires HTTP basic auth on the web UI and API (compared in constant time).
    pub fn with_basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// TLS on the collector port from a PEM certificate chain and a PEM private key (feature
    /// `tls`). The web UI stays plain HTTP.
    #[cfg(feature = "tls")]
    pub fn with_tls_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = Some(TlsSource::Files {
            cert: cert.into(),
            key: key.into(),
        });
        self
    }

    /// TLS on the collector port with a ready rustls configuration (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn with_tls_config(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(TlsSource::Config(config));
        self
    }

    fn check(&self) -> Result<(), StartError> {
        let setting = |reason: &str| {
            Err(StartError::Setting {
                reason: reason.to_owned(),
            })
        };
        if self.store.max_traces == 0 {
            return setting("max traces must be at least 1");
        }
        if self.store.max_bytes == 0 {
            return setting("the store's byte limit must be at least 1 byte");
        }
        if self.store.max_spans_per_trace == 0 || self.store.max_annotations_per_span == 0 {
            return setting(
                "the per-trace span limit and the per-span annotation limit must be at least 1",
            );
        }
        if self.max_connections == 0 || u32::try_from(self.max_connections).is_err() {
            return setting("max connections must be between 1 and 4294967295");
        }
        if self.limits.max_frame == 0 {
            return setting("the frame size limit must be at least 1 byte");
        }
        if self.limits.idle_timeout.is_zero() || self.limits.frame_timeout.is_zero() {
            return setting("the idle and frame timeouts must be longer than zero");
        }
        if let Some((user, _)) = &self.basic_auth {
            if user.contains(':') {
                return setting("the basic auth user name cannot contain ':'");
            }
        }
        Ok(())
    }

    /// Binds both ports and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<CollectorHandle, StartError> {
        self.check()?;
        #[cfg(feature = "tls")]
        let tls = match &self.tls {
            None => None,
            Some(TlsSource::Config(c)) => Some(tokio_rustls::TlsAcceptor::from(c.clone())),
            Some(TlsSource::Files { cert, key }) => Some(tokio_rustls::TlsAcceptor::from(
                crate::tls::server_config(cert, key)?,
            )),
        };
        #[cfg(not(feature = "tls"))]
        let tls = None;

        let bind = |what: &'static str, addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .and_then(|l| l.local_addr().map(|a| (l, a)))
                .map_err(|source| StartError::Bind { what, addr, source })
        };
        let (collector_listener, collector_addr) = bind("collector", self.collector_addr).await?;
        let (http_listener, http_addr) = bind("web UI", self.http_addr).await?;

        let store = Store::new(self.store.clone());
        let counters = Arc::new(Counters::default());
        let permits = Arc::new(Semaphore::new(self.max_connections));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Shared {
            store: store.clone(),
            counters: counters.clone(),
            limits: self.limits,
            permits: permits.clone(),
            shutdown: shutdown_rx.clone(),
            tls,
        };
        let accept = tokio::spawn(server::accept_loop(collector_listener, shared));

        let state = AppState {
            store: store.clone(),
            basic_auth: self
                .basic_auth
                .as_ref()
                .map(|(u, p)| Arc::new(format!("{u}:{p}").into_bytes())),
        };
        let app = web::router(state);
        let http = tokio::spawn(async move {
            let serve = axum::serve(http_listener, app)
                .with_graceful_shutdown(server::shutdown_signal(shutdown_rx));
            if let Err(e) = serve.await {
                log::warn!("collector: web UI stopped: {e}");
            }
        });
        log::info!(
            "collector: Appdash collector on {collector_addr}, web UI on http://{http_addr}/"
        );
        Ok(CollectorHandle {
            collector_addr,
            http_addr,
            store,
            counters,
            permits,
            max_connections: self.max_connections,
            shutdown_tx,
            tasks: vec![accept, http],
        })
    }
}

/// A running collector. Dropping it stops the collector too, without waiting.
#[derive(Debug)]
pub struct CollectorHandle {
    collector_addr: SocketAddr,
    http_addr: SocketAddr,
    store: Store,
    counters: Arc<Counters>,
    permits: Arc<Semaphore>,
    max_connections: usize,
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl CollectorHandle {
    /// The address the collector port is bound to (the real port when 0 was asked for).
    pub fn collector_addr(&self) -> SocketAddr {
        self.collector_addr
    }

    /// The address the web UI is bound to.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The web UI's base URL, `http://127.0.0.1:7700`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The store the collector fills.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The collector port's counters.
    pub fn stats(&self) -> CollectorStats {
        let c = &self.counters;
        let free = self.permits.available_permits();
        CollectorStats {
            connections_accepted: c.accepted.load(Ordering::Relaxed),
            connections_refused: c.refused.load(Ordering::Relaxed),
            connections_open: self.max_connections.saturating_sub(free) as u64,
            packets: c.packets.load(Ordering::Relaxed),
            bad_input: c.bad_input.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
            tls_failures: c.tls_failures.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting, closes client connections (keeping what they delivered), lets the web
    /// UI finish the requests in progress, and waits for all of it (at most 10 s).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        let wait = async {
            for task in tasks {
                let _ = task.await;
            }
            // Every connection task holds a permit until it ends.
            let all = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
            let _ = self.permits.acquire_many(all).await;
        };
        if tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_err()
        {
            log::warn!("collector: shutdown took longer than 10 s; leaving the rest behind");
        }
    }
}

impl Drop for CollectorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

/// Why a collector could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// A port could not be bound.
    Bind {
        /// Which port: `collector` or `web UI`.
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The error from the system.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be used.
    Tls {
        /// What went wrong.
        reason: String,
    },
    /// A limit was out of range.
    Setting {
        /// What went wrong.
        reason: String,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Bind { what, addr, source } => write!(
                f,
                "cannot listen on {addr} for the {what}: {source}; pick another address or free the port"
            ),
            StartError::Tls { reason } => write!(f, "TLS setup failed: {reason}"),
            StartError::Setting { reason } => write!(f, "invalid collector setting: {reason}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind { source, .. } => Some(source),
            _ => None,
        }
    }
}
