//! The `mcs-harness` command line: help, usage errors (exit 2), bad input named clearly.

mod support;

use std::process::Command;

use support::harness_bin;

#[test]
fn help_lists_the_sim_command() {
    let out = Command::new(harness_bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sim"), "{text}");
    let out = Command::new(harness_bin())
        .args(["sim", "up", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--clusters") && text.contains("--kubeconfig"),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(harness_bin())
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(harness_bin())
        .args(["sim", "up", "--port", "notaport"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn invalid_cluster_name_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(harness_bin())
        .args([
            "sim",
            "up",
            "--clusters",
            "a,Bad_Name",
            "--port",
            "0",
            "--kubeconfig",
        ])
        .arg(dir.path().join("kc"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid cluster name \"Bad_Name\""), "{err}");
    assert!(
        !dir.path().join("kc").exists(),
        "no kubeconfig written on failure"
    );
}

#[test]
fn schema_prints_the_scenario_json_schema() {
    let out = Command::new(harness_bin()).arg("schema").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let defs = v["$defs"].as_object().expect("definitions");
    for kind in ["ClearFaultAction", "ExpectImportAction", "ExpectHttpAction"] {
        assert!(
            defs.contains_key(kind),
            "{kind} missing from {:?}",
            defs.keys().collect::<Vec<_>>()
        );
    }
    assert!(v["properties"]["steps"].is_object(), "{v}");
}

#[test]
fn shipped_schema_file_matches_the_schema_command() {
    let out = Command::new(harness_bin()).arg("schema").output().unwrap();
    assert!(out.status.success());
    let shipped = std::fs::read_to_string(support::root().join("scenario.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        shipped,
        "scenario.schema.json is stale: run `cargo run -- schema > scenario.schema.json`"
    );
    for entry in std::fs::read_dir(support::root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../scenario.schema.json"),
            "{} lacks the modeline",
            path.display()
        );
    }
}
