//! Peers started elsewhere (Docker Compose, a staging host): the environment variables that
//! name them, and the command that stops and starts them for the fault tests.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{HarnessError, Result};

/// The Zipkin server's base URL, e.g. `http://127.0.0.1:9411`.
pub const ZIPKIN_URL: &str = "ZIPKIN_URL";
/// Kafka bootstrap servers, e.g. `127.0.0.1:19092`. The Zipkin at `ZIPKIN_URL` must consume
/// the `zipkin` topic of this Kafka.
pub const KAFKA_BOOTSTRAP_SERVERS: &str = "KAFKA_BOOTSTRAP_SERVERS";
/// Appdash's collector address, e.g. `127.0.0.1:7701`.
pub const APPDASH_COLLECTOR: &str = "APPDASH_COLLECTOR";
/// Appdash's web UI base URL, e.g. `http://127.0.0.1:7700`.
pub const APPDASH_URL: &str = "APPDASH_URL";
/// A command prefix that stops and starts external peers for the fault tests: the tests run
/// `$INTEGRATION_PEER_CONTROL stop zipkin` and `... start zipkin` (services `zipkin`,
/// `kafka`, `appdash`). With Docker Compose:
/// `docker compose -f integration/docker-compose.yml`.
pub const PEER_CONTROL: &str = "INTEGRATION_PEER_CONTROL";

/// A non-empty environment variable.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Runs `$INTEGRATION_PEER_CONTROL <action> <service>`; without the variable, an error that
/// says how to set it.
pub fn control(action: &str, service: &str) -> Result<()> {
    let Some(prefix) = var(PEER_CONTROL) else {
        return Err(HarnessError::Config(format!(
            "this fault test must {action} the external {service} peer, but {PEER_CONTROL} is \
             not set. Set it to a command prefix that takes `stop <service>` and `start \
             <service>`, e.g. `docker compose -f integration/docker-compose.yml`, or unset the \
             peer's variables so the tests start their own"
        )));
    };
    let cmd = format!("{prefix} {action} {service}");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| HarnessError::Peer(format!("cannot run `{cmd}`: {e}")))?;
    let deadline = crate::wait::Deadline::after(Duration::from_secs(120));
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(()),
            Ok(Some(s)) => return Err(HarnessError::Peer(format!("`{cmd}` failed: {s}"))),
            Ok(None) if deadline.passed() => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HarnessError::Peer(format!(
                    "`{cmd}` did not finish in 120 s"
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(HarnessError::Peer(format!("waiting for `{cmd}`: {e}"))),
        }
    }
}
