//! [`AppdashReporter`]: sends batches to an Appdash collector over one TCP (or TLS) connection.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracer_api::export::{Delivered, ReportError, Reporter};
use tracer_api::SpanRecord;

use crate::annotations::SpanEncoder;

/// A byte stream to the collector: plain TCP or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// Settings of a reporter, filled by the builder.
#[derive(Debug, Clone)]
pub(crate) struct ClientConfig {
    pub(crate) addr: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) min_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) extra_annotations: bool,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsConnect>,
}

/// The connection and its reconnect state.
#[derive(Default)]
struct Link {
    /// The connection. It is taken out while a batch is written, so a write whose future is
    /// cancelled half-way drops (closes) the connection instead of leaving half a frame on
    /// a stream that later batches would continue.
    stream: Option<Box<dyn Stream>>,
    /// Consecutive failed connects.
    failures: u32,
    /// No connect attempt before this instant (the reconnect backoff).
    retry_at: Option<Instant>,
}

/// Counters of a reporter's activity, from [`AppdashReporter::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReporterStats {
    /// Connections established (the first and every reconnect).
    pub connects: u64,
    /// Connect attempts that failed (refused, timed out, TLS handshake failed).
    pub connect_failures: u64,
    /// Writes that failed or timed out; each dropped the connection.
    pub write_failures: u64,
    /// Frames written and flushed.
    pub frames: u64,
    /// Bytes written and flushed.
    pub bytes: u64,
}

#[derive(Default)]
struct Counters {
    connects: AtomicU64,
    connect_failures: AtomicU64,
    write_failures: AtomicU64,
    frames: AtomicU64,
    bytes: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// The [`Reporter`] of this crate: encodes each span as Appdash frames and writes a batch to
/// one long-lived connection to the collector.
///
/// - **Lazy connect**: no connection until the first batch.
/// - **Reconnect with backoff**: a failed connect is a retryable error (the pipeline retries
///   the batch); further connects wait an exponential backoff (from 100 ms, doubling, up to
///   5 s by default, reported to the pipeline as `retry_after`), reset by a success.
/// - **Delivery**: Appdash sends no acknowledgement, so a batch counts as delivered once it is
///   written and flushed to the socket. Before each write the reporter checks whether the
///   collector closed the connection (it never sends data, so end-of-stream or an error means
///   it is gone) and reconnects; a write error or a write timeout drops the connection and
///   fails the batch as retryable, so it is re-sent on a new connection. A collector that dies
///   after accepting bytes into the socket buffer can still lose them, and a batch cut by a
///   failed write may arrive twice (Appdash then shows the annotations twice): delivery is at
///   least once for what the socket accepted.
/// - Concurrent batches share the connection and are written one after the other, each as
///   whole frames.
pub struct AppdashReporter {
    config: ClientConfig,
    link: Mutex<Link>,
    counters: Counters,
}

impl fmt::Debug for AppdashReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppdashReporter")
            .field("collector", &self.config.addr)
            .field("tls", &self.is_tls())
            .field("stats", &self.stats())
            .finish()
    }
}

impl AppdashReporter {
    pub(crate) fn new(config: ClientConfig) -> AppdashReporter {
        AppdashReporter {
            config,
            link: Mutex::new(Link::default()),
            counters: Counters::default(),
        }
    }

    /// The collector address (`host:port`).
    pub fn collector_addr(&self) -> &str {
        &self.config.addr
    }

