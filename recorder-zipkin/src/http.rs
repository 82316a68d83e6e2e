//! The HTTP transport: `POST /api/v2/spans` with `reqwest` over rustls.
//!
//! Each batch becomes one request: a JSON list (`application/json`) or a proto3 `ListOfSpans`
//! (`application/x-protobuf`), gzip-compressed when asked (`Content-Encoding: gzip`), with a
//! `b3: 0` header so that tracing middleware on the way does not trace the reporting call,
//! and any extra headers configured (their values are never logged).
//!
//! | response | outcome |
//! |---|---|
//! | any 2xx (Zipkin answers 202) | exported |
//! | 400 and other 4xx except 408 and 429 | permanent error with Zipkin's message: the batch is dropped |
//! | 3xx (redirects are not followed) | permanent error: point `with_endpoint` at the final URL |
//! | 408, 429, 5xx | retryable; `Retry-After` (seconds) is passed on to the pipeline |
//! | connection refused or reset, timeout | retryable |

use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER,
};
use reqwest::{StatusCode, Url};
use tracer_api::export::{Delivered, ReportError, Reporter};
use tracer_api::SpanRecord;

use crate::encode::{log_invalid, Encoding};
use crate::BuildError;

/// Longest part of an error response body kept in the error message.
const MAX_ERROR_BODY: usize = 1024;

/// Sends batches to a Zipkin collector over HTTP. Built by
/// [`ZipkinBuilder`](crate::ZipkinBuilder).
pub struct HttpReporter {
    client: reqwest::Client,
    endpoint: Url,
    encoding: Encoding,
    gzip: bool,
    headers: HeaderMap,
    last_size: AtomicUsize,
}

impl fmt::Debug for HttpReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("HttpReporter")
            .field("endpoint", &redact_url(&self.endpoint))
            .field("encoding", &self.encoding)
            .field("gzip", &self.gzip)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// The URL with any password replaced, for messages.
pub(crate) fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    // A token is often passed as the user name alone.
    if !u.username().is_empty() {
        let _ = u.set_username("***");
    }
    u.to_string()
}

/// Removes `user:password@` from a URL-like string that did not parse, for messages.
pub(crate) fn redact_str(s: &str) -> String {
    let start = s.find("://").map_or(0, |i| i + 3);
    let rest = s.get(start..).unwrap_or_default();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
        Some(at) => format!(
            "{}***@{}",
            s.get(..start).unwrap_or_default(),
            rest.get(at + 1..).unwrap_or_default()
        ),
        None => s.to_owned(),
    }
}

pub(crate) struct HttpSettings {
    pub(crate) endpoint: String,
    pub(crate) encoding: Encoding,
    pub(crate) gzip: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
}

impl HttpReporter {
    pub(crate) fn new(s: HttpSettings) -> Result<HttpReporter, BuildError> {
        let endpoint = Url::parse(&s.endpoint).map_err(|e| BuildError::InvalidEndpoint {
            endpoint: redact_str(&s.endpoint),
            reason: e.to_string(),
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(BuildError::InvalidEndpoint {
                endpoint: redact_url(&endpoint),
                reason: "the scheme must be http or https".into(),
            });
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &s.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| BuildError::InvalidHeader { name: name.clone() })?;
            let mut v = HeaderValue::from_str(value)
                .map_err(|_| BuildError::InvalidHeader { name: name.clone() })?;
            v.set_sensitive(true);
            headers.append(n, v);
        }
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(s.encoding.content_type()),
        );
        headers.insert(HeaderName::from_static("b3"), HeaderValue::from_static("0"));
        if s.gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let timeout = if s.timeout.is_zero() {
            Duration::from_secs(10)
        } else {
            s.timeout
        };
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("recorder-zipkin/", env!("CARGO_PKG_VERSION")))
            // A redirect would turn the POST into a body-less GET (spans counted as exported
            // but never sent) and could carry custom auth headers to another host: a 3xx is a
            // permanent error instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BuildError::Http(e.without_url().to_string()))?;
        Ok(HttpReporter {
            client,
            endpoint,
            encoding: s.encoding,
            gzip: s.gzip,
            headers,
            last_size: AtomicUsize::new(4096),
        })
    }

    /// The collector URL (its password, if any, replaced by `***`).
    pub fn endpoint(&self) -> String {
        redact_url(&self.endpoint)
    }

    /// The encoding of request bodies.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// True when request bodies are gzip-compressed.
    pub fn gzip(&self) -> bool {
        self.gzip
    }

    async fn send(&self, body: Vec<u8>) -> Result<(), ReportError> {
        let resp = self
            .client
            .post(self.endpoint.clone())
            .headers(self.headers.clone())
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                ReportError::retryable(format!(
                    "zipkin {}: {kind}: {}",
                    redact_url(&self.endpoint),
                    e.without_url()
                ))
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let message = read_message(resp).await;
        let text = format!(
            "zipkin {} answered {status}{}{message}",
            redact_url(&self.endpoint),
            if message.is_empty() { "" } else { ": " }
        );
        let retryable = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        if retryable {
            let err = ReportError::retryable(text);
            Err(match retry_after {
                Some(d) => err.with_retry_after(d),
                None => err,
            })
        } else {
            Err(ReportError::permanent(text))
        }
    }
}

async fn read_message(mut resp: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    String::from_utf8_lossy(&body).trim().to_owned()
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, ReportError> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    enc.write_all(data)
        .and_then(|()| enc.finish())
        .map_err(|e| ReportError::permanent(format!("zipkin: gzip failed: {e}")))
}

#[async_trait]
impl Reporter for HttpReporter {
    async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        let hint = self.last_size.load(Ordering::Relaxed);
        let mut body = Vec::with_capacity(hint);
        let encoded = self.encoding.encode_records(batch, &mut body);
        log_invalid(&encoded);
        let invalid = encoded.invalid.total();
        if encoded.spans == 0 {
            return Ok(Delivered { invalid });
        }
        self.last_size
            .store(body.len() + body.len() / 8, Ordering::Relaxed);
        let body = if self.gzip { gzip(&body)? } else { body };
        self.send(body).await?;
        Ok(Delivered { invalid })
    }

    fn estimated_size(&self, span: &SpanRecord) -> usize {
        crate::estimated_size(self.encoding, span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(
            redact_str("http://user:secret@host:9411/api"),
            "http://***@host:9411/api"
        );
        assert_eq!(redact_str("no-scheme"), "no-scheme");
        assert_eq!(redact_str("http://host/a@b"), "http://host/a@b");
        let u = Url::parse("https://u:pw@zipkin:9411/api/v2/spans").unwrap();
        assert!(!redact_url(&u).contains("pw"));
        let token = Url::parse("https://s3cr3ttoken@zipkin:9411/api/v2/spans").unwrap();
        assert_eq!(redact_url(&token), "https://***@zipkin:9411/api/v2/spans");
    }
}
