//! The binary as a kubectl plugin: `kubectl-mcs` (a symlink, as krew installs plugins) on
//! PATH, run by real kubectl as `kubectl mcs …` against a `sim up` fleet, with kubectl's
//! `-n` and `--context` conventions.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{SimProcess, harness_bin, root};

/// `kubectl ARGS` with a directory holding the `kubectl-mcs` symlink first on PATH.
fn kubectl(sim: &SimProcess, bin: &Path, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("kubectl")
        .args(args)
        .env("PATH", path)
        .env("KUBECONFIG", &sim.kubeconfig)
        .env_remove("RUST_LOG")
        .output()
        .expect("kubectl on PATH")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn kubectl_mcs_doctor_through_a_symlink_on_path() {
    let sim = SimProcess::start();
    let bin = sim.dir.path().join("plugins");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(harness_bin(), bin.join("kubectl-mcs")).unwrap();

    // kubectl finds the plugin.
    let list = kubectl(&sim, &bin, &["plugin", "list"]);
    assert!(text(&list).contains("kubectl-mcs"), "{}", text(&list));
    let help = kubectl(&sim, &bin, &["mcs", "--help"]);
    assert!(help.status.success(), "{}", text(&help));
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl mcs"),
        "{}",
        text(&help)
    );

    // whereami exported from a, the namespace created in b (the mcs-basic recipe).
    let ns = "plugin-demo";
    for ctx in ["a", "b"] {
        sim.ok(&["--context", ctx, "create", "namespace", ns]);
    }
    for f in ["app.yaml", "export.yaml"] {
        let file = root().join("fixtures/mcs-basic").join(f);
        sim.ok(&[
            "--context",
            "a",
            "apply",
            "-n",
            ns,
            "-f",
            file.to_str().unwrap(),
        ]);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let out = loop {
        let out = kubectl(
            &sim,
            &bin,
            &[
                "mcs",
                "doctor",
                "-n",
                ns,
                "whereami",
                "--context",
                "a",
                "--context",
                "b",
            ],
        );
        if out.status.code() == Some(0) || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    // Both contexts are the table's clusters, the namespace is the one given with -n.
    assert!(all.contains("healthy"), "{all}");
    for c in ["a", "b"] {
        assert!(
            all.lines().any(|l| l.split_whitespace().any(|w| w == c)),
            "{c}: {all}"
        );
    }
    // A wrong namespace is a diagnosis of that namespace (exit 1), not a usage error.
    let out = kubectl(
        &sim,
        &bin,
        &[
            "mcs",
            "doctor",
            "--namespace",
            "nowhere",
            "whereami",
            "--context=a",
            "--context=b",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Usage errors name the plugin as kubectl users call it.
    let out = kubectl(&sim, &bin, &["mcs", "doctor", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("kubectl mcs doctor"), "{}", text(&out));
}

#[test]
fn kubectl_mcs_run_binds_contexts_in_order() {
    let sim = SimProcess::start();
    let bin = sim.dir.path().join("plugins");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(harness_bin(), bin.join("kubectl-mcs")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("kubectl")
        .current_dir(root())
        .args(["mcs", "run", "--list", "--context", "a", "--context", "b"])
        .env("PATH", path)
        .env("KUBECONFIG", &sim.kubeconfig)
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    // Bound to the fleet's two contexts: the 3-cluster scenario cannot run there.
    assert!(all.contains("contexts"), "{all}");
    let multi = all
        .lines()
        .find(|l| l.contains("multi-exporter"))
        .unwrap_or_default();
    assert!(multi.trim_start().starts_with("skip"), "{all}");
}
