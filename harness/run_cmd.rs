//! `mcs-harness run`: loads scenarios (every load error is reported, then exit 2), binds
//! their clusters — to an embedded fleet started in-process (default), or to kubeconfig
//! contexts with `--cluster NAME=CONTEXT` — runs them with reporters attached, and cleans
//! up on Ctrl-C. Exit code: 0 all passed, 1 a scenario failed.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use kube::Client;
use tokio_util::sync::CancellationToken;

use crate::compare::{Collector, Findings, Limits, RunData, compare, flaky};
use crate::engine::{self, ClusterHandle, EventSink, Planned, RunConfig};
use crate::fleet::{EmbeddedFleet, EmbeddedOptions, FleetError, clients_from_kubeconfig};
use crate::report::{Console, ConsoleMode, FanOut, Html, Json, Junit, Markdown, Reporter};
use crate::scenario::{self, Flavour, Scenario, ScenarioError};

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or directories of them (default: `scenarios/`).
    pub paths: Vec<PathBuf>,
    /// Bind a scenario cluster to a kubeconfig context: `--cluster a=gke_proj_zone_c1`
    /// (repeat). Without any, an embedded fleet is started in-process.
    #[arg(long = "cluster", value_name = "NAME=CONTEXT", value_parser = parse_binding)]
    pub clusters: Vec<(String, String)>,
    /// Kubeconfig for `--cluster` and `--provider kind` (default: $KUBECONFIG or
    /// ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Where the clusters come from: `embedded` (default; in-process fleet), `kind` (kind
    /// clusters `kind-<prefix>-1…N`, reused or created, importer in-process), `k3s` (k3s
    /// containers; needs Docker and a build with `--features k3s`). `--cluster` binds
    /// existing contexts instead.
    #[arg(long, value_enum, conflicts_with = "clusters")]
    pub provider: Option<ProviderArg>,
    /// kind cluster name prefix for `--provider kind`.
    #[arg(long, default_value = "mcs")]
    pub kind_prefix: String,
    /// How many clusters `--provider kind` (1–4) or `--provider k3s` uses; scenarios are
    /// bound to them in order.
    #[arg(long, default_value_t = 2)]
    pub cluster_count: usize,
    /// MCS flavour set up on kind/k3s clusters (scenarios of the other flavour are skipped).
    #[arg(long, value_enum, default_value = "gke")]
    pub flavour: crate::cli::FlavourArg,
    /// Run up to N scenarios at the same time.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Keep what the run created (namespaces, probe pods, faults) for debugging.
    #[arg(long)]
    pub keep: bool,
    /// Allow scenarios to use this protected namespace (kube-system, gke-mcs, default).
    #[arg(long = "allow-namespace", value_name = "NAMESPACE")]
    pub allow_namespaces: Vec<String>,
    /// Image of the probe pods that run DNS and HTTP probes.
    #[arg(long, default_value = crate::probe::DEFAULT_PROBE_IMAGE)]
    pub probe_image: String,
    /// Only run scenarios whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write a JSON report (with milestone timestamps) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML report (waterfalls, probe timelines) here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Run every scenario N times (names get `#2`, `#3`, …); mixed outcomes are reported
    /// as flaky (a failure).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Compare milestone latencies and outcomes with a previous `--json` report; slower
    /// beyond `--max-regression` (and by more than 50 ms) or newly failing is a failure.
    #[arg(long, value_name = "PATH.json")]
    pub baseline: Option<PathBuf>,
    /// Largest allowed slowdown of a milestone against the baseline (median over repeats).
    #[arg(long, default_value = "25%", value_parser = parse_percent)]
    pub max_regression: f64,
    /// Importer propagation delay of the embedded fleet (e.g. 2s), to mimic GKE.
    #[arg(long, default_value = "0", value_parser = crate::duration::parse_duration)]
    pub propagation_delay: std::time::Duration,
}

/// `--provider` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderArg {
    /// The embedded fleet, in-process.
    Embedded,
    /// Two kind clusters.
    Kind,
    /// Two k3s containers (feature `k3s`).
    K3s,
}

