//! baggage (STUB)
use super::*;
/// x
#[derive(Debug, Clone, Default)]
pub struct BaggageHeaders<P>(P);
impl<P> BaggageHeaders<P> { /// x
 pub fn new(p: P) -> Self { BaggageHeaders(p) } }
impl<P: Propagator> Propagator for BaggageHeaders<P> {
    fn inject(&self, c: &SpanContext, carrier: &mut dyn Injector) { self.0.inject(c, carrier) }
    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> { self.0.extract(carrier) }
}
