//! libtest/nextest-style console output.
//!
//! Layout (the same in both modes, except where noted):
//!
//! ```text
//! running 2 scenarios (provider embedded (clusters a, b))
//!
//! scenario mcs-basic started (namespace mcs-basic-r1; clusters a=embedded, b=embedded)
//! scenario migration started (namespace migration-r1; clusters a=embedded, b=embedded)
//! scenario mcs-basic ... ok (845 ms)
//!   ok      apply app in a  (12 ms)
//!   ok      expectDns from b  (400 ms)
//!   ok      stopProbe availability  (1 ms)
//!           probe availability: 412 samples, 99.0% ok, longest outage 300 ms, answers a=200 b=204
//!   milestones: exportApplied, importSeen (b) +120 ms, dnsCorrect (b) +390 ms
//!   cleanup: 4 deleted  (140 ms)
//! scenario migration ... FAILED (31.2 s)
//!   FAILED  expectEndpoints in b  (30.0 s)
//!           timed out after 30s waiting for Endpoints gke-mcs-x in b
//!           diff (expected vs seen): ...
//!           diagnosis: endpoints-empty (cluster b) ...
//!   skipped expectDns from b  (earlier step failed)
//!
//! failures:
//!     migration (step 02 expectEndpoints in b): timed out after 30s waiting for ...
//!
//! test result: FAILED. 1 passed; 1 failed; 0 skipped; finished in 32.01s
//! ```
//!
//! `-q` ([`Console::quiet`]) prints only the blocks of failed (or unfinished) scenarios and
//! the closing summary; [`Console::color`] colours the status words (`ok` green, `FAILED`
//! red, `skipped` yellow) with ANSI codes — the caller decides (a terminal, `--color`,
//! `NO_COLOR`), so files and pipes get none.
//!
//! Why this shape: with `--jobs N` the events of concurrent scenarios interleave, so step
//! lines are buffered per scenario and printed as one block when the scenario finishes
//! (result first, like libtest's `test x ... ok`, then the steps indented under it). A
//! failure's message, diff and diagnosis sit right under the failed step, where the reader
//! is looking; the closing `failures:` section only lists them. Diagnoses and background-probe
//! reports arrive before the step's StepFinished and are matched to it by scenario and step
//! index; a probe's one-line summary (with its budget violations) sits right under its
//! `stopProbe` step, before any failure details.
//!
//! In [`ConsoleMode::Plain`] a one-line `started` note is printed as each scenario starts, so
//! a CI log shows what is running during a long wait; no escape codes are ever written and
//! WaitProgress events are not printed. In [`ConsoleMode::Progress`] an indicatif bar on
//! stderr (steps done / total, message = current step or latest wait mismatch) replaces the
//! `started` notes; it is suspended while blocks are printed and hidden when stderr is not
//! a terminal.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::record::{RunRecord, ScenarioRecord, StepRecord};
use super::text;
use super::{ReportError, Reporter};
use crate::event::{Event, Outcome};
use crate::output::{Paint, paint as paint_text};

/// How the console reporter shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleMode {
    /// Lines only, no escape codes (CI logs, pipes).
    Plain,
    /// An indicatif progress line on stderr when it is a terminal.
    Progress,
}

/// The human-readable reporter.
pub struct Console {
    out: Box<dyn Write + Send>,
    mode: ConsoleMode,
    record: RunRecord,
    bar: Option<ProgressBar>,
    /// Indices (in `record.scenarios`) of scenarios whose block was printed.
    printed: HashSet<usize>,
    /// `-q`: only failed scenarios' blocks and the summary.
    quiet: bool,
    /// Colour the status words (ANSI SGR).
    color: bool,
    /// Events replayed from reports (`report merge`): no `started` notes.
    replayed: bool,
}

/// Column where step names start; failure details are indented to it.
const DETAIL: usize = 10;

