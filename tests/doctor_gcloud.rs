//! `mcs-harness doctor --gcloud` with a stand-in `gcloud` on PATH answering from
//! `fixtures/gcloud/` (as the kind tests stand in for kind and docker), on the GKE-shaped
//! fleet of `tests/support/gke.rs`: memberships come from `gcloud container fleet
//! memberships list` (no `--membership`), a `PENDING` membership is propagating, a missing
//! IAM binding is evidence only, and Traffic Director's backend health is read.

mod support;

use std::path::Path;

use serde_json::Value;
use support::SimProcess;
use support::gke::{self, SVC};

/// Writes the stand-in gcloud into `dir/bin`; it logs every call to `dir/calls.log`.
fn stand_in(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let script = r#"#!/bin/sh
echo "$*" >> "$GCLOUD_CALLS"
case "$*" in
  "container fleet multi-cluster-services describe"*) cat "$GCLOUD_DESCRIBE" ;;
  "container fleet memberships list"*) cat "$GCLOUD_MEMBERSHIPS" ;;
  "projects get-iam-policy"*) cat "$GCLOUD_POLICY" ;;
  "compute backend-services get-health"*) cat "$GCLOUD_HEALTH" ;;
  *) echo "ERROR: (gcloud) unexpected command: $*" >&2; exit 1 ;;
esac
"#;
    let path = bin.join("gcloud");
    std::fs::write(&path, script).expect("write gcloud");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The fleet's memberships as `memberships list` shows them: gke-1 is cluster `a`, gke-2 is
/// cluster `b` (same shape as `fixtures/gcloud/memberships-list.json`).
fn memberships(dir: &Path) -> String {
    let fixture = support::root().join("fixtures/gcloud/memberships-list.json");
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let mut list: Vec<Value> = serde_json::from_str(&text).expect("json");
    for (m, (name, cluster)) in list.iter_mut().zip([("gke-1", "a"), ("gke-2", "b")]) {
        m["name"] = format!("projects/my-project/locations/us-central1/memberships/{name}").into();
        m["endpoint"]["gkeCluster"]["resourceLink"] =
            format!("//container.googleapis.com/projects/my-project/locations/us-central1/clusters/{cluster}").into();
    }
    let path = dir.join("memberships.json");
    std::fs::write(&path, serde_json::to_string(&list).expect("json")).expect("write");
    path.display().to_string()
}

fn fixture(name: &str) -> String {
    support::root()
        .join("fixtures/gcloud")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn doctor_reads_the_fleet_through_gcloud() {
    let sim = SimProcess::start_with(&["--no-importer"]);
    let pod = gke::build(&sim);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = stand_in(dir.path());
    let calls = dir.path().join("calls.log");
    let (calls_s, members) = (calls.display().to_string(), memberships(dir.path()));
    let run = |describe: &str, policy: &str| {
        let (describe, policy, health) = (
            fixture(describe),
            fixture(policy),
            fixture("backend-health.json"),
        );
        let env = [
            ("PATH", path.as_str()),
            ("GCLOUD_CALLS", calls_s.as_str()),
            ("GCLOUD_DESCRIBE", describe.as_str()),
            ("GCLOUD_MEMBERSHIPS", members.as_str()),
            ("GCLOUD_POLICY", policy.as_str()),
            ("GCLOUD_HEALTH", health.as_str()),
        ];
        let args = [
            "--gcloud",
            "--project",
            "my-project",
            "--no-probes",
            "--propagation-window",
            "0",
        ];
        gke::doctor(&sim, SVC, &args, &env)
    };
    let rows = |d: &Value, link: &str| -> Vec<String> {
        let all = d["checks"].as_array().cloned().unwrap_or_default();
        all.iter()
            .filter(|r| r["cluster"] == "gcloud" && r["link"] == link)
            .map(|r| {
                format!(
                    "{} {}",
                    r["state"].as_str().unwrap_or(""),
                    r["detail"].as_str().unwrap_or("")
                )
            })
            .collect()
    };

    // Healthy; memberships mapped by gcloud, so status.clusters is judged (not just shown).
    let (code, d) = run("mcs-describe-ok.json", "iam-policy-principal.json");
    assert_eq!((code, d["id"].as_str()), (0, Some("healthy")), "{d:#}");
    let import = d["checks"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|r| r["cluster"] == "a" && r["link"] == "import")
        })
        .and_then(|r| r["detail"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(!import.contains("not judged"), "{import}");
    assert!(rows(&d, "importer-iam")[0].starts_with("ok "), "{d:#}");
    let log = std::fs::read_to_string(&calls).expect("calls");
    assert!(
        log.contains("container fleet memberships list --project my-project --format json"),
        "{log}"
    );
    assert!(
        log.contains("projects get-iam-policy my-project --format json"),
        "{log}"
    );

    // Endpoints emptied in b: endpoints-empty, with Traffic Director's view of the backends.
    gke::import(&sim, "b", &gke::whereami(vec![]));
    let (code, d) = run("mcs-describe-ok.json", "iam-policy-principal.json");
    assert_eq!(
        (code, d["id"].as_str(), d["cluster"].as_str()),
        (1, Some("endpoints-empty"), Some("b")),
        "{d:#}"
    );
    assert!(
        rows(&d, "backend-health")[0].contains("1/2 backends HEALTHY"),
        "{d:#}"
    );
    let evidence = d["evidence"].to_string();
    assert!(evidence.contains("10.24.2.5:8080 UNHEALTHY"), "{evidence}");
    assert!(
        d["remedy"]
            .as_str()
            .unwrap_or_default()
            .contains("get-health gkemcs-multi-cluster-demo-whereami-tcp-PORT")
    );
    let log = std::fs::read_to_string(&calls).expect("calls");
    assert!(
        log.contains("compute backend-services get-health gkemcs-multi-cluster-demo-whereami-tcp-80 --global --project my-project --format json"),
        "{log}"
    );

    // No binding found: evidence and a grant in the remedy, the id stays.
    let (code, d) = run("mcs-describe-ok.json", "iam-policy-unbound.json");
    assert_eq!(
        (code, d["id"].as_str()),
        (1, Some("endpoints-empty")),
        "{d:#}"
    );
    assert!(
        d["remedy"]
            .as_str()
            .unwrap_or_default()
            .contains("add-iam-policy-binding my-project")
    );
    assert!(
        rows(&d, "importer-iam")[0].contains("evidence only"),
        "{d:#}"
    );

    // A membership still PENDING: the same break is propagating.
    let (code, d) = run("mcs-describe-pending.json", "iam-policy-bound.json");
    assert_eq!((code, d["id"].as_str()), (1, Some("propagating")), "{d:#}");
    assert!(
        d["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("gke-2 is PENDING"),
        "{d:#}"
    );
    assert!(
        rows(&d, "fleet-mcs")[0].starts_with("propagating "),
        "{d:#}"
    );

    gke::import(&sim, "b", &gke::whereami(vec![pod]));
    let (code, d) = run("mcs-describe-ok.json", "iam-policy-bound.json");
    assert_eq!((code, d["id"].as_str()), (0, Some("healthy")), "{d:#}");
}
