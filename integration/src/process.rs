//! [`PeerProcess`]: a server started in its own process group, with a guard that stops the
//! whole group, and a watchdog that stops it when the test process ends in any way.
//!
//! The peer runs under a small `sh` wrapper that is the leader of a new process group. The
//! wrapper also starts a watchdog that reads the wrapper's standard input, a pipe whose only
//! writer is the test process. When the test process exits (normally, after a panic, on
//! `abort`, or killed), the pipe closes and the watchdog terminates the group, then kills it
//! after a grace period. So peers held in `static`s, which are never dropped, do not outlive
//! the test binary. [`PeerProcess::stop`] (also run on drop) does the same at once and waits
//! until every process of the group is gone.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::error::{HarnessError, Result};
use crate::wait::{wait_until, Deadline};

/// `sh -c WRAPPER peer GRACE_SECS PROGRAM ARGS...`: runs the peer in the background, starts
/// the watchdog, and waits for the peer. `$$` is the wrapper's pid, which is the group id.
/// The pipe is read through fd 3: a background job's standard input is `/dev/null` in a
/// shell without job control.
const WRAPPER: &str = r#"grace=$1; shift
exec 3<&0
"$@" </dev/null 3<&- &
peer=$!
(
  trap '' TERM INT HUP
  cat <&3 >/dev/null
  kill -TERM -$$ 2>/dev/null
  i=0
  while kill -0 "$peer" 2>/dev/null && [ "$i" -lt "$((grace * 10))" ]; do
    sleep 0.1; i=$((i + 1))
  done
  kill -KILL -$$ 2>/dev/null
) &
wait "$peer"
"#;

/// How to start a peer process.
#[derive(Clone, Debug)]
pub struct Launch {
    /// A short name for messages, e.g. `zipkin`.
    pub name: String,
    /// The program (looked up on `PATH`).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables to set.
    pub env: Vec<(String, String)>,
    /// Environment variables to remove from what the test process has.
    pub env_remove: Vec<String>,
    /// The working directory.
    pub dir: Option<PathBuf>,
    /// Where standard output and error go (appended to).
    pub log: PathBuf,
    /// How long the peer gets to exit after `SIGTERM` before `SIGKILL`.
    pub grace: Duration,
}

/// A running peer: the guard of its process group. Dropping it stops the group.
#[derive(Debug)]
pub struct PeerProcess {
    name: String,
    child: Child,
    watchdog: Option<ChildStdin>,
    log: PathBuf,
    grace: Duration,
    exited: bool,
}

