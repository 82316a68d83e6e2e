#![doc = include_str!("../README.md")]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod builder;
mod json;
mod pretty;
mod reporter;
mod time;

pub use crate::builder::{BuildError, ColorChoice, Format, StdoutRecorder, StdoutRecorderBuilder};
pub use crate::reporter::StdoutReporter;
pub use tracer_api::export::{BatchConfig, BatchRecorder};
