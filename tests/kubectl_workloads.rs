//! Real kubectl against `mcs-harness sim up`: workloads behave like a cluster's —
//! `rollout status` completes, endpoints and slices list the ready pods, scaling works,
//! a failing readiness probe keeps a Deployment unavailable.

mod support;

use support::{SimProcess, root};

fn app_yaml() -> String {
    root()
        .join("fixtures/mcs-basic/app.yaml")
        .display()
        .to_string()
}

fn endpoint_count(sim: &SimProcess, ns: &str) -> usize {
    let out = sim.ok(&[
        "get",
        "endpoints",
        "whereami",
        "-n",
        ns,
        "-o",
        "jsonpath={.subsets[*].addresses[*].ip}",
    ]);
    out.split_whitespace().count()
}

#[test]
fn rollout_scale_and_endpoints() {
    let sim = SimProcess::start();
    sim.ok(&["create", "namespace", "demo"]);
    sim.ok(&["apply", "-n", "demo", "-f", &app_yaml()]);
    sim.ok(&["scale", "-n", "demo", "deployment/whereami", "--replicas=3"]);
    let out = sim.ok(&[
        "rollout",
        "status",
        "-n",
        "demo",
        "deployment/whereami",
        "--timeout=30s",
    ]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let table = sim.ok(&["get", "endpoints", "whereami", "-n", "demo"]);
    let row = table.lines().nth(1).unwrap_or_default();
    assert_eq!(row.matches(":8080").count(), 3, "{table}");
    let slices = sim.ok(&[
        "get",
        "endpointslices",
        "-n",
        "demo",
        "-l",
        "kubernetes.io/service-name=whereami",
        "-o",
        "jsonpath={.items[*].endpoints[*].addresses[0]}",
    ]);
    assert_eq!(slices.split_whitespace().count(), 3, "{slices}");
    let pods = sim.ok(&["get", "pods", "-n", "demo", "-o", "wide"]);
    assert_eq!(
        pods.lines()
            .filter(|l| l.contains("Running") && l.contains("1/1"))
            .count(),
        3,
        "{pods}"
    );

    for (n, want) in [("1", 1), ("0", 0), ("2", 2)] {
        sim.ok(&[
            "scale",
            "-n",
            "demo",
            "deployment/whereami",
            &format!("--replicas={n}"),
        ]);
        sim.ok(&[
            "rollout",
            "status",
            "-n",
            "demo",
            "deployment/whereami",
            "--timeout=30s",
        ]);
        sim.ok(&[
            "wait",
            "-n",
            "demo",
            "deployment/whereami",
            &format!("--for=jsonpath={{.status.replicas}}={want}"),
            "--timeout=30s",
        ]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while endpoint_count(&sim, "demo") != want {
            assert!(
                std::time::Instant::now() < deadline,
                "endpoints never reached {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

#[test]
fn failing_readiness_never_becomes_ready() {
    let sim = SimProcess::start();
    sim.ok(&["create", "namespace", "bad"]);
    sim.ok(&["apply", "-n", "bad", "-f", &app_yaml()]);
    sim.ok(&["patch", "-n", "bad", "deployment/whereami", "--type", "json", "-p",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/0/readinessProbe/httpGet/path","value":"/status/503"}]"#]);
    let out = sim.run(&[
        "rollout",
        "status",
        "-n",
        "bad",
        "deployment/whereami",
        "--timeout=3s",
    ]);
    assert!(!out.status.success(), "rollout must not complete: {out:?}");
    let ready = sim.ok(&[
        "get",
        "pods",
        "-n",
        "bad",
        "-l",
        "app=whereami",
        "-o",
        "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert!(ready.split_whitespace().any(|s| s == "False"), "{ready}");
    let nr = sim.ok(&[
        "get",
        "endpoints",
        "whereami",
        "-n",
        "bad",
        "-o",
        "jsonpath={.subsets[*].notReadyAddresses[*].ip}",
    ]);
    assert!(!nr.trim().is_empty(), "the new pod is listed as not ready");
}

fn wait_running(sim: &SimProcess, ctx: &str, pod: &str) {
    sim.ok(&[
        "--context",
        ctx,
        "wait",
        "--for=condition=Ready",
        &format!("pod/{pod}"),
        "--timeout=30s",
    ]);
}

#[test]
fn exec_dns_http_cross_cluster_and_faults() {
    let sim = SimProcess::start();
    sim.ok(&["create", "namespace", "demo"]);
    sim.ok(&["apply", "-n", "demo", "-f", &app_yaml()]);
    sim.ok(&[
        "rollout",
        "status",
        "-n",
        "demo",
        "deployment/whereami",
        "--timeout=30s",
    ]);
    for ctx in ["a", "b"] {
        sim.ok(&[
            "--context",
            ctx,
            "run",
            "probe",
            "--image=busybox:1.36",
            "--restart=Never",
            "--",
            "sleep",
            "3600",
        ]);
        wait_running(&sim, ctx, "probe");
    }
    let vip = sim.ok(&[
        "get",
        "svc",
        "whereami",
        "-n",
        "demo",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    let out = sim.ok(&[
        "exec",
        "probe",
        "--",
        "nslookup",
        "whereami.demo.svc.cluster.local",
    ]);
    assert!(out.contains(&format!("Address: {vip}")), "{out}");
    let json = sim.ok(&[
        "exec",
        "probe",
        "--",
        "wget",
        "-qO-",
        "http://whereami.demo.svc.cluster.local",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["cluster_name"], "a");
    assert_eq!(v["metadata"], "mcs-harness");
    let resolv = sim.ok(&["exec", "probe", "--", "cat", "/etc/resolv.conf"]);
    assert!(
        resolv.contains("search default.svc.cluster.local svc.cluster.local cluster.local"),
        "{resolv}"
    );

    // From cluster b, a's pod IP is reachable (flat network)...
    let pod_ip = sim.ok(&[
        "get",
        "pods",
        "-n",
        "demo",
        "-l",
        "app=whereami",
        "-o",
        "jsonpath={.items[0].status.podIP}",
    ]);
    let url = format!("http://{pod_ip}:8080/");
    let from_b = sim.ok(&[
        "--context",
        "b",
        "exec",
        "probe",
        "--",
        "wget",
        "-qO-",
        "-T",
        "2",
        &url,
    ]);
    assert!(from_b.contains("\"cluster_name\":\"a\""), "{from_b}");
    // ...until a partition Fault cuts b from a: busybox's timeout message and exit code.
    let fault = "apiVersion: sim.mcs-harness.dev/v1alpha1\nkind: Fault\nmetadata:\n  name: cut-a\nspec:\n  partition:\n    peers: [a]\n";
    sim.ok_stdin(&["--context", "b", "apply", "-f", "-"], fault);
    let cut = sim.run(&[
        "--context",
        "b",
        "exec",
        "probe",
        "--",
        "wget",
        "-qO-",
        "-T",
        "1",
        &url,
    ]);
    assert_eq!(cut.status.code(), Some(1), "{cut:?}");
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert!(
        stderr.contains("wget: download timed out")
            && stderr.contains("command terminated with exit code 1"),
        "{stderr}"
    );
    sim.ok(&["--context", "b", "delete", "fault", "cut-a"]);
    sim.ok(&[
        "--context",
        "b",
        "exec",
        "probe",
        "--",
        "wget",
        "-qO-",
        "-T",
        "2",
        &url,
    ]);

    // A DNS outage Fault makes nslookup fail.
    let dns = "apiVersion: sim.mcs-harness.dev/v1alpha1\nkind: Fault\nmetadata:\n  name: no-dns\nspec:\n  dns:\n    mode: ServFail\n";
    sim.ok_stdin(&["apply", "-f", "-"], dns);
    let faults = sim.ok(&["get", "faults"]);
    assert!(
        faults.contains("no-dns") && faults.contains("true"),
        "{faults}"
    );
    let failed = sim.run(&[
        "exec",
        "probe",
        "--",
        "nslookup",
        "whereami.demo.svc.cluster.local",
    ]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&failed.stdout).contains("SERVFAIL"),
        "{failed:?}"
    );
    sim.ok(&["delete", "fault", "no-dns"]);
    sim.ok(&[
        "exec",
        "probe",
        "--",
        "nslookup",
        "whereami.demo.svc.cluster.local",
    ]);
}
