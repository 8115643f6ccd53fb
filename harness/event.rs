//! The one Event stream from the engine to reporters (DESIGN §3). Events are owned values;
//! reporters `match` them without a catch-all arm, so a new event forces every reporter to
//! decide what to do with it.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::doctor::Diagnosis;

/// Everything a run reports, in order of occurrence.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum Event {
    /// The run begins.
    RunStarted {
        /// Run id (also the value of the `mcs-harness.dev/run-id` label).
        run_id: String,
        /// Provider description, e.g. `embedded (clusters a, b)` or `contexts a=gke_1, b=gke_2`.
        provider: String,
        /// Scenarios that will run, in order.
        scenarios: Vec<ScenarioInfo>,
        /// Wall-clock start.
        #[serde(with = "rfc3339")]
        at: SystemTime,
    },
    /// What preflight found on the run's clusters (right after RunStarted).
    Preflight {
        /// One entry per cluster.
        report: crate::fleet::PreflightReport,
    },
    /// Something the user should know that is neither a step nor a result (e.g. a scenario
    /// that must run alone on shared clusters).
    Notice {
        /// The scenario it is about, if any.
        scenario: Option<String>,
        /// What to know.
        message: String,
    },
    /// A scenario begins (its namespace exists in every cluster it is created in).
    ScenarioStarted {
        /// Scenario name.
        scenario: String,
        /// Namespace used by this scenario.
        namespace: String,
        /// Logical cluster → where it runs (context name or `embedded`).
        clusters: Vec<(String, String)>,
        /// Wall-clock start.
        #[serde(with = "rfc3339")]
        at: SystemTime,
    },
    /// A step begins.
    StepStarted {
        /// Scenario name.
        scenario: String,
        /// Step identity.
        step: StepInfo,
        /// Wall-clock start.
        #[serde(with = "rfc3339")]
        at: SystemTime,
    },
    /// A wait observed a state that does not satisfy it yet (throttled by the engine).
    WaitProgress {
        /// Scenario name.
        scenario: String,
        /// Step index.
        index: usize,
        /// Short description of the latest mismatch.
        message: String,
        /// Time since the step started.
        #[serde(with = "millis")]
        elapsed: Duration,
    },
    /// A propagation milestone was reached (first time only).
    Milestone {
        /// Scenario name.
        scenario: String,
        /// The milestone.
        milestone: Milestone,
        /// Cluster it was observed in, when it is per cluster.
        cluster: Option<String>,
        /// Wall-clock time.
        #[serde(with = "rfc3339")]
        at: SystemTime,
        /// Time since the scenario's latest export was applied, when there was one.
        #[serde(with = "opt_millis")]
        since_export: Option<Duration>,
        /// Where `at` comes from: a watch event, a probe, or the harness's own step.
        #[serde(default)]
        source: MilestoneSource,
    },
    /// A step ended.
    StepFinished {
        /// Scenario name.
        scenario: String,
        /// Step identity.
        step: StepInfo,
        /// How it ended.
        outcome: Outcome,
        /// How long it took.
        #[serde(with = "millis")]
        duration: Duration,
    },
    /// The doctor's diagnosis after a failed step (or for an `expectFailure` step).
    Diagnosis {
        /// Scenario name.
        scenario: String,
        /// Step index the diagnosis belongs to.
        index: usize,
        /// The diagnosis.
        diagnosis: Diagnosis,
    },
    /// A background probe was stopped (`stopProbe`): its samples and budget verdict.
    ProbeReport {
        /// Scenario name.
        scenario: String,
        /// Index of the `stopProbe` step.
        index: usize,
        /// The report.
        report: ProbeReport,
    },
    /// Cleanup of a scenario finished.
    CleanupFinished {
        /// Scenario name.
        scenario: String,
        /// Objects deleted (namespaces count as one each).
        deleted: usize,
        /// Problems met (the objects are named; empty when clean).
        problems: Vec<String>,
        /// `--keep` was given: nothing was deleted.
        kept: bool,
        /// How long it took, including waiting for namespaces to disappear.
        #[serde(with = "millis")]
        duration: Duration,
    },
    /// A scenario ended.
    ScenarioFinished {
        /// Scenario name.
        scenario: String,
        /// Overall outcome (the first failed step's, or passed).
        outcome: Outcome,
        /// Wall time including cleanup.
        #[serde(with = "millis")]
        duration: Duration,
    },
    /// The run compared with a baseline report (`--baseline`) and across its repeats
    /// (`--repeat`): after the last scenario, right before RunFinished. Every finding fails
    /// the run.
    Comparison {
        /// The baseline report, when one was given.
        baseline: Option<String>,
        /// What the comparison found (empty: nothing).
        findings: crate::compare::Findings,
    },
    /// The run ended.
    RunFinished {
        /// Scenarios passed.
        passed: usize,
        /// Scenarios failed.
        failed: usize,
        /// Scenarios skipped.
        skipped: usize,
        /// Wall time.
        #[serde(with = "millis")]
        duration: Duration,
    },
}

