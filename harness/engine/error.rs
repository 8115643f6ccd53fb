//! Engine errors: problems that stop a run before or outside of a step (bad bindings,
//! protected namespaces), and [`StepError`], why a step failed — reported as
//! [`crate::event::Outcome::Failed`] through the Event stream, its text made in one place.

use crate::event::Failure;

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A scenario's cluster has no binding.
    #[error(
        "scenario {scenario}: cluster {cluster:?} is not bound; pass --cluster {cluster}=CONTEXT"
    )]
    Unbound {
        /// Scenario name.
        scenario: String,
        /// Logical cluster.
        cluster: String,
    },
    /// A protected namespace was requested without `--allow-namespace`.
    #[error(
        "refusing to use namespace {namespace:?}: it belongs to the cluster (pass --allow-namespace {namespace} if you really mean it)"
    )]
    Protected {
        /// Namespace.
        namespace: String,
    },
}

/// Result alias of the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// The HTTP status of an API error, if it is one.
pub(super) fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Why a step failed. Every engine failure is one of these (with its cause as
/// `#[source]` where there is one); [`StepError::into_failure`] is the one place that turns
/// it into the report's [`Failure`] text.
#[derive(Debug, thiserror::Error)]
pub(super) enum StepError {
    /// An API call failed.
    #[error("{what}: {}", api_text(.source))]
    Api {
        /// What was attempted (`apply Service x in a`).
        what: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A logical cluster without a client.
    #[error("cluster {0:?} is not bound")]
    Unbound(String),
    /// Discovery found no such kind.
    #[error(
        "cluster {cluster} does not serve {api_version} {kind}: {source}; install its CRD or fix apiVersion/kind"
    )]
    NotServed {
        /// Cluster.
        cluster: String,
        /// apiVersion.
        api_version: String,
        /// Kind.
        kind: String,
        /// The discovery error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A protected namespace without `--allow-namespace`.
    #[error("refusing to touch namespace {0:?}: pass --allow-namespace {0} if you mean it")]
    Protected(String),
    /// The probe pod could not be made ready.
    #[error("probe pod in {cluster}: {source}")]
    ProbePod {
        /// Cluster.
        cluster: String,
        /// Why.
        #[source]
        source: Box<crate::probe::ProbeError>,
    },
    /// A deleted object did not go away.
    #[error("{what}: {message}")]
    NotGone {
        /// `Kind name in cluster`.
        what: String,
        /// Why (timeout, watch error).
        message: String,
    },
    /// The stored object could not be encoded.
    #[error("{0}")]
    Encode(#[from] serde_json::Error),
    /// A background probe broke its error budget.
    #[error("probe {name} broke its budget: {}", .violations.join("; "))]
    Budget {
        /// Probe name.
        name: String,
        /// The violations.
        violations: Vec<String>,
    },
    /// `stopProbe` of a probe that is not running.
    #[error("no running probe {0:?}")]
    NoProbe(String),
    /// SIGINT/SIGTERM.
    #[error("cancelled (SIGINT/SIGTERM)")]
    Cancelled,
    /// The step's outer deadline passed (a mutation that hangs).
    #[error("step did not finish within {}", crate::duration::human(*.0))]
    StepTimeout(std::time::Duration),
    /// `expectFailure` inside `expectFailure` (validation refuses it).
    #[error("expectFailure cannot be nested in expectFailure")]
    NestedExpectFailure,
    /// The step could not be bound with the run's values.
    #[error(transparent)]
    Bind(#[from] super::op::BindError),
    /// A wait's observation failed permanently.
    #[error("{what}: {message}")]
    Check {
        /// What the wait was for.
        what: String,
        /// What failed.
        message: String,
    },
    /// A wait ran out of time; `last` is the last mismatch.
    #[error("timed out after {} waiting for {what}{}", crate::duration::human(*.after),
        .last.as_ref().map(|l| format!(": {}", l.summary)).unwrap_or_default())]
    TimedOut {
        /// What the wait was for.
        what: String,
        /// Its timeout.
        after: std::time::Duration,
        /// The last mismatch.
        last: Option<super::verdict::Check>,
    },
    /// Setting up the run's namespaces failed.
    #[error("setting up namespaces: {0}")]
    Namespaces(#[source] Box<StepError>),
    /// Cleanup left things behind.
    #[error("cleanup: {}", .0.join("; "))]
    Cleanup(Vec<String>),
    /// The provider could not bind the scenario's clusters.
    #[error("binding its clusters: {0}")]
    Binding(String),
    /// An `expectFailure` step passed.
    #[error("expected `{step}` to fail (with diagnosis {want}), but it passed")]
    DidNotFail {
        /// The inner step.
        step: String,
        /// Expected diagnosis.
        want: String,
    },
    /// An `expectFailure` step failed but names no Service.
    #[error("`{0}` failed as expected, but names no Service to diagnose")]
    NoService(String),
    /// An `expectFailure` step failed with another diagnosis (or none).
    #[error(
        "`{step}` failed as expected ({failure}), but the doctor's diagnosis for {service} is {} instead of {want}",
        .got.as_deref().unwrap_or("unavailable")
    )]
    WrongDiagnosis {
        /// The inner step.
        step: String,
        /// Its failure text.
        failure: String,
        /// The Service diagnosed.
        service: String,
        /// Expected diagnosis.
        want: String,
        /// The doctor's diagnosis.
        got: Option<String>,
    },
}

/// The server's message of an API error (`message (code reason)`), else the error.
pub(super) fn api_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
        other => other.to_string(),
    }
}

impl StepError {
    /// A failed API call.
    pub(super) fn api(what: impl Into<String>, source: kube::Error) -> StepError {
        StepError::Api {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// The report's failure: the message, and expected/seen/diff where there is a mismatch.
    pub fn into_failure(self) -> Failure {
        let mut f = Failure::msg(self.to_string());
        match self {
            StepError::TimedOut {
                last: Some(last), ..
            } if !last.expected.is_empty() => {
                f.diff = Some(super::verdict::diff(&last.expected, &last.seen));
                f.expected = Some(last.expected);
                f.seen = Some(last.seen);
            }
            StepError::WrongDiagnosis { want, got, .. } => {
                f.expected = Some(format!("diagnosis: {want}"));
                f.seen = Some(format!(
                    "diagnosis: {}",
                    got.as_deref().unwrap_or("unavailable")
                ));
                f.diagnosis = got;
            }
            _ => {}
        }
        f
    }
}
