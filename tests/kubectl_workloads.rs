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