/// A scenario as announced at run start.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioInfo {
    /// Scenario name.
    pub name: String,
    /// File it was loaded from.
    pub file: String,
    /// Number of steps.
    pub steps: usize,
    /// Description, if any.
    pub description: Option<String>,
}

/// Identity of a step in reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepInfo {
    /// 0-based index in the scenario.
    pub index: usize,
    /// Action key (`apply`, `expectDns`, ...).
    pub kind: String,
    /// Display name: the step's `name`, or a generated summary like `expectDns from b`.
    pub name: String,
    /// Position in the scenario file, `file:line:col`.
    pub location: String,
}

/// How a step or scenario ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Outcome {
    /// It did what it should.
    Passed,
    /// It did not.
    Failed(Failure),
    /// It did not run (earlier failure, cancelled, or not applicable to the fleet).
    Skipped {
        /// Why.
        reason: String,
    },
}

/// What went wrong, for people and for CI.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// One-line summary, e.g. `timed out after 30s waiting for Endpoints gke-mcs-… in b`.
    /// (Empty when a report read back has none: `--baseline` needs only the status.)
    #[serde(default)]
    pub message: String,
    /// What was expected (pretty text), when it is a mismatch.
    pub expected: Option<String>,
    /// What was last seen (pretty text), when it is a mismatch.
    pub seen: Option<String>,
    /// Unified diff of expected vs seen, when both are known.
    pub diff: Option<String>,
    /// Diagnosis id from the doctor, when one ran.
    #[schemars(with = "Option<String>")]
    pub diagnosis: Option<String>,
}

impl Failure {
    /// A failure with just a message.
    pub fn msg(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            expected: None,
            seen: None,
            diff: None,
            diagnosis: None,
        }
    }
}

/// What a background probe saw between `startProbe` and `stopProbe`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// Probe name (from `startProbe.name`).
    pub name: String,
    /// Wall-clock time of the first sample's start.
    #[serde(with = "rfc3339")]
    pub started_at: SystemTime,
    /// How long it ran.
    #[serde(with = "millis")]
    pub duration: Duration,
    /// Samples taken.
    pub total: usize,
    /// Samples that failed (error, wrong status, wrong answer, disallowed cluster).
    pub failed: usize,
    /// `(total - failed) / total`, 1.0 when nothing was sampled.
    pub success_rate: f64,
    /// Longest run of consecutive failures (per probing cluster and kind), start to end.
    #[serde(with = "millis")]
    pub longest_outage: Duration,
    /// Answers per serving cluster (HTTP), e.g. `{a: 120, b: 118}`.
    pub answers_by_cluster: std::collections::BTreeMap<String, usize>,
    /// Every sample in time order.
    pub samples: Vec<ProbeSample>,
    /// Budget violations (empty: within budget).
    pub violations: Vec<String>,
}

/// One background probe sample.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProbeSample {
    /// Time since the probe started.
    #[serde(with = "millis")]
    pub offset: Duration,
    /// How long the sample took.
    #[serde(with = "millis")]
    pub latency: Duration,
    /// Probing cluster.
    pub from: String,
    /// `dns` or `http`.
    pub kind: String,
    /// Whether it counted as a success.
    pub ok: bool,
    /// Cluster that answered (HTTP, by backend pod IP), when known.
    pub served_by: Option<String>,
    /// Short detail: status, answer or error.
    pub detail: String,
}

/// Propagation milestones recorded per scenario (DESIGN §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Milestone {
    /// A ServiceExport was applied.
    ExportApplied,
    /// The ServiceImport was first seen (per cluster).
    ImportSeen,
    /// The derived Endpoints/EndpointSlices first had the expected IP set while the
    /// ServiceImport existed (per cluster).
    EndpointsCorrect,
    /// The expected DNS answer was first returned (per cluster).
    DnsCorrect,
    /// The first HTTP 200 was returned (per cluster).
    FirstHttp200,
    /// A ServiceExport was deleted.
    Unexported,
    /// The ServiceImport was seen gone after an unexport (per cluster).
    ImportRemoved,
}

