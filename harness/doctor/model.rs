//! The doctor's result types: one check per link of the MCS chain per cluster, and the
//! first broken link as a [`Diagnosis`] with evidence and remedy. Shared with the engine
//! (which attaches diagnoses to failed steps) and the reporters.

use serde::{Deserialize, Serialize};

/// State of one link check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CheckState {
    /// The link holds.
    Ok,
    /// The link is broken.
    Broken,
    /// Consistent but younger than the propagation window: wait.
    Propagating,
    /// Not checked (does not apply, or a prerequisite is broken, or a tool is missing).
    Skipped,
}

/// One row of the doctor's table: a link in one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkCheck {
    /// Cluster (logical name).
    pub cluster: String,
    /// Link name, e.g. `service`, `selector`, `pods-ready`, `import`, `endpoints`, `dns`.
    pub link: String,
    /// Result.
    pub state: CheckState,
    /// One-line detail (what was seen).
    pub detail: String,
}

/// A piece of evidence: which object, which field, what value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Cluster (logical name).
    pub cluster: String,
    /// Object, e.g. `Endpoints mcs-x/gke-mcs-7pqvt62non`.
    pub object: String,
    /// Field path, e.g. `subsets`.
    pub field: String,
    /// Value seen (short).
    pub value: String,
}

/// The first broken link of the chain (or `healthy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    /// Stable id: a [`super::DiagnosisId`] (its string form), or `healthy`.
    #[schemars(with = "String")]
    pub id: String,
    /// Cluster where the link broke, when it is per cluster.
    pub cluster: Option<String>,
    /// One-sentence summary of what is wrong.
    pub summary: String,
    /// Evidence for it.
    pub evidence: Vec<Evidence>,
    /// What to do about it.
    pub remedy: String,
    /// Every link checked, in chain order per cluster.
    pub checks: Vec<LinkCheck>,
    /// Upstream: the implementation profile judged by, and why it was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<super::ProfileChoice>,
}

impl Diagnosis {
    /// The id of a healthy chain.
    pub const HEALTHY: &'static str = "healthy";

    /// Whether every link holds.
    pub fn is_healthy(&self) -> bool {
        self.id == Self::HEALTHY
    }

    /// The diagnosis id, unless healthy.
    pub fn diagnosis_id(&self) -> Option<super::DiagnosisId> {
        self.id.parse().ok()
    }
}
