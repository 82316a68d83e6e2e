//! The web UI and the JSON API (axum, server-rendered HTML with maud, which escapes every
//! interpolated string).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use recorder_appdash::annotations::format_time;
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};
use subtle::ConstantTimeEq;

use crate::model::{unix_micros, ReferenceKind, SpanView, TraceView};
use crate::store::{Store, TraceFilter, TraceSummary};

/// The most traces the HTML list shows.
const HTML_LIST_LIMIT: usize = 1000;

/// Shared state of the handlers.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    /// `user:password` when basic auth is on.
    pub(crate) basic_auth: Option<Arc<Vec<u8>>>,
}

/// The routes.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/traces") }))
        .route("/traces", get(traces_page))
        .route("/traces/{trace}", get(trace_page))
        .route("/traces/{trace}/profile", get(trace_profile))
        .route("/traces/{trace}/{span}", get(span_page))
        .route("/traces/{trace}/{span}/profile", get(span_profile))
        .route("/api/traces", get(api_traces))
        .route("/api/traces/{trace}", get(api_trace))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not found") })
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Basic auth (when configured) and security headers on every response.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(expected) = &state.basic_auth {
        if !authorized(req.headers().get(header::AUTHORIZATION), expected) {
            let mut resp = (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"appdash\""),
            );
            return resp;
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// Compares the credentials of an `Authorization: Basic` header in constant time.
fn authorized(header: Option<&HeaderValue>, expected: &[u8]) -> bool {
    let Some(value) = header.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    bool::from(given.as_slice().ct_eq(expected))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, message.to_owned()).into_response()
}

/// A request that cannot be answered: a status and a text.
#[derive(Debug)]
struct HttpError(StatusCode, String);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// Parses an Appdash id: up to 16 hex digits.
fn parse_id(s: &str, what: &str) -> Result<u64, HttpError> {
    let bad = || {
        HttpError(
            StatusCode::BAD_REQUEST,
            format!("the {what} id must be 16 hex digits, such as 0123456789abcdef"),
        )
    };
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u64::from_str_radix(s, 16).map_err(|_| bad())
}

fn hex(id: u64) -> String {
    format!("{id:016x}")
}

fn find_trace(store: &Store, trace: &str) -> Result<TraceView, HttpError> {
    let id = parse_id(trace, "trace")?;
    store
        .trace(id)
        .ok_or_else(|| HttpError(StatusCode::NOT_FOUND, "trace not found".to_owned()))
}

fn find_subtree(store: &Store, trace: &str, span: &str) -> Result<TraceView, HttpError> {
    let view = find_trace(store, trace)?;
    let span = parse_id(span, "span")?;
    view.subtree(span)
        .ok_or_else(|| HttpError(StatusCode::NOT_FOUND, "span not found".to_owned()))
}

/// Query parameters of the trace lists.
#[derive(Debug, Default, Deserialize)]
struct ListParams {
    service: Option<String>,
    operation: Option<String>,
    limit: Option<usize>,
}