/// Parses `25%` (or `0.25`) into a ratio.
fn parse_percent(s: &str) -> Result<f64, String> {
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => s.trim().parse::<f64>(),
    };
    match v {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("expected a percentage like 25% , got {s:?}")),
    }
}

/// Parses `NAME=CONTEXT`.
fn parse_binding(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, c)) if !n.is_empty() && !c.is_empty() => Ok((n.to_string(), c.to_string())),
        _ => Err(format!(
            "expected NAME=CONTEXT (e.g. a=kind-mcs-1), got {s:?}"
        )),
    }
}

/// Errors of `run` that are the user's to fix (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RunCmdError {
    /// Scenario files that do not load; every one is listed.
    #[error("{} scenario file(s) have errors:\n{}", .0.len(), list(.0))]
    Scenarios(Vec<ScenarioError>),
    /// No scenario matched.
    #[error("no scenarios found in {0}: give .yaml files or directories containing them")]
    NoScenarios(String),
    /// A path does not exist.
    #[error("{0}: no such file or directory")]
    Missing(String),
    /// Clusters could not be reached or built.
    #[error(transparent)]
    Fleet(#[from] FleetError),
    /// A scenario cluster has no binding.
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    /// A report could not be written.
    #[error("failed to write reports: {0}")]
    Report(String),
    /// The baseline report cannot be used.
    #[error("baseline {path}: {message}")]
    Baseline {
        /// Path as given.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Signal handlers could not be installed.
    #[error("failed to install signal handlers")]
    Signal(#[source] std::io::Error),
    /// The kind provider could not provide clusters.
    #[error("the kind provider failed")]
    Kind(#[source] crate::kind::cmd::KindCmdError),
    /// The k3s provider could not provide clusters.
    #[error("{0}")]
    K3s(String),
}

fn list(errors: &[ScenarioError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    lines.join("\n")
}

/// Finds scenario files: files as given, directories' `*.yaml`/`*.yml` sorted by name.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RunCmdError> {
    let default = [PathBuf::from("scenarios")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|_| missing(p))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(missing(p));
        }
    }
    if out.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(RunCmdError::NoScenarios(shown.join(", ")));
    }
    Ok(out)
}

fn missing(p: &Path) -> RunCmdError {
    RunCmdError::Missing(p.display().to_string())
}

/// Loads every file, collecting all errors.
pub fn load_all(files: &[PathBuf]) -> Result<Vec<Scenario>, RunCmdError> {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for f in files {
        match scenario::load(f) {
            Ok(s) => ok.push(s),
            Err(e) => bad.push(e),
        }
    }
    if bad.is_empty() {
        Ok(ok)
    } else {
        Err(RunCmdError::Scenarios(bad))
    }
}

