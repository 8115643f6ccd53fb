//! `mcs-harness run` as a user runs it: against a fleet started with `sim up` through
//! `--cluster NAME=CONTEXT` bindings (the kubeconfig-contexts provider, the same code path
//! as GKE), JUnit output, exit codes for bad input, and cleanup after Ctrl-C.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{SimProcess, harness_bin, root};

fn run_bound(sim: &SimProcess, extra: &[&str]) -> std::process::Output {
    Command::new(harness_bin())
        .current_dir(root())
        .args([
            "run",
            "--cluster",
            "a=a",
            "--cluster",
            "b=b",
            "--kubeconfig",
        ])
        .arg(&sim.kubeconfig)
        .args(extra)
        .env("CI", "1")
        .output()
        .expect("run mcs-harness")
}

/// Objects labelled by any harness run, in both clusters (kubectl's own words).
fn leftovers(sim: &SimProcess) -> Vec<String> {
    let mut out = Vec::new();
    for ctx in ["a", "b"] {
        let text = sim.ok(&[
            "--context",
            ctx,
            "get",
            "namespaces,deployments,services,pods,serviceexports,faults",
            "-A",
            "-l",
            "mcs-harness.dev/run-id",
            "-o",
            "name",
        ]);
        out.extend(text.lines().map(|l| format!("{ctx}: {l}")));
    }
    out
}

#[test]
fn shipped_scenarios_pass_on_contexts_with_junit() {
    let sim = SimProcess::start();
    let junit = sim.dir.path().join("junit.xml");
    let json = sim.dir.path().join("report.json");
    let markdown = sim.dir.path().join("summary.md");
    let out = run_bound(
        &sim,
        &[
            "--json",
            json.to_str().unwrap(),
            "--markdown",
            markdown.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "scenarios/mcs-basic.yaml",
            "scenarios/namespace-opt-in.yaml",
            "scenarios/scale-to-zero.yaml",
            "scenarios/headless-upstream.yaml",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("provider contexts a=a, b=b") || stdout.contains("contexts a=a, b=b"),
        "{stdout}"
    );
    assert!(stdout.contains("scenario mcs-basic ... ok"), "{stdout}");
    // The fleet serves net.gke.io only: the upstream scenario is skipped, and says why.
    assert!(stdout.contains("headless-upstream"), "{stdout}");
    assert!(
        stdout.contains("needs the upstream MCS API (multicluster.x-k8s.io/v1alpha1), which this fleet does not serve"),
        "{stdout}"
    );
    assert!(stdout.contains("3 passed; 0 failed; 1 skipped"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit");
    assert_eq!(report.test_suites.len(), 4, "{xml}");
    let basic = report
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == "mcs-basic")
        .unwrap();
    assert_eq!(basic.test_cases.len(), 18, "one case per step");
    assert_eq!(report.failures, 0);
    support::assert_valid_json_report(&json);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        (report["passed"].as_u64(), report["skipped"].as_u64()),
        (Some(3), Some(1))
    );
    let basic = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mcs-basic")
        .unwrap();
    let milestones = basic["milestones"].as_array().unwrap();
    let seen = |m: &str, c: &str| {
        milestones
            .iter()
            .any(|x| x["milestone"] == m && x["cluster"] == c && x["sinceExportMs"].is_number())
    };
    assert!(seen("importSeen", "b") && seen("dnsCorrect", "b") && seen("firstHttp200", "b"));
    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(md.contains("| mcs-basic |"), "{md}");
    assert!(leftovers(&sim).is_empty(), "{:?}", leftovers(&sim));
}

#[test]
fn upstream_scenario_passes_on_an_upstream_fleet() {
    let sim = SimProcess::start_with(&["--flavour", "upstream"]);
    let out = run_bound(&sim, &["scenarios/headless-upstream.yaml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed; 0 failed; 0 skipped"), "{stdout}");
}

#[test]
fn malformed_scenarios_exit_2_naming_every_file_line_and_column() {
    let dir = root().join("tests/scenario_errors");
    let out = Command::new(harness_bin())
        .current_dir(root())
        .arg("run")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("# expect: ");
        let (pos, _) = expect.split_once(' ').unwrap();
        let needle = format!("{}:{pos}: ", path.display());
        assert!(stderr.contains(&needle), "{needle} missing from:\n{stderr}");
        files += 1;
    }
    assert!(
        stderr.contains(&format!("{files} scenario file(s) have errors")),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let sim_less = |args: &[&str]| {
        Command::new(harness_bin())
            .current_dir(root())
            .args(args)
            .output()
            .unwrap()
    };
    let out = sim_less(&["run", "--cluster", "a", "scenarios/mcs-basic.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected NAME=CONTEXT"));
    let out = sim_less(&["run", "no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.yaml: no such file"));
    let sim = SimProcess::start();
    let out = Command::new(harness_bin())
        .current_dir(root())
        .args(["run", "--cluster", "a=a", "--kubeconfig"])
        .arg(&sim.kubeconfig)
        .arg("scenarios/mcs-basic.yaml")
        .output()
        .unwrap();
    // A fleet on which no selected scenario can run is a usage error, not a green run.
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no scenario can run on this fleet")
            && stderr.contains("mcs-basic: needs 2 clusters; this fleet has 1"),
        "{stderr}"
    );
    // Enough clusters, but a scenario names one the command line does not bind.
    let out = Command::new(harness_bin())
        .current_dir(root())
        .args([
            "run",
            "--cluster",
            "a=a",
            "--cluster",
            "x=b",
            "--kubeconfig",
        ])
        .arg(&sim.kubeconfig)
        .arg("scenarios/mcs-basic.yaml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "names cluster \"b\", which is not bound (bound: a=a, x=b): add --cluster b=CONTEXT"
        ),
        "{stderr}"
    );
}

