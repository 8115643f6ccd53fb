//! `mcs-harness report merge`: JSON reports of several runs (the shards of one run, e.g.
//! the pods of an Indexed Job) read back and replayed as one event stream, so every
//! reporter (console, JUnit, JSON, Markdown, HTML) renders the merged run exactly as it
//! renders a live one. The merged JSON is a report like any other (it works as
//! `--baseline`).
//!
//! The merged run: scenarios of every report in the order given (each report's in its own
//! order), counts summed, started at the earliest start, lasting until the latest end, run
//! id the shards' ids joined by `+`, the first report's preflight table and provider, every
//! notice.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::json_report::{JsonReport, JsonScenario};
use crate::compare::Findings;
use crate::event::{Event, ScenarioInfo, StepInfo, millis, rfc3339};

/// Why a report cannot be merged (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct MergeError {
    /// The report file.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// A report as read, with its file name for messages.
struct Doc {
    path: String,
    r: JsonReport,
}

impl Doc {
    fn err(&self, message: impl Into<String>) -> MergeError {
        MergeError {
            path: self.path.clone(),
            message: message.into(),
        }
    }
}

/// Reads one JSON report.
fn read(path: &Path) -> Result<Doc, MergeError> {
    let shown = path.display().to_string();
    let err = |m: String| MergeError {
        path: shown.clone(),
        message: m,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    match v["schemaVersion"].as_u64() {
        Some(1) => {}
        Some(n) => {
            return Err(err(format!(
                "schemaVersion {n}: this harness reads version 1"
            )));
        }
        None => {
            return Err(err(
                "not an mcs-harness JSON report (no schemaVersion): give files written by \
                 `run --json`"
                    .into(),
            ));
        }
    }
    let r = JsonReport::from_value(v).map_err(|e| err(e.to_string()))?;
    Ok(Doc { path: shown, r })
}

fn ms(v: Option<f64>) -> Option<Duration> {
    v.and_then(millis::from_ms)
}

fn instant(v: Option<&str>) -> Option<SystemTime> {
    v.and_then(rfc3339::parse)
}

/// Reads the reports at `paths` and returns the merged run as events, RunStarted first and
/// RunFinished last.
pub fn merged_events(paths: &[impl AsRef<Path>]) -> Result<Vec<Event>, MergeError> {
    let docs: Vec<Doc> = paths
        .iter()
        .map(|p| read(p.as_ref()))
        .collect::<Result<_, _>>()?;
    let start = docs
        .iter()
        .filter_map(|d| instant(d.r.started_at.as_deref()))
        .min();
    let end = docs
        .iter()
        .filter_map(|d| Some(instant(d.r.started_at.as_deref())? + ms(d.r.duration_ms)?))
        .max();
    let duration = match (start, end) {
        (Some(s), Some(e)) => e.duration_since(s).unwrap_or_default(),
        _ => docs
            .iter()
            .filter_map(|d| ms(d.r.duration_ms))
            .max()
            .unwrap_or_default(),
    };
    let run_ids: Vec<&str> = docs.iter().map(|d| d.r.run_id.as_str()).collect();
    let mut events = vec![Event::RunStarted {
        run_id: run_ids.join("+"),
        provider: docs
            .first()
            .map(|d| d.r.provider.clone())
            .unwrap_or_default(),
        scenarios: docs
            .iter()
            .flat_map(|d| &d.r.scenarios)
            .map(|s| ScenarioInfo {
                name: s.name.clone(),
                file: s.file.clone(),
                steps: s.planned_steps,
                description: s.description.clone(),
            })
            .collect(),
        at: start.unwrap_or(SystemTime::UNIX_EPOCH),
    }];
    if let Some(report) = docs.iter().find_map(|d| d.r.preflight.clone()) {
        events.push(Event::Preflight { report });
    }
    for d in &docs {
        for n in &d.r.notices {
            events.push(Event::Notice {
                scenario: n.scenario.clone(),
                message: n.message.clone(),
            });
        }
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for d in &docs {
        passed += d.r.passed;
        failed += d.r.failed;
        skipped += d.r.skipped;
        for s in &d.r.scenarios {
            scenario(d, s, &mut events)?;
        }
    }
    if let Some(e) = comparison(&docs) {
        events.push(e);
    }
    events.push(Event::RunFinished {
        passed,
        failed,
        skipped,
        duration,
    });
    Ok(events)
}

/// The shards' comparisons as one (findings in report order, the first baseline named).
fn comparison(docs: &[Doc]) -> Option<Event> {
    let all: Vec<_> = docs
        .iter()
        .filter_map(|d| d.r.comparison.as_ref())
        .collect();
    if all.is_empty() {
        return None;
    }
    let mut findings = Findings::default();
    for c in &all {
        findings
            .regressions
            .extend(c.findings.regressions.iter().cloned());
        findings.broken.extend(c.findings.broken.iter().cloned());
        findings.flaky.extend(c.findings.flaky.iter().cloned());
    }
    Some(Event::Comparison {
        baseline: all.iter().find_map(|c| c.baseline.clone()),
        findings,
    })
}

/// The events of one scenario record.
fn scenario(d: &Doc, s: &JsonScenario, out: &mut Vec<Event>) -> Result<(), MergeError> {
    let name = s.name.clone();
    if let Some(at) = instant(s.started_at.as_deref()) {
        out.push(Event::ScenarioStarted {
            scenario: name.clone(),
            namespace: s.namespace.clone(),
            clusters: s
                .clusters
                .iter()
                .map(|c| (c.name.clone(), c.target.clone()))
                .collect(),
            at,
        });
    }
    for st in &s.steps {
        let step = StepInfo {
            index: st.index,
            kind: st.kind.clone(),
            name: st.name.clone(),
            location: st.location.clone(),
        };
        if let Some(at) = instant(st.started_at.as_deref()) {
            out.push(Event::StepStarted {
                scenario: name.clone(),
                step: step.clone(),
                at,
            });
        }
        if let Some((w, elapsed)) = st
            .last_wait
            .as_ref()
            .and_then(|w| Some((w, ms(Some(w.elapsed_ms))?)))
        {
            out.push(Event::WaitProgress {
                scenario: name.clone(),
                index: step.index,
                message: w.message.clone(),
                elapsed,
            });
        }
        if let Some(outcome) = st.outcome.clone() {
            out.push(Event::StepFinished {
                scenario: name.clone(),
                step,
                outcome,
                duration: ms(st.duration_ms).unwrap_or_default(),
            });
        }
    }
    for g in &s.diagnoses {
        out.push(Event::Diagnosis {
            scenario: name.clone(),
            index: g.index,
            diagnosis: g.diagnosis.clone(),
        });
    }
    for m in &s.milestones {
        let Some(at) = instant(Some(&m.at)) else {
            return Err(d.err(format!(
                "scenario {name}: milestone {}: bad time {:?}",
                m.milestone.key(),
                m.at
            )));
        };
        out.push(Event::Milestone {
            scenario: name.clone(),
            milestone: m.milestone,
            cluster: m.cluster.clone(),
            at,
            since_export: ms(m.since_export_ms),
            source: m.source.unwrap_or(m.milestone.source()),
        });
    }
    for p in &s.probes {
        out.push(Event::ProbeReport {
            scenario: name.clone(),
            index: p.index,
            report: p.to_report(),
        });
    }
    if let Some(c) = &s.cleanup {
        out.push(Event::CleanupFinished {
            scenario: name.clone(),
            deleted: c.deleted,
            problems: c.problems.clone(),
            kept: c.kept,
            duration: ms(Some(c.duration_ms)).unwrap_or_default(),
        });
    }
    if let Some(outcome) = s.outcome.clone() {
        out.push(Event::ScenarioFinished {
            scenario: name,
            outcome,
            duration: ms(s.duration_ms).unwrap_or_default(),
        });
    }
    Ok(())
}
