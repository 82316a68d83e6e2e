//! `from_env` reads the process environment. One test in its own binary, since it sets
//! process-wide variables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::env;

use recorder_stdout::{BuildError, Format, StdoutRecorder};

#[test]
fn from_env_reads_variables_and_names_the_bad_one() {
    env::set_var("STDOUT_FORMAT", "PRETTY");
    env::set_var("STDOUT_TARGET", "stderr");
    env::set_var("STDOUT_COLOR", "always");
    let reporter = StdoutRecorder::from_env().unwrap().build_reporter();
    assert_eq!(reporter.format(), Format::Pretty);
    assert!(reporter.color());
    assert!(format!("{reporter:?}").contains("Stderr"));

    // Code overrides the environment.
    let reporter = StdoutRecorder::from_env()
        .unwrap()
        .with_format(Format::Json)
        .with_stdout()
        .build_reporter();
    assert_eq!(reporter.format(), Format::Json);
    assert!(format!("{reporter:?}").contains("Stdout"));

    // Blank counts as unset.
    env::set_var("STDOUT_FORMAT", "  ");
    assert_eq!(
        StdoutRecorder::from_env()
            .unwrap()
            .build_reporter()
            .format(),
        Format::Json
    );

    env::set_var("STDOUT_FORMAT", "xml");
    let err = StdoutRecorder::from_env().unwrap_err();
    assert!(matches!(
        err,
        BuildError::InvalidEnv {
            variable: "STDOUT_FORMAT",
            ..
        }
    ));
    let text = err.to_string();
    assert!(
        text.contains("STDOUT_FORMAT") && text.contains("xml"),
        "{text}"
    );
    env::remove_var("STDOUT_FORMAT");

    env::set_var("STDOUT_TARGET", "printer");
    let err = StdoutRecorder::from_env().unwrap_err();
    assert!(err.to_string().contains("STDOUT_TARGET"), "{err}");
    env::remove_var("STDOUT_TARGET");

    // The pipeline's variables are read too, and their errors come back wrapped.
    env::set_var("TRACER_EXPORT_MAX_BATCH_SPANS", "lots");
    let err = StdoutRecorder::from_env().unwrap_err();
    assert!(matches!(err, BuildError::BatchConfig(_)), "{err:?}");
    assert!(
        err.to_string().contains("TRACER_EXPORT_MAX_BATCH_SPANS"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    env::remove_var("TRACER_EXPORT_MAX_BATCH_SPANS");

    env::remove_var("STDOUT_COLOR");
    let recorder = StdoutRecorder::from_env().unwrap().build().unwrap();
    drop(recorder);
}
