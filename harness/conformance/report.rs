//! The conformance report: one entry per spec (number, labels, result, KEP link,
//! "non-conformant" reasons and the doctor's diagnosis), the fleet (implementation, server
//! versions) and the verdict. Written as YAML; [`super::html`] renders the same model.

use std::collections::BTreeMap;

use serde::Serialize;

use super::collect::Collected;
use crate::event::Outcome;
use crate::scenario::Scenario;

/// KEP-1645's README; each spec's `kep-1645` label is an anchor in it.
pub const KEP_URL: &str = "https://github.com/kubernetes/enhancements/tree/master/keps/sig-multicluster/1645-multi-cluster-services-api";

/// Label saying whether a spec is `required` or `optional` (the upstream suite's
/// `Required`/`Optional` Ginkgo labels).
pub const LEVEL_LABEL: &str = "conformance";
/// Label holding the spec's number in the upstream suite (`01` … `27`).
pub const SPEC_LABEL: &str = "conformance-spec";
/// Label holding the KEP-1645 anchor the spec cites.
pub const KEP_LABEL: &str = "kep-1645";

/// The whole report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// What was certified and where.
    pub fleet: Fleet,
    /// `conformant` (every selected Required spec passed) or `non-conformant`.
    pub result: String,
    /// Totals of the Required specs.
    pub required: Totals,
    /// Totals of the Optional specs.
    pub optional: Totals,
    /// One entry per selected spec, by number.
    pub specs: Vec<Spec>,
}

/// The fleet under test.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fleet {
    /// The MCS implementation (`--implementation`, or detected; `unknown` otherwise).
    pub implementation: String,
    /// The provider (`embedded fleet …`, `contexts a=…`).
    pub provider: String,
    /// One entry per cluster preflight checked.
    pub clusters: Vec<Cluster>,
}

/// One cluster as preflight saw it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// Logical name.
    pub name: String,
    /// Context, or `embedded`.
    pub context: String,
    /// `gitVersion` of the API server.
    pub server_version: Option<String>,
    /// MCS APIs served.
    pub mcs_apis: Vec<String>,
}

/// Passed/failed/skipped counts.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Specs selected.
    pub selected: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Not run (the fleet lacks a capability, or the run stopped).
    pub skipped: usize,
}

/// One spec's result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// Number in the upstream suite.
    pub spec: String,
    /// Scenario name.
    pub name: String,
    /// `required` or `optional`.
    pub conformance: String,
    /// What it checks (the upstream spec's text).
    pub description: String,
    /// The KEP-1645 clause it cites.
    pub kep: String,
    /// The scenario's labels (upstream labels included).
    pub labels: BTreeMap<String, String>,
    /// `passed`, `failed` or `skipped`.
    pub result: String,
    /// Wall time in milliseconds (cleanup included).
    pub duration_ms: u128,
    /// Why the fleet is non-conformant on this spec (failed specs only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub non_conformant: Vec<String>,
    /// The doctor's diagnosis of the failing Service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<DiagnosisSummary>,
}

/// The doctor's verdict, in short.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosisSummary {
    /// Stable id (`export-conflict`, `healthy`, …).
    pub id: String,
    /// Cluster where the chain broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// One sentence.
    pub summary: String,
    /// What to do.
    pub remedy: String,
}

/// Whether a scenario is a conformance spec (it carries the level label).
pub fn is_spec(s: &Scenario) -> bool {
    s.labels.contains_key(LEVEL_LABEL)
}

/// Builds the report from the selected scenarios and what the run collected.
pub fn build(scenarios: &[Scenario], run: &Collected, implementation: &str) -> Report {
    let mut specs: Vec<Spec> = scenarios.iter().map(|s| spec(s, run)).collect();
    specs.sort_by(|a, b| a.spec.cmp(&b.spec).then(a.name.cmp(&b.name)));
    let totals = |level: &str| {
        let mut t = Totals::default();
        for s in specs.iter().filter(|s| s.conformance == level) {
            t.selected += 1;
            match s.result.as_str() {
                "passed" => t.passed += 1,
                "failed" => t.failed += 1,
                _ => t.skipped += 1,
            }
        }
        t
    };
    let (required, optional) = (totals("required"), totals("optional"));
    let conformant = required.passed == required.selected;
    Report {
        fleet: Fleet {
            implementation: implementation.to_string(),
            provider: run.provider.clone(),
            clusters: run
                .clusters
                .iter()
                .map(|c| Cluster {
                    name: c.cluster.clone(),
                    context: c.location.clone(),
                    server_version: c.version.clone(),
                    mcs_apis: c.mcs_apis.clone(),
                })
                .collect(),
        },
        result: match conformant {
            true => "conformant".into(),
            false => "non-conformant".into(),
        },
        required,
        optional,
        specs,
    }
}

fn spec(s: &Scenario, run: &Collected) -> Spec {
    let label = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
    let anchor = label(KEP_LABEL);
    let ran = run.scenarios.get(&s.name);
    let (result, mut reasons) = match ran.map(|r| &r.outcome) {
        Some(Outcome::Passed) => ("passed", Vec::new()),
        Some(Outcome::Failed(f)) => ("failed", vec![f.message.clone()]),
        Some(Outcome::Skipped { reason }) => ("skipped", vec![format!("not run: {reason}")]),
        None => ("skipped", vec!["not run (the run stopped first)".into()]),
    };
    if let Some(step) = ran.and_then(|r| r.failed_step.as_ref()) {
        reasons.insert(0, format!("step {step}"));
    }
    let diagnosis = ran
        .filter(|_| result == "failed")
        .and_then(|r| r.diagnoses.first())
        .map(|d| DiagnosisSummary {
            id: d.id.clone(),
            cluster: d.cluster.clone(),
            summary: d.summary.clone(),
            remedy: d.remedy.clone(),
        });
    Spec {
        spec: label(SPEC_LABEL),
        name: s.name.clone(),
        conformance: label(LEVEL_LABEL),
        description: s.description.clone().unwrap_or_default(),
        kep: format!("{KEP_URL}#{anchor}"),
        labels: s.labels.clone(),
        result: result.into(),
        duration_ms: ran.map_or(0, |r| r.duration.as_millis()),
        non_conformant: match result {
            "passed" => Vec::new(),
            _ => reasons,
        },
        diagnosis,
    }
}

impl Report {
    /// The report as YAML.
    pub fn to_yaml(&self) -> Result<String, String> {
        serde_saphyr::to_string(self).map_err(|e| e.to_string())
    }

    /// The closing lines printed after the run.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = vec![
            String::new(),
            format!(
                "conformance (KEP-1645, upstream suite): {} — Required {}/{} passed, Optional {}/{} passed ({} failed, {} skipped)",
                self.result,
                self.required.passed,
                self.required.selected,
                self.optional.passed,
                self.optional.selected,
                self.optional.failed,
                self.optional.skipped,
            ),
            format!("implementation: {}", self.fleet.implementation),
        ];
        for s in self.specs.iter().filter(|s| s.result != "passed") {
            let why = s.non_conformant.last().cloned().unwrap_or_default();
            let diag = s
                .diagnosis
                .as_ref()
                .map(|d| format!(" [diagnosis: {}]", d.id))
                .unwrap_or_default();
            lines.push(format!(
                "  {} {} ({}) {}: {why}{diag}",
                s.spec, s.result, s.conformance, s.name
            ));
        }
        lines
    }
}
