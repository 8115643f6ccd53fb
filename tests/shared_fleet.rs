//! Runs sharing one fleet (a `sim up` fleet bound with `--cluster`, as a real fleet would be):
//! the portable suite on a fleet without faults, two runs with faults at once, a run killed
//! mid-way and `gc` after it, `--keep` and its gc command, and no false failures under
//! injected API errors.

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{SimProcess, harness_bin, root};

fn run_cmd(sim: &SimProcess, args: &[&str]) -> Command {
    let mut c = Command::new(harness_bin());
    c.current_dir(root())
        .arg("run")
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .args(["--cluster", "a=a", "--cluster", "b=b"])
        .args(args)
        .env("CI", "1");
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every object and Fault carrying the run label, and every run Lease, in both clusters.
fn leftovers(sim: &SimProcess) -> Vec<String> {
    let mut out = Vec::new();
    for ctx in ["a", "b"] {
        for args in [
            vec![
                "get",
                "namespaces,pods,services,deployments",
                "-A",
                "-l",
                "mcs-harness.dev/run-id",
                "-o",
                "name",
            ],
            vec![
                "get",
                "faults",
                "-l",
                "mcs-harness.dev/run-id",
                "-o",
                "name",
            ],
            vec!["get", "leases", "-n", "mcs-harness", "-o", "name"],
        ] {
            let mut a = vec!["--context", ctx];
            a.extend(args.iter());
            let o = sim.run(&a);
            let listed = String::from_utf8_lossy(&o.stdout).into_owned();
            out.extend(
                listed
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(|l| format!("{ctx}: {l}")),
            );
        }
    }
    out
}

fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_shipped_suite_on_a_fleet_without_faults_passes_the_portable_scenarios() {
    let sim = SimProcess::start_with(&["--no-faults"]);
    let json = sim.dir.path().join("report.json");
    let out = run_cmd(&sim, &["--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    support::assert_valid_json_report(&json);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let outcome = |name: &str| {
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["outcome"].clone())
            .unwrap_or_else(|| panic!("{name} in the report: {all}"))
    };
    for name in [
        "mcs-basic",
        "namespace-opt-in",
        "scale-to-zero",
        "repro-external-name",
        "repro-namespace-missing",
        "upgrade-budget-broken",
    ] {
        assert_eq!(outcome(name)["status"], "passed", "{name}: {all}");
    }
    for (name, why) in [
        ("multi-exporter", "needs 3 clusters; this fleet has 2"),
        ("headless-upstream", "needs the upstream MCS API"),
        ("api-chaos", "Fault API"),
        ("repro-partition", "Fault API"),
        ("repro-importer-permission-denied", "Fault API"),
        ("upgrade-disruption", "Fault API"),
    ] {
        let o = outcome(name);
        assert_eq!(o["status"], "skipped", "{name}: {all}");
        assert!(o["reason"].as_str().unwrap().contains(why), "{name}: {o}");
    }
    assert!(all.contains("6 passed; 0 failed; 6 skipped"), "{all}");
    assert!(leftovers(&sim).is_empty(), "{:?}", leftovers(&sim));
}

#[test]
fn two_runs_with_faults_share_a_fleet_without_breaking_each_other() {
    let sim = SimProcess::start();
    let scenarios = [
        "scenarios/api-chaos.yaml",
        "scenarios/repro-partition.yaml",
        "scenarios/mcs-basic.yaml",
    ];
    for round in 1..=10 {
        let start = || -> Child {
            run_cmd(&sim, &scenarios)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (one, two) = (start(), start());
        for child in [one, two] {
            let out = child.wait_with_output().unwrap();
            let all = text(&out);
            assert_eq!(out.status.code(), Some(0), "round {round}: {all}");
            assert!(all.contains("3 passed; 0 failed"), "round {round}: {all}");
            assert!(
                all.contains("installs faults on shared clusters: runs alone"),
                "round {round}: {all}"
            );
        }
    }
    assert!(leftovers(&sim).is_empty(), "{:?}", leftovers(&sim));
}

/// A scenario that installs a Fault and then waits, so a run can be caught mid-way.
const SLOW: &str = "name: slow\nclusters: [a, b]\nsteps:\n  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}\n  - fault: {cluster: b, name: slow-dns, spec: {dns: {mode: Drop}}}\n  - sleep: 5m\n";

fn mid_run(sim: &SimProcess, extra: &[&str]) -> Child {
    let scenario = sim.dir.path().join("slow.yaml");
    std::fs::write(&scenario, SLOW).unwrap();
    let child = run_cmd(sim, extra)
        .arg(&scenario)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the run's Fault", 60, || {
        let o = sim.run(&[
            "--context",
            "b",
            "get",
            "faults",
            "-l",
            "mcs-harness.dev/run-id",
            "-o",
            "name",
        ]);
        !String::from_utf8_lossy(&o.stdout).trim().is_empty()
    });
    child
}

