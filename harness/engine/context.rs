//! The state of one running scenario, composed of small leaf types: its identity
//! (`identity`), its clusters (`clusters`), what it created (`ledger`), the milestones
//! reached (`milestones`), its probe pods (`pool`) and background probes (`sampler`).
//! This module only composes them; each part has its own module and lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::clusters::Clusters;
use super::config::RunConfig;
use super::error::StepError;
use super::events::EventSink;
use super::identity::RunIdentity;
use super::ledger::Ledger;
use super::milestones::Milestones;
use super::pool::{PodSpec, ProbePool};
use super::sampler::Running;
use super::wait::WaitEnv;
use crate::fleet::ClusterHandle;
use crate::probe::ProbePod;
use crate::scenario::Scenario;

/// The clusters a scenario got, and whether others share them.
pub(super) struct Bound {
    /// Logical cluster → handle.
    pub clusters: BTreeMap<String, ClusterHandle>,
    /// Shared with other scenarios or runs.
    pub shared: bool,
}

/// One running scenario.
pub(super) struct Ctx {
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// Name, namespace, run id, flavour.
    pub id: RunIdentity,
    /// Bound clusters and discovery.
    pub clusters: Clusters,
    /// What the run created (for cleanup).
    pub ledger: Ledger,
    /// Milestones reached.
    pub milestones: Milestones,
    /// Probe pods.
    pub probes: ProbePool,
    /// Background probes by name.
    pub background: tokio::sync::Mutex<HashMap<String, Running>>,
    /// Run-wide options.
    pub cfg: Arc<RunConfig>,
    /// Event sink.
    pub sink: EventSink,
    /// Cancelled on SIGINT/SIGTERM.
    pub cancel: CancellationToken,
}

impl Ctx {
    /// A context for `scenario` in `namespace`.
    pub fn new(
        scenario: Arc<Scenario>,
        display: &str,
        namespace: String,
        bound: Bound,
        cfg: Arc<RunConfig>,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Ctx {
        let id = RunIdentity {
            display: display.to_string(),
            namespace,
            run_id: cfg.run_id.clone(),
            flavour: scenario.flavour,
            policy: scenario.namespace.clone(),
            shared: bound.shared,
            default_timeout: scenario.timeouts.default,
        };
        let probes = ProbePool::new(PodSpec {
            namespace: id.namespace.clone(),
            name: id.probe_pod_name(),
            run_id: id.run_id.clone(),
            image: cfg.probe_image.clone(),
            ready_timeout: id.default_timeout,
        });
        Ctx {
            milestones: Milestones::new(display, sink.clone()),
            clusters: Clusters::new(bound.clusters),
            ledger: Ledger::default(),
            probes,
            background: tokio::sync::Mutex::default(),
            scenario,
            id,
            cfg,
            sink,
            cancel,
        }
    }

    /// Scenario name as events show it.
    pub fn name(&self) -> &str {
        self.id.name()
    }

    /// The probe pod of `cluster`, created on first use in the run's namespace.
    pub async fn probe(&self, cluster: &str) -> Result<ProbePod, StepError> {
        self.probes
            .get(cluster, self.clusters.client(cluster)?)
            .await
    }

    /// What a wait reports progress to and is cancelled by.
    pub fn wait_env(&self) -> WaitEnv<'_> {
        WaitEnv {
            sink: &self.sink,
            scenario: self.name(),
            cancel: &self.cancel,
        }
    }
}
