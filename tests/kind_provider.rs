//! `run --provider kind` as a user runs it, without Docker: two clusters whose contexts are
//! named like kind's (`kind-mcs-1`, `kind-mcs-2`) are served by `sim up --no-importer` with
//! kind's `kube-system/coredns` objects, so the provider takes its "reuse" path: it sets the
//! clusters up through the kube API (CRDs, Corefile stanza), runs the importer in-process
//! (nothing else imports here) and binds scenario clusters to the contexts in order.
//! The create path needs `kind` and Docker, the k3s provider a Docker daemon; without them
//! the errors say what to do. The create path's orchestration (which commands, in which
//! order, with which KUBECONFIG, routes from `docker inspect` answers) is exercised with
//! stand-in `kind` and `docker` scripts that log their arguments and, for `kind create
//! cluster`, add the matching `sim up` context to the kubeconfig as kind would.

mod support;

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use support::{SimProcess, harness_bin, root};

/// kind's CoreDNS objects (kubeadm's default Corefile), as tests and benchmarks share them.
fn kind_coredns() -> String {
    std::fs::read_to_string(root().join("fixtures/kind/coredns.yaml")).unwrap()
}

/// `sim up --no-importer` with clusters named like kind's, carrying kind's CoreDNS objects.
fn kind_like_sim(contexts: &[&str]) -> SimProcess {
    let sim = SimProcess::start_clusters(&contexts.join(","), &["--no-importer"]);
    for ctx in contexts {
        sim.ok_stdin(&["--context", ctx, "apply", "-f", "-"], &kind_coredns());
    }
    sim
}