impl PeerProcess {
    /// Starts a peer in a new process group, its output appended to `launch.log`.
    pub fn spawn(launch: &Launch) -> Result<PeerProcess> {
        if let Some(parent) = launch.log.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| HarnessError::io(format_args!("creating {}", parent.display()), e))?;
        }
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log)
            .map_err(|e| HarnessError::io(format_args!("opening {}", launch.log.display()), e))?;
        // A marker, so a restarted peer's lines are told apart from the previous run's.
        let _ = writeln!(
            out,
            "=== starting {} {}",
            launch.program,
            launch.args.join(" ")
        );
        let err = out
            .try_clone()
            .map_err(|e| HarnessError::io("duplicating the log file handle", e))?;
        let grace_secs = launch.grace.as_secs().max(1).to_string();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WRAPPER)
            .arg(format!("{}-peer", launch.name))
            .arg(grace_secs)
            .arg(&launch.program)
            .args(&launch.args)
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        for k in &launch.env_remove {
            cmd.env_remove(k);
        }
        for (k, v) in &launch.env {
            cmd.env(k, v);
        }
        if let Some(dir) = &launch.dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| {
            HarnessError::Peer(format!(
                "cannot start {} ({}): {e}",
                launch.name, launch.program
            ))
        })?;
        let watchdog = child.stdin.take();
        Ok(PeerProcess {
            name: launch.name.clone(),
            child,
            watchdog,
            log: launch.log.clone(),
            grace: launch.grace,
            exited: false,
        })
    }

    /// The process group id (the wrapper's pid).
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// The peer's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// True while the peer runs (the wrapper exits when the peer does).
    pub fn is_running(&mut self) -> bool {
        if self.exited {
            return false;
        }
        match self.child.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) | Err(_) => {
                self.exited = true;
                false
            }
        }
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Fails with the log's tail when the peer has exited.
    pub fn check_running(&mut self) -> Result<()> {
        if self.is_running() {
            Ok(())
        } else {
            Err(HarnessError::Peer(format!(
                "{} exited; last lines of {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail(40)
            )))
        }
    }

    /// Waits until the log (written since `from`, a byte offset) contains `needle`, failing
    /// early if the peer exits.
    pub fn wait_for_log(&mut self, needle: &str, from: u64, timeout: Duration) -> Result<()> {
        let log = self.log.clone();
        let name = self.name.clone();
        let res = wait_until(&format!("{name} to log `{needle}`"), timeout, || {
            if read_from(&log, from).contains(needle) {
                return Ok(Ok(()));
            }
            if !self.is_running() {
                return Ok(Err(()));
            }
            Err("not logged yet".to_owned())
        });
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(())) => self.check_running(),
            Err(e) => Err(HarnessError::Peer(format!(
                "{e}; last lines of {}:\n{}",
                self.log.display(),
                self.log_tail(40)
            ))),
        }
    }

    /// Stops the peer: `SIGTERM` to the whole group, `SIGKILL` after the grace period, and
    /// waits until no process of the group is left.
    pub fn stop(&mut self) -> Result<()> {
        self.terminate(false)
    }

    /// Kills the peer at once (`SIGKILL` to the group) and waits until it is gone.
    pub fn kill(&mut self) -> Result<()> {
        self.terminate(true)
    }

    fn terminate(&mut self, now: bool) -> Result<()> {
        let pgid = self.pgid();
        // Closing the pipe makes the watchdog stop the group too, in case this process dies
        // while waiting below.
        self.watchdog = None;
        signal_group(pgid, if now { "KILL" } else { "TERM" });
        let deadline = Deadline::after(self.grace);
        while group_alive(pgid) && !deadline.passed() {
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(50));
        }
        if group_alive(pgid) {
            signal_group(pgid, "KILL");
        }
        let gone = wait_until(
            &format!("{} (process group {pgid}) to exit", self.name),
            Duration::from_secs(10),
            || {
                let _ = self.child.try_wait();
                if group_alive(pgid) {
                    Err("still running".to_owned())
                } else {
                    Ok(())
                }
            },
        );
        let _ = self.child.wait();
        self.exited = true;
        gone
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if !self.exited || group_alive(self.pgid()) {
            let _ = self.stop();
        }
    }
}

/// Sends a signal to every process of a group (through the shell's `kill`, which every
/// system has).
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{signal} -{pgid} 2>/dev/null"))
        .stdin(Stdio::null())
        .status();
}

/// True while some process of the group exists (zombies of the test process's children
/// included, which is why callers reap the wrapper).
fn group_alive(pgid: u32) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("kill -0 -{pgid} 2>/dev/null"))
        .stdin(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The size of a file (0 when it does not exist): where a restarted peer's lines start.
pub fn log_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn read_from(path: &Path, from: u64) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        if f.seek(SeekFrom::Start(from)).is_ok() {
            let mut bytes = Vec::new();
            let _ = f.read_to_end(&mut bytes);
            s = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    s
}

/// The last `lines` lines of a file.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let len = log_len(path);
    let text = read_from(path, len.saturating_sub(64 * 1024));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs a one-shot tool (Maven, Go, Java) to completion within `timeout`, in its own
/// process group (killed on timeout), with its output in `log`. On failure the error holds
/// the output's tail.
pub fn run_tool(launch: &Launch, timeout: Duration) -> Result<()> {
    let from = log_len(&launch.log);
    let mut p = PeerProcess::spawn(launch)?;
    let deadline = Deadline::after(timeout);
    let status = loop {
        match p.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if deadline.passed() => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                return Err(HarnessError::io(
                    format_args!("waiting for {}", launch.name),
                    e,
                ))
            }
        }
    };
    p.exited = status.is_some();
    let output = read_from(&launch.log, from);
    let tail: Vec<&str> = output.lines().collect();
    let tail = tail[tail.len().saturating_sub(30)..].join("\n");
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(HarnessError::Fetch(format!(
            "`{} {}` failed ({s}); output:\n{tail}",
            launch.program,
            launch.args.join(" ")
        ))),
        None => {
            let _ = p.kill();
            Err(HarnessError::Fetch(format!(
                "`{} {}` did not finish within {timeout:?}; output:\n{tail}",
                launch.program,
                launch.args.join(" ")
            )))
        }
    }
}
