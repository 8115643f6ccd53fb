//! Preflight: a cluster that is down, rejects the credentials, fails TLS, never answers, or
//! serves no MCS API makes `run` exit 2 before any scenario, within the preflight timeout,
//! naming the cluster, its context and what to do. A healthy fleet's preflight table is
//! printed, and lands in the JSON report.

mod support;

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{SimProcess, harness_bin, root};

/// The sim's kubeconfig as JSON.
fn kubeconfig(sim: &SimProcess) -> Value {
    let text = std::fs::read_to_string(&sim.kubeconfig).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// Adds context `name` to `kc`: cluster `like`'s entry with `cluster_edit` applied, user
/// `like`'s with `user_edit` applied.
fn add_context(
    kc: &mut Value,
    name: &str,
    like: &str,
    cluster_edit: impl Fn(&mut Value),
    user_edit: impl Fn(&mut Value),
) {
    let ctx = kc["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == like)
        .unwrap()
        .clone();
    let (cl, us) = (
        ctx["context"]["cluster"].as_str().unwrap().to_string(),
        ctx["context"]["user"].as_str().unwrap().to_string(),
    );
    let find = |list: &str, n: &str| {
        kc[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .unwrap()
            .clone()
    };
    let mut cluster = find("clusters", &cl);
    let mut user = find("users", &us);
    cluster["name"] = json!(name);
    user["name"] = json!(name);
    cluster_edit(&mut cluster["cluster"]);
    user_edit(&mut user["user"]);
    kc["clusters"].as_array_mut().unwrap().push(cluster);
    kc["users"].as_array_mut().unwrap().push(user);
    let ctx = json!({"name": name, "context": {"cluster": name, "user": name}});
    kc["contexts"].as_array_mut().unwrap().push(ctx);
}

fn write(sim: &SimProcess, kc: &Value) -> std::path::PathBuf {
    let path = sim.dir.path().join("edited.kubeconfig");
    std::fs::write(&path, serde_json::to_string(kc).unwrap()).unwrap();
    path
}

fn run(kubeconfig: &std::path::Path, extra: &[&str]) -> (Output, Duration) {
    let t = Instant::now();
    let out = Command::new(harness_bin())
        .current_dir(root())
        .arg("run")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(extra)
        .arg("scenarios/mcs-basic.yaml")
        .env("CI", "1")
        .output()
        .unwrap();
    (out, t.elapsed())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn broken_clusters_exit_2_before_running_naming_the_context() {
    let sim = SimProcess::start();
    let mut kc = kubeconfig(&sim);
    // Nothing listens on this port (bound, then released).
    let dead_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Accepts connections and never answers: the TLS handshake hangs.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    let server =
        |port: u16| move |c: &mut Value| c["server"] = json!(format!("https://127.0.0.1:{port}"));
    add_context(&mut kc, "dead", "b", server(dead_port), |_| {});
    add_context(&mut kc, "silent", "b", server(silent_port), |_| {});
    add_context(
        &mut kc,
        "badtoken",
        "b",
        |_| {},
        |u| u["token"] = json!("not-the-token"),
    );
    add_context(
        &mut kc,
        "badtls",
        "b",
        |c| c["tls-server-name"] = json!("not-the-server.invalid"),
        |_| {},
    );
    let path = write(&sim, &kc);
    for (ctx, expect) in [
        ("dead", "nothing answered at the server address"),
        ("silent", "no answer within 2s"),
        ("badtoken", "the credentials were rejected"),
        ("badtls", "TLS failed"),
    ] {
        let binding = format!("b={ctx}");
        let (out, took) = run(
            &path,
            &[
                "--cluster",
                "a=a",
                "--cluster",
                &binding,
                "--preflight-timeout",
                "2s",
            ],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{ctx}: {err}");
        assert!(
            err.contains(&format!("cluster b (context {ctx}, https://")),
            "{ctx}: {err}"
        );
        assert!(err.contains(expect), "{ctx}: {err}");
        // No scenario ran: nothing was printed on stdout and nothing created in a.
        assert!(
            out.stdout.is_empty(),
            "{ctx}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            took < Duration::from_secs(8),
            "{ctx}: preflight is bounded, took {took:?}"
        );
    }
    let left = sim.ok(&["get", "ns", "-l", "mcs-harness.dev/run-id", "-o", "name"]);
    assert_eq!(left.trim(), "", "nothing created in a");
    // The doctor gives up on a cluster that never answers within its connect timeout.
    let t = Instant::now();
    let out = Command::new(harness_bin())
        .args(["doctor", "-n", "demo", "whereami", "--kubeconfig"])
        .arg(&path)
        .args([
            "--cluster",
            "a=a",
            "--cluster",
            "b=silent",
            "--connect-timeout",
            "2s",
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cluster b (context silent): no answer within 2s"),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
}

#[test]
fn a_cluster_without_the_mcs_api_is_an_error_not_a_skip() {
    let sim = SimProcess::start();
    sim.ok(&[
        "--context",
        "b",
        "delete",
        "crd",
        "serviceimports.net.gke.io",
        "serviceexports.net.gke.io",
    ]);
    let (out, _) = run(&sim.kubeconfig, &["--cluster", "a=a", "--cluster", "b=b"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cluster b (context b, https://"), "{err}");
    assert!(err.contains("serves no MCS API"), "{err}");
    assert!(err.contains("multi-cluster-services enable"), "{err}");
}

#[test]
fn a_healthy_fleet_prints_its_preflight_table_and_reports_it() {
    let sim = SimProcess::start();
    let json = sim.dir.path().join("report.json");
    let (out, _) = run(
        &sim.kubeconfig,
        &[
            "--cluster",
            "a=a",
            "--cluster",
            "b=b",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("preflight: 2 cluster(s) checked"), "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("a  context=a  https://"))
        .unwrap_or_else(|| panic!("a preflight line for a: {text}"));
    assert!(line.contains("mcs=net.gke.io/v1"), "{line}");
    assert!(line.contains("faults"), "{line}");
    // The fleet serves SelfSubjectReview and SelfSubjectAccessReview: both are used.
    assert!(line.contains("user=admin"), "{line}");
    assert!(line.contains("permissions checked ("), "{line}");
    assert!(line.contains("  ok  "), "{line}");
    support::assert_valid_json_report(&json);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let clusters = report["preflight"]["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2, "{report}");
    assert_eq!(clusters[1]["cluster"], "b");
    assert_eq!(clusters[1]["flavours"], json!(["gke"]));
    assert!(clusters[1]["version"].as_str().unwrap().starts_with("v1."));
}

#[test]
fn a_deny_fault_is_a_forbidden_preflight_problem() {
    let sim = SimProcess::start();
    let fault = "apiVersion: sim.mcs-harness.dev/v1alpha1\nkind: Fault\nmetadata:\n  name: no-exec\nspec:\n  deny: {user: admin, verbs: [create], resources: [pods]}\n";
    sim.ok_stdin(&["--context", "b", "apply", "-f", "-"], fault);
    let (out, _) = run(&sim.kubeconfig, &["--cluster", "a=a", "--cluster", "b=b"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cluster b (context b, https://"), "{err}");
    assert!(err.contains("the credentials may not create pods"), "{err}");
}
