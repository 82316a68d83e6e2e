//! The collector port: one task per connection reading Appdash frames into the store.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use recorder_appdash::wire::{DecodeError, FrameDecoder};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout_at, Instant};

use crate::store::Store;

/// The bytes read from a connection at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Per-connection limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnLimits {
    pub(crate) max_frame: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) frame_timeout: Duration,
}

/// Counters of the collector port.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) packets: AtomicU64,
    pub(crate) bad_input: AtomicU64,
    pub(crate) timed_out: AtomicU64,
    pub(crate) tls_failures: AtomicU64,
}

/// Counters of the collector port, as of one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectorStats {
    /// Connections accepted.
    pub connections_accepted: u64,
    /// Connections closed at once because the connection limit was reached.
    pub connections_refused: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// Packets decoded and stored.
    pub packets: u64,
    /// Connections closed because they sent something that is not Appdash frames (garbage,
    /// a frame over the size limit, a frame cut short by the end of the stream).
    pub bad_input: u64,
    /// Connections closed because they were idle too long, or too slow to finish a frame.
    pub timed_out: u64,
    /// TLS handshakes that failed or took too long.
    pub tls_failures: u64,
}

/// Why a connection was closed.
enum Closed {
    Eof,
    Shutdown,
    Bad(DecodeError),
    Io(std::io::Error),
    Idle,
    SlowFrame,
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closed::Eof => f.write_str("closed by the client"),
            Closed::Shutdown => f.write_str("collector shutting down"),
            Closed::Bad(e) => write!(f, "ReadMsg: {e}"),
            Closed::Io(e) => write!(f, "read error: {e}"),
            Closed::Idle => f.write_str("idle for too long"),
            Closed::SlowFrame => f.write_str("a frame was not finished in time"),
        }
    }
}

/// Resolves when shutdown is signalled (or the signalling side is gone).
pub(crate) async fn shutdown_signal(mut rx: watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// How TLS is terminated on the collector port.
#[cfg(feature = "tls")]
pub(crate) type Acceptor = Option<tokio_rustls::TlsAcceptor>;
/// How TLS is terminated on the collector port (never, without the `tls` feature).
#[cfg(not(feature = "tls"))]
pub(crate) type Acceptor = Option<std::convert::Infallible>;

/// Everything a connection task needs.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) counters: Arc<Counters>,
    pub(crate) limits: ConnLimits,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) tls: Acceptor,
}

/// Accepts connections until shutdown.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Shared) {
    let stop = shutdown_signal(shared.shutdown.clone());
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((tcp, peer)) => match shared.permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(connection(tcp, peer, permit, shared.clone()));
                }
                Err(_) => {
                    shared.counters.refused.fetch_add(1, Ordering::Relaxed);
                    log::debug!("collector: refusing {peer}: connection limit reached");
                    drop(tcp);
                }
            },
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                log::warn!("collector: accept failed: {e}");
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
        }
    }
}

async fn connection(tcp: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit, s: Shared) {
    let _permit = permit;
    let _ = tcp.set_nodelay(true);
    log::debug!("collector: client {peer} connected");
    #[cfg(feature = "tls")]
    if let Some(acceptor) = &s.tls {
        let deadline = Instant::now() + s.limits.frame_timeout;
        let handshake = tokio::select! {
            r = timeout_at(deadline, acceptor.accept(tcp)) => r,
            _ = shutdown_signal(s.shutdown.clone()) => return,
        };
        match handshake {
            Ok(Ok(stream)) => finish(peer, read_frames(stream, &s).await, &s),
            Ok(Err(e)) => {
                s.counters.tls_failures.fetch_add(1, Ordering::Relaxed);
                log::info!("collector: client {peer}: TLS handshake failed: {e}");
            }
            Err(_) => {
                s.counters.tls_failures.fetch_add(1, Ordering::Relaxed);
                log::info!("collector: client {peer}: TLS handshake timed out");
            }
        }
        return;
    }
    #[cfg(not(feature = "tls"))]
    let _: &Acceptor = &s.tls;
    finish(peer, read_frames(tcp, &s).await, &s);
}

fn finish(peer: SocketAddr, closed: Closed, s: &Shared) {
    match &closed {
        Closed::Eof | Closed::Shutdown => {
            log::debug!("collector: client {peer}: {closed}");
        }
        Closed::Bad(_) | Closed::Io(_) => {
            s.counters.bad_input.fetch_add(1, Ordering::Relaxed);
            log::info!("collector: client {peer}: {closed}; connection closed");
        }
        Closed::Idle | Closed::SlowFrame => {
            s.counters.timed_out.fetch_add(1, Ordering::Relaxed);
            log::info!("collector: client {peer}: {closed}; connection closed");
        }
    }
}

/// Reads frames until the client leaves, misbehaves, times out or shutdown comes.
async fn read_frames<S: AsyncRead + Unpin>(mut stream: S, s: &Shared) -> Closed {
    let limits = s.limits;
    let mut decoder = FrameDecoder::with_max_frame_size(limits.max_frame);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut deadline = Instant::now() + limits.idle_timeout;
    let stop = shutdown_signal(s.shutdown.clone());
    tokio::pin!(stop);
    loop {
        let read = tokio::select! {
            r = timeout_at(deadline, stream.read(&mut buf)) => r,
            _ = &mut stop => return Closed::Shutdown,
        };
        let n = match read {
            Err(_) if decoder.buffered() > 0 => return Closed::SlowFrame,
            Err(_) => return Closed::Idle,
            Ok(Err(e)) => return Closed::Io(e),
            Ok(Ok(0)) => {
                return match decoder.finish() {
                    Ok(()) => Closed::Eof,
                    Err(e) => Closed::Bad(e),
                }
            }
            Ok(Ok(n)) => n,
        };
        let was_empty = decoder.buffered() == 0;
        decoder.push(buf.get(..n).unwrap_or_default());
        let mut completed = false;
        loop {
            match decoder.next_packet() {
                Ok(Some(packet)) => {
                    s.store.collect(packet);
                    s.counters.packets.fetch_add(1, Ordering::Relaxed);
                    completed = true;
                }
                Ok(None) => break,
                Err(e) => return Closed::Bad(e),
            }
        }
        let now = Instant::now();
        if decoder.buffered() == 0 {
            deadline = now + limits.idle_timeout;
        } else if was_empty || completed {
            // A new frame began with this read: it must be complete within the frame timeout.
            deadline = now + limits.frame_timeout;
        }
    }
}
