//! `mcs-harness kind up|down`: the command line and the executor of a [`Plan`].
//!
//! `--dry-run` prints the plan. Otherwise commands run with `std::process::Command`
//! (`kind` and `docker` must be installed), then [`crate::local::setup_all`] runs per cluster
//! through the kube API, using the `kind-<name>` contexts kind writes to the default kubeconfig.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use clap::{Args, Subcommand};

use super::plan::{self, Action, Plan};
use crate::fleet::{FleetError, clients_from_kubeconfig};
use crate::local::LocalCluster;
use mcs_importer::Flavour;

/// Errors of `kind up|down`.
#[derive(Debug, thiserror::Error)]
pub enum KindCmdError {
    /// A required program is not installed.
    #[error(
        "`{0}` was not found on PATH: install it (https://kind.sigs.k8s.io, https://docs.docker.com) and retry"
    )]
    Missing(String),
    /// A program could not be started.
    #[error("failed to start `{program}`")]
    Spawn {
        /// Program name.
        program: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A program failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// `docker inspect` printed no IP address.
    #[error("`docker inspect` printed no IP address for {0}")]
    NoNodeIp(String),
    /// A kind config fixture is missing (run from the repository root or pass --config-dir).
    #[error("kind config {0} not found: run from the repository root")]
    NoConfig(String),
    /// The plan could not be built (bad cluster count, or a manifest did not render).
    #[error("cannot plan the kind clusters: {0}")]
    Plan(#[source] super::plan::PlanError),
    /// Kube clients could not be built.
    #[error("failed to connect to the kind clusters")]
    Clients(#[source] FleetError),
    /// Writing the output failed.
    #[error("failed to write the output")]
    Output(#[source] std::io::Error),
    /// A cluster kind just created does not answer.
    #[error("kind cluster context {context} does not answer after creation: {why}")]
    Unreachable {
        /// kubeconfig context.
        context: String,
        /// Why.
        why: String,
    },
    /// One kind cluster answers and another does not.
    #[error(
        "kind context {missing} is not usable ({why}) while {present} answers: run \
         `mcs-harness kind down --name-prefix {prefix}` and retry, or fix that cluster"
    )]
    HalfThere {
        /// The context that does not answer.
        missing: String,
        /// Why.
        why: String,
        /// Contexts that answer.
        present: String,
        /// Name prefix.
        prefix: String,
    },
    /// Preparing the clusters (CRDs, CoreDNS) failed.
    #[error(transparent)]
    Local(Box<crate::local::LocalError>),
}

/// Options of `kind`.
#[derive(Debug, Args)]
pub struct KindArgs {
    /// kind action.
    #[command(subcommand)]
    pub action: KindAction,
}

/// `kind` subcommands.
#[derive(Debug, Subcommand)]
pub enum KindAction {
    /// Create kind clusters (two by default) wired for MCS (routes, CRDs, CoreDNS).
    Up(KindUp),
    /// Delete the kind clusters.
    Down(KindDown),
}

/// Options of `kind up`.
#[derive(Debug, Args)]
pub struct KindUp {
    /// Cluster names are `<prefix>-1` … `<prefix>-N`.
    #[arg(long, default_value = "mcs")]
    pub name_prefix: String,
    /// How many clusters (1 to 4).
    #[arg(long, default_value_t = 2)]
    pub clusters: usize,
    /// Which MCS API to set up.
    #[arg(long, value_enum, default_value = "gke")]
    pub flavour: Flavour,
    /// Print every command, config and manifest instead of running them.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `kind down`.
#[derive(Debug, Args)]
pub struct KindDown {
    /// Cluster names are `<prefix>-1` … `<prefix>-N`.
    #[arg(long, default_value = "mcs")]
    pub name_prefix: String,
    /// How many clusters (1 to 4).
    #[arg(long, default_value_t = 2)]
    pub clusters: usize,
    /// Print the commands instead of running them.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `kind up|down`.
pub async fn run(args: &KindArgs, out: &mut dyn Write) -> Result<(), KindCmdError> {
    let (plan, dry_run, flavour) = match &args.action {
        KindAction::Up(up) => {
            let plan =
                plan::up(&up.name_prefix, up.clusters, up.flavour).map_err(KindCmdError::Plan)?;
            (plan, up.dry_run, Some(up.flavour))
        }
        KindAction::Down(down) => (
            plan::down(&down.name_prefix, down.clusters).map_err(KindCmdError::Plan)?,
            down.dry_run,
            None,
        ),
    };
    if dry_run {
        return out
            .write_all(plan::render(&plan).as_bytes())
            .map_err(KindCmdError::Output);
    }
    execute(&plan, flavour, out).await
}

async fn execute(
    plan: &Plan,
    flavour: Option<mcs_importer::Flavour>,
    out: &mut dyn Write,
) -> Result<(), KindCmdError> {
    run_commands(plan, None, true, out)?;
    if let Some(flavour) = flavour {
        setup_clusters(plan, flavour, out).await?;
        say(out, &format!("next: {}", plan.next.join(" ")))?;
    }
    Ok(())
}

/// Runs the plan's programs: `kind` commands (when `create`) and the routes. The kube API
/// steps (CRDs, CoreDNS) are not run here. `kubeconfig` is where kind writes its contexts
/// (default: `$KUBECONFIG` or `~/.kube/config`).
pub(crate) fn run_commands(
    plan: &Plan,
    kubeconfig: Option<&Path>,
    create: bool,
    out: &mut dyn Write,
) -> Result<(), KindCmdError> {
    if create {
        require("kind")?;
    }
    for action in &plan.actions {
        match action {
            Action::Command { argv, config } => {
                if !create {
                    continue;
                }
                if let Some((path, _)) = config
                    && !Path::new(path).is_file()
                {
                    return Err(KindCmdError::NoConfig(
                        PathBuf::from(path).display().to_string(),
                    ));
                }
                say(out, &format!("$ {}", argv.join(" ")))?;
                run_process(argv, kubeconfig)?;
            }
            Action::Route {
                node,
                cidr,
                via_node,
            } => {
                require("docker")?;
                let ip = run_process(&Action::inspect_argv(via_node), None)?;
                let ip = ip.split_whitespace().next().map(str::to_string);
                let ip = ip.ok_or_else(|| KindCmdError::NoNodeIp(via_node.clone()))?;
                let argv = Action::route_argv(node, cidr, &ip);
                say(out, &format!("$ {}", argv.join(" ")))?;
                run_process(&argv, None)?;
            }
            // Carried out through the kube API (`setup`), per cluster.
            Action::Apply { .. } | Action::PatchCoreDns { .. } => {}
        }
    }
    Ok(())
}

async fn setup_clusters(
    plan: &Plan,
    flavour: mcs_importer::Flavour,
    out: &mut dyn Write,
) -> Result<(), KindCmdError> {
    let contexts: Vec<String> = plan.clusters.iter().map(|c| c.context()).collect();
    let clients = clients_from_kubeconfig(None, &contexts)
        .await
        .map_err(KindCmdError::Clients)?;
    let clusters: Vec<LocalCluster> = plan
        .clusters
        .iter()
        .zip(clients)
        .map(|(spec, (context, client))| LocalCluster {
            name: spec.name.clone(),
            location: context,
            client,
        })
        .collect();
    let reports = crate::local::setup_all(&clusters, flavour)
        .await
        .map_err(|e| KindCmdError::Local(Box::new(e)))?;
    for (c, report) in clusters.iter().zip(reports) {
        say(out, &format!("{}: set up ({report})", c.location))?;
    }
    Ok(())
}

pub(crate) fn say(out: &mut dyn Write, line: &str) -> Result<(), KindCmdError> {
    writeln!(out, "{line}").map_err(KindCmdError::Output)
}

/// Fails with [`KindCmdError::Missing`] when `program` cannot be started.
pub(crate) fn require(program: &str) -> Result<(), KindCmdError> {
    match Process::new(program).arg("version").output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(KindCmdError::Missing(program.into()))
        }
        Err(source) => Err(KindCmdError::Spawn {
            program: program.into(),
            source,
        }),
        Ok(_) => Ok(()),
    }
}

/// Runs `argv` (with `KUBECONFIG` set when given), returning its standard output; a
/// non-zero exit is an error.
fn run_process(argv: &[String], kubeconfig: Option<&Path>) -> Result<String, KindCmdError> {
    let (program, rest) = argv
        .split_first()
        .ok_or_else(|| KindCmdError::Missing("(empty command)".into()))?;
    let mut cmd = Process::new(program);
    cmd.args(rest);
    if let Some(kc) = kubeconfig {
        cmd.env("KUBECONFIG", kc);
    }
    let output = cmd.output().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => KindCmdError::Missing(program.clone()),
        _ => KindCmdError::Spawn {
            program: program.clone(),
            source,
        },
    })?;
    if !output.status.success() {
        return Err(KindCmdError::Failed {
            command: argv.join(" "),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