impl Console {
    /// Writes to `out` (usually stdout); the progress bar, if any, goes to stderr.
    pub fn new(out: Box<dyn Write + Send>, mode: ConsoleMode) -> Console {
        Console {
            out,
            mode,
            record: RunRecord::default(),
            bar: None,
            printed: HashSet::new(),
            quiet: false,
            color: false,
            replayed: false,
        }
    }

    /// Events come from reports, not a live run (`report merge`): `started` notes say
    /// nothing then.
    pub fn replayed(mut self, replayed: bool) -> Console {
        self.replayed = replayed;
        self
    }

    /// `-q`: print only failed scenarios and the closing summary.
    pub fn quiet(mut self, quiet: bool) -> Console {
        self.quiet = quiet;
        self
    }

    /// Colour the status words (`ok` green, `FAILED` red, `skipped` yellow).
    pub fn color(mut self, color: bool) -> Console {
        self.color = color;
        self
    }

    /// Writes `text` (with a trailing newline), hiding the progress bar meanwhile.
    fn print(&mut self, text: &str) -> Result<(), ReportError> {
        let out = &mut self.out;
        let mut write = || writeln!(out, "{text}").and_then(|()| out.flush());
        let result = match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        };
        match result {
            // A reader that went away (`run | head`) does not fail the run: the exit code
            // and the report files still tell the result.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(ReportError::Console),
        }
    }

    fn set_message(&self, msg: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(msg);
        }
    }

    fn start_bar(&mut self) {
        if self.mode != ConsoleMode::Progress {
            return;
        }
        let total = self.record.planned_steps() as u64;
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template = "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps  {wide_msg}";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    /// Prints the block of record `idx` once.
    fn print_block(&mut self, idx: usize) -> Result<(), ReportError> {
        if !self.printed.insert(idx) {
            return Ok(());
        }
        let block = match self.record.scenarios.get(idx) {
            Some(s) if self.quiet && !matches!(s.outcome, Some(Outcome::Failed(_)) | None) => {
                return Ok(());
            }
            Some(s) => scenario_block(s, self.color).join("\n"),
            None => return Ok(()),
        };
        self.print(&block)
    }

    fn on_scenario_started(
        &mut self,
        scenario: &str,
        namespace: &str,
        clusters: &[(String, String)],
    ) -> Result<(), ReportError> {
        if self.mode == ConsoleMode::Progress || self.quiet || self.replayed {
            return Ok(());
        }
        let clusters: Vec<String> = clusters.iter().map(|(c, at)| format!("{c}={at}")).collect();
        self.print(&format!(
            "scenario {scenario} started (namespace {namespace}; clusters {})",
            clusters.join(", ")
        ))
    }

    fn on_wait(&self, scenario: &str, index: usize, message: &str) {
        let step = self
            .record
            .scenario(scenario)
            .and_then(|s| s.steps.iter().find(|st| st.info.index == index))
            .map_or_else(|| format!("step {index}"), |st| st.info.name.clone());
        self.set_message(format!("{scenario}: {step}: {message}"));
    }

    fn on_scenario_finished(&mut self, name: &str) -> Result<(), ReportError> {
        let Some(idx) = self.record.scenarios.iter().rposition(|s| s.name == name) else {
            return Ok(());
        };
        if let (Some(bar), Some(s)) = (&self.bar, self.record.scenarios.get(idx)) {
            // Steps that never ran still count as done for the bar.
            let finished = s.count_steps(|_| true);
            bar.inc(s.planned_steps.saturating_sub(finished) as u64);
        }
        self.print_block(idx)
    }

    fn on_run_finished(&mut self) -> Result<(), ReportError> {
        for idx in 0..self.record.scenarios.len() {
            self.print_block(idx)?;
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let summary = run_summary(&self.record, self.color).join("\n");
        self.print(&summary)
    }
}

impl Reporter for Console {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        self.record.apply(e);
        match e {
            Event::RunStarted {
                scenarios,
                provider,
                ..
            } => {
                let n = scenarios.len();
                let noun = if n == 1 { "scenario" } else { "scenarios" };
                self.start_bar();
                if self.quiet {
                    return Ok(());
                }
                self.print(&format!("running {n} {noun} (provider {provider})\n"))
            }
            Event::Preflight { .. } | Event::Notice { .. } if self.quiet => Ok(()),
            Event::Preflight { report } => self.print(&text::preflight_table(report).join("\n")),
            Event::Notice { scenario, message } => self.print(&format!(
                "note: {}",
                text::notice(scenario.as_deref(), message)
            )),
            Event::ScenarioStarted {
                scenario,
                namespace,
                clusters,
                ..
            } => self.on_scenario_started(scenario, namespace, clusters),
            Event::StepStarted { scenario, step, .. } => {
                self.set_message(format!("{scenario}: {}", step.name));
                Ok(())
            }
            Event::WaitProgress {
                scenario,
                index,
                message,
                ..
            } => {
                self.on_wait(scenario, *index, message);
                Ok(())
            }
            Event::StepFinished { .. } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                Ok(())
            }
            Event::Milestone { .. }
            | Event::Diagnosis { .. }
            | Event::ProbeReport { .. }
            | Event::CleanupFinished { .. } => Ok(()),
            Event::ScenarioFinished { scenario, .. } => self.on_scenario_finished(scenario),
            Event::Comparison { baseline, findings } => {
                self.print(&text::comparison(baseline.as_deref(), findings).join("\n"))
            }
            Event::RunFinished { .. } => self.on_run_finished(),
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.out.flush().map_err(ReportError::Console)
    }
}

