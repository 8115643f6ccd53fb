//! `mcs-harness run`: loads scenarios (every load error is reported, then exit 2), opens the
//! provider and runs preflight on it (exit 2 on any problem), decides per scenario whether
//! it runs or is skipped for a missing capability, collects what dead runs left on shared
//! clusters, holds the run's Lease, runs the scenarios with reporters attached, and cleans
//! up on Ctrl-C. Exit code: 0 all passed, 1 a scenario failed, 2 bad input, 130 SIGINT,
//! 143 SIGTERM (both after cleanup).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::compare::{Baseline, Comparer, Limits, RunData};
use crate::engine::{self, EventSink, Planned, RunConfig, RunIntro};
use crate::fleet::gc::{GcOptions, RunVerdict};
use crate::fleet::liveness::RunLease;
use crate::fleet::{OpenError, Provider, ProviderError, ProviderKind, ProviderOptions};
use crate::output::Output;
use crate::report::{Console, ConsoleMode, FanOut, Reporter};
use crate::scenario::{self, LoadOptions, Scenario, ScenarioError};

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or directories of them (default: `scenarios/`).
    pub paths: Vec<PathBuf>,
    /// Bind a scenario cluster to a kubeconfig context: `--cluster a=gke_proj_zone_c1`
    /// (repeat). Without any, each scenario gets an embedded fleet of its own.
    #[arg(long = "cluster", value_name = "NAME=CONTEXT", value_parser = parse_binding)]
    pub clusters: Vec<(String, String)>,
    /// Kubeconfig for `--cluster` and `--provider kind` (default: $KUBECONFIG or
    /// ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Where the clusters come from: `embedded` (default; a fleet per scenario, in-process),
    /// `kind` (kind clusters `kind-<prefix>-1…N`, reused or created, importer in-process),
    /// `k3s` (k3s containers; needs Docker and a build with `--features k3s`). `--cluster`
    /// binds existing contexts instead.
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
    pub flavour: mcs_importer::Flavour,
    /// Run up to N scenarios at the same time (default: four per CPU: scenarios mostly wait, they seldom compute).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Keep what the run created (namespaces, probe pods, faults) for debugging; prints the
    /// command that removes it.
    #[arg(long)]
    pub keep: bool,
    /// Allow scenarios to use this protected namespace (kube-system, gke-mcs, default).
    #[arg(long = "allow-namespace", value_name = "NAMESPACE")]
    pub allow_namespaces: Vec<String>,
    /// Allow `file:` fixtures outside the scenario's project root.
    #[arg(long)]
    pub allow_outside_files: bool,
    /// Image of the probe pods that run DNS and HTTP probes.
    #[arg(long, default_value = crate::probe::DEFAULT_PROBE_IMAGE)]
    pub probe_image: String,
    /// Only run scenarios whose name matches this regular expression (repeat: any may
    /// match; unanchored, so `repro` and `^repro-` both take repro-partition).
    #[arg(long = "filter", value_name = "REGEX")]
    pub filters: Vec<String>,
    /// Leave out scenarios whose name matches this regular expression (repeat).
    #[arg(long = "skip", value_name = "REGEX")]
    pub skips: Vec<String>,
    /// Only run scenarios whose `labels` satisfy this selector: `key=value`, `key!=value`,
    /// `key`, `!key`, comma-separated (repeat: all must hold), as `kubectl get -l`.
    #[arg(long = "selector", short = 'l', value_name = "SELECTOR", value_parser = crate::select::parse_selector)]
    pub selectors: Vec<Vec<crate::select::Requirement>>,
    /// Run only shard INDEX of COUNT (0-based, e.g. `--shard $JOB_COMPLETION_INDEX/3`):
    /// the selected scenarios sorted by name, dealt round-robin.
    #[arg(long, value_name = "INDEX/COUNT", value_parser = crate::select::parse_shard)]
    pub shard: Option<crate::select::Shard>,
    /// Start no new scenario after one fails (running ones finish; the rest are reported
    /// skipped).
    #[arg(long)]
    pub fail_fast: bool,
    /// Multiply every timeout of every scenario (defaults, step caps, steps' own) by F,
    /// e.g. 10 for GKE, whose propagation takes minutes where the embedded fleet takes
    /// milliseconds.
    #[arg(long, default_value_t = 1.0, value_name = "F", value_parser = parse_scale)]
    pub timeout_scale: f64,
    /// Timeout of waits and assertions that have no `timeout` of their own, replacing the
    /// scenarios' `timeouts.default` (the step cap is raised to it when lower); applied
    /// before `--timeout-scale`.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub default_timeout: Option<Duration>,
    /// Print what would run (and why each other scenario would not), then exit 0 without
    /// running anything.
    #[arg(long)]
    pub list: bool,
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
    pub propagation_delay: Duration,
    /// Bound of each cluster's preflight checks (reachable, credentials, MCS API,
    /// permissions).
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub preflight_timeout: Duration,
    /// Do not remove, at start, what dead runs left on the clusters (see `mcs-harness gc`).
    #[arg(long)]
    pub no_gc: bool,
}

