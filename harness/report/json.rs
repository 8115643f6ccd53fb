//! One JSON document per run: every scenario, step, diagnosis, milestone, background-probe
//! report and cleanup result.
//! It is the baseline format for comparing runs (`--baseline PATH.json` compares milestone
//! latencies per scenario), so the shape is flat, stable and camelCase:
//!
//! ```text
//! {
//!   "schemaVersion": 1,
//!   "runId": "r-7f3a", "provider": "embedded (clusters a, b)",
//!   "startedAt": "2026-11-26T10:00:00.000Z",          // RFC 3339 UTC, ms; null if unknown
//!   "durationMs": 2310.5,                             // null until RunFinished
//!   "passed": 3, "failed": 0, "skipped": 1,
//!   "preflight": {"tookMs": 4.1, "clusters": [{"cluster": "a", "location": "ctx-a",
//!                 "server": "https://…", "version": "v1.33.0", "user": "admin" | null,
//!                 "mcsApis": ["net.gke.io/v1"], "flavours": ["gke"], "faults": false,
//!                 "permissionsChecked": 17 | null, "problems": [], "tookMs": 3.2}]} | null,
//!   "notices": [{"scenario": "repro-partition" | null, "message": "..."}],
//!   "scenarios": [{
//!     "name": "mcs-basic", "file": "scenarios/mcs-basic.yaml", "description": null,
//!     "plannedSteps": 6, "namespace": "mcs-basic-r1",
//!     "clusters": [{"name": "a", "target": "embedded"}],
//!     "startedAt": "...", "durationMs": 845.0,
//!     "outcome": {"status": "passed"}                 // or {"status": "failed", "message",
//!                                                     //  "expected", "seen", "diff",
//!                                                     //  "diagnosis"} or {"status":
//!                                                     //  "skipped", "reason"}; null if
//!                                                     //  the scenario did not finish
//!     "steps": [{"index": 0, "kind": "apply", "name": "...", "location": "file:3:5",
//!                "startedAt": "...", "durationMs": 12.0, "outcome": {...},
//!                "lastWait": {"message": "...", "elapsedMs": 500.0} | null}],
//!     "diagnoses": [{"index": 2, "id": "...", "cluster": "b", "summary": "...",
//!                    "evidence": [...], "remedy": "...", "checks": [...]}],
//!     "milestones": [{"milestone": "importSeen", "cluster": "b",
//!                     "at": "...", "sinceExportMs": 120.0,
//!                     "source": "watch"}],               // watch | probe | step
//!     "probes": [{"index": 5, "name": "availability",  // index = the stopProbe step
//!                 "startedAt": "...", "durationMs": 4000.0,
//!                 "total": 412, "failed": 4, "successRate": 0.9903,
//!                 "longestOutageMs": 300.0, "answersByCluster": {"a": 200, "b": 204},
//!                 "violations": ["..."],                 // empty: within budget
//!                 "samples": [{"offsetMs": 0.0, "latencyMs": 3.2, "from": "b",
//!                              "kind": "http", "ok": true, "servedBy": "a",
//!                              "detail": "200"}]}],  // every sample, in time order
//!     "cleanup": {"deleted": 4, "problems": [], "kept": false, "durationMs": 140.0} | null
//!   }]
//! }
//! ```
//!
//! Durations are milliseconds as numbers (microsecond precision); instants are RFC 3339
//! strings. Scenarios appear in the order they started. WaitProgress events are summarised
//! by each step's `lastWait`; nothing else is dropped.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Value, json};

use super::record::{RunRecord, ScenarioRecord, StepRecord};
use super::{ReportError, Reporter, write_file};
use crate::doctor::Diagnosis;
use crate::event::{Event, Outcome, ProbeReport, rfc3339};

/// Version of the document shape; bumped on incompatible changes.
const SCHEMA_VERSION: u32 = 1;

/// The JSON reporter; writes its file (pretty-printed) on [`Reporter::finish`].
pub struct Json {
    path: PathBuf,
    record: RunRecord,
}

impl Json {
    /// Writes the report to `path`.
    pub fn new(path: PathBuf) -> Json {
        Json {
            path,
            record: RunRecord::default(),
        }
    }

