//! `run --provider kind` as a user runs it, without Docker: two clusters whose contexts are
//! named like kind's (`kind-mcs-1`, `kind-mcs-2`) are served by `sim up --no-importer` with
//! kind's `kube-system/coredns` objects, so the provider takes its "reuse" path: it sets the
//! clusters up through the kube API (CRDs, Corefile stanza), runs the importer in-process
//! (nothing else imports here) and binds scenario clusters to the contexts in order.
//! The create path needs `kind` and Docker, the k3s provider a Docker daemon; without them
//! the errors say what to do.

mod support;

use std::process::{Command, Output};

use support::{SimProcess, harness_bin, root};

/// kind's CoreDNS objects (kubeadm's default Corefile).
const KIND_COREDNS: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30
        loop
        reload
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers:
      - {name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.3, args: [-conf, /etc/coredns/Corefile]}
"#;

/// `mcs-harness run --provider kind …` with an empty PATH (no kind, no docker).
fn run_kind(sim: &SimProcess, args: &[&str]) -> Output {
    let empty = tempfile::tempdir().unwrap();
    Command::new(harness_bin())
        .current_dir(root())
        .args(["run", "--provider", "kind", "--kubeconfig"])
        .arg(&sim.kubeconfig)
        .args(args)
        .env("CI", "1")
        .env("PATH", empty.path())
        .output()
        .expect("run mcs-harness")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn reused_kind_clusters_run_scenarios_with_the_in_process_importer() {
    let sim = SimProcess::start_clusters("kind-mcs-1,kind-mcs-2", &["--no-importer"]);
    for ctx in ["kind-mcs-1", "kind-mcs-2"] {
        sim.ok_stdin(&["--context", ctx, "apply", "-f", "-"], KIND_COREDNS);
    }
    let out = run_kind(
        &sim,
        &[
            "scenarios/mcs-basic.yaml",
            "scenarios/headless-upstream.yaml",
            "scenarios/multi-exporter.yaml",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("reusing kind clusters mcs-1, mcs-2"), "{all}");
    assert!(
        all.contains("warning: cross-cluster pod routes not re-applied"),
        "{all}"
    );
    assert!(
        all.contains("kind (reused): mcs-1=kind-mcs-1, mcs-2=kind-mcs-2; gke importer in-process"),
        "{all}"
    );
    assert!(all.contains("1 passed; 0 failed; 2 skipped"), "{all}");
    assert!(
        all.contains("needs the upstream MCS flavour; the kind clusters were set up for gke"),
        "{all}"
    );
    assert!(
        all.contains("needs 3 clusters; the kind provider has 2"),
        "{all}"
    );
    for ctx in ["kind-mcs-1", "kind-mcs-2"] {
        // The setup's Corefile stanza, read back with kubectl.
        let corefile = sim.ok(&[
            "--context",
            ctx,
            "-n",
            "kube-system",
            "get",
            "configmap",
            "coredns",
            "-o",
            "jsonpath={.data.Corefile}",
        ]);
        assert!(corefile.contains("clusterset.local:53 {"), "{corefile}");
        assert_eq!(corefile.matches("# mcs-harness records begin").count(), 1);
        // The in-process importer held the lease (sim up ran without one).
        let holder = sim.ok(&[
            "--context",
            ctx,
            "-n",
            "gke-mcs",
            "get",
            "lease",
            "gke-mcs-importer",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ]);
        assert!(holder.starts_with("mcs-importer-"), "{holder}");
    }
    // A second run reuses the same clusters: the setup is idempotent.
    let again = run_kind(&sim, &["scenarios/scale-to-zero.yaml"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}

#[test]
fn half_built_or_absent_kind_clusters_exit_2_with_what_to_do() {
    let sim = SimProcess::start_clusters("kind-half-1", &["--no-importer"]);
    let half = run_kind(&sim, &["--kind-prefix", "half", "scenarios/mcs-basic.yaml"]);
    let all = text(&half);
    assert_eq!(half.status.code(), Some(2), "{all}");
    assert!(
        all.contains("kind context kind-half-2 is not usable"),
        "{all}"
    );
    assert!(all.contains("while kind-half-1 answers"), "{all}");
    assert!(
        all.contains("mcs-harness kind down --name-prefix half"),
        "{all}"
    );

    let none = run_kind(&sim, &["--kind-prefix", "nope", "scenarios/mcs-basic.yaml"]);
    let all = text(&none);
    assert_eq!(none.status.code(), Some(2), "{all}");
    assert!(
        all.contains("creating kind clusters nope-1, nope-2"),
        "{all}"
    );
    assert!(all.contains("`kind` was not found on PATH"), "{all}");
}

#[test]
fn k3s_without_a_docker_daemon_exits_2_saying_what_to_do() {
    let out = Command::new(harness_bin())
        .current_dir(root())
        .args(["run", "--provider", "k3s", "scenarios/mcs-basic.yaml"])
        .env("CI", "1")
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .output()
        .expect("run mcs-harness");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    if cfg!(feature = "k3s") {
        assert!(
            all.contains("no Docker daemon answers at tcp://127.0.0.1:1"),
            "{all}"
        );
        assert!(all.contains("--cluster NAME=CONTEXT"), "{all}");
    } else {
        assert!(
            all.contains("rebuild with `cargo build --release --features k3s`"),
            "{all}"
        );
    }
}
