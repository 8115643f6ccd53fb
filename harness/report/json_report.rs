//! The JSON report as types: what `run --json` writes ([`super::Json`]), what `--baseline`
//! ([`crate::compare`]) and `report merge` ([`super::merge_events`](super::merged_events))
//! read back, and what `mcs-harness schema --report` prints as a JSON Schema.
//!
//! The types are the wire form: instants are RFC 3339 strings, durations are milliseconds
//! as numbers (microsecond precision), optional values are `null`, never left out. Reading
//! is lenient where a field is missing (a report of an older harness of the same
//! `schemaVersion` lacks fields added since, e.g. `comparison`): it takes the default. The
//! printed schema describes what the harness *writes*: every field is required and no
//! other field is allowed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compare::Findings;
use crate::doctor::Diagnosis;
use std::time::{Duration, SystemTime};

use crate::event::{
    Milestone, MilestoneSource, Outcome, ProbeReport, ProbeSample, millis, rfc3339,
};
use crate::fleet::PreflightReport;

/// Version of the document shape; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// One run of the harness: every scenario, step, diagnosis, milestone, background-probe
/// report and cleanup result.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonReport {
    /// Version of the document shape (this harness writes and reads 1).
    pub schema_version: u32,
    /// Run id (the `mcs-harness.dev/run-id` label on everything the run created).
    pub run_id: String,
    /// Where the run ran, e.g. `embedded (clusters a, b)`.
    pub provider: String,
    /// Start, RFC 3339 UTC with milliseconds; null if unknown.
    #[schemars(extend("format" = "date-time"))]
    pub started_at: Option<String>,
    /// Wall time in milliseconds; null until the run finished.
    pub duration_ms: Option<f64>,
    /// Scenarios passed.
    pub passed: usize,
    /// Scenarios failed.
    pub failed: usize,
    /// Scenarios skipped.
    pub skipped: usize,
    /// What preflight found on the run's clusters; null when it did not run.
    pub preflight: Option<PreflightReport>,
    /// Things to know that are neither steps nor results.
    pub notices: Vec<JsonNotice>,
    /// Scenarios in the order they started (repeats as `name#2`, …).
    pub scenarios: Vec<JsonScenario>,
    /// The comparison with a baseline report and across repeats; null when there was none.
    pub comparison: Option<JsonComparison>,
}

/// A notice of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonNotice {
    /// The scenario it is about, if any.
    pub scenario: Option<String>,
    /// What to know.
    pub message: String,
}

/// One scenario run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonScenario {
    /// Scenario name (`#N` for the Nth repeat).
    pub name: String,
    /// File it was loaded from.
    pub file: String,
    /// Description, if any.
    pub description: Option<String>,
    /// Number of steps.
    pub planned_steps: usize,
    /// Namespace used in every cluster.
    pub namespace: String,
    /// Logical clusters and where they ran.
    pub clusters: Vec<JsonCluster>,
    /// Start (RFC 3339); null if it never started.
    #[schemars(extend("format" = "date-time"))]
    pub started_at: Option<String>,
    /// Wall time including cleanup (ms); null if unfinished.
    pub duration_ms: Option<f64>,
    /// How it ended; null if it did not finish.
    pub outcome: Option<Outcome>,
    /// Steps in order.
    pub steps: Vec<JsonStep>,
    /// The doctor's diagnoses, with the index of their step.
    pub diagnoses: Vec<JsonDiagnosis>,
    /// Propagation milestones in the order they were reached.
    pub milestones: Vec<JsonMilestone>,
    /// Background-probe reports.
    pub probes: Vec<JsonProbe>,
    /// The cleanup result; null if cleanup did not run.
    pub cleanup: Option<JsonCleanup>,
}

/// A logical cluster of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonCluster {
    /// Logical name in the scenario.
    pub name: String,
    /// Where it ran (context name or `embedded`).
    pub target: String,
}

/// One step of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonStep {
    /// 0-based index in the scenario.
    pub index: usize,
    /// Action key (`apply`, `expectDns`, …).
    pub kind: String,
    /// Display name.
    pub name: String,
    /// `file:line:col` in the scenario file.
    pub location: String,
    /// Start (RFC 3339); null if it never started.
    #[schemars(extend("format" = "date-time"))]
    pub started_at: Option<String>,
    /// How long it took (ms); null if unfinished.
    pub duration_ms: Option<f64>,
    /// How it ended; null if it did not finish.
    pub outcome: Option<Outcome>,
    /// The latest mismatch a wait reported; null if the step did not wait.
    pub last_wait: Option<JsonLastWait>,
}

/// The latest progress report of a wait.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonLastWait {
    /// What was seen vs expected.
    pub message: String,
    /// Time since the step started (ms).
    pub elapsed_ms: f64,
}

/// A diagnosis with the index of its step, flattened into one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonDiagnosis {
    /// Index of the step the diagnosis belongs to.
    #[serde(default)]
    pub index: usize,
    /// The diagnosis.
    #[serde(flatten)]
    pub diagnosis: Diagnosis,
}

/// A propagation milestone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonMilestone {
    /// The milestone.
    pub milestone: Milestone,
    /// The cluster it was observed in, when it is per cluster.
    #[serde(default)]
    pub cluster: Option<String>,
    /// When (RFC 3339).
    #[serde(default)]
    #[schemars(extend("format" = "date-time"))]
    pub at: String,
    /// Time since the scenario's latest export was applied (ms), when there was one.
    #[serde(default)]
    pub since_export_ms: Option<f64>,
    /// Where the time comes from: `watch` (the satisfying watch event's arrival), `probe`
    /// (the start of the first probe that saw it) or `step` (the harness's own step).
    /// Reports written before it existed read back with the milestone's usual source.
    #[serde(default)]
    pub source: Option<MilestoneSource>,
}