#[test]
fn sigint_mid_run_cleans_up_everything() {
    interrupted_mid_run_cleans_up_everything("-INT", 130);
}

#[test]
fn sigterm_mid_run_cleans_up_everything() {
    interrupted_mid_run_cleans_up_everything("-TERM", 143);
}

/// Sends `signal` mid-run: the run cleans up, then exits with `code` (128 + the signal).
fn interrupted_mid_run_cleans_up_everything(signal: &str, code: i32) {
    let sim = SimProcess::start();
    let scenario = sim.dir.path().join("slow.yaml");
    std::fs::write(
        &scenario,
        "name: slow\nclusters: [a, b]\nsteps:\n  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}\n  - export: {cluster: a, service: whereami}\n  - fault: {cluster: b, name: slow-dns, spec: {dns: {mode: Drop}}}\n  - sleep: 5m\n",
    )
    .unwrap();
    let mut child = Command::new(harness_bin())
        .current_dir(root())
        .args([
            "run",
            "--cluster",
            "a=a",
            "--cluster",
            "b=b",
            "--kubeconfig",
        ])
        .arg(&sim.kubeconfig)
        .arg(&scenario)
        .env("CI", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run is mid-scenario once its Fault exists (the step after it sleeps). On shared
    // clusters its name carries the run id.
    let deadline = Instant::now() + Duration::from_secs(60);
    let fault_of_the_run = || {
        let out = sim.run(&[
            "--context",
            "b",
            "get",
            "faults",
            "-l",
            "mcs-harness.dev/run-id",
            "-o",
            "name",
        ]);
        String::from_utf8_lossy(&out.stdout).contains("fault.sim.mcs-harness.dev/slow-dns-")
    };
    while !fault_of_the_run() {
        assert!(
            Instant::now() < deadline,
            "the run never reached its fault step"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!leftovers(&sim).is_empty(), "objects exist mid-run");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect::<Vec<_>>()
        .join("\n");
    // 128 + the signal, after cleanup.
    assert_eq!(status.code(), Some(code), "{stdout}");
    assert!(stdout.contains("cancelled"), "{stdout}");
    assert_eq!(leftovers(&sim), Vec::<String>::new());
}

#[test]
fn injected_propagation_delay_is_a_regression_against_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    let run = |extra: &[&str]| {
        Command::new(harness_bin())
            .current_dir(root())
            .args(["run", "scenarios/namespace-opt-in.yaml"])
            .args(extra)
            .env("CI", "1")
            .output()
            .unwrap()
    };
    let out = run(&["--json", base.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    support::assert_valid_json_report(&base);
    let (junit, html, json, md) = (
        dir.path().join("junit.xml"),
        dir.path().join("report.html"),
        dir.path().join("again.json"),
        dir.path().join("summary.md"),
    );
    let out = run(&[
        "--baseline",
        base.to_str().unwrap(),
        "--propagation-delay",
        "600ms",
        "--repeat",
        "2",
        "--junit",
        junit.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("test result: ok. 2 passed"),
        "the scenarios pass: {stdout}"
    );
    assert!(
        stdout.contains("REGRESSION namespace-opt-in importSeen@a: "),
        "{stdout}"
    );
    // The findings are an event like any other: every report shows them, and the console's
    // result line comes last.
    let regression = "namespace-opt-in importSeen@a: ";
    let last = stdout.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(last.starts_with("test result: "), "{stdout}");
    assert!(
        stdout.find("REGRESSION namespace-opt-in") < stdout.find("test result: "),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(regression), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(regression), "{page}");
    let summary = std::fs::read_to_string(&md).unwrap();
    assert!(summary.contains(regression), "{summary}");
    support::assert_valid_json_report(&json);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["comparison"]["baseline"], base.to_str().unwrap());
    let regressions = doc["comparison"]["regressions"].as_array().unwrap();
    assert!(
        regressions
            .iter()
            .any(|r| r.as_str().unwrap().starts_with(regression)),
        "{regressions:?}"
    );
    let out = run(&["--baseline", "no/such/base.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("baseline no/such/base.json: cannot read")
    );
}
