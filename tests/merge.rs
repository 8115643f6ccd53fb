//! Sharding on Kubernetes Jobs, locally: three `run --shard I/3` processes at the same
//! time against one `sim up` fleet (as the pods of examples/k8s/indexed-job.yaml run
//! against a real one), their JSON reports merged by `report merge`, and the merged
//! outcomes compared with one unsharded run of the same scenarios on the same fleet.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{SimProcess, harness_bin, root};

/// `run` bound to the fleet's two contexts, from the project root.
fn run(sim: &SimProcess, extra: &[&str], json: &Path, failing: &Path) -> Command {
    let mut c = Command::new(harness_bin());
    c.current_dir(root())
        .args([
            "run",
            "-q",
            "--cluster",
            "a=a",
            "--cluster",
            "b=b",
            "--kubeconfig",
        ])
        .arg(&sim.kubeconfig)
        .arg("scenarios")
        .arg(failing)
        .args(extra)
        .arg("--json")
        .arg(json)
        .env("CI", "1")
        .env_remove("RUST_LOG");
    c
}

/// Per scenario: its outcome status (with the skip reason) and each step's status.
fn outcomes(report: &serde_json::Value) -> BTreeMap<String, (String, Vec<String>)> {
    let status = |o: &serde_json::Value| match o["status"].as_str() {
        Some("skipped") => format!("skipped: {}", o["reason"].as_str().unwrap_or_default()),
        Some(s) => s.to_string(),
        None => "unfinished".to_string(),
    };
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let steps = s["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|st| status(&st["outcome"]))
                .collect();
            (
                s["name"].as_str().unwrap().to_string(),
                (status(&s["outcome"]), steps),
            )
        })
        .collect()
}

fn read(p: &Path) -> serde_json::Value {
    support::assert_valid_json_report(p);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn all_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn three_shards_merged_equal_the_unsharded_run() {
    let sim = SimProcess::start();
    let dir = sim.dir.path().to_path_buf();
    // A scenario that fails, so that the comparison covers failures too.
    let failing = dir.join("zz-fails.yaml");
    std::fs::write(
        &failing,
        "name: zz-fails\nclusters: [a]\nsteps:\n  - name: never\n    wait: {cluster: a, \
         apiVersion: v1, kind: Namespace, name: never-created, for: .metadata.name exists}\n    \
         timeout: 300ms\n  - sleep: 1ms\n",
    )
    .unwrap();
    let shards: Vec<_> = (0..3)
        .map(|i| {
            let json = dir.join(format!("shard-{i}.json"));
            let child = run(&sim, &["--shard", &format!("{i}/3")], &json, &failing)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (json, child)
        })
        .collect();
    let mut jsons = Vec::new();
    let mut codes = Vec::new();
    for (json, child) in shards {
        let out = child.wait_with_output().unwrap();
        codes.push(out.status.code());
        assert!(json.is_file(), "{}", all_text(&out));
        jsons.push(json);
    }
    // Exactly one shard has the failing scenario.
    assert_eq!(
        codes.iter().filter(|c| **c == Some(1)).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        2,
        "{codes:?}"
    );

    let merged = dir.join("merged.json");
    let junit = dir.join("merged.xml");
    let html = dir.join("merged.html");
    let out = Command::new(harness_bin())
        .args(["report", "merge"])
        .args(&jsons)
        .arg("--json")
        .arg(&merged)
        .arg("--junit")
        .arg(&junit)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    let text = all_text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a merged failure fails the merge: {text}"
    );
    assert!(text.contains("scenario zz-fails ... FAILED"), "{text}");

    let whole = dir.join("whole.json");
    let out = run(&sim, &[], &whole, &failing).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));

    let (merged_doc, whole_doc) = (read(&merged), read(&whole));
    let (got, want) = (outcomes(&merged_doc), outcomes(&whole_doc));
    assert_eq!(got, want);
    assert!(want.len() >= 12, "{want:?}");
    for key in ["passed", "failed", "skipped"] {
        assert_eq!(merged_doc[key], whole_doc[key], "{key}");
    }
    // Each shard's scenarios appear once; the reports of the merged run are written.
    let per_shard: usize = jsons
        .iter()
        .map(|j| read(j)["scenarios"].as_array().unwrap().len())
        .sum();
    assert_eq!(per_shard, want.len());
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"zz-fails\""), "{xml}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("zz-fails"));

    // The merged report works as a baseline (same outcomes: nothing newly failing).
    let out = run(
        &sim,
        &[
            "--filter",
            "^mcs-basic$",
            "--baseline",
            merged.to_str().unwrap(),
            "--max-regression",
            "100000%",
        ],
        &dir.join("again.json"),
        &failing,
    )
    .output()
    .unwrap();
    let text = all_text(&out);
    assert!(text.contains("compared with baseline"), "{text}");
    assert!(text.contains("no regressions"), "{text}");
}

#[test]
fn merge_refuses_what_is_not_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let out = Command::new(harness_bin())
        .args(["report", "merge"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json: not an mcs-harness JSON report"),
        "{err}"
    );
}
