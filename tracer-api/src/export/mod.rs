//! The export pipeline (feature `export`): IN PROGRESS
mod reporter;
pub use self::reporter::{Delivered, ErrorKind, ReportError, Reporter};
