//! Real kubectl against a fleet started with `mcs-harness sim up`: the sim must behave like
//! an API server for a client nobody here wrote.

mod support;

use std::process::Stdio;

use support::{Lines, SimProcess, root};

fn app_yaml() -> String {
    root()
        .join("fixtures/mcs-basic/app.yaml")
        .display()
        .to_string()
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
      additionalPrinterColumns:
        - {name: Color, type: string, jsonPath: .spec.color}
"#;

#[test]
fn sim_up_prints_clusters_and_exits_zero_on_sigterm() {
    let sim = SimProcess::start();
    assert!(
        sim.banner
            .iter()
            .any(|l| l.starts_with("cluster a") && l.contains("https://127.1.1.1:")),
        "{:?}",
        sim.banner
    );
    assert!(
        sim.banner
            .iter()
            .any(|l| l.starts_with("cluster b") && l.contains("https://127.1.2.1:")),
        "{:?}",
        sim.banner
    );
    let contexts = sim.ok(&["config", "get-contexts", "-o", "name"]);
    assert_eq!(
        contexts.split_whitespace().collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    let status = sim.terminate();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn apply_get_label_patch_wait_delete() {
    let sim = SimProcess::start();
    assert!(
        sim.ok(&["create", "namespace", "demo"])
            .contains("namespace/demo created")
    );
    let out = sim.ok(&["apply", "-n", "demo", "-f", &app_yaml()]);
    assert!(
        out.contains("deployment.apps/whereami created")
            && out.contains("service/whereami created"),
        "{out}"
    );
    let again = sim.ok(&["apply", "-n", "demo", "-f", &app_yaml()]);
    assert!(
        again.contains("deployment.apps/whereami unchanged"),
        "{again}"
    );

    let yaml = sim.ok(&["get", "deployment", "whereami", "-n", "demo", "-o", "yaml"]);
    assert!(
        yaml.contains("replicas: 1") && yaml.contains("uid:") && yaml.contains("kind: Deployment"),
        "{yaml}"
    );
    let table = sim.ok(&["get", "svc", "-n", "demo"]);
    assert!(
        table.contains("CLUSTER-IP") && table.contains("whereami"),
        "{table}"
    );

    sim.ok(&["label", "-n", "demo", "deployment/whereami", "tier=front"]);
    sim.ok(&[
        "patch",
        "-n",
        "demo",
        "deployment/whereami",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"annotations":{"a":"1"}}}"#,
    ]);
    sim.ok(&[
        "patch",
        "-n",
        "demo",
        "deployment/whereami",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
    ]);
    sim.ok(&["patch", "-n", "demo", "deployment/whereami", "--type", "strategic", "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"whereami","env":[{"name":"EXTRA","value":"x"}]}]}}}}"#]);
    let env = sim.ok(&[
        "get",
        "-n",
        "demo",
        "deployment/whereami",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env[*].name}",
    ]);
    assert_eq!(
        env.split_whitespace().collect::<Vec<_>>(),
        vec!["EXTRA", "METADATA"],
        "strategic merge keeps METADATA"
    );
    sim.ok(&[
        "wait",
        "-n",
        "demo",
        "deployment/whereami",
        "--for=jsonpath={.metadata.labels.tier}=front",
        "--timeout=10s",
    ]);
    sim.ok(&[
        "wait",
        "-n",
        "demo",
        "deployment/whereami",
        "--for=jsonpath={.spec.replicas}=2",
        "--timeout=10s",
    ]);

    // Client-side apply after the out-of-band edits: a three-way merge, "configured".
    let configured = sim.ok(&["apply", "-n", "demo", "-f", &app_yaml()]);
    assert!(
        configured.contains("deployment.apps/whereami configured"),
        "{configured}"
    );
    assert_eq!(
        sim.ok(&[
            "get",
            "-n",
            "demo",
            "deployment/whereami",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "1"
    );

    let mut waiter = sim
        .kubectl()
        .args([
            "wait",
            "-n",
            "demo",
            "deployment/whereami",
            "--for=delete",
            "--timeout=20s",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let deleted = sim.ok(&["delete", "-n", "demo", "-f", &app_yaml()]);
    assert!(
        deleted.contains("deployment.apps \"whereami\" deleted"),
        "{deleted}"
    );
    assert!(
        waiter.wait().unwrap().success(),
        "wait --for=delete returns when the object is gone"
    );
    let gone = sim.run(&["get", "-n", "demo", "deployment/whereami"]);
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("NotFound"),
        "{gone:?}"
    );
}

#[test]
fn server_side_apply_and_conflicts() {
    let sim = SimProcess::start();
    sim.ok(&["create", "namespace", "ssa"]);
    let out = sim.ok(&["apply", "--server-side", "-n", "ssa", "-f", &app_yaml()]);
    assert!(
        out.contains("deployment.apps/whereami serverside-applied"),
        "{out}"
    );
    let managed = sim.ok(&[
        "get",
        "-n",
        "ssa",
        "deployment/whereami",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(managed.contains("kubectl"), "{managed}");
    // A second manager changing replicas conflicts, then wins with --force-conflicts.
    let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: whereami\nspec:\n  replicas: 3\n";
    let mut c = sim.kubectl();
    let out = c
        .args([
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "-n",
            "ssa",
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = {
        use std::io::Write;
        let mut o = out;
        o.stdin.take().unwrap().write_all(patch.as_bytes()).unwrap();
        o.wait_with_output().unwrap()
    };
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("conflict"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sim.ok_stdin(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            "other",
            "-n",
            "ssa",
            "-f",
            "-",
        ],
        patch,
    );
    assert_eq!(
        sim.ok(&[
            "get",
            "-n",
            "ssa",
            "deployment/whereami",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "3"
    );
}

#[test]
fn get_watch_observes_changes() {
    let sim = SimProcess::start();
    sim.ok(&["create", "configmap", "watched", "--from-literal=k=v"]);
    let mut table = sim
        .kubectl()
        .args(["get", "configmap", "watched", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut events = sim
        .kubectl()
        .args(["get", "configmaps", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut t = Lines::of(&mut table);
    let mut e = Lines::of(&mut events);
    let header = t.until(20, |l| l.len() >= 2).to_vec();
    assert!(
        header[0].starts_with("NAME") && header[0].contains("DATA"),
        "{header:?}"
    );
    assert!(header[1].starts_with("watched"), "{header:?}");
    e.until(20, |l| {
        l.iter()
            .any(|x| x.starts_with("ADDED") && x.contains("watched"))
    });
    sim.ok(&["annotate", "configmap", "watched", "note=hello"]);
    e.until(20, |l| {
        l.iter()
            .any(|x| x.starts_with("MODIFIED") && x.contains("watched"))
    });
    t.until(20, |l| {
        l.iter().filter(|x| x.starts_with("watched")).count() >= 2
    });
    let _ = table.kill();
    let _ = events.kill();
}

#[test]
fn api_resources_crd_and_custom_resource() {
    let sim = SimProcess::start();
    let res = sim.ok(&["api-resources"]);
    let deploy = res
        .lines()
        .find(|l| l.starts_with("deployments"))
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>();
    assert_eq!(
        deploy,
        vec!["deployments", "deploy", "apps/v1", "true", "Deployment"],
        "{res}"
    );
    assert!(
        res.lines().any(|l| l.starts_with("endpointslices")),
        "{res}"
    );
    assert!(res.lines().any(|l| l.starts_with("leases")), "{res}");

    sim.ok_stdin(&["apply", "-f", "-"], CRD);
    sim.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/gadgets.example.com",
        "--timeout=10s",
    ]);
    let cr =
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\nspec:\n  color: blue\n";
    let out = sim.ok_stdin(&["apply", "-f", "-"], cr);
    assert!(out.contains("gadget.example.com/g1 created"), "{out}");
    let table = sim.ok(&["get", "gadgets"]);
    assert!(table.contains("COLOR") && table.contains("blue"), "{table}");
    let short = sim.ok(&["get", "gd", "g1", "-o", "jsonpath={.spec.color}"]);
    assert_eq!(short, "blue");
    sim.ok(&["delete", "gadget", "g1"]);
}
