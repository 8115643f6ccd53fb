//! `mcs-harness conformance`: runs the KEP-1645 conformance scenarios
//! (`scenarios/conformance/`, one per spec of the upstream suite kubernetes-sigs/mcs-api
//! `conformance/`) through `run`'s own path — provider, preflight, plan, engine, reporters,
//! cleanup — on the embedded fleet (default) or any fleet bound with `--cluster`, and writes
//! a conformance report (YAML, plus a section of the run's HTML report) naming for each
//! spec its result, KEP link and, on failure, why the fleet is non-conformant and the
//! doctor's diagnosis. Exit 0 when every selected Required spec passed, 1 otherwise, 2 for
//! usage/input errors (130/143 after a signal).
//!
//! Layout: `collect` (a reporter folding events), `report` (the model, YAML and summary),
//! `html` (the HTML section).

mod collect;
mod html;
mod report;

use std::path::{Path, PathBuf};

use clap::{Args, Parser};

pub use collect::{Collected, Collector};
pub use report::{KEP_LABEL, KEP_URL, LEVEL_LABEL, Report, SPEC_LABEL, Spec, Totals, build};

use crate::output::Output;
use crate::run_cmd::{RunArgs, RunCmdError};

/// Where the shipped conformance scenarios are.
pub const DEFAULT_DIR: &str = "scenarios/conformance";

/// The implementation named when the embedded fleet is certified.
pub const EMBEDDED_IMPLEMENTATION: &str = "mcs-harness simulated importer (upstream flavour)";

/// Options of `conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Directory (or files) of conformance scenarios.
    #[arg(long = "scenarios", default_value = DEFAULT_DIR)]
    pub scenarios: Vec<PathBuf>,
    /// Bind a scenario cluster to a kubeconfig context (repeat; the specs use clusters `a`
    /// and `b`). Without any, each spec gets an embedded fleet of its own.
    #[arg(long = "cluster", value_name = "NAME=CONTEXT", value_parser = crate::run_cmd::parse_binding)]
    pub clusters: Vec<(String, String)>,
    /// Kubeconfig for `--cluster` (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Run only the Required specs.
    #[arg(long)]
    pub required_only: bool,
    /// Directory for conformance.yaml, report.html, report.json and junit.xml (created
    /// when missing).
    #[arg(long, default_value = "conformance-report")]
    pub report_dir: PathBuf,
    /// Name of the MCS implementation under test, for the report (Lighthouse, Cilium,
    /// Antrea, Cloud Map, mcs-api controller…); the embedded fleet names itself.
    #[arg(long)]
    pub implementation: Option<String>,
    /// Multiply every timeout (real fleets propagate in seconds to minutes).
    #[arg(long, default_value = "1")]
    pub timeout_scale: String,
    /// Image of the probe pods (needs `nslookup` and `nc`: busybox, netshoot).
    #[arg(long, default_value = crate::probe::DEFAULT_PROBE_IMAGE)]
    pub probe_image: String,
    /// Run up to N specs at the same time (default as `run`).
    #[arg(long)]
    pub jobs: Option<u32>,
    /// Bound of each cluster's preflight checks.
    #[arg(long, default_value = "10s")]
    pub preflight_timeout: String,
}

/// Errors of `conformance` that are the user's to fix (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// Loading, binding, preflight or the run itself.
    #[error(transparent)]
    Run(#[from] RunCmdError),
    /// The options do not make a valid run.
    #[error("invalid options: {0}")]
    Options(String),
    /// The report directory cannot be used.
    #[error("cannot write the conformance report in {path}: {source}")]
    ReportDir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The report could not be rendered.
    #[error("cannot render the conformance report: {0}")]
    Render(String),
}

/// `run`'s options for a conformance run (parsed by `run`'s own parser, so every default
/// is `run`'s).
fn run_args(a: &ConformanceArgs, dir: &Path) -> Result<RunArgs, ConformanceError> {
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        run: RunArgs,
    }
    let mut argv: Vec<String> = vec!["conformance".into()];
    argv.extend(a.scenarios.iter().map(|p| p.display().to_string()));
    for (n, c) in &a.clusters {
        argv.push(format!("--cluster={n}={c}"));
    }
    if let Some(k) = &a.kubeconfig {
        argv.push(format!("--kubeconfig={}", k.display()));
    }
    let selector = match a.required_only {
        true => format!("{LEVEL_LABEL}=required"),
        false => LEVEL_LABEL.to_string(),
    };
    argv.push(format!("--selector={selector}"));
    argv.push("--flavour=upstream".into());
    argv.push(format!("--timeout-scale={}", a.timeout_scale));
    argv.push(format!("--probe-image={}", a.probe_image));
    argv.push(format!("--preflight-timeout={}", a.preflight_timeout));
    if let Some(j) = a.jobs {
        argv.push(format!("--jobs={j}"));
    }
    for (flag, file) in [
        ("json", "report.json"),
        ("junit", "junit.xml"),
        ("html", "report.html"),
    ] {
        argv.push(format!("--{flag}={}", dir.join(file).display()));
    }
    Wrap::try_parse_from(argv)
        .map(|w| w.run)
        .map_err(|e| ConformanceError::Options(e.to_string().trim().to_string()))
}

/// Runs `mcs-harness conformance`; returns the exit code.
pub async fn run(a: &ConformanceArgs, output: &Output) -> Result<i32, ConformanceError> {
    let dir = a.report_dir.clone();
    let dir_err = |source| ConformanceError::ReportDir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(dir_err)?;
    let args = run_args(a, &dir)?;
    let files = crate::run_cmd::scenario_files(&args.paths)?;
    let scenarios: Vec<_> = crate::run_cmd::load_all(&files)?
        .into_iter()
        .filter(report::is_spec)
        .filter(|s| !a.required_only || s.labels.get(LEVEL_LABEL).is_some_and(|l| l == "required"))
        .collect();
    let (collector, data) = Collector::new();
    let code = crate::run_cmd::run_reporting(&args, output, vec![Box::new(collector)]).await?;
    let run = data.lock().map(|d| d.clone()).unwrap_or_default();
    let implementation = a.implementation.clone().unwrap_or_else(|| detect(&run));
    let report = build(&scenarios, &run, &implementation);
    let yaml = report.to_yaml().map_err(ConformanceError::Render)?;
    std::fs::write(dir.join("conformance.yaml"), yaml).map_err(dir_err)?;
    let html_path = dir.join("report.html");
    let page = std::fs::read_to_string(&html_path).map_err(dir_err)?;
    std::fs::write(&html_path, html::inject(&page, &html::section(&report))).map_err(dir_err)?;
    let mut lines = report.summary();
    lines.push(format!(
        "report: {} (and report.html, report.json, junit.xml there)",
        dir.join("conformance.yaml").display()
    ));
    for l in lines {
        say(&l);
    }
    Ok(match code {
        130 | 143 => code,
        _ => i32::from(report.result != "conformant"),
    })
}

/// The implementation, where the run tells it: the embedded fleet runs this project's
/// simulated importer; on other fleets it is `unknown` unless `--implementation` names it.
fn detect(run: &Collected) -> String {
    let embedded =
        run.clusters.iter().all(|c| c.location == "embedded") && !run.clusters.is_empty();
    match embedded {
        true => EMBEDDED_IMPLEMENTATION.to_string(),
        false => "unknown (name it with --implementation)".to_string(),
    }
}

/// Prints a line on stdout; a reader that went away is not an error.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
