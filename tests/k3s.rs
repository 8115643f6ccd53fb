//! The k3s provider end to end (cargo feature `k3s`): two k3s containers, prepared for MCS
//! (GKE flavour) like kind clusters, run `scenarios/mcs-basic.yaml` through the engine.
//!
//! Needs a Docker daemon. Without one the test is marked ignored before it runs, so both
//! `cargo test` and `cargo nextest` report it as ignored/skipped, not passed; the reason is
//! printed to stderr and is part of the test name (libtest-mimic's ignored flag carries no
//! reason). Run with `--include-ignored` to try anyway: it then reports the reason again.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use mcs_harness::fleet::{ProviderKind, ProviderOptions};
use mcs_harness::k3s;
use mcs_harness::run_cmd::{load_all, plan, scenario_files};
use mcs_harness::scenario::Flavour;
use support::run_captured;

const NAME: &str = "k3s::two_clusters_run_mcs_basic";

/// `reason` on one line, at most `max` characters.
fn one_line(reason: &str, max: usize) -> String {
    let line = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.chars().count() > max {
        true => format!("{}…", line.chars().take(max).collect::<String>()),
        false => line,
    }
}

/// An error with its causes, on one line.
fn chain(e: impl Into<anyhow::Error>) -> String {
    format!("{:#}", e.into())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failed> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("tokio runtime: {e}")))
}

fn two_clusters_run_mcs_basic(root: &Path) -> Result<Completion, Failed> {
    let rt = runtime()?;
    rt.block_on(async {
        if let Err(reason) = k3s::docker_available().await {
            return Ok(Completion::ignored_with(reason));
        }
        let files: Vec<PathBuf> =
            scenario_files(&[root.join("scenarios/mcs-basic.yaml")]).map_err(chain)?;
        let scenario = load_all(&files)
            .map_err(chain)?
            .pop()
            .ok_or("no scenario loaded")?;
        let scenario = Arc::new(scenario);
        // One k3s cluster per scenario cluster, bound positionally: a → k3s-1, b → k3s-2,
        // through the same provider layer (and preflight) as `run --provider k3s`.
        let opts = ProviderOptions {
            kind: ProviderKind::K3s,
            kubeconfig: None,
            kind_prefix: "mcs".into(),
            cluster_count: scenario.clusters.len(),
            flavour: Flavour::Gke,
            propagation_delay: Duration::ZERO,
            preflight_timeout: Duration::from_secs(30),
        };
        let (provider, preflight) = mcs_harness::fleet::open(&opts).await.map_err(chain)?;
        eprintln!("{} (preflight {:?})", provider.describe(), preflight.took);
        let plan = plan(&[scenario], provider.as_ref()).map_err(chain)?;
        // The provider (importer, then containers) is dropped inside the runtime.
        let (summary, text) = run_captured(plan, Arc::from(provider)).await?;
        match summary.passed == 1 {
            true => Ok(Completion::Completed),
            false => Err(Failed::from(format!(
                "mcs-basic did not pass on k3s:\n{text}"
            ))),
        }
    })
}

fn main() {
    let args = Arguments::from_args();
    // Progress of the provider (container start, routes, readiness) on stderr.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mcs_harness::k3s=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root).expect("project root");
    let docker = runtime()
        .map_err(|e| format!("{e:?}"))
        .and_then(|rt| rt.block_on(k3s::docker_available()));
    let run = move || two_clusters_run_mcs_basic(root);
    let trial = match docker {
        Ok(()) => Trial::ignorable_test(NAME, run),
        Err(reason) => {
            // Listing (`--list`) prints to stdout; the reason goes to stderr either way.
            eprintln!("{NAME}: ignored: {reason}");
            // The reason reads `no Docker daemon answers at HOST: WHY`; the name keeps the
            // first part (HOST has no `: `), stderr and `--include-ignored` show all of it.
            let short = reason.split(": ").next().unwrap_or(&reason);
            let name = format!("{NAME} (ignored: {})", one_line(short, 120));
            Trial::ignorable_test(name, run).with_ignored_flag(true)
        }
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}
