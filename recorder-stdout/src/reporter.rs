//! [`StdoutReporter`]: renders a batch and writes it to the sink, on the pipeline's thread.

use std::fmt;
use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use tracer_api::export::{Delivered, ReportError, Reporter};
use tracer_api::SpanRecord;

use crate::Format;

/// Where the reporter writes.
pub(crate) enum Sink {
    /// The process's standard output, locked for the length of one batch.
    Stdout,
    /// The process's standard error, locked for the length of one batch.
    Stderr,
    /// Any writer; the mutex keeps one batch's lines together.
    Writer(Mutex<Box<dyn Write + Send>>),
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sink::Stdout => "Stdout",
            Sink::Stderr => "Stderr",
            Sink::Writer(_) => "Writer",
        })
    }
}

/// The [`Reporter`] of this crate: renders each batch in the chosen [`Format`] and writes it
/// to the sink in one go, then flushes.
///
/// Built by [`StdoutRecorderBuilder`](crate::StdoutRecorderBuilder) (inside the
/// [`BatchRecorder`](tracer_api::export::BatchRecorder) that `build()` returns, or alone with
/// `build_reporter()`). It runs on the export pipeline's thread: the application's threads
/// never format or write.
///
/// # Errors
///
/// A write or flush that fails fails the batch, and the pipeline counts its spans as dropped:
///
/// | the writer returns | before writing any byte of the batch | after part of it |
/// |---|---|---|
/// | `WouldBlock` (a non-blocking sink that is full) | retryable: the pipeline resends the batch later | permanent (`rejected`) |
/// | `Interrupted` | retried at once, inside the reporter | retried at once |
/// | anything else (`BrokenPipe`, disk full, a closed file...) | permanent (`rejected`) | permanent (`rejected`) |
///
/// Resending after part of a batch was written would print those spans twice, so only an
/// untouched batch is retried. A flush that says `WouldBlock` after every byte was accepted
/// counts as success (the bytes are the writer's and leave with the next flush). Nothing here
/// panics, whatever the writer does (a writer that panics itself aside).
///
/// Writing is blocking I/O done inline on the pipeline's thread (normally microseconds per
/// batch), not on another thread: the pipeline could otherwise cancel a slow write at its
/// request timeout and resend the batch while the first write still goes on, printing spans
/// twice. A sink that blocks (a full pipe nobody reads) therefore stalls the pipeline, never
/// the application: spans wait in the queue, and what the queue bound cannot hold is dropped
/// and counted as `queue_full`.
pub struct StdoutReporter {
    format: Format,
    color: bool,
    sink: Sink,
}

impl fmt::Debug for StdoutReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdoutReporter")
            .field("format", &self.format)
            .field("color", &self.color)
            .field("sink", &self.sink)
            .finish()
    }
}

impl StdoutReporter {
    pub(crate) fn new(format: Format, color: bool, sink: Sink) -> StdoutReporter {
        StdoutReporter {
            format,
            color: color && format == Format::Pretty,
            sink,
        }
    }

    /// The output format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True when the output carries ANSI colours (only ever in the `pretty` format).
    pub fn color(&self) -> bool {
        self.color
    }

    /// Renders a batch exactly as [`report`](Reporter::report) would write it, without writing.
    pub fn render(&self, batch: &[SpanRecord]) -> String {
        let mut out = String::with_capacity(batch.len().saturating_mul(512));
        self.format.render(batch, self.color, &mut out);
        out
    }

    /// Writes and flushes `bytes` with the error policy described on the type.
    fn write(&self, bytes: &[u8]) -> Result<(), ReportError> {
        match &self.sink {
            Sink::Stdout => write_flush(&mut io::stdout().lock(), bytes),
            Sink::Stderr => write_flush(&mut io::stderr().lock(), bytes),
            Sink::Writer(writer) => {
                let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
                write_flush(&mut **writer, bytes)
            }
        }
    }

    fn flush(&self) -> io::Result<()> {
        match &self.sink {
            Sink::Stdout => io::stdout().lock().flush(),
            Sink::Stderr => io::stderr().lock().flush(),
            Sink::Writer(writer) => writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .flush(),
        }
    }
}

