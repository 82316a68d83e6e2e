//! Fetching the peers through their registries' ordinary clients, cached so that a second
//! run downloads nothing: Zipkin's executable jar and Kafka's class path through Maven, the
//! Appdash server through Go. Results live under the peers directory ([`peers_dir`]);
//! Maven's and Go's own caches (`~/.m2`, the Go module and build caches) are used too.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{HarnessError, Result};
use crate::process::{run_tool, Launch};

/// The Zipkin server version the tests run.
pub const ZIPKIN_VERSION: &str = "3.6.1";

/// The version of `maven-dependency-plugin` used to fetch (named explicitly: Maven 3.8's
/// default binding is old).
pub const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.10.0";

/// The variables that point the tests at servers started elsewhere.
pub const EXTERNAL_VARS: &str =
    "ZIPKIN_URL, KAFKA_BOOTSTRAP_SERVERS, APPDASH_COLLECTOR and APPDASH_URL";

/// How long one fetch (download or build) may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(900);

/// One fetch at a time per process (Maven's local repository and Go's caches are shared).
static FETCH_LOCK: Mutex<()> = Mutex::new(());

/// The project-owned recipe files (`pom.xml`, `go.mod`, logging configuration), in this
/// crate's `peers/` directory.
pub fn recipe_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Where fetched peers, their data and their logs go: `$INTEGRATION_PEERS_DIR` if set,
/// otherwise `peers/` in Cargo's target directory (found from the test executable's path,
/// `target/<profile>/deps/<test>`).
pub fn peers_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("INTEGRATION_PEERS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().ok();
    let target = exe
        .as_deref()
        .and_then(Path::parent) // deps
        .and_then(Path::parent) // debug
        .and_then(Path::parent); // target
    match target {
        Some(t) if t.join("CACHEDIR.TAG").exists() || t.ends_with("target") => t.join("peers"),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("peers"),
    }
}

