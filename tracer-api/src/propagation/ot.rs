//! OT (STUB)
use super::*;
/// x
#[derive(Debug, Clone, Default)]
pub struct OtTracer;
impl OtTracer { /// x
 pub fn new() -> Self { OtTracer } }
impl Propagator for OtTracer {
    fn inject(&self, _c: &SpanContext, _carrier: &mut dyn Injector) {}
    fn extract(&self, _carrier: &dyn Extractor) -> Result<Extracted, ExtractError> { Err(ExtractError::NotFound) }
}
