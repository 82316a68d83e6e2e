//! W3C (STUB)
use super::*;
/// x
#[derive(Debug, Clone, Default)]
pub struct TraceContext;
impl TraceContext { /// x
 pub fn new() -> Self { TraceContext } }
impl Propagator for TraceContext {
    fn inject(&self, _c: &SpanContext, _carrier: &mut dyn Injector) {}
    fn extract(&self, _carrier: &dyn Extractor) -> Result<Extracted, ExtractError> { Err(ExtractError::NotFound) }
}
