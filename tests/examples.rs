//! The shipped CI examples stay true to the CLI: every `mcs-harness run` flag they use
//! exists, the CronJob's RBAC grants what a run needs and no wildcards.

mod support;

use std::process::Command;

use support::{harness_bin, root};

fn run_help() -> String {
    let out = Command::new(harness_bin())
        .args(["run", "--help"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `--flag` tokens in `text` (value parts after `=` dropped).
fn flags(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '(')
        .filter(|t| t.starts_with("--") && t.len() > 2)
        .map(|t| {
            t.split('=')
                .next()
                .unwrap()
                .trim_end_matches([',', ')'])
                .to_string()
        })
        .collect()
}

#[test]
fn nightly_workflow_uses_existing_flags_and_all_reports() {
    let text = std::fs::read_to_string(root().join("examples/ci/nightly-gke.yml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let steps = doc["jobs"]["mcs"]["steps"].as_array().unwrap();
    let run = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("mcs-harness run"))
        .expect("a step runs mcs-harness");
    let help = run_help();
    let used = flags(run);
    for f in &used {
        assert!(
            help.contains(f.as_str()),
            "{f} is not a `run` flag:\n{help}"
        );
    }
    for want in [
        "--junit",
        "--json",
        "--html",
        "--markdown",
        "--baseline",
        "--repeat",
        "--cluster",
    ] {
        assert!(
            used.iter().any(|f| f == want),
            "{want} missing from the workflow's run step"
        );
    }
}

#[test]
fn cronjob_rbac_is_minimal_and_args_are_valid() {
    let text = std::fs::read_to_string(root().join("examples/k8s/cronjob.yaml")).unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "CronJob"
        ]
    );
    let rules = docs[2]["rules"].as_array().unwrap();
    for r in rules {
        for field in ["apiGroups", "resources", "verbs"] {
            let values = r[field].as_array().unwrap();
            assert!(values.iter().all(|v| v != "*"), "wildcard in {r}");
        }
    }
    let grants = |res: &str, verb: &str| {
        rules.iter().any(|r| {
            r["resources"].as_array().unwrap().iter().any(|x| x == res)
                && r["verbs"].as_array().unwrap().iter().any(|x| x == verb)
        })
    };
    for (res, verb) in [
        ("namespaces", "create"),
        ("namespaces", "delete"),
        ("pods/exec", "create"),
        ("serviceexports", "create"),
        ("serviceimports", "watch"),
        ("endpointslices", "list"),
    ] {
        assert!(grants(res, verb), "the ClusterRole must grant {verb} {res}");
    }
    assert!(!grants("secrets", "get"), "no access to secrets");
    let job = &docs[4]["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(job["serviceAccountName"], "mcs-harness");
    let args: Vec<&str> = job["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "run");
    assert!(args.contains(&"--cluster=a=@in-cluster"), "{args:?}");
    let help = run_help();
    for f in flags(&args.join(" ")) {
        assert!(help.contains(f.as_str()), "{f} is not a `run` flag");
    }
}
