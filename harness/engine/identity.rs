//! Who a running scenario is: its name in events, namespace, run id, flavour, namespace
//! policy and whether its clusters are shared. Immutable for the scenario's lifetime.

use std::time::Duration;

use crate::scenario::NamespacePolicy;

/// The identity of one running scenario.
#[derive(Clone, Debug)]
pub(super) struct RunIdentity {
    /// The scenario's name in events (unique within the run).
    pub display: String,
    /// Namespace of this run.
    pub namespace: String,
    /// Run id (label value).
    pub run_id: String,
    /// MCS flavour (from the scenario).
    pub flavour: mcs_importer::Flavour,
    /// The scenario's namespace policy.
    pub policy: NamespacePolicy,
    /// Whether the clusters are shared with other scenarios or runs (faults then get the
    /// run id in their names and are scoped to the scenario's namespace).
    pub shared: bool,
    /// The scenario's default timeout (probe pod readiness, the doctor's propagation
    /// window).
    pub default_timeout: Duration,
}

impl RunIdentity {
    /// Scenario name as events show it.
    pub fn name(&self) -> &str {
        &self.display
    }

    /// The name a scenario's Fault `name` gets in the cluster: as written on a fleet of its
    /// own; with the run id on shared clusters, so runs never share (or delete) each other's.
    pub fn fault_name(&self, name: &str) -> String {
        match self.shared {
            true => format!("{name}-{}", self.run_id),
            false => name.to_string(),
        }
    }

    /// A Fault's spec as installed: on shared clusters limited to the scenario's namespace
    /// (unless the scenario scopes it itself), so other scenarios and runs are untouched.
    pub fn fault_spec(&self, spec: &serde_json::Value) -> serde_json::Value {
        let mut spec = spec.clone();
        if self.shared
            && let Some(m) = spec.as_object_mut()
            && !m.contains_key("scope")
        {
            m.insert(
                "scope".into(),
                serde_json::json!({"namespaces": [self.namespace]}),
            );
        }
        spec
    }

    /// The probe pod's name: a fixed namespace may be shared with other runs, so the pod's
    /// name then carries the run id.
    pub fn probe_pod_name(&self) -> String {
        match self.policy {
            NamespacePolicy::Fixed { .. } => {
                format!("{}-{}", crate::probe::PROBE_POD, self.run_id)
            }
            NamespacePolicy::Fresh { .. } => crate::probe::PROBE_POD.to_string(),
        }
    }
}
