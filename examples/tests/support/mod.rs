//! Starts the app in-process on a free port, and finds spans in what a recorder kept.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use examples::app::{self, App, Config};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracer_api::{tags, SpanRecord, Tracer, Value};

/// The longest random sleep of a handler in tests.
pub const MAX_SLEEP: Duration = Duration::from_millis(5);

/// The app running on a free port; stops when dropped (or with `stop`).
pub struct Running {
    pub base_url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Serves the app with `tracer` on a free port.
    pub async fn start(tracer: Tracer) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = Config::for_listener(&listener)
            .unwrap()
            .with_max_sleep(MAX_SLEEP);
        Running::start_with(tracer, listener, config).await
    }

    /// Serves the app with `tracer` on `listener` with `config`.
    pub async fn start_with(tracer: Tracer, listener: TcpListener, config: Config) -> Running {
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let app = App::new(tracer, config).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app::serve(listener, app, async {
            let _ = stopped.await;
        }));
        Running {
            base_url,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// `GET path` without any tracing headers; the status and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        self.get_with(path, &[]).await
    }

    /// `GET path` with the given headers; the status and the body.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client.get(format!("{}{path}", self.base_url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .expect("the server stops within 5 s")
                .unwrap()
                .unwrap();
        }
    }
}

/// Waits (off the runtime's threads) until `recorder` holds `n` spans.
pub async fn wait_for(recorder: &tracer_api::InMemoryRecorder, n: usize) -> Vec<SpanRecord> {
    let waiter = recorder.clone();
    let done = tokio::task::spawn_blocking(move || waiter.wait_for(n, Duration::from_secs(10)))
        .await
        .unwrap();
    let spans = recorder.spans();
    assert!(done, "expected {n} spans, got {}: {spans:#?}", spans.len());
    spans
}

/// The one span with this operation and `span.kind`; fails if there is not exactly one.
pub fn only<'a>(spans: &'a [SpanRecord], operation: &str, kind: &str) -> &'a SpanRecord {
    let found = all(spans, operation, kind);
    assert_eq!(found.len(), 1, "{operation} ({kind}) in {spans:#?}");
    found[0]
}

/// Every span with this operation and `span.kind`.
pub fn all<'a>(spans: &'a [SpanRecord], operation: &str, kind: &str) -> Vec<&'a SpanRecord> {
    spans
        .iter()
        .filter(|s| {
            s.operation == operation && s.tag(tags::SPAN_KIND).and_then(Value::as_str) == Some(kind)
        })
        .collect()
}
