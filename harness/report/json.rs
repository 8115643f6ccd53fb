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
//!   }],
//!   "comparison": {"baseline": "base.json" | null, "regressions": ["..."],
//!                  "broken": ["..."], "flaky": ["..."]} | null   // --baseline, --repeat
//! }
//! ```
//!
//! Durations are milliseconds as numbers (microsecond precision); instants are RFC 3339
//! strings. Scenarios appear in the order they started. WaitProgress events are summarised
//! by each step's `lastWait`; nothing else is dropped. The types are in
//! [`super::json_report`]; `mcs-harness schema --report` prints their JSON Schema.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::json_report::{
    JsonCleanup, JsonCluster, JsonComparison, JsonDiagnosis, JsonLastWait, JsonMilestone,
    JsonNotice, JsonProbe, JsonReport, JsonScenario, JsonStep, SCHEMA_VERSION,
};
use super::record::{RunRecord, ScenarioRecord, StepRecord};
use super::{ReportError, Reporter, write_file};
use crate::event::{Event, Outcome, rfc3339};

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
    pub fn report(&self) -> JsonReport {
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
        JsonReport {
            schema_version: SCHEMA_VERSION,
            run_id: r.run_id.clone(),
            provider: r.provider.clone(),
            started_at: instant(r.started_at),
            duration_ms: r.totals.map(|t| ms(t.duration)),
            passed,
            failed,
            skipped,
            preflight: r.preflight.clone(),
            notices: r
                .notices
                .iter()
                .map(|(scenario, message)| JsonNotice {
                    scenario: scenario.clone(),
                    message: message.clone(),
                })
                .collect(),
            scenarios: r.scenarios.iter().map(scenario).collect(),
            comparison: r
                .comparison
                .as_ref()
                .map(|(baseline, findings)| JsonComparison {
                    baseline: baseline.clone(),
                    findings: findings.clone(),
                }),
        }
    }

    /// The document as a JSON value.
    pub fn render(&self) -> Value {
        serde_json::to_value(self.report()).unwrap_or(Value::Null)
    }
}

impl Reporter for Json {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        self.record.apply(e);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        let doc = self.report().to_pretty().map_err(ReportError::Json)?;
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

fn scenario(s: &ScenarioRecord) -> JsonScenario {
    JsonScenario {
        name: s.name.clone(),
        file: s.file.clone(),
        description: s.description.clone(),
        planned_steps: s.planned_steps,
        namespace: s.namespace.clone(),
        clusters: s
            .clusters
            .iter()
            .map(|(name, target)| JsonCluster {
                name: name.clone(),
                target: target.clone(),
            })
            .collect(),
        started_at: instant(s.started_at),
        duration_ms: s.duration.map(ms),
        outcome: s.outcome.clone(),
        steps: s.steps.iter().map(step).collect(),
        diagnoses: s
            .diagnoses
            .iter()
            .map(|(index, diagnosis)| JsonDiagnosis {
                index: *index,
                diagnosis: diagnosis.clone(),
            })
            .collect(),
        milestones: s
            .milestones
            .iter()
            .map(|m| JsonMilestone {
                milestone: m.milestone,
                cluster: m.cluster.clone(),
                at: rfc3339::format(m.at),
                since_export_ms: m.since_export.map(ms),
                source: Some(m.source),
            })
            .collect(),
        probes: s
            .probes
            .iter()
            .map(|(i, p)| JsonProbe::new(*i, p))
            .collect(),
        cleanup: s.cleanup.as_ref().map(|c| JsonCleanup {
            deleted: c.deleted,
            problems: c.problems.clone(),
            kept: c.kept,
            duration_ms: ms(c.duration),
        }),
    }
}

fn step(st: &StepRecord) -> JsonStep {
    JsonStep {
        index: st.info.index,
        kind: st.info.kind.clone(),
        name: st.info.name.clone(),
        location: st.info.location.clone(),
        started_at: instant(st.started_at),
        duration_ms: st.duration.map(ms),
        outcome: st.outcome.clone(),
        last_wait: st
            .last_wait
            .as_ref()
            .map(|(message, elapsed)| JsonLastWait {
                message: message.clone(),
                elapsed_ms: ms(*elapsed),
            }),
    }
}
