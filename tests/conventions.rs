//! Command-line conventions as a user meets them: quiet logs, colour only when asked for or
//! on a terminal, `-q`, `--version`, shell completions, and the selection flags of `run`
//! (`--filter`/`--skip` regexes, `--selector`, `--shard`, `--list`, `--fail-fast`,
//! `--timeout-scale`, `--default-timeout`).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use support::{harness_bin, root};

/// The binary in the project root, with no RUST_LOG/CI/NO_COLOR from the caller.
fn harness(args: &[&str]) -> Output {
    Command::new(harness_bin())
        .current_dir(root())
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .output()
        .expect("run mcs-harness")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Lines of tracing's formatter (`2026-…Z  WARN target: …`) naming a target.
fn log_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            [" TRACE ", " DEBUG ", " INFO ", " WARN ", " ERROR "]
                .iter()
                .any(|lvl| l.contains(lvl))
        })
        .collect()
}

#[test]
fn a_passing_run_off_a_terminal_has_no_escape_codes_and_no_dependency_logs() {
    // api-chaos fails a fifth of the API requests: kube-rs logs each failure at ERROR,
    // which used to reach stderr (in red) during this passing run.
    let out = harness(&["run", "--filter", "^(mcs-basic|api-chaos)$"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 passed; 0 failed"), "{stdout}");
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "{stdout}\n{stderr}"
    );
    assert!(
        log_lines(&stderr).is_empty(),
        "log lines on stderr:\n{stderr}"
    );

    // -vv shows kube-rs' debug lines: the check above can see them when they are there.
    let out = harness(&["-vv", "run", "--filter", "^mcs-basic$"]);
    let stderr = text(&out.stderr);
    assert!(
        log_lines(&stderr).iter().any(|l| l.contains("kube")),
        "no kube-rs line with -vv:\n{}",
        stderr.lines().take(20).collect::<Vec<_>>().join("\n")
    );
    assert!(
        !stderr.contains('\x1b'),
        "stderr is not a terminal: no colour"
    );
}

#[test]
fn quiet_prints_only_failures_and_the_summary_and_color_is_on_request() {
    let out = harness(&["run", "-q", "--filter", "^mcs-basic$"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("scenario mcs-basic"), "{stdout}");
    assert!(!stdout.contains("preflight"), "{stdout}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");

    let out = harness(&["run", "--color", "always", "--filter", "^mcs-basic$"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\x1b[32mok\x1b[0m"), "{stdout}");
    // NO_COLOR turns `auto` off but not `always`; off a terminal `auto` is off anyway.
    let out = Command::new(harness_bin())
        .current_dir(root())
        .args(["run", "--color", "never", "--filter", "^mcs-basic$"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!text(&out.stdout).contains('\x1b'));
}

#[test]
fn version_names_the_commit_and_the_supported_apis() {
    let out = harness(&["--version"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.starts_with("mcs-harness 0."), "{stdout}");
    assert!(stdout.contains("(commit "), "{stdout}");
    assert!(stdout.contains("net.gke.io/v1") && stdout.contains("multicluster.x-k8s.io/v1alpha1"));
    assert!(stdout.contains("Kubernetes API 1.33 - 1.37"), "{stdout}");
}

#[test]
fn completions_parse_and_load_in_bash() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = harness(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("mcs-harness"), "{shell}");
        std::fs::write(dir.path().join(shell), &out.stdout).unwrap();
    }
    let script = dir.path().join("bash");
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {}", text(&check.stderr));
    // Loaded, it registers a completion function that offers `run`'s flags.
    let load = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p mcs-harness && COMP_WORDS=(mcs-harness run --sh) COMP_CWORD=2 \
             COMP_LINE='mcs-harness run --sh' COMP_POINT=20 && _mcs_harness mcs-harness --sh run \
             && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let stdout = text(&load.stdout);
    assert!(load.status.success(), "{stdout}{}", text(&load.stderr));
    assert!(stdout.contains("complete -o"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "--shard"), "{stdout}");
}

/// `run --list` rows: (verdict, name, detail).
fn list(args: &[&str]) -> Vec<(String, String, String)> {
    let mut all = vec!["run", "--list"];
    all.extend_from_slice(args);
    let out = harness(&all);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    stdout
        .lines()
        .filter(|l| l.starts_with("  run ") || l.starts_with("  skip "))
        .map(|l| {
            let mut parts = l.split_whitespace();
            let verdict = parts.next().unwrap_or_default().to_string();
            let name = parts.next().unwrap_or_default().to_string();
            (verdict, name, parts.collect::<Vec<_>>().join(" "))
        })
        .collect()
}

fn running(rows: &[(String, String, String)]) -> BTreeSet<String> {
    rows.iter()
        .filter(|(v, _, _)| v == "run")
        .map(|(_, n, _)| n.clone())
        .collect()
}

fn shipped() -> BTreeSet<String> {
    std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn filter_and_skip_are_repeatable_regexes_and_list_says_why() {
    let rows = list(&[
        "--filter",
        "repro-*",
        "--skip",
        "partition",
        "--skip",
        "^repro-ext",
    ]);
    assert_eq!(
        running(&rows),
        BTreeSet::from([
            "repro-importer-permission-denied".to_string(),
            "repro-namespace-missing".to_string()
        ])
    );
    let why = |name: &str| rows.iter().find(|r| r.1 == name).map(|r| r.2.clone());
    assert_eq!(
        why("repro-partition").as_deref(),
        Some("name matches --skip partition")
    );
    assert!(why("mcs-basic").unwrap().contains("matches no --filter"));
    assert_eq!(rows.len(), shipped().len(), "every scenario is listed");
    let both = list(&["--filter", "^mcs-basic$", "--filter", "^scale"]);
    assert_eq!(
        running(&both),
        BTreeSet::from(["mcs-basic".to_string(), "scale-to-zero".to_string()])
    );
    // Capability skips are listed too (the embedded fleet serves every capability, so a
    // 3-cluster scenario runs; bad patterns and empty selections are exit 2).
    let out = harness(&["run", "--list", "--filter", "("]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a regular expression"));
    let out = harness(&["run", "--filter", "^nothing-matches$"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no scenario is selected"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn selector_picks_by_labels() {
    let rows = list(&["--selector", "suite=repro,!faults"]);
    assert_eq!(
        running(&rows),
        BTreeSet::from([
            "repro-external-name".to_string(),
            "repro-namespace-missing".to_string()
        ])
    );
    let rows = list(&["-l", "faults=required"]);
    assert_eq!(running(&rows).len(), 4, "{rows:?}");
    let out = harness(&["run", "--list", "--selector", "bad key"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn shards_are_disjoint_and_together_take_every_scenario() {
    let all = shipped();
    for count in [1usize, 3, 5, 13] {
        let mut union = BTreeSet::new();
        let mut total = 0;
        for index in 0..count {
            let rows = list(&["--shard", &format!("{index}/{count}")]);
            let part = running(&rows);
            total += part.len();
            assert!(
                part.len() <= all.len().div_ceil(count),
                "{index}/{count}: {part:?}"
            );
            union.extend(part);
        }
        assert_eq!(total, all.len(), "{count} shards overlap");
        assert_eq!(union, all, "{count} shards");
    }
    let out = harness(&["run", "--list", "--shard", "3/3"]);
    assert_eq!(out.status.code(), Some(2));
    // A shard that gets nothing (more shards than scenarios) passes: the others run them.
    let out = harness(&[
        "run",
        "-q",
        "--shard",
        &format!("{}/{}", all.len(), all.len() + 1),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("0 passed; 0 failed; 0 skipped"), "{stdout}");
}

/// Writes scenario files for the fail-fast and timeout tests.
fn write_scenarios(dir: &Path) {
    let fail = "name: a-fail\nclusters: [a]\nsteps:\n  - name: never\n    wait: {cluster: a, \
                apiVersion: v1, kind: Namespace, name: never-created, for: .metadata.name \
                exists}\n    timeout: 200ms\n";
    let pass = "name: b-pass\nclusters: [a]\nsteps:\n  - apply:\n      cluster: a\n      \
                manifest: |\n        apiVersion: v1\n        kind: ConfigMap\n        \
                metadata: {name: x}\n";
    let default = "name: c-default\nclusters: [a]\nsteps:\n  - wait: {cluster: a, apiVersion: \
                   v1, kind: Namespace, name: never-created, for: .metadata.name exists}\n";
    std::fs::write(dir.join("a-fail.yaml"), fail).unwrap();
    std::fs::write(dir.join("b-pass.yaml"), pass).unwrap();
    std::fs::write(dir.join("c-default.yaml"), default).unwrap();
}

fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(harness_bin())
        .current_dir(dir)
        .arg("run")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn fail_fast_starts_nothing_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    write_scenarios(dir.path());
    let (code, out) = run_in(
        dir.path(),
        &["a-fail.yaml", "b-pass.yaml", "--jobs", "1", "--fail-fast"],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "scenario b-pass ... skipped (not started: an earlier scenario failed (--fail-fast))"
        ),
        "{out}"
    );
    assert!(out.contains("0 passed; 1 failed; 1 skipped"), "{out}");
    let (code, out) = run_in(dir.path(), &["a-fail.yaml", "b-pass.yaml", "--jobs", "1"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("1 passed; 1 failed; 0 skipped"), "{out}");
}

#[test]
fn timeouts_scale_and_the_default_can_be_set() {
    let dir = tempfile::tempdir().unwrap();
    write_scenarios(dir.path());
    let (code, out) = run_in(dir.path(), &["a-fail.yaml", "-q", "--timeout-scale", "3"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("timed out after 600ms"), "{out}");
    let (code, out) = run_in(
        dir.path(),
        &["c-default.yaml", "-q", "--default-timeout", "300ms"],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("timed out after 300ms"), "{out}");
    // A step's own timeout beats --default-timeout; the scale applies after it.
    let (_, out) = run_in(
        dir.path(),
        &[
            "a-fail.yaml",
            "-q",
            "--default-timeout",
            "5s",
            "--timeout-scale",
            "0.5",
        ],
    );
    assert!(out.contains("timed out after 100ms"), "{out}");
    let (code, _) = run_in(dir.path(), &["a-fail.yaml", "--timeout-scale", "0"]);
    assert_eq!(code, Some(2));
}

/// `--flag` names in `text`.
fn long_flags(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|t| t.starts_with("--") && t.len() > 2)
        .map(String::from)
        .collect()
}

#[test]
fn readme_synopsis_names_every_run_flag() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("mcs-harness run [SCENARIO.yaml|DIR]")
        .expect("run synopsis");
    let end = start
        + readme[start..]
            .find("mcs-harness report merge")
            .expect("next command");
    let synopsis = long_flags(&readme[start..end]);
    let help = text(&harness(&["run", "--help"]).stdout);
    // The options clap lists: lines starting with `-x, --name` or `--name`.
    let defined: String = help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .map(|l| l.split("  ").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let all = long_flags(&defined);
    assert!(
        all.contains("--shard") && all.contains("--kubeconfig") && all.len() > 30,
        "{all:?}"
    );
    let mut missing: Vec<String> = all
        .into_iter()
        .filter(|f| {
            !["--help", "--version", "--verbose", "--quiet", "--color"].contains(&f.as_str())
        })
        .filter(|f| !synopsis.contains(f))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "run flags missing from the README synopsis: {missing:?}"
    );
    assert!(readme[start..end].contains("@in-cluster"));
}
