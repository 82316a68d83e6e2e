#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The harness itself: a peer's process group goes away when its guard drops, when the test
//! process panics or aborts with the peer held in a `static`, and a missing Java or Go makes
//! the tests fail with a message that names it.
//!
//! The panic, abort and missing-tool cases run this binary again as a child process, in the
//! ignored test `helper` with `INTEGRATION_HARNESS_HELPER` naming the case.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use integration::{wait_until, Appdash, HarnessError, Launch, PeerProcess, Zipkin};

const HELPER_VAR: &str = "INTEGRATION_HARNESS_HELPER";
const PGID_FILE_VAR: &str = "INTEGRATION_HARNESS_PGID_FILE";

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("integration-harness-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A peer that starts a grandchild too, so "the whole group" is tested.
fn sleeper(dir: &Path) -> Launch {
    Launch {
        name: "sleeper".into(),
        program: "sh".into(),
        args: vec!["-c".into(), "sleep 600 & echo ready; wait".into()],
        env: vec![],
        env_remove: vec![],
        dir: None,
        log: dir.join("sleeper.log"),
        grace: Duration::from_secs(2),
    }
}

fn group_alive(pgid: u32) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("kill -0 -{pgid} 2>/dev/null"))
        .status()
        .unwrap()
        .success()
}

fn wait_group_gone(pgid: u32) {
    wait_until(
        &format!("process group {pgid} to be gone"),
        Duration::from_secs(30),
        || {
            if group_alive(pgid) {
                Err("alive".to_owned())
            } else {
                Ok(())
            }
        },
    )
    .unwrap();
}

#[test]
fn dropping_the_guard_stops_the_whole_group() {
    let dir = scratch("drop");
    let mut peer = PeerProcess::spawn(&sleeper(&dir)).unwrap();
    peer.wait_for_log("ready", 0, Duration::from_secs(10))
        .unwrap();
    let pgid = peer.pgid();
    assert!(group_alive(pgid));
    drop(peer);
    assert!(
        !group_alive(pgid),
        "the guard returned before the group was gone"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_peer_that_exits_is_reported_with_its_log() {
    let dir = scratch("exit");
    let mut launch = sleeper(&dir);
    launch.args = vec!["-c".into(), "echo 'port already in use' >&2; exit 3".into()];
    let mut peer = PeerProcess::spawn(&launch).unwrap();
    let err = peer
        .wait_for_log("never printed", 0, Duration::from_secs(20))
        .unwrap_err();
    assert!(err.to_string().contains("port already in use"), "{err}");
    assert!(!peer.is_running());
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs this test binary's `helper` test in a child process.
fn run_helper(case: &str, env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "helper",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(HELPER_VAR, case)
    .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status, text)
}

fn peer_outlives_nothing(case: &str) {
    let dir = scratch(case);
    let pgid_file = dir.join("pgid");
    let (status, output) = run_helper(case, &[(PGID_FILE_VAR, pgid_file.to_str().unwrap())]);
    assert!(!status.success(), "the helper should have failed: {output}");
    let pgid: u32 = std::fs::read_to_string(&pgid_file)
        .unwrap_or_else(|e| panic!("no pgid written ({e}); helper output: {output}"))
        .trim()
        .parse()
        .unwrap();
    wait_group_gone(pgid);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_peer_held_in_a_static_stops_when_the_test_process_panics() {
    peer_outlives_nothing("panic");
}

#[test]
fn a_peer_held_in_a_static_stops_when_the_test_process_aborts() {
    peer_outlives_nothing("abort");
}

#[test]
fn missing_java_fails_with_a_message_naming_it() {
    let dir = scratch("no-java");
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let (status, output) = run_helper(
        "missing-java",
        &[
            ("PATH", empty.to_str().unwrap()),
            ("INTEGRATION_PEERS_DIR", dir.to_str().unwrap()),
            ("ZIPKIN_URL", ""),
        ],
    );
    assert!(status.success(), "{output}");
    assert!(output.contains("`java` is needed"), "{output}");
    assert!(output.contains("ZIPKIN_URL"), "{output}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_go_fails_with_a_message_naming_it() {
    let dir = scratch("no-go");
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let (status, output) = run_helper(
        "missing-go",
        &[
            ("PATH", empty.to_str().unwrap()),
            ("INTEGRATION_PEERS_DIR", dir.to_str().unwrap()),
            ("APPDASH_COLLECTOR", ""),
            ("APPDASH_URL", ""),
        ],
    );
    assert!(status.success(), "{output}");
    assert!(output.contains("`go` is needed"), "{output}");
    assert!(output.contains("APPDASH_URL"), "{output}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The child side of the tests above; does nothing unless `INTEGRATION_HARNESS_HELPER` is set.
#[test]
#[ignore = "run by the other tests of this file in a child process"]
fn helper() {
    static PEER: OnceLock<std::sync::Mutex<PeerProcess>> = OnceLock::new();
    let Ok(case) = std::env::var(HELPER_VAR) else {
        return;
    };
    match case.as_str() {
        "panic" | "abort" => {
            let dir = scratch(&case);
            let peer = PEER
                .get_or_init(|| std::sync::Mutex::new(PeerProcess::spawn(&sleeper(&dir)).unwrap()));
            let mut p = peer.lock().unwrap();
            p.wait_for_log("ready", 0, Duration::from_secs(10)).unwrap();
            std::fs::write(std::env::var(PGID_FILE_VAR).unwrap(), p.pgid().to_string()).unwrap();
            drop(p);
            if case == "abort" {
                std::process::abort();
            }
            panic!("the helper panics with a peer held in a static");
        }
        "missing-java" => {
            let err = Zipkin::shared_http().unwrap_err();
            assert!(matches!(
                err,
                HarnessError::MissingTool { tool: "java", .. }
            ));
            println!("{err}");
        }
        "missing-go" => {
            let err = Appdash::shared().unwrap_err();
            assert!(matches!(err, HarnessError::MissingTool { tool: "go", .. }));
            println!("{err}");
        }
        other => panic!("unknown helper case {other}"),
    }
}