/// A status word, coloured when `color`.
fn status_word(color: bool, word: &str) -> String {
    let paint = match word {
        "ok" => Paint::Green,
        "FAILED" => Paint::Red,
        _ => Paint::Yellow,
    };
    paint_text(color, paint, word)
}

/// The block printed when a scenario finishes.
fn scenario_block(s: &ScenarioRecord, color: bool) -> Vec<String> {
    let st = |o: &Outcome| status_word(color, text::status(o));
    let header = match (&s.outcome, s.duration) {
        (Some(Outcome::Skipped { reason }), _) => format!(
            "{} ({reason})",
            st(&Outcome::Skipped {
                reason: String::new()
            })
        ),
        (Some(o), Some(d)) => format!("{} ({})", st(o), text::duration(d)),
        (Some(o), None) => st(o),
        (None, _) => "did not finish".to_string(),
    };
    let mut lines = vec![format!("scenario {} ... {header}", s.name)];
    if let (Some(Outcome::Failed(f)), None) = (&s.outcome, s.first_failed_step()) {
        // Failed outside any step (e.g. while creating namespaces).
        let details = text::failure_lines(f, &[]);
        lines.push(text::indent(&details, 4));
    }
    let mut steps: Vec<&StepRecord> = s.steps.iter().collect();
    steps.sort_by_key(|st| st.info.index);
    for st in steps {
        lines.extend(step_lines(s, st, color));
    }
    if !s.milestones.is_empty() {
        let parts: Vec<String> = s
            .milestones
            .iter()
            .map(|m| match m.since_export {
                Some(d) => format!("{} +{}", text::milestone_label(m), text::duration(d)),
                None => text::milestone_label(m),
            })
            .collect();
        lines.push(format!("  milestones: {}", parts.join(", ")));
    }
    if let Some(c) = &s.cleanup {
        if c.kept {
            lines.push("  cleanup: kept (--keep)".to_string());
        } else {
            let problems = match c.problems.len() {
                0 => String::new(),
                1 => ", 1 problem".to_string(),
                n => format!(", {n} problems"),
            };
            let dur = text::duration(c.duration);
            lines.push(format!(
                "  cleanup: {} deleted{problems}  ({dur})",
                c.deleted
            ));
            lines.extend(c.problems.iter().map(|p| format!("    - {p}")));
        }
    }
    lines
}

