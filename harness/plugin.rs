//! The same binary as a kubectl plugin: installed (or symlinked) as `kubectl-mcs` on PATH,
//! `kubectl mcs doctor …` / `kubectl mcs run …` run it (kubectl's plugin mechanism: it
//! executes `kubectl-<name>` with the remaining arguments; krew installs plugins as such a
//! link). Invoked under that name, help and errors say `kubectl mcs`, and kubectl's own
//! conventions are understood:
//!
//! - `-n/--namespace NS` (the doctor's namespace flag already is kubectl's);
//! - `--context CTX` (repeat for each cluster of the fleet): for `doctor` a cluster named
//!   after its context (`--cluster CTX`); for `run` and `gc` the scenario clusters `a`,
//!   `b`, `c`, … bound in order (`--cluster a=CTX1 --cluster b=CTX2`);
//! - `--kubeconfig` and `$KUBECONFIG` as kubectl reads them (the harness's own flags).
//!
//! kubectl passes a plugin its arguments untouched and does not read its flags, so these
//! are this harness's translation, not kubectl behaviour (kubectl docs, "Extend kubectl
//! with plugins").

use std::ffi::{OsStr, OsString};

use clap::{CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// The executable name kubectl looks for (`kubectl mcs`).
pub const PLUGIN_EXECUTABLE: &str = "kubectl-mcs";

/// Whether the process was started as `kubectl-mcs` (`argv[0]`'s file name).
pub fn invoked_as_plugin(argv0: &OsStr) -> bool {
    std::path::Path::new(argv0)
        .file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|n| n == PLUGIN_EXECUTABLE || n.starts_with("kubectl-mcs."))
}

/// The command line with kubectl's `--context` translated (see the module doc).
pub fn translate(args: &[OsString]) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    let mut command: Option<String> = None;
    let mut contexts = 0usize;
    let mut i = 0;
    let mut rest = false;
    while i < args.len() {
        let arg = &args[i];
        let text = arg.to_str();
        if rest || i == 0 {
            out.push(arg.clone());
            i += 1;
            continue;
        }
        if text == Some("--") {
            rest = true;
            out.push(arg.clone());
            i += 1;
            continue;
        }
        let context = match text {
            Some("--context") => {
                i += 1;
                args.get(i).and_then(|v| v.to_str()).map(String::from)
            }
            Some(t) => t.strip_prefix("--context=").map(String::from),
            None => None,
        };
        match (context, command.as_deref()) {
            (Some(ctx), Some("doctor")) => out.push(format!("--cluster={ctx}").into()),
            (Some(ctx), Some("run" | "gc")) => {
                let name = cluster_name(contexts);
                contexts += 1;
                out.push(format!("--cluster={name}={ctx}").into());
            }
            // Elsewhere (or before the subcommand): left for clap to report.
            (Some(ctx), _) => {
                out.push("--context".into());
                out.push(ctx.into());
            }
            (None, _) => {
                if command.is_none()
                    && let Some(t) = text
                    && !t.starts_with('-')
                {
                    command = Some(t.to_string());
                }
                out.push(arg.clone());
            }
        }
        i += 1;
    }
    out
}

/// `a`, `b`, … `z`, then `c26`, `c27`, …: the scenario cluster names bound in order.
fn cluster_name(i: usize) -> String {
    match u8::try_from(i) {
        Ok(n) if n < 26 => char::from(b'a' + n).to_string(),
        _ => format!("c{i}"),
    }
}

/// Parses the command line of `kubectl mcs …` (exits with clap's message on bad usage).
pub fn parse(args: &[OsString]) -> Cli {
    let cmd = Cli::command()
        .name(PLUGIN_EXECUTABLE)
        .bin_name("kubectl mcs");
    let matches = cmd.get_matches_from(translate(args));
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(args: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        translate(&args)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn contexts_become_clusters() {
        assert!(invoked_as_plugin(OsStr::new(
            "/home/u/.krew/bin/kubectl-mcs"
        )));
        assert!(!invoked_as_plugin(OsStr::new("/usr/bin/mcs-harness")));
        assert_eq!(
            t(&[
                "kubectl-mcs",
                "doctor",
                "-n",
                "demo",
                "web",
                "--context",
                "c1",
                "--context=c2"
            ]),
            [
                "kubectl-mcs",
                "doctor",
                "-n",
                "demo",
                "web",
                "--cluster=c1",
                "--cluster=c2"
            ]
        );
        assert_eq!(
            t(&[
                "kubectl-mcs",
                "-q",
                "run",
                "--context",
                "gke_1",
                "--context",
                "gke_2",
                "x.yaml"
            ]),
            [
                "kubectl-mcs",
                "-q",
                "run",
                "--cluster=a=gke_1",
                "--cluster=b=gke_2",
                "x.yaml"
            ]
        );
        // After `--`, and for commands without clusters, nothing is rewritten.
        assert_eq!(
            t(&["kubectl-mcs", "schema", "--context", "x"]),
            ["kubectl-mcs", "schema", "--context", "x"]
        );
        assert_eq!(cluster_name(1), "b");
        assert_eq!(cluster_name(30), "c30");
    }
}
