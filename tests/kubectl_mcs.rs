//! The mcs-basic recipe with its unmodified manifests (../shared/reference/mcs-basic) and
//! real kubectl against `mcs-harness sim up`: `get serviceimport` and `get endpoints
//! gke-mcs-…` show what GKE shows, and curl over clusterset.local answers from cluster a.
//! Also the standalone `mcs-harness importer` against the same fleet.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Lines, SimProcess, harness_bin, root};

fn recipe(file: &str) -> String {
    let p = root().join("../shared/reference/mcs-basic").join(file);
    assert!(
        p.exists(),
        "the recipe's reference manifests are expected at {} (shared/ beside the repo)",
        p.display()
    );
    p.display().to_string()
}

fn until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn recipe_story(sim: &SimProcess) {
    sim.ok(&["--context", "a", "apply", "-f", &recipe("app.yaml")]);
    sim.ok(&["--context", "a", "apply", "-f", &recipe("export.yaml")]);
    sim.ok(&[
        "--context",
        "a",
        "rollout",
        "status",
        "-n",
        "multi-cluster-demo",
        "deployment/whereami",
        "--timeout=30s",
    ]);
    sim.ok(&[
        "--context",
        "b",
        "create",
        "namespace",
        "multi-cluster-demo",
    ]);
    let mut table = String::new();
    until("the import in b with an IP", 30, || {
        table = String::from_utf8_lossy(
            &sim.run(&[
                "--context",
                "b",
                "get",
                "serviceimport",
                "-n",
                "multi-cluster-demo",
            ])
            .stdout,
        )
        .into_owned();
        table.lines().any(|l| {
            l.starts_with("whereami") && l.contains("ClusterSetIP") && l.contains("[\"127.")
        })
    });
    assert!(
        table.starts_with("NAME") && table.contains("TYPE") && table.contains("IP"),
        "{table}"
    );
    let pod_ip = sim.ok(&[
        "--context",
        "a",
        "get",
        "pods",
        "-n",
        "multi-cluster-demo",
        "-o",
        "jsonpath={.items[0].status.podIP}",
    ]);
    until("gke-mcs endpoints in b", 30, || {
        let eps = String::from_utf8_lossy(
            &sim.run(&[
                "--context",
                "b",
                "get",
                "endpoints",
                "-n",
                "multi-cluster-demo",
            ])
            .stdout,
        )
        .into_owned();
        eps.lines()
            .any(|l| l.starts_with("gke-mcs-7pqvt62non") && l.contains(&format!("{pod_ip}:8080")))
    });
    sim.ok(&[
        "--context",
        "b",
        "run",
        "probe",
        "--image=curlimages/curl",
        "--restart=Never",
        "--",
        "sleep",
        "3600",
    ]);
    sim.ok(&[
        "--context",
        "b",
        "wait",
        "--for=condition=Ready",
        "pod/probe",
        "--timeout=30s",
    ]);
    let out = sim.ok(&[
        "--context",
        "b",
        "exec",
        "probe",
        "--",
        "curl",
        "-s",
        "whereami.multi-cluster-demo.svc.clusterset.local",
    ]);
    assert!(out.contains("\"cluster_name\":\"a\""), "{out}");
}

#[test]
fn recipe_with_unmodified_manifests_and_kubectl() {
    let sim = SimProcess::start();
    recipe_story(&sim);
    let lease = sim.ok(&[
        "--context",
        "b",
        "get",
        "lease",
        "gke-mcs-importer",
        "-n",
        "gke-mcs",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    assert!(lease.starts_with("mcs-importer-"), "{lease}");
}

#[test]
fn standalone_importer_command_against_the_fleet() {
    let sim = SimProcess::start_with(&["--no-importer"]);
    let mut importer = Command::new(harness_bin())
        .args([
            "importer",
            "--context",
            "a",
            "--context",
            "b",
            "--install-crds",
            "--kubeconfig",
        ])
        .arg(&sim.kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Lines::of(&mut importer);
    lines.until(60, |l| l.iter().any(|x| x.starts_with("importer running")));
    recipe_story(&sim);
    let _ = Command::new("kill")
        .args(["-TERM", &importer.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(Some(st)) = importer.try_wait() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "importer did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}