/// Runs `mcs-harness run`; returns the exit code (0 passed, 1 failed).
pub async fn run(args: &RunArgs) -> Result<i32, RunCmdError> {
    let files = scenario_files(&args.paths)?;
    let mut scenarios = load_all(&files)?;
    if let Some(f) = &args.filter {
        scenarios.retain(|s| s.name.contains(f.as_str()));
        if scenarios.is_empty() {
            return Err(RunCmdError::NoScenarios(format!("(filter {f:?})")));
        }
    }
    let baseline = args.baseline.as_deref().map(read_baseline).transpose()?;
    let scenarios: Vec<Arc<Scenario>> = scenarios.into_iter().map(Arc::new).collect();
    // Repeats run back to back per scenario: `s`, `s#2`, `s#3`, then the next scenario.
    let scenarios: Vec<Arc<Scenario>> = scenarios
        .iter()
        .flat_map(|s| std::iter::repeat_n(s.clone(), args.repeat as usize))
        .collect();
    // Whatever keeps the clusters (fleets, in-process importers, containers) lives until
    // the run is over.
    let mut _keep: Vec<Box<dyn Send>> = Vec::new();
    let (plan, provider) = match (args.provider, args.clusters.is_empty()) {
        (None | Some(ProviderArg::Embedded), true) => {
            let (plan, provider, fleets) =
                embedded_plan(&scenarios, args.propagation_delay).await?;
            _keep.extend(fleets.into_iter().map(|f| Box::new(f) as Box<dyn Send>));
            (plan, provider)
        }
        (Some(ProviderArg::Kind), _) => {
            let flavour: mcs_importer::Flavour = args.flavour.into();
            let opts = crate::kind::provider::KindOptions {
                prefix: args.kind_prefix.clone(),
                clusters: args.cluster_count,
                flavour,
                kubeconfig: args.kubeconfig.clone(),
                propagation_delay: args.propagation_delay,
            };
            let kind = crate::kind::provider::bring_up(&opts, &mut std::io::stderr())
                .await
                .map_err(RunCmdError::Kind)?;
            let plan = local_plan(&scenarios, &kind.prepared.clusters, flavour, "kind");
            let provider = kind.describe(flavour);
            _keep.push(Box::new(kind));
            (plan, provider)
        }
        (Some(ProviderArg::K3s), _) => k3s_plan(&scenarios, args, &mut _keep).await?,
        (_, false) => {
            let (plan, provider, _) = context_plan(&scenarios, args).await?;
            (plan, provider)
        }
    };
    let cfg = RunConfig {
        keep: args.keep,
        allow_namespaces: args.allow_namespaces.clone(),
        probe_image: args.probe_image.clone(),
        jobs: args.jobs,
        ..RunConfig::default()
    };
    let (collector, data) = Collector::new();
    let reporter = reporters(args, collector);
    let summary = run_with(plan, cfg, provider, reporter).await?;
    let current = data.lock().map(|d| d.clone()).unwrap_or_default();
    let findings = match &baseline {
        Some(b) => compare(
            b,
            &current,
            Limits {
                max_regression: args.max_regression,
                ..Limits::default()
            },
        ),
        None => Findings {
            flaky: flaky(&current),
            ..Findings::default()
        },
    };
    if let Some(p) = &args.baseline {
        println!(
            "\ncompared with baseline {}: {}",
            p.display(),
            match findings.is_empty() {
                true => "no regressions".to_string(),
                false => format!("{} finding(s)", findings.lines().len()),
            }
        );
    }
    for line in findings.lines() {
        println!("{line}");
    }
    Ok(i32::from(summary.failed > 0 || !findings.is_empty()))
}

fn read_baseline(path: &Path) -> Result<RunData, RunCmdError> {
    let err = |message: String| RunCmdError::Baseline {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    RunData::from_json(&v).map_err(err)
}

/// Runs a plan with a reporter, cancelling on SIGINT/SIGTERM (cleanup still runs).
pub async fn run_with(
    plan: Vec<Planned>,
    cfg: RunConfig,
    provider: String,
    mut reporter: Box<dyn Reporter>,
) -> Result<engine::RunSummary, RunCmdError> {
    let cancel = CancellationToken::new();
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(RunCmdError::Signal)?;
        let mut int = signal(SignalKind::interrupt()).map_err(RunCmdError::Signal)?;
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            eprintln!("interrupted: stopping and cleaning up (this waits for namespaces to go)");
            cancel.cancel();
        })
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let consumer = tokio::task::spawn_blocking(move || {
        let mut errors = Vec::new();
        while let Some(e) = rx.blocking_recv() {
            if let Err(err) = reporter.event(&e) {
                errors.push(err.to_string());
            }
        }
        if let Err(err) = reporter.finish() {
            errors.push(err.to_string());
        }
        errors
    });
    let summary = engine::run(plan, cfg, provider, EventSink::new(tx), cancel).await;
    signals.abort();
    let errors = consumer
        .await
        .map_err(|e| RunCmdError::Report(e.to_string()))?;
    if !errors.is_empty() {
        return Err(RunCmdError::Report(errors.join("; ")));
    }
    Ok(summary)
}

/// Console (progress bar on a terminal outside CI) plus the requested files.
fn reporters(args: &RunArgs, collector: Collector) -> Box<dyn Reporter> {
    let tty = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
    let mode = if tty {
        ConsoleMode::Progress
    } else {
        ConsoleMode::Plain
    };
    let mut all: Vec<Box<dyn Reporter>> = vec![
        Box::new(Console::new(Box::new(std::io::stdout()), mode)),
        Box::new(collector),
    ];
    if let Some(p) = &args.junit {
        all.push(Box::new(Junit::new(p.clone())));
    }
    if let Some(p) = &args.json {
        all.push(Box::new(Json::new(p.clone())));
    }
    if let Some(p) = &args.markdown {
        all.push(Box::new(Markdown::new(p.clone())));
    }
    if let Some(p) = &args.html {
        all.push(Box::new(Html::new(p.clone())));
    }
    Box::new(FanOut::new(all))
}

