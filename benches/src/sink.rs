//! A loopback HTTP/1.1 sink standing in for a Zipkin collector: it reads each request, counts
//! the spans in its JSON body, and answers `202 Accepted` after a fixed delay, or never.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// How the sink answers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Behaviour {
    /// `202 Accepted` after this delay.
    Answer(Duration),
    /// Reads requests and never answers.
    Hang,
}

/// What the sink has seen.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) requests: AtomicU64,
    pub(crate) spans: AtomicU64,
}

/// A running sink.
#[derive(Debug)]
pub(crate) struct Sink {
    pub(crate) addr: SocketAddr,
    pub(crate) counts: Arc<Counts>,
}

impl Sink {
    /// Starts a sink on `127.0.0.1:0`, served by its own thread and runtime for the rest of
    /// the process.
    pub(crate) fn start(behaviour: Behaviour) -> Sink {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| crate::fail(&format!("bind sink: {e}")));
        let addr = std_listener
            .local_addr()
            .unwrap_or_else(|e| crate::fail(&format!("sink address: {e}")));
        std_listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| crate::fail(&format!("sink: {e}")));
        let counts = Arc::new(Counts::default());
        let c = Arc::clone(&counts);
        let spawned = std::thread::Builder::new()
            .name("bench-sink".to_owned())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => crate::fail(&format!("sink runtime: {e}")),
                };
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => crate::fail(&format!("sink listener: {e}")),
                    };
                    while let Ok((stream, _)) = listener.accept().await {
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(serve(stream, behaviour, Arc::clone(&c)));
                    }
                });
            });
        if let Err(e) = spawned {
            crate::fail(&format!("sink thread: {e}"));
        }
        Sink { addr, counts }
    }

    /// The Zipkin endpoint URL of this sink.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/api/v2/spans", self.addr)
    }

    /// Spans received so far.
    pub(crate) fn spans(&self) -> u64 {
        self.counts.spans.load(Ordering::SeqCst)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(head).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim().eq_ignore_ascii_case("content-length") {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour, counts: Arc<Counts>) {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        // Headers.
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        };
        let Some(len) = buf.get(..head_end).and_then(content_length) else {
            return; // chunked or malformed: not what the clients under test send
        };
        while buf.len() < head_end + len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
        let body = buf.get(head_end..head_end + len).unwrap_or_default();
        let spans = body.windows(9).filter(|w| *w == b"\"traceId\"").count() as u64;
        buf.drain(..head_end + len);
        match behaviour {
            Behaviour::Hang => {
                // Keep reading so the client's writes complete, never answer.
                loop {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            }
            Behaviour::Answer(delay) => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                counts.requests.fetch_add(1, Ordering::SeqCst);
                counts.spans.fetch_add(spans, Ordering::SeqCst);
                let reply = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n";
                if stream.write_all(reply).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A loopback address where nothing listens: connections are refused.
pub(crate) fn refusing_url() -> String {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| crate::fail(&format!("bind: {e}")));
    // The listener is dropped here, so the port refuses connections.
    format!("http://{addr}/api/v2/spans")
}
