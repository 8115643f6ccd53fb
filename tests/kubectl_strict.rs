//! Real kubectl against `sim up`: the API server answers errors as kube-apiserver does
//! (Status details, apply-conflict wording, strict decoding, validation, auth, explain).

mod support;

use std::io::Write;
use std::process::{Output, Stdio};

use support::SimProcess;

/// Runs kubectl with `args` and `stdin`, returns the output whatever the exit code.
fn run_stdin(sim: &SimProcess, args: &[&str], stdin: &str) -> Output {
    let mut child = sim
        .kubectl()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("kubectl output")
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
        &["apply", "--server-side", "--field-manager", "mgr1", "-f", "-"],
        cm,
    );
    let out = run_stdin(
        &sim,
        &["apply", "--server-side", "--field-manager", "mgr2", "-f", "-"],
        &cm.replace("one", "two"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"mgr1\": .data.k"),
        "{err}"
    );
}
