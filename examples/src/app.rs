//! The tutorial's web app: routes, handlers and the server loop.
//!
//! ```text
//! GET /          a page linking to /home (not traced)
//! GET /home      "Request started"; fires /async (follows_from), calls /service; "Request done!"
//! GET /service   calls /db
//! GET /async     calls /db
//! GET /db        sleeps
//! ```
//!
//! Every handler sleeps a random time up to [`Config::max_sleep`] (200 ms by default, as in
//! the tutorial), so the traces have something to show. The app calls itself over HTTP at
//! [`Config::base_url`].

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tracer_api::Tracer;

use crate::instrument::{server_span, traced_get, CallError, Relation, RequestSpan};

/// How the app runs: where it reaches itself, how long handlers sleep, how long calls may take.
#[derive(Clone, Debug)]
pub struct Config {
    /// The URL the app calls itself at, without a trailing slash: `http://127.0.0.1:8080`.
    pub base_url: String,
    /// The longest random sleep of a handler (default 200 ms; zero turns sleeping off).
    pub max_sleep: Duration,
    /// The timeout of each outgoing call (default 10 s).
    pub request_timeout: Duration,
}

impl Config {
    /// The defaults for an app reachable at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Config {
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        Config {
            base_url,
            max_sleep: Duration::from_millis(200),
            request_timeout: Duration::from_secs(10),
        }
    }

    /// The defaults for an app served on `listener` (its actual address, so port 0 works).
    pub fn for_listener(listener: &TcpListener) -> io::Result<Config> {
        let addr = listener.local_addr()?;
        Ok(Config::new(format!("http://{addr}")))
    }

    /// Sets the longest random sleep.
    pub fn with_max_sleep(mut self, max_sleep: Duration) -> Config {
        self.max_sleep = max_sleep;
        self
    }

    /// Sets the timeout of each outgoing call.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Config {
        self.request_timeout = timeout;
        self
    }
}

/// The app's shared state: the tracer, an HTTP client and the configuration. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tracer: Tracer,
    client: reqwest::Client,
    config: Config,
}

impl App {
    /// The app with `tracer` and `config`. Fails only if the HTTP client cannot be built.
    pub fn new(tracer: Tracer, config: Config) -> Result<App, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            // The app calls itself: never through a proxy from the environment.
            .no_proxy()
            .build()?;
        Ok(App {
            inner: Arc::new(Inner {
                tracer,
                client,
                config,
            }),
        })
    }

    /// The tracer.
    pub fn tracer(&self) -> &Tracer {
        &self.inner.tracer
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Calls `path` on this app and waits for the answer, in a client span that is a child of
    /// `parent`.
    pub async fn call(&self, path: &str, parent: &RequestSpan) -> Result<String, CallError> {
        self.get(path, parent, Relation::ChildOf).await
    }

    /// Calls `path` on this app in a client span that follows from `parent`: for calls the
    /// caller does not wait for.
    pub async fn call_follows_from(
        &self,
        path: &str,
        parent: &RequestSpan,
    ) -> Result<String, CallError> {
        self.get(path, parent, Relation::FollowsFrom).await
    }

    async fn get(
        &self,
        path: &str,
        parent: &RequestSpan,
        relation: Relation,
    ) -> Result<String, CallError> {
        let url = format!("{}{path}", self.inner.config.base_url);
        traced_get(
            &self.inner.tracer,
            &self.inner.client,
            &url,
            parent.context(),
            relation,
        )
        .await
    }

    /// Sleeps a random time between zero and [`Config::max_sleep`].
    pub async fn random_sleep(&self) {
        let max = self.inner.config.max_sleep;
        if max.is_zero() {
            return;
        }
        let max_us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
        tokio::time::sleep(Duration::from_micros(fastrand::u64(0..=max_us))).await;
    }
}

/// The app's routes, every one but `/` wrapped in a server span.
pub fn router(app: App) -> Router {
    let tracer = app.tracer().clone();
    Router::new()
        .route("/home", get(home))
        .route("/service", get(service))
        .route("/async", get(async_work))
        .route("/db", get(db))
        .layer(middleware::from_fn_with_state(tracer, server_span))
        // Added after the layer, so not traced: the page that links to /home.
        .route("/", get(index))
        .with_state(app)
}

/// Serves the app on `listener` until `shutdown` completes, then finishes the requests in
/// progress (graceful shutdown) and returns.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn index() -> Html<&'static str> {
    Html(r#"<a href="/home">Click here to start a request</a>"#)
}

/// What a handler answers when a call it depends on failed.
type Failed = (StatusCode, String);

async fn home(State(app): State<App>, span: RequestSpan) -> String {
    let mut page = String::from("Request started\n");

    // Fire and forget: /home does not wait for /async, so that call follows from this span.
    let background = app.clone();
    let parent = span.clone();
    tokio::spawn(async move {
        // A failure is recorded on the client span; nobody waits for the answer.
        let _ = background.call_follows_from("/async", &parent).await;
    });

    if let Err(e) = app.call("/service", &span).await {
        page.push_str(&format!("GET /service failed: {e}\n"));
    }
    app.random_sleep().await;
    page.push_str("Request done!\n");
    page
}

async fn service(State(app): State<App>, span: RequestSpan) -> Result<&'static str, Failed> {
    app.random_sleep().await;
    app.call("/db", &span).await.map_err(bad_gateway)?;
    Ok("service done\n")
}

async fn async_work(State(app): State<App>, span: RequestSpan) -> Result<&'static str, Failed> {
    app.random_sleep().await;
    app.call("/db", &span).await.map_err(bad_gateway)?;
    Ok("async done\n")
}

async fn db(State(app): State<App>) -> &'static str {
    app.random_sleep().await;
    "db done\n"
}

fn bad_gateway(e: CallError) -> Failed {
    (StatusCode::BAD_GATEWAY, format!("GET /db failed: {e}\n"))
}