/// `mcs-harness ARGS` from the repository root, with `CI` and the extra environment set.
fn harness<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>, env: &[(&str, &OsStr)]) -> Output {
    let mut cmd = Command::new(harness_bin());
    cmd.current_dir(root()).args(args).env("CI", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run mcs-harness")
}

/// `mcs-harness run --provider kind …` with an empty PATH (no kind, no docker).
fn run_kind(sim: &SimProcess, args: &[&str]) -> Output {
    let empty = tempfile::tempdir().unwrap();
    let mut all: Vec<&OsStr> = ["run", "--provider", "kind", "--kubeconfig"]
        .map(OsStr::new)
        .to_vec();
    all.push(sim.kubeconfig.as_os_str());
    all.extend(args.iter().map(OsStr::new));
    harness(all, &[("PATH", empty.path().as_os_str())])
}

/// The Corefile of `ctx`'s `kube-system/coredns`, read with kubectl.
fn corefile(sim: &SimProcess, ctx: &str) -> String {
    sim.ok(&[
        "--context",
        ctx,
        "-n",
        "kube-system",
        "get",
        "configmap",
        "coredns",
        "-o",
        "jsonpath={.data.Corefile}",
    ])
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
    let sim = kind_like_sim(&["kind-mcs-1", "kind-mcs-2"]);
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
        all.contains("needs the upstream MCS API (multicluster.x-k8s.io/v1alpha1), which this fleet does not serve (it serves: gke)"),
        "{all}"
    );
    assert!(all.contains("needs 3 clusters; this fleet has 2"), "{all}");
    for ctx in ["kind-mcs-1", "kind-mcs-2"] {
        // The setup's Corefile stanza, read back with kubectl.
        let corefile = corefile(&sim, ctx);
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
fn three_reused_kind_clusters_run_the_three_cluster_scenario() {
    let sim = kind_like_sim(&["kind-tri-1", "kind-tri-2", "kind-tri-3"]);
    let out = run_kind(
        &sim,
        &[
            "--kind-prefix",
            "tri",
            "--cluster-count",
            "3",
            "scenarios/multi-exporter.yaml",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("kind (reused): tri-1=kind-tri-1, tri-2=kind-tri-2, tri-3=kind-tri-3"),
        "{all}"
    );
    assert!(all.contains("1 passed; 0 failed; 0 skipped"), "{all}");
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
    let out = harness(
        ["run", "--provider", "k3s", "scenarios/mcs-basic.yaml"],
        &[("DOCKER_HOST", OsStr::new("tcp://127.0.0.1:1"))],
    );
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

/// Stand-in `kind` and `docker` in `bin/`, logging to `calls.log`. `kind create cluster
/// --name N` merges context `kind-N` of `contexts/kind-N.kubeconfig` into $KUBECONFIG (what
/// kind does); `docker inspect … NODE` prints 172.18.0.{1,2}; everything else just succeeds.
fn fake_tools(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("calls.log");
    let contexts = dir.join("contexts");
    let kind = format!(
        r#"#!/bin/sh
echo "kind $* [KUBECONFIG=$KUBECONFIG]" >> {log}
if [ "$1 $2" = "create cluster" ]; then
  [ -f "$6" ] || {{ echo "config $6 missing" >&2; exit 1; }}
  src={contexts}/kind-$4.kubeconfig
  if [ -f "$KUBECONFIG" ]; then
    KUBECONFIG="$KUBECONFIG:$src" kubectl config view --raw --flatten > "$KUBECONFIG.new"
    mv "$KUBECONFIG.new" "$KUBECONFIG"
  else
    cp "$src" "$KUBECONFIG"
  fi
fi
"#,
        log = log.display(),
        contexts = contexts.display()
    );
    let docker = format!(
        r#"#!/bin/sh
echo "docker $*" >> {log}
case "$1" in
  inspect) case "$4" in *-1-control-plane) echo 172.18.0.1 ;; *) echo 172.18.0.2 ;; esac ;;
esac
"#,
        log = log.display()
    );
    for (name, text) in [("kind", kind), ("docker", docker)] {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn absent_kind_clusters_are_created_routed_set_up_and_used() {
    let sim = kind_like_sim(&["kind-mcs-1", "kind-mcs-2"]);
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("contexts")).unwrap();
    for ctx in ["kind-mcs-1", "kind-mcs-2"] {
        // The context kind would write for this cluster, on its own.
        let one = sim.ok(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "--flatten",
            "--context",
            ctx,
        ]);
        std::fs::write(work.path().join(format!("contexts/{ctx}.kubeconfig")), one).unwrap();
    }
    fake_tools(work.path());
    let kubeconfig = work.path().join("kubeconfig"); // absent: no kind cluster yet
    let path = format!(
        "{}:{}",
        work.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let path = OsStr::new(&path);
    let out = harness(
        [
            OsStr::new("run"),
            OsStr::new("--provider"),
            OsStr::new("kind"),
            OsStr::new("--kubeconfig"),
            kubeconfig.as_os_str(),
            OsStr::new("scenarios/mcs-basic.yaml"),
        ],
        &[("PATH", path)],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("creating kind clusters mcs-1, mcs-2"), "{all}");
    assert!(
        all.contains("kind (created): mcs-1=kind-mcs-1, mcs-2=kind-mcs-2"),
        "{all}"
    );
    assert!(all.contains("1 passed; 0 failed; 0 skipped"), "{all}");
    let calls = std::fs::read_to_string(work.path().join("calls.log")).unwrap();
    let kc = kubeconfig.display();
    let want = [
        "kind version".to_string(),
        format!("kind create cluster --name mcs-1 --config fixtures/kind/mcs-1.yaml [KUBECONFIG={kc}]"),
        format!("kind create cluster --name mcs-2 --config fixtures/kind/mcs-2.yaml [KUBECONFIG={kc}]"),
        "docker version".to_string(),
        "docker inspect -f {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} mcs-2-control-plane".to_string(),
        "docker exec mcs-1-control-plane ip route replace 10.20.0.0/16 via 172.18.0.2".to_string(),
        "docker version".to_string(),
        "docker inspect -f {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} mcs-1-control-plane".to_string(),
        "docker exec mcs-2-control-plane ip route replace 10.10.0.0/16 via 172.18.0.1".to_string(),
    ];
    // Only `kind create` needs the KUBECONFIG it was given.
    let got: Vec<String> = calls
        .lines()
        .map(|l| match l.starts_with("kind create") {
            true => l.to_string(),
            false => l.split(" [KUBECONFIG=").next().unwrap_or(l).to_string(),
        })
        .collect();
    assert_eq!(got, want, "{calls}");
    // What kind would have left behind was then set up through the kube API.
    for ctx in ["kind-mcs-1", "kind-mcs-2"] {
        let corefile = corefile(&sim, ctx);
        assert!(corefile.contains("clusterset.local:53 {"), "{corefile}");
    }

    // `kind up` (not dry-run) with the same stand-ins, then `kind down`.
    let kind_cmd = |args: &[&str]| {
        harness(
            args,
            &[("KUBECONFIG", kubeconfig.as_os_str()), ("PATH", path)],
        )
    };
    std::fs::write(work.path().join("calls.log"), "").unwrap();
    let up = kind_cmd(&["kind", "up"]);
    let all = text(&up);
    assert_eq!(up.status.code(), Some(0), "{all}");
    assert!(all.contains("kind-mcs-1: set up"), "{all}");
    assert!(
        all.ends_with(
            "next: mcs-harness importer --context kind-mcs-1 --context kind-mcs-2 --flavour gke --coredns-records\n"
        ),
        "{all}"
    );
    let down = kind_cmd(&["kind", "down"]);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    let calls = std::fs::read_to_string(work.path().join("calls.log")).unwrap();
    assert!(
        calls.contains("kind create cluster --name mcs-2"),
        "{calls}"
    );
    assert!(
        calls.contains("kind delete cluster --name mcs-1"),
        "{calls}"
    );
    assert!(
        calls.contains("kind delete cluster --name mcs-2"),
        "{calls}"
    );
}
