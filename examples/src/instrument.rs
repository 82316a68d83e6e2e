//! HTTP instrumentation for the app: a server-span middleware for axum and a traced `GET` for
//! reqwest.
//!
//! These are the two halves of tracing across a process boundary:
//!
//! - [`server_span`] runs around every traced route. It extracts the caller's span context from
//!   the request headers (`Extractor` is implemented for `http::HeaderMap` by `tracer-api`'s
//!   `http` feature), starts a `span.kind=server` span as its child, hands the handler a
//!   [`RequestSpan`], and tags the status code when the handler returns. A request without a
//!   context starts a new trace; one with a corrupted context starts a new trace too, and the
//!   span logs why the caller's context was rejected.
//! - [`traced_get`] starts a `span.kind=client` span, injects its context into the outgoing
//!   headers, sends the request and records the outcome: `http.status_code`, and on failure the
//!   `error` tag and an error log.

use std::fmt;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracer_api::tags::{self, log_fields};
use tracer_api::{ExtractError, KeyValue, SpanContext, Tracer};

/// The server span of the request being handled: take it as a handler argument to start child
/// spans or make traced calls under it.
///
/// Put there by the [`server_span`] middleware; a handler on a route without that middleware
/// gets a `500 Internal Server Error` saying so (never a panic).
#[derive(Clone, Debug)]
pub struct RequestSpan {
    context: SpanContext,
}

impl RequestSpan {
    /// The server span's context: the parent of whatever the handler starts.
    pub fn context(&self) -> &SpanContext {
        &self.context
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestSpan {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<RequestSpan>().cloned().ok_or((
            StatusCode::INTERNAL_SERVER_ERROR,
            "no server span: add the `server_span` middleware to this route",
        ))
    }
}

/// An axum middleware that wraps each request in a server span.
///
/// Install it with `axum::middleware::from_fn_with_state(tracer, server_span)`. The span is
/// named after the matched route (`/home`), tagged `span.kind=server`, `http.method`,
/// `http.url` and, when the handler returns, `http.status_code` (and `error=true` for a 5xx).
pub async fn server_span(
    State(tracer): State<Tracer>,
    mut request: Request,
    next: Next,
) -> Response {
    let operation = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned(),
        None => format!("HTTP {}", request.method()),
    };
    // The URL as the caller asked for it (the request line has only the path).
    let url = match request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    {
        Some(host) => format!("http://{host}{}", request.uri()),
        None => request.uri().to_string(),
    };
    let builder = tracer
        .span(operation)
        .tag(tags::SPAN_KIND, "server")
        .tag(tags::HTTP_METHOD, request.method().to_string())
        .tag(tags::HTTP_URL, url);

    let extracted = tracer.extract(request.headers());
    let mut span = match &extracted {
        Ok(caller) => builder.extracted(caller).start(),
        Err(_) => builder.start(),
    };
    if let Err(error @ ExtractError::Corrupted { .. }) = &extracted {
        // The caller sent a context we cannot read: this span starts a new trace, and says why.
        span.log([
            KeyValue::new(log_fields::EVENT, "error"),
            KeyValue::new(log_fields::ERROR_KIND, "span context corrupted"),
            KeyValue::new(log_fields::ERROR_OBJECT, error.to_string()),
        ]);
    }

    request.extensions_mut().insert(RequestSpan {
        context: span.context().clone(),
    });
    let response = next.run(request).await;

    let status = response.status();
    span.set_tag(tags::HTTP_STATUS_CODE, status.as_u16());
    if status.is_server_error() {
        span.set_tag(tags::ERROR, true);
    }
    span.finish();
    response
}

/// How a client span relates to the span that makes the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// The caller waits for the answer (`child_of`).
    ChildOf,
    /// The caller does not wait: fire and forget (`follows_from`).
    FollowsFrom,
}

/// Why a traced call failed. The client span has already recorded it.
#[derive(Debug)]
pub enum CallError {
    /// The request could not be sent, or the response could not be read.
    Request(reqwest::Error),
    /// The server answered with an error status.
    Status(StatusCode),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Request(e) => write!(f, "request failed: {e}"),
            CallError::Status(s) => write!(f, "the server answered {s}"),
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Request(e) => Some(e),
            CallError::Status(_) => None,
        }
    }
}

/// Sends `GET url` in a client span named `GET {path}` (the URL's path) under `parent`, with the span's context
/// in the request headers, and returns the response body.
///
/// The span carries `span.kind=client`, `http.method`, `http.url` and `http.status_code`; when
/// the call fails (no connection, timeout, an error status) it also gets `error=true` and an
/// error log.
pub async fn traced_get(
    tracer: &Tracer,
    client: &reqwest::Client,
    url: &str,
    parent: &SpanContext,
    relation: Relation,
) -> Result<String, CallError> {
    let operation = match reqwest::Url::parse(url) {
        Ok(parsed) => format!("GET {}", parsed.path()),
        Err(_) => "GET".to_owned(), // sending fails below, and the span records why
    };
    let builder = tracer.span(operation);
    let builder = match relation {
        Relation::ChildOf => builder.child_of(parent),
        Relation::FollowsFrom => builder.follows_from(parent),
    };
    let mut span = builder
        .tag(tags::SPAN_KIND, "client")
        .tag(tags::HTTP_METHOD, "GET")
        .tag(tags::HTTP_URL, url.to_owned())
        .start();

    let mut headers = HeaderMap::new();
    tracer.inject(span.context(), &mut headers);

    let result = async {
        let response = client.get(url).headers(headers).send().await;
        let response = response.map_err(CallError::Request)?;
        let status = response.status();
        span.set_tag(tags::HTTP_STATUS_CODE, status.as_u16());
        let body = response.text().await.map_err(CallError::Request)?;
        if status.is_client_error() || status.is_server_error() {
            return Err(CallError::Status(status));
        }
        Ok(body)
    }
    .await;

    if let Err(error) = &result {
        span.log_error(error);
    }
    span.finish();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracer_api::InMemoryRecorder;

    #[tokio::test]
    async fn a_refused_connection_marks_the_client_span_failed() {
        let recorder = InMemoryRecorder::new();
        let tracer = Tracer::builder()
            .with_service_name("t")
            .with_recorder(recorder.clone())
            .build()
            .unwrap();
        // Bind, then drop, to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let parent = tracer.span("parent").start();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("http://127.0.0.1:{port}/db?x=1");
        let err = traced_get(&tracer, &client, &url, parent.context(), Relation::ChildOf)
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Request(_)), "{err}");
        let spans = recorder.spans();
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.operation, "GET /db");
        assert_eq!(span.parent_id, Some(parent.context().span_id()));
        assert_eq!(span.tag(tags::ERROR), Some(&true.into()));
        assert_eq!(span.tag(tags::HTTP_STATUS_CODE), None);
        assert_eq!(span.logs.len(), 1);
        assert_eq!(span.logs[0].field(log_fields::EVENT), Some(&"error".into()));
    }
}