/// Embedded fleets, one per flavour in use, each with the union of the scenarios'
/// cluster names. The fleets are returned so they live as long as the run.
pub async fn embedded_plan(
    scenarios: &[Arc<Scenario>],
    propagation_delay: std::time::Duration,
) -> Result<(Vec<Planned>, String, Vec<EmbeddedFleet>), RunCmdError> {
    let mut fleets: Vec<(Flavour, EmbeddedFleet)> = Vec::new();
    let mut described = Vec::new();
    for flavour in [Flavour::Gke, Flavour::Upstream] {
        let mut names: Vec<String> = Vec::new();
        for s in scenarios.iter().filter(|s| s.flavour == flavour) {
            for c in &s.clusters {
                if !names.contains(c) {
                    names.push(c.clone());
                }
            }
        }
        if names.is_empty() {
            continue;
        }
        let opts = EmbeddedOptions {
            clusters: names.clone(),
            flavour: flavour.into(),
            propagation_delay,
            ..EmbeddedOptions::default()
        };
        let fleet = EmbeddedFleet::start(&opts).await?;
        described.push(format!("{} ({})", flavour_name(flavour), names.join(", ")));
        fleets.push((flavour, fleet));
    }
    let mut plan = Vec::new();
    for s in scenarios {
        let mut clusters = BTreeMap::new();
        if let Some((_, fleet)) = fleets.iter().find(|(f, _)| *f == s.flavour) {
            for c in &s.clusters {
                let client = fleet.client(c).await?;
                clusters.insert(c.clone(), handle(c, "embedded", client));
            }
        }
        plan.push(Planned {
            scenario: s.clone(),
            clusters: Ok(clusters),
        });
    }
    let provider = format!("embedded fleet: {}", described.join("; "));
    Ok((plan, provider, fleets.into_iter().map(|(_, f)| f).collect()))
}

/// Binds each scenario's clusters, in the order the scenario lists them, to the local
/// clusters in order; scenarios needing more clusters, or the other flavour, are skipped
/// with the reason.
pub fn local_plan(
    scenarios: &[Arc<Scenario>],
    clusters: &[crate::local::LocalCluster],
    flavour: mcs_importer::Flavour,
    provider: &str,
) -> Vec<Planned> {
    let flavour: Flavour = flavour.into();
    scenarios
        .iter()
        .map(|s| {
            let bound = if s.flavour != flavour {
                Err(format!(
                    "needs the {} MCS flavour; the {provider} clusters were set up for {}: run \
                     again with --flavour {}",
                    flavour_name(s.flavour),
                    flavour_name(flavour),
                    flavour_name(s.flavour)
                ))
            } else if s.clusters.len() > clusters.len() {
                Err(format!(
                    "needs {} clusters; the {provider} provider has {}",
                    s.clusters.len(),
                    clusters.len()
                ))
            } else {
                Ok(s.clusters
                    .iter()
                    .zip(clusters)
                    .map(|(name, c)| (name.clone(), handle(name, &c.location, c.client.clone())))
                    .collect())
            };
            Planned {
                scenario: s.clone(),
                clusters: bound,
            }
        })
        .collect()
}

#[cfg(not(feature = "k3s"))]
async fn k3s_plan(
    _scenarios: &[Arc<Scenario>],
    _args: &RunArgs,
    _keep: &mut Vec<Box<dyn Send>>,
) -> Result<(Vec<Planned>, String), RunCmdError> {
    Err(RunCmdError::K3s(
        "this mcs-harness was built without the k3s provider: rebuild with \
         `cargo build --release --features k3s` (needs a Docker daemon at run time)"
            .into(),
    ))
}