/// Where a milestone's time comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum MilestoneSource {
    /// The arrival of the watch event after which the cluster's objects satisfied it (the
    /// cluster's own timeline, as the harness's watches saw it).
    Watch,
    /// The start of the first probe (DNS, HTTP from a probe pod) that saw it.
    Probe,
    /// The harness's own step (an export applied or deleted).
    #[default]
    Step,
}

impl MilestoneSource {
    /// `watch`, `probe` or `step`, as in the JSON report.
    pub fn key(self) -> &'static str {
        match self {
            MilestoneSource::Watch => "watch",
            MilestoneSource::Probe => "probe",
            MilestoneSource::Step => "step",
        }
    }

    /// The source of a [`MilestoneSource::key`].
    pub fn from_key(key: &str) -> Option<MilestoneSource> {
        [Self::Watch, Self::Probe, Self::Step]
            .into_iter()
            .find(|s| s.key() == key)
    }
}

impl Milestone {
    /// Where this milestone's time comes from: watches for the objects MCS creates, probe
    /// pods for DNS and HTTP, the step itself for exports.
    pub fn source(self) -> MilestoneSource {
        match self {
            Milestone::ExportApplied | Milestone::Unexported => MilestoneSource::Step,
            Milestone::ImportSeen | Milestone::EndpointsCorrect | Milestone::ImportRemoved => {
                MilestoneSource::Watch
            }
            Milestone::DnsCorrect | Milestone::FirstHttp200 => MilestoneSource::Probe,
        }
    }

    /// Every milestone.
    pub const ALL: [Milestone; 7] = [
        Milestone::ExportApplied,
        Milestone::ImportSeen,
        Milestone::EndpointsCorrect,
        Milestone::DnsCorrect,
        Milestone::FirstHttp200,
        Milestone::Unexported,
        Milestone::ImportRemoved,
    ];

    /// The milestone of a [`Milestone::key`].
    pub fn from_key(key: &str) -> Option<Milestone> {
        Self::ALL.into_iter().find(|m| m.key() == key)
    }

    /// Stable key used in JSON and tables.
    pub fn key(self) -> &'static str {
        match self {
            Milestone::ExportApplied => "exportApplied",
            Milestone::ImportSeen => "importSeen",
            Milestone::EndpointsCorrect => "endpointsCorrect",
            Milestone::DnsCorrect => "dnsCorrect",
            Milestone::FirstHttp200 => "firstHttp200",
            Milestone::Unexported => "unexported",
            Milestone::ImportRemoved => "importRemoved",
        }
    }
}

/// RFC 3339 (UTC, milliseconds) serialization of `SystemTime`, via jiff (k8s-openapi's time
/// type, already in the dependency tree).
pub mod rfc3339 {
    use std::time::SystemTime;

    /// Parses what [`format`] writes (any RFC 3339 instant).
    pub fn parse(s: &str) -> Option<SystemTime> {
        s.parse::<jiff::Timestamp>().ok().map(SystemTime::from)
    }

    /// Formats `t` as `2026-11-26T10:00:00.123Z`.
    pub fn format(t: SystemTime) -> String {
        match jiff::Timestamp::try_from(t) {
            Ok(ts) => format!("{ts:.3}"),
            Err(_) => "1970-01-01T00:00:00.000Z".to_string(),
        }
    }

    /// serde `serialize_with`.
    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }
}

/// Durations as integer milliseconds.
pub mod millis {
    use std::time::Duration;

    /// serde `serialize_with`.
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_micros() as f64 / 1000.0)
    }

    /// serde `deserialize_with`: milliseconds (a non-negative number) back to a duration.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms: f64 = serde::Deserialize::deserialize(d)?;
        from_ms(ms).ok_or_else(|| serde::de::Error::custom(format!("bad duration {ms} ms")))
    }

    /// Milliseconds as written in reports, when they are a valid duration.
    pub fn from_ms(ms: f64) -> Option<Duration> {
        (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
    }
}

/// Optional durations as milliseconds.
pub mod opt_millis {
    use std::time::Duration;

    /// serde `serialize_with`.
    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_micros() as f64 / 1000.0),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rfc3339;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339::format(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_689_296_789);
        assert_eq!(rfc3339::format(t), "2026-11-26T10:34:56.789Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339::format(leap), "2000-02-29T00:00:00.000Z");
    }
}
