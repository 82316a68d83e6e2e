//! conformance (STUB)