impl ListParams {
    fn filter(&self, default_limit: Option<usize>) -> TraceFilter {
        let nonempty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        TraceFilter {
            service: nonempty(&self.service),
            operation: nonempty(&self.operation),
            limit: self.limit.or(default_limit),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON.

async fn api_traces(State(state): State<AppState>, Query(params): Query<ListParams>) -> Response {
    let list = state.store.traces(&params.filter(None));
    let traces: Vec<JsonValue> = list.iter().map(summary_json).collect();
    Json(json!({ "traces": traces })).into_response()
}

async fn api_trace(State(state): State<AppState>, Path(trace): Path<String>) -> Response {
    match find_trace(&state.store, &trace) {
        Ok(view) => Json(trace_json(&view)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn time_json(t: Option<SystemTime>) -> (JsonValue, JsonValue) {
    match t {
        Some(t) => (json!(format_time(t)), json!(unix_micros(t))),
        None => (JsonValue::Null, JsonValue::Null),
    }
}

fn micros(d: Option<Duration>) -> JsonValue {
    d.map_or(JsonValue::Null, |d| {
        json!(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    })
}

fn summary_json(s: &TraceSummary) -> JsonValue {
    let (start, start_micros) = time_json(s.start);
    json!({
        "trace_id": hex(s.trace_id),
        "root_span_id": hex(s.root_span_id),
        "name": s.name,
        "service": s.service,
        "services": s.services().collect::<Vec<_>>(),
        "start": start,
        "start_micros": start_micros,
        "duration_micros": micros(s.duration),
        "span_count": s.span_count,
        "error": s.error,
        "received": format_time(s.received),
    })
}

fn pairs_json(pairs: &[(String, String)]) -> JsonValue {
    let map: serde_json::Map<String, JsonValue> =
        pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    JsonValue::Object(map)
}

fn span_json(s: &SpanView) -> JsonValue {
    let (start, start_micros) = time_json(s.start);
    let (end, end_micros) = time_json(s.end);
    let logs: Vec<JsonValue> = s
        .logs
        .iter()
        .map(|l| {
            let (time, time_micros) = time_json(l.time);
            json!({
                "time": time,
                "time_micros": time_micros,
                "message": l.message,
                "fields": l.fields,
            })
        })
        .collect();
    let annotations: Vec<JsonValue> = s
        .annotations
        .iter()
        .map(|a| {
            json!({
                "key": a.key,
                "value": a.value.as_deref().map(String::from_utf8_lossy),
            })
        })
        .collect();
    let references: Vec<JsonValue> = s
        .references
        .iter()
        .map(|r| json!({ "kind": r.kind.as_str(), "span_id": hex(r.span_id) }))
        .collect();
    json!({
        "span_id": hex(s.span_id),
        "parent_id": s.parent_id.map(hex),
        "name": s.name,
        "service": s.service,
        "references": references,
        "start": start,
        "start_micros": start_micros,
        "end": end,
        "end_micros": end_micros,
        "duration_micros": micros(s.duration()),
        "depth": s.depth,
        "error": s.error,
        "tags": pairs_json(&s.tags),
        "baggage": pairs_json(&s.baggage),
        "logs": logs,
        "annotations": annotations,
        "children": s.children.iter().copied().map(hex).collect::<Vec<_>>(),
    })
}

fn trace_json(view: &TraceView) -> JsonValue {
    let (start, start_micros) = time_json(view.start());
    json!({
        "trace_id": hex(view.trace_id),
        "start": start,
        "start_micros": start_micros,
        "duration_micros": micros(view.duration()),
        "span_count": view.spans.len(),
        "error": view.has_error(),
        "roots": view.roots.iter().copied().map(hex).collect::<Vec<_>>(),
        "spans": view.spans.iter().map(span_json).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------------------------
// Profile (Appdash's `traceapp/prof.go` shape).

async fn trace_profile(State(state): State<AppState>, Path(trace): Path<String>) -> Response {
    match find_trace(&state.store, &trace) {
        Ok(view) => Json(profile(&view)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn span_profile(
    State(state): State<AppState>,
    Path((trace, span)): Path<(String, String)>,
) -> Response {
    match find_subtree(&state.store, &trace, &span) {
        Ok(view) => Json(profile(&view)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// One entry per span, depth first: `Name` (or the span id), `URL` of its page, `Time` (its
/// own milliseconds), `TimeChildren` (its time plus its direct children's), `TimeCum` (its
/// time plus that of all descendants).
pub(crate) fn profile(view: &TraceView) -> Vec<JsonValue> {
    let index: HashMap<u64, usize> = view
        .spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    let own: Vec<i64> = view
        .spans
        .iter()
        .map(|s| {
            s.duration()
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        })
        .collect();
    let kids = |s: &SpanView| -> Vec<usize> {
        s.children
            .iter()
            .filter_map(|c| index.get(c).copied())
            .collect()
    };
    // Children come after their parent in depth-first order: accumulate backwards.
    let mut cum = own.clone();
    for (i, s) in view.spans.iter().enumerate().rev() {
        let sum: i64 = kids(s)
            .iter()
            .map(|&c| cum.get(c).copied().unwrap_or(0))
            .fold(0i64, i64::saturating_add);
        if let Some(slot) = cum.get_mut(i) {
            *slot = slot.saturating_add(sum);
        }
    }
    view.spans
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let time = own.get(i).copied().unwrap_or(0);
            let children: i64 = kids(s)
                .iter()
                .map(|&c| own.get(c).copied().unwrap_or(0))
                .fold(0i64, i64::saturating_add);
            let url = match s.parent_id {
                None => format!("/traces/{}", hex(view.trace_id)),
                Some(_) => format!("/traces/{}/{}", hex(view.trace_id), hex(s.span_id)),
            };
            json!({
                "Name": s.display_name(),
                "URL": url,
                "Time": time,
                "TimeChildren": time.saturating_add(children),
                "TimeCum": cum.get(i).copied().unwrap_or(time),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// HTML.

const CSS: &str = "body{font:14px system-ui,sans-serif;margin:0 1.5em 2em;color:#222}\
header{display:flex;gap:1.5em;align-items:baseline;border-bottom:1px solid #ccc;margin-bottom:1em}\
header a{color:#222;text-decoration:none;font-weight:bold}\
table{border-collapse:collapse;width:100%;margin:.3em 0 .8em}\
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e4e4e4;vertical-align:top}\
td{word-break:break-word}\
.err{color:#b00020;font-weight:bold}.muted{color:#777}\
.mono,code{font-family:ui-monospace,Menlo,monospace;font-size:12px}\
.wf{margin:1em 0;border-top:1px solid #ddd}\
.row{display:flex;align-items:center;min-height:22px;border-bottom:1px solid #f0f0f0}\
.label{width:32%;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}\
.track{position:relative;flex:1;height:14px;margin:0 8px}\
.bar{position:absolute;top:0;height:14px;min-width:2px;background:#4a7fc1;border-radius:2px}\
.bar.ff{background:repeating-linear-gradient(90deg,#8e6bbf 0 6px,#c9b6e4 6px 9px)}\
.bar.err{background:#c0392b}.bar.none{background:repeating-linear-gradient(45deg,#ccc 0 4px,#eee 4px 8px)}\
.ff{color:#6b4c9a;font-size:12px}\
.dur{width:7em;text-align:right;color:#555;font-size:12px}\
details{margin:.4em 0;border:1px solid #ddd;border-radius:4px;padding:.3em .8em}\
summary{cursor:pointer}h3{font-size:13px;margin:.6em 0 .2em}\
form{margin:.5em 0 1em}input{margin-right:.8em}";

fn page(title: &str, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Appdash collector" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a href="/traces" { "Appdash collector" }
                    a href="/traces" { "Traces" }
                    a href="/api/traces" { "JSON" }
                }
                (body)
            }
        }
    };
    Html(markup.into_string())
}

/// A readable duration: `850µs`, `12.3ms`, `1.234s`.
fn fmt_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.1}ms", us as f64 / 1000.0)
    } else {
        format!("{:.3}s", us as f64 / 1_000_000.0)
    }
}

fn fmt_opt_duration(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".to_owned(), fmt_duration)
}

fn fmt_time(t: Option<SystemTime>) -> String {
    t.map_or_else(|| "—".to_owned(), format_time)
}

async fn traces_page(State(state): State<AppState>, Query(params): Query<ListParams>) -> Response {
    let filter = params.filter(Some(HTML_LIST_LIMIT));
    let list = state.store.traces(&filter);
    let total = state.store.len();
    let body = html! {
        h1 { "Traces" }
        form method="get" action="/traces" {
            label { "Service " input type="text" name="service" value=[filter.service.as_deref()]; }
            label { "Operation " input type="text" name="operation" value=[filter.operation.as_deref()]; }
            button type="submit" { "Filter" }
            " "
            a href="/traces" { "clear" }
        }
        p.muted { (list.len()) " shown, " (total) " stored. Newest first." }
        @if list.is_empty() {
            p { "No traces yet. Point an Appdash client (for instance recorder-appdash) at the collector port." }
        } @else {
            table {
                thead { tr { th { "Start" } th { "Root operation" } th { "Service" } th { "Duration" } th { "Spans" } th { "Errors" } th { "Trace" } } }
                tbody {
                    @for s in &list {
                        tr {
                            td.mono { (fmt_time(s.start)) }
                            td { a href={ "/traces/" (hex(s.trace_id)) } { (s.name) } }
                            td { (s.service.as_deref().unwrap_or("—")) }
                            td { (fmt_opt_duration(s.duration)) }
                            td { (s.span_count) }
                            td { @if s.error { span.err title="a span has an error tag or an error log" { "error" } } }
                            td.mono { (hex(s.trace_id)) }
                        }
                    }
                }
            }
        }
    };
    page("Traces", body).into_response()
}

async fn trace_page(State(state): State<AppState>, Path(trace): Path<String>) -> Response {
    match find_trace(&state.store, &trace) {
        Ok(view) => render_trace(&view, None).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn span_page(
    State(state): State<AppState>,
    Path((trace, span)): Path<(String, String)>,
) -> Response {
    match find_subtree(&state.store, &trace, &span) {
        Ok(view) => {
            let span = view.roots.first().copied();
            render_trace(&view, span).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn render_trace(view: &TraceView, subtree_of: Option<u64>) -> Html<String> {
    let trace_hex = hex(view.trace_id);
    let title = view
        .root()
        .map(SpanView::display_name)
        .unwrap_or_else(|| trace_hex.clone());
    let t0 = view.start();
    let total = view.duration().filter(|d| !d.is_zero());
    let names: HashMap<u64, String> = view
        .spans
        .iter()
        .map(|s| (s.span_id, s.display_name()))
        .collect();
    let profile_url = match subtree_of {
        Some(s) => format!("/traces/{trace_hex}/{}/profile", hex(s)),
        None => format!("/traces/{trace_hex}/profile"),
    };
    let body = html! {
        h1 { (title) }
        p {
            "Trace " code { (trace_hex) }
            @if let Some(s) = subtree_of { ", sub-tree of span " code { (hex(s)) } " (" a href={ "/traces/" (trace_hex) } { "whole trace" } ")" }
            " · started " span.mono { (fmt_time(t0)) }
            " · " (fmt_opt_duration(view.duration()))
            " · " (view.spans.len()) " spans"
            @if view.has_error() { " · " span.err { "error" } }
        }
        p { a href=(profile_url) { "Profile (JSON)" } " · " a href={ "/api/traces/" (trace_hex) } { "Trace (JSON)" } }
        div.wf {
            @for s in &view.spans {
                @let (left, width) = bar(s, t0, total);
                div.row {
                    div.label style={ "padding-left:" (s.depth.min(40) * 14) "px" } title=(s.display_name()) {
                        a href={ "#span-" (hex(s.span_id)) } class=[s.error.then_some("err")] { (s.display_name()) }
                        @for f in s.follows_from() {
                            " " span.ff title={ "follows from span " (hex(f)) } {
                                "↳ follows from "
                                @match names.get(&f) {
                                    Some(n) => a.ff href={ "#span-" (hex(f)) } { (n) },
                                    None => (hex(f)),
                                }
                            }
                        }
                    }
                    div.track {
                        @if s.start.is_some() {
                            @let follows = s.follows_from().next().is_some();
                            div class={ "bar" @if follows { " ff" } @if s.error { " err" } } title=[follows.then_some("follows from (does not hold up the span it follows)")] style={ "left:" (format!("{left:.3}")) "%;width:" (format!("{width:.3}")) "%" } {}
                        } @else {
                            div class="bar none" style="left:0;width:100%" title="no time span received" {}
                        }
                    }
                    div.dur { (fmt_opt_duration(s.duration())) }
                }
            }
        }
        h2 { "Spans" }
        @for s in &view.spans {
            details id={ "span-" (hex(s.span_id)) } open[s.error || view.spans.len() <= 3] {
                summary {
                    strong class=[s.error.then_some("err")] { (s.display_name()) }
                    " " span.muted { (fmt_opt_duration(s.duration())) }
                }
                table {
                    tr { th { "Span" } td.mono { (hex(s.span_id)) " " a href={ "/traces/" (trace_hex) "/" (hex(s.span_id)) } { "sub-tree" } } }
                    tr { th { "Parent" } td.mono {
                        @match s.parent_id {
                            None => "none (root)",
                            Some(p) if names.contains_key(&p) => {
                                a href={ "#span-" (hex(p)) } { (hex(p)) }
                                @if s.follows_from_parent() { " " span.ff { "(follows from)" } }
                            },
                            Some(p) => { (hex(p)) " " span.muted { "(not received)" } },
                        }
                    } }
                    @if let Some(service) = &s.service {
                        tr { th { "Service" } td { (service) } }
                    }
                    @if !s.references.is_empty() {
                        tr { th { "References" } td {
                            @for r in &s.references {
                                div.mono {
                                    span class=[(r.kind == ReferenceKind::FollowsFrom).then_some("ff")] { (r.kind.as_str().replace('_', " ")) }
                                    " "
                                    @match names.get(&r.span_id) {
                                        Some(n) => { a href={ "#span-" (hex(r.span_id)) } { (hex(r.span_id)) } " " span.muted { (n) } },
                                        None => { (hex(r.span_id)) " " span.muted { "(not in this trace)" } },
                                    }
                                }
                            }
                        } }
                    }
                    tr { th { "Start" } td.mono { (fmt_time(s.start)) } }
                    tr { th { "End" } td.mono { (fmt_time(s.end)) } }
                    tr { th { "Duration" } td { (fmt_opt_duration(s.duration())) } }
                }
                @if !s.tags.is_empty() {
                    h3 { "Tags" }
                    table { @for (k, v) in &s.tags { tr { th.mono { (k) } td.mono class=[(k == "error" && v == "true").then_some("err")] { (v) } } } }
                }
                @if !s.baggage.is_empty() {
                    h3 { "Baggage" }
                    table { @for (k, v) in &s.baggage { tr { th.mono { (k) } td.mono { (v) } } } }
                }
                @if !s.logs.is_empty() {
                    h3 { "Logs" }
                    table {
                        @for l in &s.logs {
                            tr class=[l.is_error().then_some("err")] {
                                td.mono { (log_offset(l.time, t0)) }
                                td.mono {
                                    @match &l.fields {
                                        Some(fields) => { @for (k, v) in fields { span.muted { (k) "=" } (v) " " } },
                                        None => (l.message),
                                    }
                                }
                            }
                        }
                    }
                }
                h3 { "Raw annotations" }
                table {
                    @for a in &s.annotations {
                        tr {
                            th.mono { (a.key) }
                            td.mono {
                                @match a.value.as_deref() {
                                    Some(v) => (String::from_utf8_lossy(v)),
                                    None => span.muted { "no value" },
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&title, body)
}

/// The left offset and width of a span's bar, in percent of the trace's duration.
fn bar(s: &SpanView, t0: Option<SystemTime>, total: Option<Duration>) -> (f64, f64) {
    let (Some(t0), Some(start), Some(total)) = (t0, s.start, total) else {
        return (0.0, 100.0);
    };
    let total = total.as_secs_f64();
    let left = start.duration_since(t0).unwrap_or_default().as_secs_f64() / total * 100.0;
    let width = s.duration().unwrap_or_default().as_secs_f64() / total * 100.0;
    let left = left.clamp(0.0, 100.0);
    (left, width.clamp(0.0, 100.0 - left))
}

fn log_offset(time: Option<SystemTime>, t0: Option<SystemTime>) -> String {
    match (time, t0) {
        (Some(t), Some(t0)) => match t.duration_since(t0) {
            Ok(d) => format!("+{}", fmt_duration(d)),
            Err(e) => format!("-{}", fmt_duration(e.duration())),
        },
        (Some(t), None) => format_time(t),
        (None, _) => "—".to_owned(),
    }
}