fn write_flush<W: Write + ?Sized>(w: &mut W, bytes: &[u8]) -> Result<(), ReportError> {
    let mut written = 0;
    while let Some(rest) = bytes.get(written..).filter(|r| !r.is_empty()) {
        match w.write(rest) {
            Ok(0) => {
                return Err(ReportError::permanent(format!(
                    "the writer accepted no more bytes after {written} of {}",
                    bytes.len()
                )))
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && written == 0 => {
                return Err(ReportError::retryable(format!(
                    "the writer is not ready ({e}); nothing of the batch was written"
                )))
            }
            Err(e) => {
                return Err(ReportError::permanent(format!(
                    "writing spans failed after {written} of {} bytes: {e}",
                    bytes.len()
                )))
            }
        }
    }
    loop {
        match w.flush() {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => {
                return Err(ReportError::permanent(format!(
                    "flushing spans failed: {e}"
                )))
            }
        }
    }
}

#[async_trait]
impl Reporter for StdoutReporter {
    async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        if batch.is_empty() {
            return Ok(Delivered::default());
        }
        let text = self.render(batch);
        self.write(text.as_bytes())?;
        Ok(Delivered::default())
    }

    /// Flushes the sink. A flush error here has no batch left to fail and is ignored; every
    /// batch was already flushed after it was written.
    async fn shutdown(&self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tracer_api::export::ErrorKind;

    use super::*;

    /// Accepts `accept` bytes, then fails every call with `fail`.
    struct Failing {
        accept: usize,
        fail: io::ErrorKind,
        got: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.accept == 0 {
                return Err(io::Error::new(self.fail, "test failure"));
            }
            let n = buf.len().min(self.accept);
            self.accept -= n;
            self.got.lock().unwrap().extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn classify(accept: usize, fail: io::ErrorKind) -> Result<(), ReportError> {
        let mut w = Failing {
            accept,
            fail,
            got: Arc::default(),
        };
        write_flush(&mut w, b"0123456789")
    }

    #[test]
    fn error_classification() {
        assert!(classify(100, io::ErrorKind::BrokenPipe).is_ok());
        let kind = |r: Result<(), ReportError>| r.unwrap_err().kind();
        assert_eq!(
            kind(classify(0, io::ErrorKind::BrokenPipe)),
            ErrorKind::Permanent
        );
        assert_eq!(
            kind(classify(0, io::ErrorKind::WouldBlock)),
            ErrorKind::Retryable
        );
        assert_eq!(
            kind(classify(3, io::ErrorKind::WouldBlock)),
            ErrorKind::Permanent
        );
        assert_eq!(
            kind(classify(3, io::ErrorKind::Other)),
            ErrorKind::Permanent
        );
        let e = classify(3, io::ErrorKind::BrokenPipe).unwrap_err();
        assert!(e.message().contains("after 3 of 10 bytes"), "{e}");
    }

    #[test]
    fn interrupted_is_retried_in_place() {
        struct Flaky(u32, Vec<u8>);
        impl Write for Flaky {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0 += 1;
                if self.0 % 2 == 1 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                self.1.push(buf[0]);
                Ok(1)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.0 += 1;
                if self.0 % 2 == 1 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                Ok(())
            }
        }
        let mut w = Flaky(0, Vec::new());
        write_flush(&mut w, b"abc").unwrap();
        assert_eq!(w.1, b"abc");
    }

    #[test]
    fn a_writer_that_accepts_nothing_fails_instead_of_looping() {
        struct Zero;
        impl Write for Zero {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = write_flush(&mut Zero, b"abc").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permanent);
    }

    #[test]
    fn flush_failures() {
        struct BadFlush(io::ErrorKind);
        impl Write for BadFlush {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(self.0.into())
            }
        }
        assert!(write_flush(&mut BadFlush(io::ErrorKind::WouldBlock), b"x").is_ok());
        let e = write_flush(&mut BadFlush(io::ErrorKind::BrokenPipe), b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permanent);
    }
}
