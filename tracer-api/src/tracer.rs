//! The [`Tracer`] and its builder.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use crate::context::{Extracted, SpanContext};
use crate::id::TraceId;
use crate::propagation::{
    binary, default_propagator, ExtractError, Extractor, Injector, Propagator,
};
use crate::record::{Endpoint, Process};
use crate::recorder::{ExportReport, NoopRecorder, Recorder};
use crate::sampler::{AlwaysSample, NeverSample, Sampler};
use crate::span::SpanBuilder;
use crate::value::{KeyValue, Value};

/// Starts spans and moves their contexts across process boundaries.
///
/// Cheap to clone (one `Arc`), `Send + Sync`: build one at startup and hand clones around.
#[derive(Clone)]
pub struct Tracer {
    inner: Arc<TracerInner>,
}

struct TracerInner {
    process: Arc<Process>,
    sampler: Box<dyn Sampler>,
    recorder: Arc<dyn Recorder>,
    propagator: Box<dyn Propagator>,
    trace_id_128: bool,
    share_span_ids: bool,
    mode: Mode,
}

/// What a tracer decides without asking its sampler: read on every span start, so the common
/// samplers and the no-op tracer cost a byte load instead of a virtual call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Ask the sampler.
    Ask,
    /// The sampler is [`AlwaysSample`].
    Always,
    /// The sampler is [`NeverSample`].
    Never,
    /// [`Tracer::noop`]: every span is unsampled, whatever its parent or tags say.
    Noop,
}

impl Mode {
    /// The mode for a sampler, known from its type.
    fn of(sampler: &dyn Any) -> Mode {
        if sampler.is::<AlwaysSample>() {
            Mode::Always
        } else if sampler.is::<NeverSample>() {
            Mode::Never
        } else {
            Mode::Ask
        }
    }
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("service_name", &self.inner.process.service_name)
            .field("sampler", &self.inner.sampler)
            .field("propagator", &self.inner.propagator)
            .field("trace_id_128", &self.inner.trace_id_128)
            .field("share_span_ids", &self.inner.share_span_ids)
            .field("noop", &self.is_noop())
            .finish_non_exhaustive()
    }
}

impl Tracer {
    /// A builder, with the defaults: service `unknown_service`, every trace sampled, spans
    /// discarded ([`NoopRecorder`]), B3 + W3C propagation, 128-bit trace ids, span ids not
    /// shared.
    pub fn builder() -> TracerBuilder {
        TracerBuilder::default()
    }

    /// A tracer that records nothing: every span is unsampled and costs almost nothing.
    /// Propagation still works, so a no-op service passes its callers' contexts on.
    pub fn noop() -> Tracer {
        TracerBuilder::default().build_inner(true)
    }

    /// Starts building a span named `operation`.
    #[inline]
    pub fn span(&self, operation: impl Into<Cow<'static, str>>) -> SpanBuilder<'_> {
        SpanBuilder::new(self, operation.into())
    }

    /// Writes `context` into `carrier` with the tracer's propagator.
    pub fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        self.inner.propagator.inject(context, carrier)
    }

    /// Reads a caller's context from `carrier` with the tracer's propagator.
    pub fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
        self.inner.propagator.extract(carrier)
    }

    /// Encodes `context` in the binary form (see [`binary`]).
    pub fn inject_binary(&self, context: &SpanContext) -> Vec<u8> {
        binary::encode(context)
    }

    /// Decodes a context from the binary form (see [`binary`]).
    pub fn extract_binary(&self, bytes: &[u8]) -> Result<Extracted, ExtractError> {
        binary::decode(bytes).map(Extracted::Context)
    }

    /// The process every span of this tracer is recorded under.
    pub fn process(&self) -> &Arc<Process> {
        &self.inner.process
    }

    /// The recorder finished spans go to.
    pub fn recorder(&self) -> &Arc<dyn Recorder> {
        &self.inner.recorder
    }

    /// Flushes the recorder, waiting at most `timeout`.
    pub fn flush(&self, timeout: Duration) -> ExportReport {
        self.inner.recorder.flush(timeout)
    }

    /// Shuts the recorder down, delivering what is queued within `timeout`.
    pub fn shutdown(&self, timeout: Duration) -> ExportReport {
        self.inner.recorder.shutdown(timeout)
    }

    /// True for [`Tracer::noop`].
    #[inline]
    pub fn is_noop(&self) -> bool {
        self.inner.mode == Mode::Noop
    }

    /// True when a new trace (or a caller's deferred decision) is never sampled: the no-op
    /// tracer, or a [`NeverSample`] sampler.
    #[inline]
    pub(crate) fn never_samples(&self) -> bool {
        matches!(self.inner.mode, Mode::Never | Mode::Noop)
    }

    /// Whether the sampler records the trace `trace_id` starting with `operation`; the virtual
    /// call is skipped for [`AlwaysSample`] and [`NeverSample`], which need no arguments.
    #[inline]
    pub(crate) fn should_sample(&self, trace_id: TraceId, operation: &str) -> bool {
        match self.inner.mode {
            Mode::Always => true,
            Mode::Never | Mode::Noop => false,
            Mode::Ask => self.inner.sampler.should_sample(trace_id, operation),
        }
    }

    #[inline]
    pub(crate) fn trace_id_128(&self) -> bool {
        self.inner.trace_id_128
    }

    pub(crate) fn shares_span_ids(&self) -> bool {
        self.inner.share_span_ids
    }
}

