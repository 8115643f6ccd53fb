//! Helpers for black-box tests of the `mcs-harness` binary: start `sim up` as a child
//! process, run real kubectl against it, wait for output with a deadline.
#![allow(dead_code)]

pub mod embedded_upstream;
pub mod gke;
pub mod upstream;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `mcs-harness sim up`.
pub struct SimProcess {
    child: Child,
    /// Temporary directory holding the kubeconfig and kubectl's cache.
    pub dir: tempfile::TempDir,
    /// The kubeconfig the fleet wrote.
    pub kubeconfig: PathBuf,
    /// Lines printed at start-up.
    pub banner: Vec<String>,
}

/// The `mcs-harness` binary under test.
pub fn harness_bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcs-harness")
}

/// The project root (for fixtures).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl SimProcess {
    /// Starts `sim up --clusters a,b` on free ports and waits until it serves.
    pub fn start() -> SimProcess {
        Self::start_with(&[])
    }

    /// Starts `sim up --clusters a,b` with extra arguments.
    pub fn start_with(extra: &[&str]) -> SimProcess {
        Self::start_clusters("a,b", extra)
    }

    /// Starts `sim up --clusters CLUSTERS` (comma-separated) with extra arguments.
    pub fn start_clusters(clusters: &str, extra: &[&str]) -> SimProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let mut child = Command::new(harness_bin())
            .args([
                "sim",
                "up",
                "--clusters",
                clusters,
                "--port",
                "0",
                "--kubeconfig",
            ])
            .arg(&kubeconfig)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mcs-harness");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("sim up prints its banner within 60s");
            let done = line.starts_with("serving");
            banner.push(line);
            if done {
                break;
            }
        }
        std::thread::spawn(move || for _ in rx {});
        SimProcess {
            child,
            dir,
            kubeconfig,
            banner,
        }
    }

    /// A kubectl command against this fleet (own cache dir, context `a` unless overridden).
    pub fn kubectl(&self) -> Command {
        let mut c = Command::new("kubectl");
        c.env("KUBECONFIG", &self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"));
        c
    }

    /// Runs kubectl with `args`, returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.kubectl().args(args).output().expect("kubectl runs")
    }

    /// Runs kubectl with `args` and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl with `args`, feeding `stdin`; returns the output whatever the exit code.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .kubectl()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("kubectl output")
    }

    /// Runs kubectl with `args`, feeding `stdin`; asserts success; returns stdout.
    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_stdin(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "sim did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects a child's stdout lines in the background; `until` waits on them with a deadline.
pub struct Lines {
    rx: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Lines {
    /// Takes over `child`'s piped stdout.
    pub fn of(child: &mut Child) -> Lines {
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Reads until `pred` holds for the lines seen so far; panics after `secs` seconds.
    pub fn until(&mut self, secs: u64, pred: impl Fn(&[String]) -> bool) -> &[String] {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while !pred(&self.seen) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!("timed out; got {:?}", self.seen),
            }
        }
        &self.seen
    }
}

/// Polls `f` until it returns Some, or panics after `secs` seconds naming `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A `Write` into shared memory, so the console report can go into a failure message.
#[derive(Clone, Default)]
pub struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `plan` with the plain console reporter writing into memory; the summary and the
/// console text (for failure messages).
pub async fn run_captured(
    plan: Vec<mcs_harness::engine::Planned>,
    provider: std::sync::Arc<dyn mcs_harness::fleet::Provider>,
) -> Result<(mcs_harness::engine::RunSummary, String), String> {
    use mcs_harness::report::{Console, ConsoleMode, Reporter};
    let out = Buffer::default();
    let console: Box<dyn Reporter> =
        Box::new(Console::new(Box::new(out.clone()), ConsoleMode::Plain));
    let cfg = mcs_harness::engine::RunConfig::default();
    let intro = mcs_harness::engine::RunIntro::default();
    let (summary, _) = mcs_harness::run_cmd::run_with(plan, provider, cfg, intro, console)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let text = String::from_utf8_lossy(&out.0.lock().map_err(|_| "poisoned")?).into_owned();
    Ok((summary, text))
}

/// The JSON Schema of reports, as `mcs-harness schema --report` prints it (read once).
fn report_validator() -> &'static jsonschema::Validator {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new(harness_bin())
            .args(["schema", "--report"])
            .output()
            .expect("run mcs-harness schema --report");
        assert!(out.status.success(), "schema --report: {out:?}");
        let schema: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("schema --report prints JSON");
        jsonschema::validator_for(&schema).expect("schema --report is a valid JSON Schema")
    })
}

/// Asserts that the JSON report at `path` (written by `run --json` or `report merge --json`)
/// conforms to `mcs-harness schema --report`; every test that writes one calls it.
pub fn assert_valid_json_report(path: &Path) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read JSON report {}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("JSON report {} is not JSON: {e}", path.display()));
    let errors: Vec<String> = report_validator()
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not match `schema --report`:\n{}",
        path.display(),
        errors.join("\n")
    );
}
