//! A loopback Appdash collector for tests: listens on 127.0.0.1, decodes every frame with the
//! crate's own decoder, and keeps the packets. It runs on its own thread and runtime, so it
//! works whatever runtime (or none) the test uses, and `stop` closes the listener and every
//! connection at once, like a collector process that exits.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use recorder_appdash::wire::{CollectPacket, FrameDecoder, WireSpanId};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Default)]
struct Seen {
    packets: Vec<CollectPacket>,
    errors: Vec<String>,
    connections: usize,
}

/// A running loopback collector.
pub struct Collector {
    addr: SocketAddr,
    seen: Arc<(Mutex<Seen>, Condvar)>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// TLS settings of the test server (feature `tls`).
#[cfg(feature = "tls")]
pub fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/tls");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{dir}/server.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// The CA file that signed the test server's certificate (for `localhost` and 127.0.0.1).
pub fn tls_ca_file() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/tls/ca.pem").to_owned()
}

#[cfg(feature = "tls")]
type Acceptor = Option<tokio_rustls::TlsAcceptor>;
/// Without the `tls` feature there is no acceptor to carry.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub struct NoTls;
#[cfg(not(feature = "tls"))]
type Acceptor = Option<NoTls>;

impl Collector {
    /// Starts on a free port of 127.0.0.1.
    pub fn start() -> Collector {
        Collector::start_on("127.0.0.1:0".parse().unwrap())
    }

    /// Starts on `addr` (such as the address of a stopped collector, to restart it).
    pub fn start_on(addr: SocketAddr) -> Collector {
        Collector::spawn(addr, None)
    }

    /// Starts a TLS collector on a free port.
    #[cfg(feature = "tls")]
    pub fn start_tls() -> Collector {
        Collector::spawn("127.0.0.1:0".parse().unwrap(), Some(tls_acceptor()))
    }

    fn spawn(addr: SocketAddr, acceptor: Acceptor) -> Collector {
        let seen: Arc<(Mutex<Seen>, Condvar)> = Arc::default();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let shared = seen.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                // The port of a just-stopped collector may take a moment to be free again.
                let deadline = Instant::now() + Duration::from_secs(5);
                let listener = loop {
                    match TcpListener::bind(addr).await {
                        Ok(l) => break l,
                        Err(e) if Instant::now() < deadline => {
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => panic!("cannot bind {addr}: {e}"),
                    }
                };
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                let accept = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        shared.0.lock().unwrap().connections += 1;
                        let shared = shared.clone();
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            #[cfg(feature = "tls")]
                            if let Some(acceptor) = acceptor {
                                match acceptor.accept(tcp).await {
                                    Ok(tls) => serve(tls, shared).await,
                                    Err(e) => record_error(&shared, format!("TLS: {e}")),
                                }
                                return;
                            }
                            let _ = acceptor;
                            serve(tcp, shared).await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime cancels every connection task, closing its socket.
            drop(rt);
        });
        let addr = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("collector started");
        Collector {
            addr,
            seen,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the listener and every connection, and waits until they are closed.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Every packet decoded so far, in arrival order.
    pub fn packets(&self) -> Vec<CollectPacket> {
        self.seen.0.lock().unwrap().packets.clone()
    }

    /// Decode errors seen (a correct client causes none).
    pub fn errors(&self) -> Vec<String> {
        self.seen.0.lock().unwrap().errors.clone()
    }

    /// Connections accepted.
    pub fn connections(&self) -> usize {
        self.seen.0.lock().unwrap().connections
    }

    /// The distinct span ids received.
    pub fn span_ids(&self) -> HashSet<WireSpanId> {
        self.packets().iter().map(|p| p.span_id).collect()
    }

    /// Waits until `n` distinct span ids arrived, at most `timeout`.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut seen = self.seen.0.lock().unwrap();
        loop {
            let ids: HashSet<WireSpanId> = seen.packets.iter().map(|p| p.span_id).collect();
            if ids.len() >= n {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            seen = self.seen.1.wait_timeout(seen, left).unwrap().0;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn record_error(shared: &Arc<(Mutex<Seen>, Condvar)>, e: String) {
    shared.0.lock().unwrap().errors.push(e);
    shared.1.notify_all();
}

async fn serve<S: AsyncRead + Unpin>(mut conn: S, shared: Arc<(Mutex<Seen>, Condvar)>) {
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match conn.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                record_error(&shared, format!("read: {e}"));
                return;
            }
        };
        decoder.push(&buf[..n]);
        loop {
            match decoder.next_packet() {
                Ok(Some(p)) => {
                    shared.0.lock().unwrap().packets.push(p);
                    shared.1.notify_all();
                }
                Ok(None) => break,
                Err(e) => {
                    // Like Appdash: log and close this connection.
                    record_error(&shared, format!("decode: {e}"));
                    return;
                }
            }
        }
    }
    if let Err(e) = decoder.finish() {
        record_error(&shared, format!("at end of stream: {e}"));
    }
}
