//! Backend names, flags, and the error for a backend whose feature is not compiled in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use clap::Parser;
use examples::backend::{Backend, NotCompiled};
use examples::cli::Options;

#[test]
fn backend_names_parse_and_print_back() {
    for backend in Backend::ALL {
        assert_eq!(backend.as_str().parse::<Backend>(), Ok(backend));
        assert_eq!(backend.to_string(), backend.as_str());
    }
    assert_eq!(" Zipkin ".parse::<Backend>(), Ok(Backend::Zipkin));
    let err = "jaeger".parse::<Backend>().unwrap_err();
    assert!(
        err.to_string().contains("appdash, zipkin, kafka or stdout"),
        "{err}"
    );
}

#[test]
fn a_backend_not_compiled_in_names_its_feature() {
    let err = NotCompiled(Backend::Kafka).to_string();
    assert!(err.contains("kafka backend is not compiled in"), "{err}");
    assert!(err.contains("--features kafka"), "{err}");
    for backend in Backend::ALL {
        assert_eq!(
            backend.ensure_compiled().is_ok(),
            cfg!(feature = "appdash") && backend == Backend::Appdash
                || cfg!(feature = "zipkin") && backend == Backend::Zipkin
                || cfg!(feature = "kafka") && backend == Backend::Kafka
                || cfg!(feature = "stdout") && backend == Backend::Stdout
        );
    }
}

#[cfg(not(feature = "stdout"))]
#[test]
fn choosing_stdout_without_its_feature_fails_clearly() {
    let options = Options::try_parse_from(["tutorial", "--backend", "stdout"]).unwrap();
    let err = options.backend().unwrap_err();
    assert_eq!(err, NotCompiled(Backend::Stdout));
    assert!(err.to_string().contains("--features stdout"), "{err}");
}

#[cfg(feature = "appdash")]
#[test]
fn appdash_is_the_default_in_a_default_build() {
    if std::env::var_os("TRACER_BACKEND").is_some() {
        return; // the environment chooses
    }
    let options = Options::try_parse_from(["tutorial"]).unwrap();
    assert_eq!(options.backend(), Ok(Backend::Appdash));
    assert_eq!(options.port, 8080);
    assert_eq!(options.ui_port, 8700);
    assert_eq!(options.max_sleep_ms, 200);
}

#[test]
fn flags_set_backend_ports_and_sleep() {
    let options = Options::try_parse_from([
        "tutorial",
        "--backend",
        "zipkin",
        "--port",
        "9000",
        "--ui-port",
        "9001",
        "--collector-port",
        "9002",
        "--max-sleep-ms",
        "3",
    ])
    .unwrap();
    assert_eq!(options.backend, Some(Backend::Zipkin));
    assert_eq!(
        (options.port, options.ui_port, options.collector_port),
        (9000, 9001, 9002)
    );
    assert_eq!(options.max_sleep(), std::time::Duration::from_millis(3));
    assert!(Options::try_parse_from(["tutorial", "--backend", "jaeger"]).is_err());
    assert!(Options::try_parse_from(["tutorial", "--port", "http"]).is_err());
}
