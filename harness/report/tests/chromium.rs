//! The HTML report rendered by headless Chromium (Debian package `chromium`, which CI
//! installs): the DOM after load has the expected sections and no element smuggled in by
//! scenario text, the page logs nothing to the console, and a screenshot is kept as a test
//! artifact in `<target>/test-artifacts/report.png` (next to `report.html`).
//!
//! Console messages: Chromium started with `--enable-logging=stderr --v=0` prints every
//! page console message (errors, uncaught exceptions) to stderr as `INFO:CONSOLE…` lines.
//! The page has no script at all, so none may appear; a canary page with a deliberate
//! `console.error` proves first that this Chromium build does surface them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::html::{assert_self_contained, html_of};
use super::probe_fixtures::html_run;

/// How long one Chromium invocation may take before the test gives up on it.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);

/// `chromium` on PATH, or a failure telling how to install it (never a silent pass).
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`chromium` is not on PATH: the HTML report test renders the page in headless \
                 Chromium. Install it (Debian/Ubuntu: `sudo apt-get install -y chromium`) and \
                 run the tests again."
            )
        })
}

/// The cargo target directory of this test binary (`…/target/debug/deps/x` → `…/target`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    if let Some(dir) = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()) {
        return dir.to_path_buf();
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// What one Chromium run printed.
struct Output {
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `page` with `extra` flags, with its own profile in `work`.
fn run_chromium(work: &Path, tag: &str, page: &Path, extra: &[String]) -> Output {
    let (out_path, err_path) = (
        work.join(format!("{tag}.out")),
        work.join(format!("{tag}.err")),
    );
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join(format!("profile-{tag}")).display()
        ))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("failed to start chromium");
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium ({tag}) did not finish within {CHROMIUM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = Output {
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    };
    assert!(
        status.success(),
        "chromium ({tag}) failed: {status}\n{}",
        output.stderr
    );
    output
}

/// Page console messages Chromium logged.
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// A page with a deliberate console error is caught: this Chromium build logs page console
/// messages the way [`console_lines`] expects.
fn assert_console_detector_works(work: &Path) {
    let canary = work.join("canary.html");
    let page = "<!DOCTYPE html><title>c</title><script>console.error('canary')</script>";
    std::fs::write(&canary, page).unwrap();
    let out = run_chromium(work, "canary", &canary, &["--dump-dom".into()]);
    assert!(
        console_lines(&out.stderr)
            .iter()
            .any(|l| l.contains("canary")),
        "chromium did not log the canary's console error; the console check cannot work:\n{}",
        out.stderr
    );
}

/// The DOM after load has every section, no element made of scenario text, and the page
/// logged nothing to the console.
fn assert_dom(work: &Path, page: &Path) {
    let out = run_chromium(work, "dom", page, &["--dump-dom".into()]);
    let dom = out.stdout;
    for part in [
        "<header id=\"run\" class=\"failed\">",
        "<section id=\"summary\"><h2>Summary</h2>",
        "<section class=\"scenario\" id=\"scenario-0-mcs-basic\">",
        "<h3>Propagation waterfall</h3><p class=\"hint\">",
        "<svg class=\"waterfall\"",
        "<h3>Background probes</h3>",
        "<svg class=\"timeline\"",
        "<h3>Failures</h3><div class=\"failure\"",
        "<pre class=\"diff\">",
        "<h5>diagnosis: endpoints-empty (cluster b)</h5>",
        "<table class=\"checks\">",
        "evil &lt;script&gt;alert(1)&lt;/script&gt;",
    ] {
        assert!(dom.contains(part), "DOM lacks {part:?}:\n{dom}");
    }
    assert_eq!(dom.matches("<section class=\"scenario\"").count(), 3);
    assert!(
        !dom.contains("<script"),
        "scenario text became an element:\n{dom}"
    );
    let console = console_lines(&out.stderr);
    assert!(
        console.is_empty(),
        "the page logged to the console:\n{}",
        console.join("\n")
    );
}

/// A 1280×2000 screenshot is written to `shot` and is a real PNG.
fn assert_screenshot(work: &Path, page: &Path, shot: &Path) {
    let _ = std::fs::remove_file(shot);
    let flags = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1280,2000".into(),
    ];
    let out = run_chromium(work, "shot", page, &flags);
    assert!(console_lines(&out.stderr).is_empty(), "{}", out.stderr);
    let png =
        std::fs::read(shot).unwrap_or_else(|e| panic!("no screenshot {}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10_000, "screenshot is only {} bytes", png.len());
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let work = tempfile::tempdir().unwrap();
    let artifacts = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let page = artifacts.join("report.html");
    let doc = html_of(&html_run());
    assert_self_contained(&doc);
    assert!(
        !doc.contains("<script"),
        "no script, so no console output is possible"
    );
    std::fs::write(&page, &doc).unwrap();
    assert_console_detector_works(work.path());
    assert_dom(work.path(), &page);
    assert_screenshot(work.path(), &page, &artifacts.join("report.png"));
}
