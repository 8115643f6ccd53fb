//! `mcs-harness report merge A.json B.json … [--json|--junit|--markdown|--html PATH]`:
//! merges the JSON reports of several runs — the shards of one run (`run --shard I/N`,
//! e.g. the pods of examples/k8s/indexed-job.yaml) — into one run, printed like a run's
//! console output and written in every report format. Exit 0 when no merged scenario
//! failed, 1 when one did, 2 when a file is not a report.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::output::Output;
use crate::report::{Console, ConsoleMode, FanOut, Reporter};

/// `report` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// Merge JSON reports (`run --json`) of shards into one run.
    Merge(MergeArgs),
}

/// Options of `report merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `run --json` (one per shard).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Write the merged JSON report here (usable as `run --baseline`).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write the HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// Errors of `report` (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ReportCmdError {
    /// A file is not a report.
    #[error(transparent)]
    Merge(#[from] crate::report::MergeError),
    /// A report could not be written.
    #[error(transparent)]
    Write(#[from] crate::report::ReportError),
}

/// Runs `report ACTION`; returns the exit code.
pub fn run(action: &ReportAction, output: &Output) -> Result<i32, ReportCmdError> {
    let ReportAction::Merge(args) = action;
    let events = crate::report::merged_events(&args.reports)?;
    let mut all: Vec<Box<dyn Reporter>> = vec![Box::new(
        Console::new(Box::new(std::io::stdout()), ConsoleMode::Plain)
            .quiet(output.quiet())
            .color(output.color_stdout())
            .replayed(true),
    )];
    all.extend(crate::report::file_reporters(
        args.junit.as_deref(),
        args.json.as_deref(),
        args.markdown.as_deref(),
        args.html.as_deref(),
    ));
    let mut reporter = FanOut::new(all);
    let mut failed = false;
    for e in &events {
        if let crate::event::Event::RunFinished { failed: f, .. } = e {
            failed = *f > 0;
        }
        reporter.event(e)?;
    }
    reporter.finish()?;
    Ok(i32::from(failed))
}