    /// The document as it is (or would be) written.
    pub fn render(&self) -> Value {
        let r = &self.record;
        let count = |pred: fn(&Outcome) -> bool| {
            r.scenarios
                .iter()
                .filter(|s| s.outcome.as_ref().is_some_and(pred))
                .count()
        };
        let (passed, failed, skipped) = match r.totals {
            Some(t) => (t.passed, t.failed, t.skipped),
            None => (
                count(|o| matches!(o, Outcome::Passed)),
                count(|o| matches!(o, Outcome::Failed(_))),
                count(|o| matches!(o, Outcome::Skipped { .. })),
            ),
        };
        json!({
            "schemaVersion": SCHEMA_VERSION,
            "runId": r.run_id,
            "provider": r.provider,
            "startedAt": r.started_at.map(rfc3339::format),
            "durationMs": r.totals.map(|t| ms(t.duration)),
            "passed": passed,
            "failed": failed,
            "skipped": skipped,
            "preflight": r.preflight.as_ref().map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
            "notices": r.notices.iter().map(|(s, m)| json!({"scenario": s, "message": m})).collect::<Vec<_>>(),
            "scenarios": r.scenarios.iter().map(scenario).collect::<Vec<_>>(),
        })
    }
}

impl Reporter for Json {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        self.record.apply(e);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        let mut doc = serde_json::to_string_pretty(&self.render()).map_err(ReportError::Json)?;
        doc.push('\n');
        write_file(&self.path, &doc)
    }
}

/// Milliseconds with microsecond precision (no float noise like `12.000000001`).
fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

fn instant(t: Option<SystemTime>) -> Option<String> {
    t.map(rfc3339::format)
}

/// A diagnosis with the index of its step, flattened into one object.
#[derive(Serialize)]
struct IndexedDiagnosis<'a> {
    index: usize,
    #[serde(flatten)]
    diagnosis: &'a Diagnosis,
}

fn scenario(s: &ScenarioRecord) -> Value {
    let clusters: Vec<Value> = s
        .clusters
        .iter()
        .map(|(name, target)| json!({ "name": name, "target": target }))
        .collect();
    let diagnoses: Vec<Value> = s
        .diagnoses
        .iter()
        .map(|(index, diagnosis)| {
            json!(IndexedDiagnosis {
                index: *index,
                diagnosis
            })
        })
        .collect();
    let milestones: Vec<Value> = s
        .milestones
        .iter()
        .map(|m| {
            json!({
                "milestone": m.milestone.key(),
                "cluster": m.cluster,
                "at": rfc3339::format(m.at),
                "sinceExportMs": m.since_export.map(ms),
                "source": m.source.key(),
            })
        })
        .collect();
    let cleanup = s.cleanup.as_ref().map(|c| {
        json!({
            "deleted": c.deleted,
            "problems": c.problems,
            "kept": c.kept,
            "durationMs": ms(c.duration),
        })
    });
    json!({
        "name": s.name,
        "file": s.file,
        "description": s.description,
        "plannedSteps": s.planned_steps,
        "namespace": s.namespace,
        "clusters": clusters,
        "startedAt": instant(s.started_at),
        "durationMs": s.duration.map(ms),
        "outcome": s.outcome,
        "steps": s.steps.iter().map(step).collect::<Vec<_>>(),
        "diagnoses": diagnoses,
        "milestones": milestones,
        "probes": s.probes.iter().map(|(i, p)| probe(*i, p)).collect::<Vec<_>>(),
        "cleanup": cleanup,
    })
}

fn step(st: &StepRecord) -> Value {
    let last_wait = st
        .last_wait
        .as_ref()
        .map(|(message, elapsed)| json!({ "message": message, "elapsedMs": ms(*elapsed) }));
    json!({
        "index": st.info.index,
        "kind": st.info.kind,
        "name": st.info.name,
        "location": st.info.location,
        "startedAt": instant(st.started_at),
        "durationMs": st.duration.map(ms),
        "outcome": st.outcome,
        "lastWait": last_wait,
    })
}

fn probe(index: usize, p: &ProbeReport) -> Value {
    let samples: Vec<Value> = p
        .samples
        .iter()
        .map(|x| {
            json!({
                "offsetMs": ms(x.offset),
                "latencyMs": ms(x.latency),
                "from": x.from,
                "kind": x.kind,
                "ok": x.ok,
                "servedBy": x.served_by,
                "detail": x.detail,
            })
        })
        .collect();
    json!({
        "index": index,
        "name": p.name,
        "startedAt": rfc3339::format(p.started_at),
        "durationMs": ms(p.duration),
        "total": p.total,
        "failed": p.failed,
        "successRate": p.success_rate,
        "longestOutageMs": ms(p.longest_outage),
        "answersByCluster": p.answers_by_cluster,
        "violations": p.violations,
        "samples": samples,
    })
}
