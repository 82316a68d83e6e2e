//! B3 (STUB)
use super::*;
/// x
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum B3Encoding { /// x
 Multi, /// x
 Single, /// x
 Both }
/// x
#[derive(Debug, Clone)]
pub struct B3 { encoding: B3Encoding }
impl B3 { /// x
 pub fn multi() -> B3 { B3 { encoding: B3Encoding::Multi } } /// x
 pub fn single() -> B3 { B3 { encoding: B3Encoding::Single } } }
impl Propagator for B3 {
    fn inject(&self, _c: &SpanContext, _carrier: &mut dyn Injector) { let _ = self.encoding; }
    fn extract(&self, _carrier: &dyn Extractor) -> Result<Extracted, ExtractError> { Err(ExtractError::NotFound) }
}
