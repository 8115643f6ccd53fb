//! The `mcs-harness` command line: help, usage errors (exit 2), bad input named clearly.

mod support;

use std::process::Command;

use support::{harness_bin, root};

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
    for (dir, modeline) in [
        (
            "scenarios",
            "# yaml-language-server: $schema=../scenario.schema.json",
        ),
        (
            "scenarios/conformance",
            "# yaml-language-server: $schema=../../scenario.schema.json",
        ),
    ] {
        for entry in std::fs::read_dir(support::root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with(modeline),
                "{} lacks the modeline",
                path.display()
            );
        }
    }
}

#[test]
fn bad_run_command_lines_exit_2_before_anything_runs() {
    let run = |args: &[&str]| {
        Command::new(harness_bin())
            .current_dir(root())
            .arg("run")
            .args(args)
            .output()
            .unwrap()
    };
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let out = run(&["--jobs", "0", "scenarios/mcs-basic.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
    assert!(err(&out).contains("--jobs"), "{}", err(&out));
    let out = run(&[
        "--cluster",
        "a=x",
        "--cluster",
        "a=y",
        "scenarios/mcs-basic.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
    assert!(
        err(&out).contains("cluster \"a\" is bound twice with --cluster"),
        "{}",
        err(&out)
    );
    // A logical cluster name is a DNS-1123 label (as in scenarios); the context may be anything.
    let out = run(&[
        "--cluster",
        "Cluster_A=gke_p_z_c",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
        "scenarios/mcs-basic.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
    assert!(
        err(&out).contains("cluster name \"Cluster_A\" is not a DNS-1123 label"),
        "{}",
        err(&out)
    );
    for (flag, path) in [
        ("--junit", "/nonexistent-dir/junit.xml"),
        ("--json", "/proc/report.json"),
        ("--html", "scenarios"),
    ] {
        let out = run(&[flag, path, "scenarios/mcs-basic.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", err(&out));
        assert!(
            err(&out).contains(&format!("cannot write the report {path}")),
            "{flag}: {}",
            err(&out)
        );
    }
    let out = run(&["--preflight-timeout", "0s", "scenarios/mcs-basic.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' schema | head -1; echo \"status=${{PIPESTATUS:-}}\"",
            harness_bin()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(text.starts_with('{'), "{text}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The exit status of the harness itself, seen through bash's pipe status.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' schema | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}",
            harness_bin()
        ))
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(code, "0", "{}", String::from_utf8_lossy(&out.stderr));
}