/// A directory for this test process's logs and data: `peers/run/<pid>`. The first call
/// removes the directories of earlier test processes that are no longer running.
pub fn run_dir() -> PathBuf {
    static PRUNED: std::sync::Once = std::sync::Once::new();
    let runs = peers_dir().join("run");
    PRUNED.call_once(|| {
        if let Ok(entries) = std::fs::read_dir(&runs) {
            for e in entries.flatten() {
                let pid = e.file_name().to_string_lossy().into_owned();
                let alive = Path::new("/proc").join(&pid).exists();
                if !alive && pid.bytes().all(|b| b.is_ascii_digit()) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    });
    runs.join(std::process::id().to_string())
}

fn tool_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    out.status.success().then_some(s)
}

/// Checks that `java` 17 or newer is on `PATH` (Zipkin 3 and Kafka need it).
pub fn require_java() -> Result<()> {
    let Some(out) = tool_output("java", &["-version"]) else {
        return Err(HarnessError::MissingTool {
            tool: "java",
            detail: "`java -version` could not be run (no Java on PATH)".to_owned(),
            instead: EXTERNAL_VARS,
        });
    };
    // `openjdk version "17.0.15" ...` or `java version "1.8.0_..."`.
    let version = out
        .split('"')
        .nth(1)
        .unwrap_or_default()
        .split(['.', '-', '+'])
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if version < 17 {
        return Err(HarnessError::MissingTool {
            tool: "java",
            detail: format!(
                "Java 17 or newer is needed (Zipkin 3 is a Java 17 program); `java -version` says: {}",
                out.lines().next().unwrap_or_default()
            ),
            instead: EXTERNAL_VARS,
        });
    }
    Ok(())
}

/// Checks that Maven (`mvn`) is on `PATH`.
pub fn require_maven() -> Result<()> {
    match tool_output("mvn", &["-v"]) {
        Some(_) => Ok(()),
        None => Err(HarnessError::MissingTool {
            tool: "mvn",
            detail: "`mvn -v` could not be run (Maven fetches Zipkin and Kafka from Maven \
                     Central)"
                .to_owned(),
            instead: EXTERNAL_VARS,
        }),
    }
}

/// Checks that Go (`go`) is on `PATH`.
pub fn require_go() -> Result<()> {
    match tool_output("go", &["version"]) {
        Some(_) => Ok(()),
        None => Err(HarnessError::MissingTool {
            tool: "go",
            detail: "`go version` could not be run (Go builds the Appdash server)".to_owned(),
            instead: "APPDASH_COLLECTOR and APPDASH_URL",
        }),
    }
}

fn hash_files(files: &[PathBuf]) -> Result<String> {
    let mut h = DefaultHasher::new();
    for f in files {
        let bytes = std::fs::read(f)
            .map_err(|e| HarnessError::io(format_args!("reading {}", f.display()), e))?;
        bytes.hash(&mut h);
    }
    Ok(format!("{:016x}", h.finish()))
}

fn create_dir(d: &Path) -> Result<()> {
    std::fs::create_dir_all(d)
        .map_err(|e| HarnessError::io(format_args!("creating {}", d.display()), e))
}

fn tool_launch(name: &str, program: &str, args: Vec<String>, dir: &Path, log: PathBuf) -> Launch {
    Launch {
        name: name.to_owned(),
        program: program.to_owned(),
        args,
        env: Vec::new(),
        env_remove: Vec::new(),
        dir: Some(dir.to_path_buf()),
        log,
        grace: Duration::from_secs(2),
    }
}

/// `target`, fetched first when `present` says it is missing: `require` checks the tool,
/// then `fetch` runs under [`FETCH_LOCK`], unless another thread fetched it meanwhile.
fn fetch_once(
    target: PathBuf,
    present: fn(&Path) -> bool,
    require: fn() -> Result<()>,
    fetch: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    if present(&target) {
        return Ok(target);
    }
    require()?;
    let _lock = FETCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !present(&target) {
        fetch(&target)?;
    }
    Ok(target)
}

/// Runs `mvn -B -q ARGS` in `dir`, its output in `log`.
fn maven(args: Vec<String>, dir: &Path, log: PathBuf) -> Result<()> {
    let mut all = vec!["-B".to_owned(), "-q".to_owned()];
    all.extend(args);
    run_tool(&tool_launch("maven", "mvn", all, dir, log), FETCH_TIMEOUT)
}

/// The Zipkin server's executable jar (`io.zipkin:zipkin-server:VERSION:jar:exec`), fetched
/// with Maven on first use.
pub fn zipkin_jar() -> Result<PathBuf> {
    let dir = peers_dir().join(format!("zipkin-{ZIPKIN_VERSION}"));
    let jar = dir.join(format!("zipkin-server-{ZIPKIN_VERSION}-exec.jar"));
    fetch_once(jar, Path::is_file, require_maven, |jar| {
        let tmp = dir.join(format!("download-{}", std::process::id()));
        create_dir(&tmp)?;
        maven(
            vec![
                format!("{DEPENDENCY_PLUGIN}:copy"),
                format!("-Dartifact=io.zipkin:zipkin-server:{ZIPKIN_VERSION}:jar:exec"),
                format!("-DoutputDirectory={}", tmp.display()),
            ],
            &tmp,
            dir.join("fetch.log"),
        )?;
        let fetched = tmp.join(format!("zipkin-server-{ZIPKIN_VERSION}-exec.jar"));
        std::fs::rename(&fetched, jar).map_err(|e| {
            HarnessError::Fetch(format!(
                "Maven ran but {} is not there ({e}); see {}",
                fetched.display(),
                dir.join("fetch.log").display()
            ))
        })?;
        let _ = std::fs::remove_dir_all(&tmp);
        Ok(())
    })
}

/// The Kafka broker's class path directory (`peers/kafka/pom.xml` copied with
/// `dependency:copy-dependencies`), fetched with Maven on first use; a new pom makes a new
/// directory.
pub fn kafka_lib() -> Result<PathBuf> {
    let pom = recipe_dir().join("kafka").join("pom.xml");
    let key = hash_files(std::slice::from_ref(&pom))?;
    let dir = peers_dir().join(format!("kafka-{key}"));
    let lib = dir.join("lib");
    fetch_once(lib, Path::is_dir, require_maven, |lib| {
        let tmp = dir.join(format!("lib-download-{}", std::process::id()));
        create_dir(&tmp)?;
        maven(
            vec![
                "-f".into(),
                pom.display().to_string(),
                format!("{DEPENDENCY_PLUGIN}:copy-dependencies"),
                "-DincludeScope=runtime".into(),
                format!("-DoutputDirectory={}", tmp.display()),
            ],
            &dir,
            dir.join("fetch.log"),
        )?;
        let has_kafka = std::fs::read_dir(&tmp)
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("kafka_2.13-"))
            })
            .unwrap_or(false);
        if !has_kafka {
            return Err(HarnessError::Fetch(format!(
                "Maven ran but {} holds no kafka_2.13 jar; see {}",
                tmp.display(),
                dir.join("fetch.log").display()
            )));
        }
        std::fs::rename(&tmp, lib)
            .map_err(|e| HarnessError::io(format_args!("renaming {}", tmp.display()), e))
    })
}

/// The Appdash server binary, built with Go from `peers/appdash/go.mod` on first use (the
/// module and build caches make later builds fast; a changed `go.sum` makes a new binary).
pub fn appdash_binary() -> Result<PathBuf> {
    let recipe = recipe_dir().join("appdash");
    let key = hash_files(&[recipe.join("go.mod"), recipe.join("go.sum")])?;
    let dir = peers_dir().join("appdash");
    let bin = dir.join(format!("appdash-{key}"));
    fetch_once(bin, Path::is_file, require_go, |bin| {
        create_dir(&dir)?;
        let tmp = dir.join(format!("appdash-build-{}", std::process::id()));
        let mut launch = tool_launch(
            "go",
            "go",
            vec![
                "build".into(),
                "-trimpath".into(),
                "-o".into(),
                tmp.display().to_string(),
                "sourcegraph.com/sourcegraph/appdash/cmd/appdash".into(),
            ],
            &recipe,
            dir.join("build.log"),
        );
        launch.env = vec![
            ("GOFLAGS".into(), "-mod=readonly -buildvcs=false".into()),
            ("GOWORK".into(), "off".into()),
            ("GOTOOLCHAIN".into(), "local".into()),
            ("CGO_ENABLED".into(), "0".into()),
        ];
        run_tool(&launch, FETCH_TIMEOUT)?;
        std::fs::rename(&tmp, bin)
            .map_err(|e| HarnessError::io(format_args!("renaming {}", tmp.display()), e))
    })
}

/// A free loopback TCP port (bound and released; the peer binds it right after).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| HarnessError::io("binding a loopback port", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| HarnessError::io("reading a bound port", e))
}