fn gc(sim: &SimProcess, extra: &[&str]) -> Output {
    Command::new(harness_bin())
        .arg("gc")
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .args(["--cluster", "a=a", "--cluster", "b=b"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn gc_after_sigkill_removes_what_the_run_left_and_never_a_live_runs() {
    let sim = SimProcess::start();
    let mut child = mid_run(&sim, &[]);
    // While the run lives, gc leaves it alone.
    let out = gc(&sim, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("is alive: left alone"),
        "{}",
        text(&out)
    );
    assert!(!leftovers(&sim).is_empty());
    // SIGKILL: no cleanup runs; the Lease says the process is gone.
    child.kill().unwrap();
    child.wait().unwrap();
    let left = leftovers(&sim);
    assert!(left.iter().any(|l| l.contains("fault")), "{left:?}");
    assert!(left.iter().any(|l| l.contains("namespace/")), "{left:?}");
    let out = gc(&sim, &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("(not alive): removed"), "{said}");
    assert!(said.contains("Fault slow-dns-"), "{said}");
    assert_eq!(leftovers(&sim), Vec::<String>::new());
    // Nothing is left for the next gc.
    let again = text(&gc(&sim, &[]));
    assert!(again.contains("nothing left by any run"), "{again}");
}

#[test]
fn a_kept_run_stays_until_gc_is_asked_for_it() {
    let sim = SimProcess::start();
    let scenario = sim.dir.path().join("kept.yaml");
    std::fs::write(
        &scenario,
        "name: kept\nclusters: [a, b]\nsteps:\n  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}\n",
    )
    .unwrap();
    let out = run_cmd(&sim, &["--keep"]).arg(&scenario).output().unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let cmd = said
        .lines()
        .find(|l| l.trim_start().starts_with("mcs-harness gc "))
        .unwrap_or_else(|| panic!("the gc command is printed: {said}"));
    assert!(cmd.contains("--run-id "), "{cmd}");
    assert!(said.contains("kubectl --kubeconfig"), "{said}");
    // A later run's gc (and a plain gc) leave it alone.
    let plain = text(&gc(&sim, &[]));
    assert!(plain.contains("was kept (--keep): left alone"), "{plain}");
    assert!(!leftovers(&sim).is_empty());
    // The printed command removes it.
    let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    let out = Command::new(harness_bin()).args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(leftovers(&sim), Vec::<String>::new());
}

#[test]
fn run_collects_what_a_killed_run_left_before_it_starts() {
    let sim = SimProcess::start();
    let mut child = mid_run(&sim, &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = run_cmd(&sim, &["scenarios/namespace-opt-in.yaml"])
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("gc: removed what dead run"), "{said}");
    assert_eq!(leftovers(&sim), Vec::<String>::new());
}

#[test]
fn mcs_basic_has_no_false_failures_under_injected_api_errors() {
    let sim = SimProcess::start();
    for ctx in ["a", "b"] {
        sim.ok_stdin(
            &["--context", ctx, "apply", "-f", "-"],
            "apiVersion: sim.mcs-harness.dev/v1alpha1\nkind: Fault\nmetadata: {name: flaky}\nspec: {apiErrors: {rate: 0.3, codes: [500, 503, 429], watchDropSeconds: 2}}\n",
        );
    }
    let out = run_cmd(
        &sim,
        &["--repeat", "30", "--jobs", "6", "scenarios/mcs-basic.yaml"],
    )
    .output()
    .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("30 passed; 0 failed"), "{said}");
    for ctx in ["a", "b"] {
        sim.ok(&["--context", ctx, "delete", "fault", "flaky"]);
    }
    assert_eq!(leftovers(&sim), Vec::<String>::new());
}