/// The line of one step, its probe summaries, then the failure details under a failed one.
fn step_lines(s: &ScenarioRecord, st: &StepRecord, color: bool) -> Vec<String> {
    let mut lines = step_outcome_lines(s, st, color);
    let pad = " ".repeat(DETAIL);
    let probes = s
        .probes_of(st.info.index)
        .into_iter()
        .map(|p| format!("{pad}{}", text::probe_summary(p)));
    let at = lines.len().min(1);
    lines.splice(at..at, probes);
    lines
}

/// The line of one step, plus the failure details under a failed one.
fn step_outcome_lines(s: &ScenarioRecord, st: &StepRecord, color: bool) -> Vec<String> {
    // The word padded first, then coloured, so the columns stay aligned.
    let word = |w: &str| {
        let padded = format!("{w:<8}");
        match color {
            true => padded.replacen(w, &status_word(true, w), 1),
            false => padded,
        }
    };
    let name = &st.info.name;
    let diagnoses = s.diagnoses_of(st.info.index);
    let dur = st.duration.map(text::duration).unwrap_or_default();
    match &st.outcome {
        Some(Outcome::Passed) => {
            let mut lines = vec![format!("  {}{name}  ({dur})", word("ok"))];
            // An expectFailure step passes with a diagnosis: name it.
            for d in diagnoses {
                let title = text::diagnosis_title(d);
                lines.push(format!("{}diagnosis: {title}", " ".repeat(DETAIL)));
            }
            lines
        }
        Some(Outcome::Failed(f)) => {
            let details = text::failure_lines(f, &diagnoses);
            vec![
                format!("  {}{name}  ({dur})", word("FAILED")),
                text::indent(&details, DETAIL),
            ]
        }
        Some(Outcome::Skipped { reason }) => {
            vec![format!("  {}{name}  ({reason})", word("skipped"))]
        }
        None => {
            let mut lines = vec![format!("  {:<8}{name}  (did not finish)", "?")];
            if let Some((msg, elapsed)) = &st.last_wait {
                let after = text::duration(*elapsed);
                lines.push(format!(
                    "{}last seen after {after}: {msg}",
                    " ".repeat(DETAIL)
                ));
            }
            lines
        }
    }
}

/// The closing `failures:` section and `test result:` line.
fn run_summary(record: &RunRecord, color: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let failed: Vec<String> = record
        .scenarios
        .iter()
        .filter_map(|s| match &s.outcome {
            Some(Outcome::Failed(f)) => {
                let line = match s.first_failed_step() {
                    Some(st) => format!(
                        "    {} (step {:02} {}): {}",
                        s.name, st.info.index, st.info.name, f.message
                    ),
                    None => format!("    {}: {}", s.name, f.message),
                };
                Some(match text::summary_diagnosis(s).as_str() {
                    "—" => line,
                    d => format!("{line} [diagnosis: {d}]"),
                })
            }
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        lines.push(String::new());
        lines.push("failures:".to_string());
        lines.extend(failed);
    }
    let leaks: Vec<String> = record
        .scenarios
        .iter()
        .flat_map(|s| {
            s.cleanup_problems()
                .iter()
                .map(|p| format!("    {}: {p}", s.name))
        })
        .collect();
    if !leaks.is_empty() {
        lines.push(String::new());
        lines.push("cleanup problems:".to_string());
        lines.extend(leaks);
    }
    lines.push(String::new());
    lines.push(match record.totals {
        Some(t) => {
            let verdict = status_word(color, if t.failed > 0 { "FAILED" } else { "ok" });
            format!(
                "test result: {verdict}. {} passed; {} failed; {} skipped; finished in {}",
                t.passed,
                t.failed,
                t.skipped,
                text::seconds(t.duration)
            )
        }
        None => "test result: unknown (the run did not finish)".to_string(),
    });
    lines
}
