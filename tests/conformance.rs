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

/// The importer broken on purpose, one fault per spec family, on a `sim up --flavour
/// upstream` fleet bound through kubeconfig contexts: the specs of that family fail, each
/// with the doctor's diagnosis naming the cause, and the specs outside it still pass.
mod broken {
    use super::*;
    use support::SimProcess;

    /// What a conformance run on a broken fleet gave.
    struct Broken {
        code: Option<i32>,
        result: Value,
        specs: std::collections::BTreeMap<String, Value>,
    }

    /// Applies `spec` as Fault `name` in each of `clusters`, runs the whole conformance
    /// suite against the fleet (timeouts halved: a failing spec waits 10 s) and reads the
    /// report back.
    fn conformance_with_fault(name: &str, spec: &str, clusters: &[&str]) -> Broken {
        conformance_on(&[], name, spec, clusters)
    }

    /// [`conformance_with_fault`] on `sim up --flavour upstream EXTRA…`.
    fn conformance_on(extra: &[&str], name: &str, spec: &str, clusters: &[&str]) -> Broken {
        let mut args = vec!["--flavour", "upstream"];
        args.extend_from_slice(extra);
        let sim = SimProcess::start_with(&args);
        for c in clusters {
            let fault = format!(
                "apiVersion: sim.mcs-harness.dev/v1alpha1\nkind: Fault\nmetadata: {{name: {name}}}\nspec: {spec}\n"
            );
            sim.ok_stdin(&["--context", c, "apply", "-f", "-"], &fault);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = sim.kubeconfig.display().to_string();
        let d = dir.path().display().to_string();
        let out = conformance(&[
            "--kubeconfig",
            &kubeconfig,
            "--cluster",
            "a=a",
            "--cluster",
            "b=b",
            "--timeout-scale",
            "0.5",
            "--report-dir",
            &d,
        ]);
        let text = std::fs::read_to_string(dir.path().join("conformance.yaml")).expect("report");
        let report: Value = serde_saphyr::from_str(&text).expect("YAML report");
        Broken {
            code: out.status.code(),
            result: report["result"].clone(),
            specs: report["specs"]
                .as_array()
                .expect("specs")
                .iter()
                .map(|s| {
                    (
                        s["spec"].as_str().unwrap_or_default().to_string(),
                        s.clone(),
                    )
                })
                .collect(),
        }
    }

    fn family(s: &Value) -> Vec<&str> {
        s["labels"]["upstream-labels"]
            .as_str()
            .unwrap_or_default()
            .split('.')
            .collect()
    }

    fn failed_with(spec: &Value, id: &str) {
        assert_eq!(spec["result"], "failed", "{spec}");
        assert_eq!(spec["diagnosis"]["id"], id, "{spec}");
    }

    /// The importer may not read a's endpoints (as `repro-importer-permission-denied`):
    /// the imports exist, so every Required spec passes and the fleet stays conformant
    /// (exit 0), but the EndpointSlice spec fails, naming the permission problem.
    #[test]
    fn importer_denied_endpoints_fails_the_endpoint_specs_with_its_diagnosis() {
        let r = conformance_with_fault(
            "importer-no-endpoints",
            "{deny: {user: \"system:serviceaccount:gke-mcs:gke-mcs-importer\", resources: [endpoints, endpointslices.discovery.k8s.io]}}",
            &["a"],
        );
        failed_with(&r.specs["16"], "importer-permission-denied");
        for s in r.specs.values() {
            if s["conformance"] == "required" {
                assert_eq!(
                    s["result"], "passed",
                    "Required specs need no endpoints: {s}"
                );
            }
        }
        assert_eq!(r.result, "conformant");
        assert_eq!(r.code, Some(0), "Optional failures do not fail the run");
    }

    /// DNS answers SERVFAIL in both clusters: the DNS specs fail with `dns-failed`, the
    /// specs that read only the API still pass.
    #[test]
    fn dns_outage_fails_the_dns_specs_only() {
        let r = conformance_with_fault("dns-down", "{dns: {mode: ServFail}}", &["a", "b"]);
        for (n, s) in &r.specs {
            let f = family(s);
            if f.contains(&"DNS") {
                failed_with(s, "dns-failed");
            } else if !f.contains(&"Connectivity") && n != "23" {
                assert_eq!(s["result"], "passed", "outside the DNS family: {s}");
            }
        }
        assert_eq!(r.result, "conformant", "no Required spec resolves names");
        assert_eq!(r.code, Some(0));
    }

    /// No importer at all (`sim up --no-importer`): no ServiceImport ever appears, so the
    /// ServiceImport specs fail, each diagnosed `importer-down`, and the fleet is
    /// non-conformant (exit 1).
    #[test]
    fn no_importer_fails_the_import_specs_with_importer_down() {
        let r = conformance_on(&["--no-importer"], "", "", &[]);
        for n in ["01", "04", "05", "09", "12"] {
            let s = &r.specs[n];
            assert_eq!(s["result"], "failed", "{s}");
            // The doctor's propagation window is the run's step timeout (10 s here): an
            // export younger than that is `propagating`, whose summary names what it
            // would become.
            let d = &s["diagnosis"];
            let summary = d["summary"].as_str().unwrap_or_default();
            assert!(
                d["id"] == "importer-down"
                    || (d["id"] == "propagating" && summary.contains("would be `importer-down`")),
                "{s}"
            );
            assert!(summary.contains("no MCS controller has processed"), "{s}");
        }
        assert_eq!(r.result, "non-conformant");
        assert_eq!(r.code, Some(1));
    }
}