/// `--provider` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderArg {
    /// A fleet per scenario, in-process.
    Embedded,
    /// kind clusters.
    Kind,
    /// k3s containers (feature `k3s`).
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

/// A timeout factor: a positive number up to 1000.
fn parse_scale(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 1000.0 => Ok(f),
        _ => Err(format!(
            "expected a factor above 0 and at most 1000 (e.g. 10), got {s:?}"
        )),
    }
}

/// A duration longer than zero.
pub fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match crate::duration::parse_duration(s)? {
        d if d.is_zero() => Err(format!("{s:?} must be longer than 0s")),
        d => Ok(d),
    }
}

/// Parses `NAME=CONTEXT`.
pub fn parse_binding(s: &str) -> Result<(String, String), String> {
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
    /// The provider could not be opened, or preflight failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A scenario cannot be bound as the command line says.
    #[error(transparent)]
    Bind(#[from] ProviderError),
    /// Every selected scenario would be skipped: a run that tests nothing must not pass.
    #[error(
        "no scenario can run on this fleet:\n{0}\nbind more clusters, select other scenarios, or use the embedded fleet"
    )]
    NothingRuns(String),
    /// A report path cannot be written.
    #[error("cannot write the report {path}: {message}")]
    ReportPath {
        /// Path as given.
        path: String,
        /// Why.
        message: String,
    },
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
    /// A selection flag is wrong.
    #[error(transparent)]
    Select(#[from] crate::select::SelectError),
    /// The selection flags leave no scenario.
    #[error(
        "no scenario is selected:\n{0}\ncheck --filter, --skip and --selector (`--list` shows why each is left out)"
    )]
    NoneSelected(String),
    /// The run's Lease could not be created.
    #[error(transparent)]
    Lease(#[from] crate::fleet::liveness::LivenessError),
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

/// Loads every file with the default options, collecting all errors.
pub fn load_all(files: &[PathBuf]) -> Result<Vec<Scenario>, RunCmdError> {
    load_all_with(files, &LoadOptions::default())
}

/// Loads every file, collecting all errors.
pub fn load_all_with(files: &[PathBuf], opts: &LoadOptions) -> Result<Vec<Scenario>, RunCmdError> {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for f in files {
        match scenario::load_with(f, opts) {
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

/// Scenarios run at once per CPU by default. A scenario spends nearly all its time waiting
/// (propagation, holds, probe intervals), not computing: measured with `suite_bench` on
/// 2 CPUs (2026-12-04), the shipped suite took 1.59 × its longest scenario with one job per
/// CPU and 1.06 × with every scenario at once. Four per CPU reaches the floor without
/// starting a real fleet's whole suite at once.
pub const JOBS_PER_CPU: usize = 4;

/// The number of scenarios run at once by default: [`JOBS_PER_CPU`] per CPU.
pub fn default_jobs() -> usize {
    cpus() * JOBS_PER_CPU
}

/// The CPUs this process may use (1 when unknown).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `mcs-harness run`; returns the exit code (0 passed, 1 failed, 130/143 signalled).
pub async fn run(args: &RunArgs, output: &Output) -> Result<i32, RunCmdError> {
    run_reporting(args, output, Vec::new()).await
}

/// [`run`] with more reporters fed the same events (`conformance` folds them into its
/// report).
pub async fn run_reporting(
    args: &RunArgs,
    output: &Output,
    extra: Vec<Box<dyn Reporter>>,
) -> Result<i32, RunCmdError> {
    for p in [&args.junit, &args.json, &args.markdown, &args.html]
        .into_iter()
        .flatten()
    {
        writable(p)?;
    }
    let files = scenario_files(&args.paths)?;
    let load = LoadOptions {
        allow_namespaces: args.allow_namespaces.clone(),
        allow_outside_files: args.allow_outside_files,
    };
    let mut scenarios = load_all_with(&files, &load)?;
    for s in &mut scenarios {
        s.adjust_timeouts(args.default_timeout, args.timeout_scale);
    }
    let selection = crate::select::Selection::new(
        &args.filters,
        &args.skips,
        args.selectors.iter().flatten().cloned().collect(),
        args.shard,
    )?;
    let (scenarios, left_out) = crate::run_list::apply(scenarios, &selection)?;
    if args.list {
        return crate::run_list::list(args, &scenarios, &left_out).await;
    }
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline {
            path: p.display().to_string(),
            data: read_baseline(p)?,
        }),
        None => None,
    };
    let scenarios: Vec<Arc<Scenario>> = scenarios.into_iter().map(Arc::new).collect();
    // Repeats run back to back per scenario: `s`, `s#2`, `s#3`, then the next scenario.
    let scenarios: Vec<Arc<Scenario>> = scenarios
        .iter()
        .flat_map(|s| std::iter::repeat_n(s.clone(), args.repeat as usize))
        .collect();
    let (provider, preflight) = crate::fleet::open(&provider_options(args)).await?;
    let plan = plan(&scenarios, provider.as_ref())?;
    // An empty shard (more shards than scenarios) passes: the other shards run them all.
    if !plan.is_empty() && plan.iter().all(|p| p.skip.is_some()) {
        return Err(RunCmdError::NothingRuns(
            plan.iter()
                .map(|p| {
                    format!(
                        "  {}: {}",
                        p.scenario.name,
                        p.skip.clone().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    let cfg = RunConfig {
        keep: args.keep,
        allow_namespaces: args.allow_namespaces.clone(),
        probe_image: args.probe_image.clone(),
        jobs: args.jobs.map_or_else(default_jobs, |j| j as usize),
        fail_fast: args.fail_fast,
        ..RunConfig::default()
    };
    let shared = !provider.capabilities().fleet_per_scenario;
    let mut notices = Vec::new();
    let lease = match shared {
        true => {
            if !args.no_gc {
                notices.extend(collect_dead_runs(provider.as_ref(), &cfg).await);
            }
            Some(RunLease::acquire(provider.registry(), &cfg.run_id).await?)
        }
        false => None,
    };
    if let Some(shard) = selection.shard() {
        notices.push(format!(
            "shard {shard}: {} of the selected scenarios run here ({} in other shards)",
            scenarios.len() / args.repeat as usize,
            left_out
                .iter()
                .filter(|(_, why)| why.starts_with("in shard"))
                .count()
        ));
    }
    let limits = Limits {
        max_regression: args.max_regression,
        ..Limits::default()
    };
    let (reporter, findings) = Comparer::new(reporters(args, output, extra), baseline, limits);
    let reporter: Box<dyn Reporter> = Box::new(reporter);
    let intro = RunIntro {
        preflight: Some(preflight),
        notices,
    };
    let run_id = cfg.run_id.clone();
    let provider: Arc<dyn Provider> = Arc::from(provider);
    let (summary, signal) = run_with(plan, provider.clone(), cfg, intro, reporter).await?;
    if let Some(l) = lease {
        l.release(args.keep).await;
    }
    if args.keep {
        say(&kept_note(args, provider.as_ref(), &run_id));
    }
    // The findings were reported (an Event before RunFinished); they fail the run.
    let findings = findings.lock().map(|f| f.clone()).unwrap_or_default();
    Ok(match signal {
        Some(sig) => 128 + sig,
        None => i32::from(summary.failed > 0 || !findings.is_empty()),
    })
}

/// Prints a line on stdout; a reader that went away (`run | head`) is not an error.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

pub(crate) fn provider_options(args: &RunArgs) -> ProviderOptions {
    let kind = match (args.provider, args.clusters.is_empty()) {
        (_, false) => ProviderKind::Contexts(args.clusters.clone()),
        (None | Some(ProviderArg::Embedded), true) => ProviderKind::Embedded,
        (Some(ProviderArg::Kind), true) => ProviderKind::Kind,
        (Some(ProviderArg::K3s), true) => ProviderKind::K3s,
    };
    ProviderOptions {
        kind,
        kubeconfig: args.kubeconfig.clone(),
        kind_prefix: args.kind_prefix.clone(),
        cluster_count: args.cluster_count,
        flavour: args.flavour,
        propagation_delay: args.propagation_delay,
        preflight_timeout: args.preflight_timeout,
    }
}

/// Each scenario runs, or is skipped with the capability it lacks; a scenario the command
/// line binds wrongly is an error.
pub fn plan(
    scenarios: &[Arc<Scenario>],
    provider: &dyn Provider,
) -> Result<Vec<Planned>, ProviderError> {
    scenarios
        .iter()
        .map(|s| {
            Ok(Planned {
                scenario: s.clone(),
                skip: provider.fit(s)?,
            })
        })
        .collect()
}

/// Fails unless `path` can be written (its directory exists and takes a new file).
fn writable(path: &Path) -> Result<(), RunCmdError> {
    let err = |message: String| RunCmdError::ReportPath {
        path: path.display().to_string(),
        message,
    };
    if path.is_dir() {
        return Err(err("it is a directory: give a file path".into()));
    }
    if path.exists() {
        return std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|e| err(format!("{e}: check its permissions")));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(err(format!(
            "directory {} does not exist: create it first",
            dir.display()
        )));
    }
    let probe = dir.join(format!(".mcs-harness-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| err(format!("directory {} is not writable: {e}", dir.display())))
}

/// Removes what dead runs left on the provider's clusters; one notice per run collected.
async fn collect_dead_runs(provider: &dyn Provider, cfg: &RunConfig) -> Vec<String> {
    let opts = GcOptions {
        except: Some(cfg.run_id.clone()),
        allow_namespaces: cfg.allow_namespaces.clone(),
        wait: Duration::from_secs(60),
        ..GcOptions::default()
    };
    let mut notes = Vec::new();
    for c in crate::fleet::gc::gc(provider.registry(), &opts).await {
        for (run, verdict) in &c.runs {
            if let RunVerdict::Collected(objects) = verdict {
                notes.push(format!(
                    "gc: removed what dead run {run} left in cluster {}: {}",
                    c.cluster,
                    objects.join(", ")
                ));
            }
        }
        notes.extend(
            c.problems
                .iter()
                .map(|p| format!("gc: cluster {}: {p}", c.cluster)),
        );
    }
    notes
}

/// What `--keep` left, and the exact commands that remove it.
fn kept_note(args: &RunArgs, provider: &dyn Provider, run_id: &str) -> String {
    if provider.capabilities().fleet_per_scenario {
        return "kept: nothing outlives this run (each scenario's embedded fleet ended with it)"
            .to_string();
    }
    let kubeconfig = args
        .kubeconfig
        .as_ref()
        .map(|k| format!(" --kubeconfig {}", k.display()))
        .unwrap_or_default();
    let bound: Vec<String> = provider
        .registry()
        .iter()
        .map(|h| format!(" --cluster {}={}", h.name, h.location))
        .collect();
    let mut lines = vec![
        format!("kept: everything run {run_id} created stays; to remove it:"),
        format!(
            "  mcs-harness gc{kubeconfig}{} --run-id {run_id}",
            bound.join("")
        ),
        "  or, with kubectl:".to_string(),
    ];
    for h in provider.registry().iter() {
        let faults = match provider.capabilities().faults {
            true => ",faults.sim.mcs-harness.dev",
            false => "",
        };
        lines.push(format!(
            "  kubectl{kubeconfig} --context {} delete namespaces{faults} -l {}={run_id} && kubectl{kubeconfig} --context {} -n {} delete lease {}",
            h.location,
            crate::engine::RUN_LABEL,
            h.location,
            crate::fleet::liveness::LEASE_NAMESPACE,
            crate::fleet::liveness::lease_name(run_id)
        ));
    }
    lines.join("\n")
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

/// Runs a plan on `provider` with a reporter, cancelling on SIGINT/SIGTERM (cleanup still
/// runs); returns the totals and the signal that stopped the run, if one did.
pub async fn run_with(
    plan: Vec<Planned>,
    provider: Arc<dyn Provider>,
    cfg: RunConfig,
    intro: RunIntro,
    mut reporter: Box<dyn Reporter>,
) -> Result<(engine::RunSummary, Option<i32>), RunCmdError> {
    let cancel = CancellationToken::new();
    let (sig_tx, sig_rx) = tokio::sync::oneshot::channel::<i32>();
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(RunCmdError::Signal)?;
        let mut int = signal(SignalKind::interrupt()).map_err(RunCmdError::Signal)?;
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let sig = tokio::select! {
                _ = term.recv() => 15,
                _ = int.recv() => 2,
            };
            eprintln!("interrupted: stopping and cleaning up (this waits for namespaces to go)");
            let _ = sig_tx.send(sig);
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
    let summary = engine::run(plan, provider, cfg, intro, EventSink::new(tx), cancel).await;
    signals.abort();
    let mut sig_rx = sig_rx;
    let signal = sig_rx.try_recv().ok();
    let errors = consumer
        .await
        .map_err(|e| RunCmdError::Report(e.to_string()))?;
    if !errors.is_empty() {
        return Err(RunCmdError::Report(errors.join("; ")));
    }
    Ok((summary, signal))
}

/// Console (progress bar on a terminal outside CI) plus the requested files.
fn reporters(args: &RunArgs, output: &Output, extra: Vec<Box<dyn Reporter>>) -> Box<dyn Reporter> {
    let tty = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
    let mode = if tty && !output.quiet() {
        ConsoleMode::Progress
    } else {
        ConsoleMode::Plain
    };
    let mut all: Vec<Box<dyn Reporter>> = vec![Box::new(
        Console::new(Box::new(std::io::stdout()), mode)
            .quiet(output.quiet())
            .color(output.color_stdout()),
    )];
    all.extend(crate::report::file_reporters(
        args.junit.as_deref(),
        args.json.as_deref(),
        args.markdown.as_deref(),
        args.html.as_deref(),
    ));
    all.extend(extra);
    Box::new(FanOut::new(all))
}