/// Why a tracer could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The service name was empty; every backend needs one.
    EmptyServiceName,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::EmptyServiceName => {
                f.write_str("the tracer's service name is empty; set one with with_service_name")
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds a [`Tracer`]; see [`Tracer::builder`] for the defaults.
pub struct TracerBuilder {
    process: Process,
    sampler: Box<dyn Sampler>,
    sampler_mode: Mode,
    recorder: Arc<dyn Recorder>,
    propagator: Box<dyn Propagator>,
    trace_id_128: bool,
    share_span_ids: bool,
}

impl fmt::Debug for TracerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracerBuilder")
            .field("process", &self.process)
            .field("sampler", &self.sampler)
            .field("propagator", &self.propagator)
            .field("trace_id_128", &self.trace_id_128)
            .field("share_span_ids", &self.share_span_ids)
            .finish_non_exhaustive()
    }
}

impl Default for TracerBuilder {
    fn default() -> TracerBuilder {
        TracerBuilder {
            process: Process::default(),
            sampler: Box::new(AlwaysSample),
            sampler_mode: Mode::Always,
            recorder: Arc::new(NoopRecorder),
            propagator: Box::new(default_propagator()),
            trace_id_128: true,
            share_span_ids: false,
        }
    }
}

impl TracerBuilder {
    /// The service name spans are recorded under.
    pub fn with_service_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.process.service_name = name.into();
        self
    }

    /// The local endpoint's IP address (v4 or v6).
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => self.process.endpoint.ipv4 = Some(v4),
            IpAddr::V6(v6) => self.process.endpoint.ipv6 = Some(v6),
        }
        self
    }

    /// The local endpoint's IPv4 address.
    pub fn with_ipv4(mut self, ip: Ipv4Addr) -> Self {
        self.process.endpoint.ipv4 = Some(ip);
        self
    }

    /// The local endpoint's IPv6 address.
    pub fn with_ipv6(mut self, ip: Ipv6Addr) -> Self {
        self.process.endpoint.ipv6 = Some(ip);
        self
    }

    /// The local endpoint's port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.process.endpoint.port = Some(port);
        self
    }

    /// The whole local endpoint.
    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.process.endpoint = endpoint;
        self
    }

    /// A tag recorded with every span of the process.
    pub fn with_process_tag(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Value>,
    ) -> Self {
        self.process.tags.push(KeyValue::new(key, value));
        self
    }

    /// The sampler for new traces.
    pub fn with_sampler(mut self, sampler: impl Sampler + 'static) -> Self {
        self.sampler_mode = Mode::of(&sampler);
        self.sampler = Box::new(sampler);
        self
    }

    /// Where finished spans go.
    pub fn with_recorder(mut self, recorder: impl Recorder + 'static) -> Self {
        self.recorder = Arc::new(recorder);
        self
    }

    /// Where finished spans go, already shared.
    pub fn with_shared_recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.recorder = recorder;
        self
    }

    /// How contexts are injected and extracted.
    pub fn with_propagator(mut self, propagator: impl Propagator + 'static) -> Self {
        self.propagator = Box::new(propagator);
        self
    }

    /// `true` (default) for 128-bit trace ids, `false` for 64-bit ones.
    pub fn with_128bit_trace_ids(mut self, wide: bool) -> Self {
        self.trace_id_128 = wide;
        self
    }

    /// When `true`, a server span started as a child of a remote context (with
    /// `span.kind=server`) reuses the caller's span id and is marked `shared`, as Zipkin's B3
    /// instrumentation does. Default `false`: every span gets its own id.
    pub fn with_shared_span_ids(mut self, share: bool) -> Self {
        self.share_span_ids = share;
        self
    }

    /// Builds the tracer.
    pub fn build(self) -> Result<Tracer, BuildError> {
        if self.process.service_name.trim().is_empty() {
            return Err(BuildError::EmptyServiceName);
        }
        Ok(self.build_inner(false))
    }

    fn build_inner(self, noop: bool) -> Tracer {
        Tracer {
            inner: Arc::new(TracerInner {
                process: Arc::new(self.process),
                sampler: self.sampler,
                recorder: self.recorder,
                propagator: self.propagator,
                trace_id_128: self.trace_id_128,
                share_span_ids: self.share_span_ids,
                mode: if noop { Mode::Noop } else { self.sampler_mode },
            }),
        }
    }
}
