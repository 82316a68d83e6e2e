//! [`ManagedPeer`]: what every peer (Zipkin, Kafka, Appdash) shares: the recipe and the
//! running process of a self-started server, or the service name of an external one, and the
//! lock that lets a fault test stop the server while no other test uses it.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use crate::error::Result;
use crate::external;
use crate::process::{log_len, log_tail, Launch, PeerProcess};

/// A log line that tells a freshly started peer is up, and how long to wait for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyLine {
    /// The text the peer logs once it is up.
    pub(crate) needle: &'static str,
    /// How long it gets to log it.
    pub(crate) timeout: Duration,
}

#[derive(Debug)]
struct Own {
    launch: Launch,
    ready: Option<ReadyLine>,
    process: Option<PeerProcess>,
}

/// A peer started by the harness (its launch recipe and process) or external (its service
/// name for `$INTEGRATION_PEER_CONTROL`), with the access lock its tests share.
///
/// The peer types keep their own readiness probes (Zipkin's `/health`, Kafka's metadata,
/// Appdash's web app) and run them after [`start_again`](ManagedPeer::start_again).
#[derive(Debug)]
pub(crate) struct ManagedPeer {
    service: &'static str,
    own: Option<Mutex<Own>>,
    access: RwLock<()>,
}

impl ManagedPeer {
    /// A peer started elsewhere, stopped and started with `$INTEGRATION_PEER_CONTROL <action>
    /// <service>`.
    pub(crate) fn external(service: &'static str) -> ManagedPeer {
        ManagedPeer {
            service,
            own: None,
            access: RwLock::new(()),
        }
    }

    /// A peer the harness starts with `launch` (not started yet: call
    /// [`start_again`](ManagedPeer::start_again)). With `ready`, starting waits until the peer
    /// logs that line.
    pub(crate) fn launched(
        service: &'static str,
        launch: Launch,
        ready: Option<ReadyLine>,
    ) -> ManagedPeer {
        ManagedPeer {
            service,
            own: Some(Mutex::new(Own {
                launch,
                ready,
                process: None,
            })),
            access: RwLock::new(()),
        }
    }

    /// True when the server was not started by the harness.
    pub(crate) fn is_external(&self) -> bool {
        self.own.is_none()
    }

    /// Access for a test that only sends and checks.
    pub(crate) fn shared_access(&self) -> RwLockReadGuard<'_, ()> {
        self.access.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Access for a test that stops the server.
    pub(crate) fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.access.write().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(own: &Mutex<Own>) -> MutexGuard<'_, Own> {
        own.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops the server (and waits until its process group is gone), or runs
    /// `$INTEGRATION_PEER_CONTROL stop <service>` for an external one.
    pub(crate) fn stop(&self) -> Result<()> {
        let Some(own) = &self.own else {
            return external::control("stop", self.service);
        };
        match Self::lock(own).process.take() {
            Some(mut p) => p.stop(),
            None => Ok(()),
        }
    }

    /// Starts the server (stopping a running one first) and waits for its ready line, if it
    /// has one; or runs `$INTEGRATION_PEER_CONTROL start <service>` for an external one. The
    /// caller then runs the peer's own readiness probe.
    pub(crate) fn start_again(&self) -> Result<()> {
        let Some(own) = &self.own else {
            return external::control("start", self.service);
        };
        let mut own = Self::lock(own);
        if let Some(mut p) = own.process.take() {
            p.stop()?;
        }
        let from = log_len(&own.launch.log);
        let mut p = PeerProcess::spawn(&own.launch)?;
        if let Some(ready) = own.ready {
            p.wait_for_log(ready.needle, from, ready.timeout)?;
        }
        own.process = Some(p);
        Ok(())
    }

    /// Fails with the log's tail when a self-started server has exited; `Ok` for an external
    /// one or one not running.
    pub(crate) fn check_running(&self) -> Result<()> {
        let Some(own) = &self.own else {
            return Ok(());
        };
        match Self::lock(own).process.as_mut() {
            Some(p) => p.check_running(),
            None => Ok(()),
        }
    }

    /// `; last lines of <log>:\n<tail>` for an error message, empty for an external peer.
    pub(crate) fn log_hint(&self, lines: usize) -> String {
        match &self.own {
            Some(own) => {
                let own = Self::lock(own);
                format!(
                    "; last lines of {}:\n{}",
                    own.launch.log.display(),
                    log_tail(&own.launch.log, lines)
                )
            }
            None => String::new(),
        }
    }
}
