//! Real kubectl against `sim up`: the API server answers errors as kube-apiserver does
//! (Status details, apply-conflict wording, strict decoding, validation, auth, explain).

mod support;

use std::process::Output;

use support::SimProcess;

/// Runs kubectl with `args` and `stdin`, returns the output whatever the exit code.
fn run_stdin(sim: &SimProcess, args: &[&str], stdin: &str) -> Output {
    sim.run_stdin(args, stdin)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: probe\nspec:\n  containers:\n  - name: c\n    image: busybox\n    command: [sleep, \"3600\"]\n";

#[test]
fn kubectl_debug_reports_instead_of_panicking() {
    let sim = SimProcess::start();
    sim.ok_stdin(&["apply", "-f", "-"], POD);
    let out = sim.run(&["debug", "probe", "--image=busybox", "--", "true"]);
    let all = text(&out);
    assert!(!all.contains("panic"), "{all}");
    assert!(!out.status.success(), "{all}");
    // kubectl's wording for a 404 with empty details on pods/ephemeralcontainers.
    assert!(all.contains("ephemeral containers are disabled"), "{all}");
}

#[test]
fn apply_conflicts_name_the_manager_and_field_path() {
    let sim = SimProcess::start();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: one\n";
    sim.ok_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "mgr1",
            "-f",
            "-",
        ],
        cm,
    );
    let out = run_stdin(
        &sim,
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "mgr2",
            "-f",
            "-",
        ],
        &cm.replace("one", "two"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"mgr1\": .data.k"),
        "{err}"
    );
}

const TYPO: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: typo\nspec:\n  replica: 2\n  selector:\n    matchLabels: {app: typo}\n  template:\n    metadata:\n      labels: {app: typo}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n";

#[test]
fn apply_with_an_unknown_field_fails_with_the_strict_decoding_message() {
    let sim = SimProcess::start();
    let out = run_stdin(&sim, &["apply", "-f", "-"], TYPO);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replica\""),
        "{err}"
    );
    // Nothing was stored.
    let get = sim.run(&["get", "deployment", "typo"]);
    assert!(!get.status.success());
    // --validate=warn: stored, with kubectl's warning line.
    let out = run_stdin(&sim, &["apply", "--validate=warn", "-f", "-"], TYPO);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Warning: unknown field \"spec.replica\""),
        "{}",
        text(&out)
    );
    // A bad enum is 422 Invalid with the field path.
    let bad = TYPO
        .replace("replica: 2", "replicas: 2")
        .replace("name: typo\n", "name: pull\n")
        .replace(
            "image: busybox",
            "image: busybox\n        imagePullPolicy: Sometimes",
        );
    let out = run_stdin(&sim, &["apply", "-f", "-"], &bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("spec.template.spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\""),
        "{err}"
    );
    assert!(!sim.run(&["get", "deployment", "pull"]).status.success());
}

#[test]
fn scale_to_an_int32_overflow_is_rejected() {
    let sim = SimProcess::start();
    let ok = TYPO.replace("replica: 2", "replicas: 1");
    sim.ok_stdin(&["apply", "-f", "-"], &ok);
    let out = sim.run(&["scale", "deployment/typo", "--replicas=2147483648"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot unmarshal number 2147483648 into Go struct field")
            && err.contains("of type int32"),
        "{err}"
    );
    assert_eq!(
        sim.ok(&["get", "deployment/typo", "-o", "jsonpath={.spec.replicas}"]),
        "1"
    );
}

#[test]
fn kubectl_explain_reads_the_served_schemas() {
    let sim = SimProcess::start();
    let out = sim.ok(&["explain", "deployment.spec.replicas"]);
    assert!(out.contains("FIELD: replicas <integer>"), "{out}");
    assert!(out.contains("Number of desired pods"), "{out}");
    let out = sim.ok(&["explain", "pods.spec.containers.imagePullPolicy"]);
    assert!(out.contains("imagePullPolicy <string>"), "{out}");
    // Custom resources: the CRD's own schema (the GKE MCS CRDs are installed).
    let out = sim.ok(&["explain", "serviceexports"]);
    assert!(
        out.contains("KIND:") && out.contains("ServiceExport"),
        "{out}"
    );
}

#[test]
fn kubectl_auth_whoami_and_can_i_answer_from_identities_and_deny_faults() {
    let sim = SimProcess::start();
    let out = sim.ok(&["auth", "whoami"]);
    assert!(out.contains("Username") && out.contains("admin"), "{out}");
    assert!(out.contains("system:masters"), "{out}");
    assert_eq!(sim.ok(&["auth", "can-i", "create", "pods"]).trim(), "yes");
    // A deny fault makes the answer "no" (kubectl exits 1), with the fault as the reason.
    let fault = "apiVersion: sim.mcs-harness.dev/v1alpha1\nkind: Fault\nmetadata:\n  name: no-pods\nspec:\n  deny: {user: admin, verbs: [create], resources: [pods]}\n";
    sim.ok_stdin(&["apply", "-f", "-"], fault);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = sim.run(&["auth", "can-i", "create", "pods"]);
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if said.starts_with("no") {
            assert_eq!(out.status.code(), Some(1), "{said}");
            assert!(said.contains("no-pods"), "{said}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {said:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(sim.ok(&["auth", "can-i", "list", "pods"]).trim(), "yes");
    // RBAC objects are served, bootstrap roles included.
    let out = sim.ok(&[
        "get",
        "clusterrolebinding",
        "cluster-admin",
        "-o",
        "jsonpath={.subjects[0].name}",
    ]);
    assert_eq!(out, "system:masters");
}

#[test]
fn mcs_crds_reject_what_their_schemas_reject() {
    let sim = SimProcess::start();
    sim.ok(&["create", "namespace", "mcs"]);
    let import = "apiVersion: net.gke.io/v1\nkind: ServiceImport\nmetadata:\n  name: web\n  namespace: mcs\nspec:\n  type: Bogus\n  ips: [\"10.0.0.1\"]\n";
    let out = run_stdin(&sim, &["apply", "-f", "-"], import);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("spec.type: Unsupported value: \"Bogus\": supported values: \"ClusterSetIP\", \"Headless\""),
        "{err}"
    );
    // A typo in a field name: kubectl's strict decoding message.
    let typo = import
        .replace("type: Bogus", "type: ClusterSetIP")
        .replace("ips:", "ipz:");
    let out = run_stdin(&sim, &["apply", "-f", "-"], &typo);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("strict decoding error: unknown field \"spec.ipz\""),
        "{err}"
    );
    assert!(
        !sim.run(&["get", "-n", "mcs", "serviceimport", "web"])
            .status
            .success()
    );
}