/// A background probe's report (`startProbe` … `stopProbe`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonProbe {
    /// Index of the `stopProbe` step.
    pub index: usize,
    /// Probe name.
    pub name: String,
    /// Start of the first sample (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    /// How long it ran (ms).
    pub duration_ms: f64,
    /// Samples taken.
    pub total: usize,
    /// Samples that failed.
    pub failed: usize,
    /// `(total - failed) / total`, 1.0 when nothing was sampled.
    pub success_rate: f64,
    /// Longest run of consecutive failures (ms).
    pub longest_outage_ms: f64,
    /// Answers per serving cluster.
    pub answers_by_cluster: std::collections::BTreeMap<String, usize>,
    /// Budget violations (empty: within budget).
    pub violations: Vec<String>,
    /// Every sample, in time order.
    pub samples: Vec<JsonSample>,
}

/// One background-probe sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonSample {
    /// Time since the probe started (ms).
    pub offset_ms: f64,
    /// How long the sample took (ms).
    pub latency_ms: f64,
    /// Probing cluster.
    pub from: String,
    /// `dns` or `http`.
    pub kind: String,
    /// Whether it counted as a success.
    pub ok: bool,
    /// Cluster that answered, when known.
    pub served_by: Option<String>,
    /// Short detail: status, answer or error.
    pub detail: String,
}

/// A scenario's cleanup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JsonCleanup {
    /// Objects deleted (namespaces count as one each).
    pub deleted: usize,
    /// Problems met (empty when clean).
    pub problems: Vec<String>,
    /// `--keep` was given: nothing was deleted.
    pub kept: bool,
    /// How long it took (ms).
    pub duration_ms: f64,
}

/// What comparing the run with a baseline (`--baseline`) and across repeats found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct JsonComparison {
    /// The baseline report compared with; null when only repeats were compared.
    pub baseline: Option<String>,
    /// The findings (each one fails the run).
    #[serde(flatten)]
    pub findings: Findings,
}

/// Milliseconds with microsecond precision (no float noise like `12.000000001`).
fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// Milliseconds read back (a negative or non-finite number: zero).
fn duration(ms: f64) -> Duration {
    millis::from_ms(ms).unwrap_or_default()
}

impl JsonProbe {
    /// The report of the `stopProbe` step at `index`, as written.
    pub fn new(index: usize, p: &ProbeReport) -> JsonProbe {
        JsonProbe {
            index,
            name: p.name.clone(),
            started_at: rfc3339::format(p.started_at),
            duration_ms: ms(p.duration),
            total: p.total,
            failed: p.failed,
            success_rate: p.success_rate,
            longest_outage_ms: ms(p.longest_outage),
            answers_by_cluster: p.answers_by_cluster.clone(),
            violations: p.violations.clone(),
            samples: p
                .samples
                .iter()
                .map(|x| JsonSample {
                    offset_ms: ms(x.offset),
                    latency_ms: ms(x.latency),
                    from: x.from.clone(),
                    kind: x.kind.clone(),
                    ok: x.ok,
                    served_by: x.served_by.clone(),
                    detail: x.detail.clone(),
                })
                .collect(),
        }
    }

    /// The report read back (an unreadable start time: the epoch).
    pub fn to_report(&self) -> ProbeReport {
        ProbeReport {
            name: self.name.clone(),
            started_at: rfc3339::parse(&self.started_at).unwrap_or(SystemTime::UNIX_EPOCH),
            duration: duration(self.duration_ms),
            total: self.total,
            failed: self.failed,
            success_rate: self.success_rate,
            longest_outage: duration(self.longest_outage_ms),
            answers_by_cluster: self.answers_by_cluster.clone(),
            samples: self
                .samples
                .iter()
                .map(|x| ProbeSample {
                    offset: duration(x.offset_ms),
                    latency: duration(x.latency_ms),
                    from: x.from.clone(),
                    kind: x.kind.clone(),
                    ok: x.ok,
                    served_by: x.served_by.clone(),
                    detail: x.detail.clone(),
                })
                .collect(),
            violations: self.violations.clone(),
        }
    }
}

/// Why a document is not a JSON report.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// JSON, but no `scenarios` list.
    #[error("not an mcs-harness JSON report: no `scenarios` list")]
    NoScenarios,
    /// The shape is wrong somewhere.
    #[error("{0}")]
    Shape(#[source] serde_json::Error),
}

impl JsonReport {
    /// Reads a report from its JSON value (missing fields take their defaults).
    pub fn from_value(v: serde_json::Value) -> Result<JsonReport, ReadError> {
        if !v["scenarios"].is_array() {
            return Err(ReadError::NoScenarios);
        }
        serde_json::from_value(v).map_err(ReadError::Shape)
    }

    /// The document as written: pretty JSON with keys in sorted order (the order reports
    /// had when they were built as `serde_json::Value`s), ending in a newline.
    pub fn to_pretty(&self) -> Result<String, serde_json::Error> {
        let v = serde_json::to_value(self)?;
        let mut doc = serde_json::to_string_pretty(&v)?;
        doc.push('\n');
        Ok(doc)
    }
}

/// The JSON Schema of what the harness writes (`mcs-harness schema --report`): every field
/// required, as written.
pub fn json_schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<JsonReport>()
        .to_value()
}
