#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The global tracer: a no-op until set, set once, scoped overrides for tests.
//! (One test function, since the global tracer is per process.)

use tracer_api::{global, InMemoryRecorder, Tracer};

#[test]
fn global_tracer_lifecycle() {
    assert!(!global::is_set());
    assert!(global::tracer().is_noop());
    assert!(!global::tracer().span("x").start().is_recording());

    let scoped_rec = InMemoryRecorder::new();
    let scoped = Tracer::builder()
        .with_service_name("scoped")
        .with_recorder(scoped_rec.clone())
        .build()
        .unwrap();
    {
        let _guard = global::set_scoped(scoped);
        global::tracer().span("in scope").start().finish();
        // Other threads do not see this thread's override.
        std::thread::spawn(|| assert!(global::tracer().is_noop()))
            .join()
            .unwrap();
    }
    assert_eq!(scoped_rec.len(), 1);
    assert!(
        global::tracer().is_noop(),
        "the override ends with its guard"
    );

    let rec = InMemoryRecorder::new();
    let tracer = Tracer::builder()
        .with_service_name("global")
        .with_recorder(rec.clone())
        .build()
        .unwrap();
    global::set_tracer(tracer).unwrap();
    assert!(global::is_set());
    std::thread::spawn(|| global::tracer().span("from a thread").start().finish())
        .join()
        .unwrap();
    assert_eq!(rec.len(), 1);

    let again = Tracer::builder()
        .with_service_name("again")
        .build()
        .unwrap();
    let err = global::set_tracer(again).unwrap_err();
    assert!(err.to_string().contains("already set"));
    assert_eq!(err.into_tracer().process().service_name, "again");
}