#[cfg(feature = "k3s")]
async fn k3s_plan(
    scenarios: &[Arc<Scenario>],
    args: &RunArgs,
    keep: &mut Vec<Box<dyn Send>>,
) -> Result<(Vec<Planned>, String), RunCmdError> {
    let flavour: mcs_importer::Flavour = args.flavour.into();
    let opts = crate::k3s::K3sOptions {
        clusters: args.cluster_count,
        ..crate::k3s::K3sOptions::default()
    };
    let fleet = crate::k3s::start(&opts)
        .await
        .map_err(|e| RunCmdError::K3s(format!("the k3s provider failed: {e}")))?;
    let prepared = crate::local::prepare(fleet.clusters.clone(), flavour, args.propagation_delay)
        .await
        .map_err(|e| RunCmdError::K3s(format!("preparing the k3s clusters failed: {e}")))?;
    let plan = local_plan(scenarios, &prepared.clusters, flavour, "k3s");
    let provider = fleet.describe();
    // Dropped in this order at the end of the run: the importer, then the containers.
    keep.push(Box::new(prepared));
    keep.push(Box::new(fleet));
    Ok((plan, provider))
}

fn flavour_name(f: Flavour) -> &'static str {
    match f {
        Flavour::Gke => "gke",
        Flavour::Upstream => "upstream",
    }
}

fn handle(name: &str, location: &str, client: Client) -> ClusterHandle {
    ClusterHandle {
        name: name.to_string(),
        location: location.to_string(),
        client,
    }
}

/// Clusters bound to kubeconfig contexts. Scenarios whose MCS flavour the bound clusters
/// do not serve are skipped with the reason; unbound clusters are usage errors.
async fn context_plan(
    scenarios: &[Arc<Scenario>],
    args: &RunArgs,
) -> Result<(Vec<Planned>, String, Vec<EmbeddedFleet>), RunCmdError> {
    let contexts: Vec<String> = args.clusters.iter().map(|(_, c)| c.clone()).collect();
    let clients = clients_from_kubeconfig(args.kubeconfig.as_deref(), &contexts).await?;
    let mut bound: BTreeMap<String, ClusterHandle> = BTreeMap::new();
    for ((name, ctx), (_, client)) in args.clusters.iter().zip(clients) {
        bound.insert(name.clone(), handle(name, ctx, client));
    }
    let mut plan = Vec::new();
    // Discovery answers per (cluster, flavour), asked once however many scenarios share them.
    let mut served = std::collections::HashMap::new();
    for s in scenarios {
        let mut clusters = BTreeMap::new();
        for c in &s.clusters {
            let h = bound.get(c).ok_or_else(|| engine::EngineError::Unbound {
                scenario: s.name.clone(),
                cluster: c.clone(),
            })?;
            clusters.insert(c.clone(), h.clone());
        }
        let ok = serves_flavour(&clusters, s.flavour, &mut served).await;
        plan.push(Planned {
            scenario: s.clone(),
            clusters: ok.map(|()| clusters),
        });
    }
    let shown: Vec<String> = args
        .clusters
        .iter()
        .map(|(n, c)| format!("{n}={c}"))
        .collect();
    Ok((plan, format!("contexts {}", shown.join(", ")), Vec::new()))
}

/// Whether every cluster serves the flavour's ServiceImport API (else: the skip reason);
/// `known` remembers the answers per (cluster, flavour).
async fn serves_flavour(
    clusters: &BTreeMap<String, ClusterHandle>,
    flavour: Flavour,
    known: &mut std::collections::HashMap<(String, &'static str), bool>,
) -> Result<(), String> {
    let f: mcs_importer::Flavour = flavour.into();
    for (name, h) in clusters {
        let key = (name.clone(), flavour_name(flavour));
        let ok = match known.get(&key) {
            Some(ok) => *ok,
            None => {
                let gvk = kube::api::GroupVersionKind::gvk(f.group(), f.version(), "ServiceImport");
                let ok = kube::discovery::pinned_kind(&h.client, &gvk).await.is_ok();
                known.insert(key, ok);
                ok
            }
        };
        if !ok {
            return Err(format!(
                "needs the {} MCS API ({}/{} ServiceImport), which cluster {name} ({}) does not serve",
                flavour_name(flavour),
                f.group(),
                f.version(),
                h.location
            ));
        }
    }
    Ok(())
}