    /// True when the reporter speaks TLS.
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.config.tls.is_some()
        }
        #[cfg(not(feature = "tls"))]
        {
            false
        }
    }

    /// Connection and traffic counters.
    pub fn stats(&self) -> ReporterStats {
        let c = &self.counters;
        ReporterStats {
            connects: c.connects.load(Ordering::Relaxed),
            connect_failures: c.connect_failures.load(Ordering::Relaxed),
            write_failures: c.write_failures.load(Ordering::Relaxed),
            frames: c.frames.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        self.config
            .min_backoff
            .saturating_mul(1u32 << exp)
            .min(self.config.max_backoff)
    }

    async fn connect(&self) -> io::Result<Box<dyn Stream>> {
        let tcp = TcpStream::connect(self.config.addr.as_str()).await?;
        tcp.set_nodelay(true)?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.config.tls {
            return Ok(Box::new(tls.connect(tcp).await?));
        }
        Ok(Box::new(tcp))
    }

    /// Takes a live connection out of `link`, connecting if the backoff allows.
    async fn take_connection(&self, link: &mut Link) -> Result<Box<dyn Stream>, ReportError> {
        if let Some(stream) = link.stream.as_mut() {
            if !is_alive(stream).await {
                log::debug!(
                    "appdash: the collector at {} closed the connection; reconnecting",
                    self.config.addr
                );
                link.stream = None;
            }
        }
        if link.stream.is_none() {
            if let Some(at) = link.retry_at {
                let now = Instant::now();
                if at > now {
                    return Err(ReportError::retryable(format!(
                        "not connected to the Appdash collector at {} (after {} failed \
                         connects); next attempt in {:?}",
                        self.config.addr,
                        link.failures,
                        at - now
                    ))
                    .with_retry_after(at - now));
                }
            }
            let attempt = tokio::time::timeout(self.config.connect_timeout, self.connect()).await;
            let err = match attempt {
                Ok(Ok(stream)) => {
                    bump(&self.counters.connects, 1);
                    log::debug!("appdash: connected to {}", self.config.addr);
                    link.failures = 0;
                    link.retry_at = None;
                    link.stream = Some(stream);
                    None
                }
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("timed out after {:?}", self.config.connect_timeout)),
            };
            if let Some(err) = err {
                bump(&self.counters.connect_failures, 1);
                link.failures = link.failures.saturating_add(1);
                let wait = self.backoff(link.failures);
                link.retry_at = Some(Instant::now() + wait);
                return Err(ReportError::retryable(format!(
                    "cannot connect to the Appdash collector at {}: {err}; is it running and \
                     reachable (APPDASH_COLLECTOR)?",
                    self.config.addr
                ))
                .with_retry_after(wait));
            }
        }
        link.stream
            .take()
            .ok_or_else(|| ReportError::retryable("connection lost"))
    }

    /// Writes already-encoded frames, (re)connecting as needed.
    async fn send(&self, bytes: &[u8], frames: u64) -> Result<(), ReportError> {
        let mut link = self.link.lock().await;
        let mut stream = self.take_connection(&mut link).await?;
        let write = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        let result = tokio::time::timeout(self.config.write_timeout, write).await;
        let err = match result {
            Ok(Ok(())) => {
                link.stream = Some(stream);
                bump(&self.counters.frames, frames);
                bump(&self.counters.bytes, bytes.len() as u64);
                return Ok(());
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("timed out after {:?}", self.config.write_timeout),
        };
        drop(stream);
        bump(&self.counters.write_failures, 1);
        Err(ReportError::retryable(format!(
            "writing to the Appdash collector at {} failed: {err}; reconnecting on the next \
             attempt",
            self.config.addr
        )))
    }
}

/// Whether the collector still holds the connection open. Appdash never sends anything, so
/// a readable end-of-stream or an error means the connection is gone; pending means alive.
async fn is_alive(stream: &mut Box<dyn Stream>) -> bool {
    std::future::poll_fn(|cx| {
        // A few reads at most: anything the server sent is unexpected and discarded.
        for _ in 0..4 {
            let mut buf = [0u8; 256];
            let mut rb = ReadBuf::new(&mut buf);
            match Pin::new(&mut **stream).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Ready(true),
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(false),
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(_)) => return Poll::Ready(false),
            }
        }
        Poll::Ready(true)
    })
    .await
}

#[async_trait]
impl Reporter for AppdashReporter {
    async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        if batch.is_empty() {
            return Ok(Delivered::default());
        }
        let mut bytes = Vec::with_capacity(batch.len() * 256);
        let mut encoder = SpanEncoder::new().with_extra_annotations(self.config.extra_annotations);
        let mut frames = 0u64;
        for span in batch {
            frames += encoder.encode(span, &mut bytes) as u64;
        }
        self.send(&bytes, frames).await?;
        Ok(Delivered::default())
    }

    fn estimated_size(&self, span: &SpanRecord) -> usize {
        // The fixed part of a frame (ids, name and timespan annotations) is about 130 bytes;
        // the record's own estimate covers names, tags, logs and baggage.
        span.estimated_size() + 64
    }

    async fn shutdown(&self) {
        let mut link = self.link.lock().await;
        if let Some(mut stream) = link.stream.take() {
            let _ = tokio::time::timeout(self.config.write_timeout, stream.shutdown()).await;
        }
    }
}
