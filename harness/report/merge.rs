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

use serde_json::Value;

use crate::doctor::Diagnosis;
use crate::event::{
    Event, Milestone, MilestoneSource, Outcome, ProbeReport, ProbeSample, ScenarioInfo, StepInfo,
    millis, rfc3339,
};

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
    v: Value,
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
    let v: Value = serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
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
    if !v["scenarios"].is_array() {
        return Err(err(
            "not an mcs-harness JSON report: no `scenarios` list".into()
        ));
    }
    Ok(Doc { path: shown, v })
}

fn ms(v: &Value) -> Option<Duration> {
    v.as_f64().and_then(millis::from_ms)
}

fn instant(v: &Value) -> Option<SystemTime> {
    v.as_str().and_then(rfc3339::parse)
}

fn string(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn count(v: &Value) -> usize {
    v.as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
}

/// Reads the reports at `paths` and returns the merged run as events, RunStarted first and
/// RunFinished last.
pub fn merged_events(paths: &[impl AsRef<Path>]) -> Result<Vec<Event>, MergeError> {
    let docs: Vec<Doc> = paths
        .iter()
        .map(|p| read(p.as_ref()))
        .collect::<Result<_, _>>()?;
    let start = docs.iter().filter_map(|d| instant(&d.v["startedAt"])).min();
    let end = docs
        .iter()
        .filter_map(|d| Some(instant(&d.v["startedAt"])? + ms(&d.v["durationMs"])?))
        .max();
    let duration = match (start, end) {
        (Some(s), Some(e)) => e.duration_since(s).unwrap_or_default(),
        _ => docs
            .iter()
            .filter_map(|d| ms(&d.v["durationMs"]))
            .max()
            .unwrap_or_default(),
    };
    let run_ids: Vec<String> = docs.iter().map(|d| string(&d.v["runId"])).collect();
    let mut events = vec![Event::RunStarted {
        run_id: run_ids.join("+"),
        provider: docs
            .first()
            .map(|d| string(&d.v["provider"]))
            .unwrap_or_default(),
        scenarios: docs
            .iter()
            .flat_map(|d| d.v["scenarios"].as_array().into_iter().flatten())
            .map(|s| ScenarioInfo {
                name: string(&s["name"]),
                file: string(&s["file"]),
                steps: count(&s["plannedSteps"]),
                description: s["description"].as_str().map(String::from),
            })
            .collect(),
        at: start.unwrap_or(SystemTime::UNIX_EPOCH),
    }];
    if let Some(d) = docs.iter().find(|d| !d.v["preflight"].is_null()) {
        let report = serde_json::from_value(d.v["preflight"].clone())
            .map_err(|e| d.err(format!("preflight: {e}")))?;
        events.push(Event::Preflight { report });
    }
    for d in &docs {
        for n in d.v["notices"].as_array().into_iter().flatten() {
            events.push(Event::Notice {
                scenario: n["scenario"].as_str().map(String::from),
                message: string(&n["message"]),
            });
        }
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for d in &docs {
        passed += count(&d.v["passed"]);
        failed += count(&d.v["failed"]);
        skipped += count(&d.v["skipped"]);
        for s in d.v["scenarios"].as_array().into_iter().flatten() {
            scenario(d, s, &mut events)?;
        }
    }
    events.push(Event::RunFinished {
        passed,
        failed,
        skipped,
        duration,
    });
    Ok(events)
}

fn outcome(d: &Doc, v: &Value, what: &str) -> Result<Option<Outcome>, MergeError> {
    match v {
        Value::Null => Ok(None),
        v => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| d.err(format!("{what}: outcome: {e}"))),
    }
}

/// The events of one scenario record.
fn scenario(d: &Doc, s: &Value, out: &mut Vec<Event>) -> Result<(), MergeError> {
    let name = string(&s["name"]);
    if let Some(at) = instant(&s["startedAt"]) {
        let clusters = s["clusters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (string(&c["name"]), string(&c["target"])))
            .collect();
        out.push(Event::ScenarioStarted {
            scenario: name.clone(),
            namespace: string(&s["namespace"]),
            clusters,
            at,
        });
    }
    for st in s["steps"].as_array().into_iter().flatten() {
        let step = StepInfo {
            index: count(&st["index"]),
            kind: string(&st["kind"]),
            name: string(&st["name"]),
            location: string(&st["location"]),
        };
        if let Some(at) = instant(&st["startedAt"]) {
            out.push(Event::StepStarted {
                scenario: name.clone(),
                step: step.clone(),
                at,
            });
        }
        if let (Some(message), Some(elapsed)) = (
            st["lastWait"]["message"].as_str(),
            ms(&st["lastWait"]["elapsedMs"]),
        ) {
            out.push(Event::WaitProgress {
                scenario: name.clone(),
                index: step.index,
                message: message.to_string(),
                elapsed,
            });
        }
        let what = format!("scenario {name} step {}", step.index);
        if let Some(outcome) = outcome(d, &st["outcome"], &what)? {
            out.push(Event::StepFinished {
                scenario: name.clone(),
                step,
                outcome,
                duration: ms(&st["durationMs"]).unwrap_or_default(),
            });
        }
    }
    for g in s["diagnoses"].as_array().into_iter().flatten() {
        let diagnosis: Diagnosis = serde_json::from_value(g.clone())
            .map_err(|e| d.err(format!("scenario {name}: diagnosis: {e}")))?;
        out.push(Event::Diagnosis {
            scenario: name.clone(),
            index: count(&g["index"]),
            diagnosis,
        });
    }
    for m in s["milestones"].as_array().into_iter().flatten() {
        let (Some(milestone), Some(at)) = (
            m["milestone"].as_str().and_then(Milestone::from_key),
            instant(&m["at"]),
        ) else {
            return Err(d.err(format!("scenario {name}: milestone {m}")));
        };
        out.push(Event::Milestone {
            scenario: name.clone(),
            milestone,
            cluster: m["cluster"].as_str().map(String::from),
            at,
            since_export: ms(&m["sinceExportMs"]),
            source: m["source"]
                .as_str()
                .and_then(MilestoneSource::from_key)
                .unwrap_or(milestone.source()),
        });
    }
    for p in s["probes"].as_array().into_iter().flatten() {
        out.push(Event::ProbeReport {
            scenario: name.clone(),
            index: count(&p["index"]),
            report: probe(p),
        });
    }
    let c = &s["cleanup"];
    if c.is_object() {
        out.push(Event::CleanupFinished {
            scenario: name.clone(),
            deleted: count(&c["deleted"]),
            problems: c["problems"]
                .as_array()
                .into_iter()
                .flatten()
                .map(string)
                .collect(),
            kept: c["kept"].as_bool().unwrap_or(false),
            duration: ms(&c["durationMs"]).unwrap_or_default(),
        });
    }
    if let Some(outcome) = outcome(d, &s["outcome"], &format!("scenario {name}"))? {
        out.push(Event::ScenarioFinished {
            scenario: name,
            outcome,
            duration: ms(&s["durationMs"]).unwrap_or_default(),
        });
    }
    Ok(())
}

fn probe(p: &Value) -> ProbeReport {
    ProbeReport {
        name: string(&p["name"]),
        started_at: instant(&p["startedAt"]).unwrap_or(SystemTime::UNIX_EPOCH),
        duration: ms(&p["durationMs"]).unwrap_or_default(),
        total: count(&p["total"]),
        failed: count(&p["failed"]),
        success_rate: p["successRate"].as_f64().unwrap_or(1.0),
        longest_outage: ms(&p["longestOutageMs"]).unwrap_or_default(),
        answers_by_cluster: p["answersByCluster"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), count(v)))
            .collect(),
        samples: p["samples"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| ProbeSample {
                offset: ms(&x["offsetMs"]).unwrap_or_default(),
                latency: ms(&x["latencyMs"]).unwrap_or_default(),
                from: string(&x["from"]),
                kind: string(&x["kind"]),
                ok: x["ok"].as_bool().unwrap_or(false),
                served_by: x["servedBy"].as_str().map(String::from),
                detail: string(&x["detail"]),
            })
            .collect(),
        violations: p["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(string)
            .collect(),
    }
}
