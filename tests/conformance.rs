//! `mcs-harness conformance` as a user runs it: the binary on the embedded fleet, then its
//! report (conformance.yaml, the HTML section) and its exit code read back. The Required
//! specs only, to keep the test short; every spec is also a test of its own in
//! `tests/scenarios.rs` (`conformance/NN-…`).

mod support;

use std::process::Command;

use serde_json::Value;
use support::{harness_bin, root};

const KEP: &str = "https://github.com/kubernetes/enhancements/tree/master/keps/sig-multicluster/1645-multi-cluster-services-api#";

fn conformance(args: &[&str]) -> std::process::Output {
    Command::new(harness_bin())
        .current_dir(root())
        .arg("conformance")
        .args(args)
        .output()
        .expect("run mcs-harness")
}

#[test]
fn required_specs_on_the_embedded_fleet_give_a_report_with_verdict_links_and_diagnoses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = conformance(&[
        "--required-only",
        "--report-dir",
        &dir.path().display().to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = std::fs::read_to_string(dir.path().join("conformance.yaml")).expect("report");
    let report: Value = serde_saphyr::from_str(&text).expect("YAML report");
    let specs = report["specs"].as_array().expect("specs");
    assert_eq!(
        specs.len(),
        14,
        "the 14 Required specs of the upstream suite"
    );
    for s in specs {
        assert_eq!(s["conformance"], "required", "{s}");
        let anchor = s["labels"]["kep-1645"].as_str().expect("anchor label");
        assert_eq!(s["kep"], format!("{KEP}{anchor}"), "{s}");
        assert!(s["spec"].as_str().is_some_and(|n| n.len() == 2), "{s}");
        match s["result"].as_str() {
            Some("passed") => assert!(s.get("nonConformant").is_none(), "{s}"),
            Some("failed") => {
                assert!(
                    s["nonConformant"][0]
                        .as_str()
                        .is_some_and(|r| r.starts_with("step ")),
                    "{s}"
                );
                assert!(
                    s["diagnosis"]["id"].is_string(),
                    "a failed spec carries the doctor's diagnosis: {s}"
                );
            }
            other => panic!("spec not run on the embedded fleet ({other:?}): {s}"),
        }
    }
    // Every Required spec passes on the embedded upstream fleet (issue 17: the importer to
    // KEP-1645 / mcs-api v0.5), so the verdict is "conformant" and the exit code 0.
    for s in specs {
        assert_eq!(s["result"], "passed", "{s}");
    }
    let required = &report["required"];
    assert_eq!(required["selected"], 14);
    assert_eq!(required["passed"], 14, "{text}");
    assert_eq!(report["result"], "conformant", "{text}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(
        report["fleet"]["implementation"],
        "mcs-harness simulated importer (upstream flavour)"
    );
    assert!(
        report["fleet"]["clusters"][0]["serverVersion"].is_string(),
        "{text}"
    );
    assert!(
        stdout.contains("conformance (KEP-1645, upstream suite): "),
        "{stdout}"
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    let section = html
        .find("<section id=\"conformance\">")
        .expect("conformance section");
    assert!(
        section < html.find("<section id=\"summary\"").expect("summary"),
        "first"
    );
    assert!(
        html.contains(&format!("href=\"{KEP}clustersetip\"")),
        "KEP links"
    );
    for f in ["report.json", "junit.xml"] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    for args in [
        vec!["--scenarios", "no/such/dir", "--report-dir", &d],
        vec!["--timeout-scale", "0", "--report-dir", &d],
        vec!["--cluster", "a", "--report-dir", &d],
    ] {
        let out = conformance(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
}
