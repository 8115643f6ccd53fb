//! `mcs-harness doctor` (`crate::doctor_cmd`) against an embedded fleet through a written
//! kubeconfig: flags, the fleet rule without `--cluster`, exit codes, table and JSON.

use std::time::Duration;

use clap::Parser;

use super::recipe::{NS, Recipe};
use crate::doctor_cmd::{ClusterArg, DoctorArgs, DoctorCmdError, parse_cluster, run};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: DoctorArgs,
}

fn args(kubeconfig: &std::path::Path, extra: &[&str]) -> DoctorArgs {
    let mut argv = vec!["doctor", "-n", NS, "whereami", "--kubeconfig"];
    let path = kubeconfig.to_str().expect("utf-8 path");
    argv.push(path);
    argv.extend(extra);
    Cli::try_parse_from(argv).expect("valid flags").args
}

async fn run_to_string(a: &DoctorArgs) -> (Result<i32, DoctorCmdError>, String) {
    let mut out = Vec::new();
    let code = run(a, &mut out).await;
    (code, String::from_utf8(out).expect("utf-8"))
}

#[test]
fn flags_and_cluster_values() {
    let a = Cli::try_parse_from(["doctor", "-n", "ns", "svc"])
        .expect("minimal")
        .args;
    assert_eq!(a.flavour, mcs_importer::Flavour::Gke);
    assert_eq!(a.propagation_window, Duration::from_secs(300));
    assert_eq!(a.probe_image, "busybox:1.36");
    assert!(a.clusters.is_empty() && !a.json && !a.no_probes && !a.gcloud);
    let a = Cli::try_parse_from([
        "doctor",
        "-n",
        "ns",
        "svc",
        "--cluster",
        "a=kind-a",
        "--cluster",
        "b",
        "--flavour",
        "upstream",
        "--propagation-window",
        "0",
        "--json",
        "--no-probes",
    ])
    .expect("all flags")
    .args;
    assert_eq!(a.flavour, mcs_importer::Flavour::Upstream);
    assert_eq!(a.propagation_window, Duration::ZERO);
    assert_eq!(
        a.clusters,
        [
            ClusterArg {
                name: "a".into(),
                context: "kind-a".into()
            },
            ClusterArg {
                name: "b".into(),
                context: "b".into()
            }
        ]
    );
    assert!(parse_cluster("=ctx").is_err() && parse_cluster("a=").is_err());
    for bad in [
        vec!["doctor", "svc"],
        vec!["doctor", "-n", "ns", "svc", "--flavour", "istio"],
        vec!["doctor", "-n", "ns", "svc", "--propagation-window", "soon"],
    ] {
        assert!(Cli::try_parse_from(bad.clone()).is_err(), "{bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_fleet_exits_0_broken_exits_1() {
    let r = Recipe::start(mcs_importer::Flavour::Gke, true, Duration::ZERO).await;
    r.healthy().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("kubeconfig");
    r.fleet.fleet.write_kubeconfig(&kc).expect("kubeconfig");

    // Without --cluster: every context serving net.gke.io ServiceImports (a and b).
    let (code, out) = run_to_string(&args(&kc, &[])).await;
    assert_eq!(code.expect("runs"), 0, "{out}");
    assert!(
        out.starts_with("doctor: Service multi-cluster-demo/whereami (net.gke.io) in a, b\n"),
        "{out}"
    );
    assert!(out.contains("\nhttp             ✓  ✓\n"), "{out}");
    assert!(
        out.ends_with("✓ healthy: every link holds in every cluster (2)\n"),
        "{out}"
    );
    assert!(!out.contains("token"), "no credentials in the output");

    // Renamed clusters; b's namespace gone: a broken link, exit 1, JSON.
    super::recipe::create_namespace(&r.b, "other").await;
    let ns: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(r.b.clone());
    ns.delete(NS, &Default::default())
        .await
        .expect("delete namespace");
    super::recipe::wait_until("namespace gone in b", || async {
        match ns.get_opt(NS).await {
            Ok(None) => Ok(()),
            other => Err(format!("{:?}", other.map(|n| n.map(|n| n.status)))),
        }
    })
    .await;
    let a = args(
        &kc,
        &[
            "--cluster",
            "east=a",
            "--cluster",
            "west=b",
            "--json",
            "--no-probes",
        ],
    );
    let (code, out) = run_to_string(&a).await;
    assert_eq!(code.expect("runs"), 1, "{out}");
    let d: serde_json::Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(
        (d["id"].as_str(), d["cluster"].as_str()),
        (Some("namespace-missing"), Some("west")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors() {
    let r = Recipe::start(mcs_importer::Flavour::Gke, true, Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("kubeconfig");
    r.fleet.fleet.write_kubeconfig(&kc).expect("kubeconfig");
    let (code, _) = run_to_string(&args(&kc, &["--cluster", "x=no-such-context"])).await;
    assert!(matches!(code, Err(DoctorCmdError::Context(_))), "{code:?}");
    let (code, _) = run_to_string(&args(&kc, &["--cluster", "a", "--cluster", "a=b"])).await;
    assert!(
        matches!(code, Err(DoctorCmdError::DuplicateCluster(_))),
        "{code:?}"
    );
    let (code, _) = run_to_string(&args(&kc, &["--from", "zzz"])).await;
    assert!(
        matches!(code, Err(DoctorCmdError::UnknownFrom(..))),
        "{code:?}"
    );
    let (code, _) = run_to_string(&args(&kc, &["--membership", "gke-1=nope"])).await;
    let err = code.expect_err("unknown membership context");
    assert!(
        err.to_string()
            .contains("not one of the clusters diagnosed (a, b)"),
        "{err}"
    );
    assert!(Cli::try_parse_from(["doctor", "-n", "ns", "svc", "--membership", "gke-1"]).is_err());
    let parse = |i: &str| Cli::try_parse_from(["doctor", "-n", "ns", "svc", "--implementation", i]);
    assert!(parse("calico").is_err());
    assert!(parse("cloud-map").is_ok());
    // Implementation profiles are for the upstream flavour.
    let (code, _) = run_to_string(&args(&kc, &["--implementation", "cilium"])).await;
    let err = code.expect_err("gke with a profile");
    assert!(err.to_string().contains("--flavour upstream"), "{err}");
    // The fleet serves only the GKE API: no context qualifies for upstream.
    let (code, _) = run_to_string(&args(&kc, &["--flavour", "upstream"])).await;
    let err = code.expect_err("no fleet");
    assert!(err.to_string().contains("tried: a, b"), "{err}");
    let (code, _) = run_to_string(&args(&dir.path().join("missing"), &[])).await;
    assert!(
        matches!(code, Err(DoctorCmdError::Kubeconfig { .. })),
        "{code:?}"
    );
}
