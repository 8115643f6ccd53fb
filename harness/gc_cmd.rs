//! `mcs-harness gc`: removes what dead runs left on clusters bound with `--cluster
//! NAME=CONTEXT` — namespaces, objects and Faults labelled `mcs-harness.dev/run-id` whose
//! run's Lease has expired (or whose process is gone from this host). A live run is never
//! touched; a run kept with `--keep` only when named with `--run-id`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::fleet::gc::{GcOptions, RunVerdict, gc};
use crate::fleet::{ClusterRegistry, FleetError, handles_from_kubeconfig};

/// Options of `gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// A cluster to clean: `--cluster a=CONTEXT` (repeat; the name is only for messages).
    #[arg(long = "cluster", value_name = "NAME=CONTEXT", required = true, value_parser = crate::run_cmd::parse_binding)]
    pub clusters: Vec<(String, String)>,
    /// Kubeconfig (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Only these runs (repeat); kept runs are removed only when named here.
    #[arg(long = "run-id", value_name = "ID")]
    pub run_ids: Vec<String>,
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove labelled objects in this protected namespace (kube-system, gke-mcs, default).
    #[arg(long = "allow-namespace", value_name = "NAMESPACE")]
    pub allow_namespaces: Vec<String>,
    /// How long to wait for removed namespaces to disappear.
    #[arg(long, default_value = "2m", value_parser = crate::run_cmd::parse_positive_duration)]
    pub wait: Duration,
}

/// Errors of `gc` (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum GcCmdError {
    /// Clients could not be built.
    #[error(transparent)]
    Fleet(#[from] FleetError),
    /// The same name is given twice.
    #[error("cluster {0:?} is given twice with --cluster")]
    Duplicate(String),
}

/// Runs `gc`, printing what it did; the exit code (0 done, 1 something could not be removed).
pub async fn run(args: &GcArgs, out: &mut dyn Write) -> Result<i32, GcCmdError> {
    for (i, (name, _)) in args.clusters.iter().enumerate() {
        if args.clusters[..i].iter().any(|(n, _)| n == name) {
            return Err(GcCmdError::Duplicate(name.clone()));
        }
    }
    let registry: ClusterRegistry =
        handles_from_kubeconfig(args.kubeconfig.as_deref(), &args.clusters)
            .await?
            .into_iter()
            .collect();
    let opts = GcOptions {
        run_ids: args.run_ids.clone(),
        except: None,
        allow_namespaces: args.allow_namespaces.clone(),
        dry_run: args.dry_run,
        wait: args.wait,
    };
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut failed = false;
    for c in gc(&registry, &opts).await {
        if c.runs.is_empty() && c.problems.is_empty() {
            let _ = writeln!(out, "cluster {}: nothing left by any run", c.cluster);
        }
        for (run, verdict) in &c.runs {
            let line = match verdict {
                RunVerdict::Collected(objects) if objects.is_empty() => {
                    format!("run {run}: nothing to remove")
                }
                RunVerdict::Collected(objects) => {
                    format!("run {run} (not alive): {verb} {}", objects.join(", "))
                }
                RunVerdict::Live => format!("run {run} is alive: left alone"),
                RunVerdict::Kept => format!(
                    "run {run} was kept (--keep): left alone; add --run-id {run} to remove it"
                ),
                RunVerdict::Recent => format!(
                    "run {run} has no Lease and its objects are recent (a run starting, or the doctor): left alone"
                ),
            };
            let _ = writeln!(out, "cluster {}: {line}", c.cluster);
        }
        for p in &c.problems {
            failed = true;
            let _ = writeln!(out, "cluster {}: problem: {p}", c.cluster);
        }
    }
    Ok(i32::from(failed))
}
