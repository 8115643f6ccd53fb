//! The state of one running scenario: its clusters, namespace, run id, what it created
//! (for cleanup), its probe pods and the milestones already reached.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use kube::Client;
use kube::api::ApiResource;
use tokio_util::sync::CancellationToken;

use super::events::EventSink;
use super::objects::Resolver;
use super::run::{ClusterHandle, RunConfig};
use crate::event::{Event, Failure, Milestone};
use crate::probe::ProbePod;
use crate::scenario::{Scenario, Vars};

/// An object the scenario created, deleted again at cleanup.
#[derive(Clone, Debug)]
pub(super) struct Created {
    /// Logical cluster.
    pub cluster: String,
    /// Its API resource.
    pub resource: ApiResource,
    /// Namespace (None: cluster-scoped).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl Created {
    /// `Kind ns/name in cluster` for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!(
                "{} {ns}/{} in {}",
                self.resource.kind, self.name, self.cluster
            ),
            None => format!("{} {} in {}", self.resource.kind, self.name, self.cluster),
        }
    }
}

/// Locks a std mutex, recovering the data if a panicking thread poisoned it.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

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
    /// The scenario's name in events (unique within the run).
    display: String,
    /// Namespace of this run.
    pub namespace: String,
    /// Run id (label value).
    pub run_id: String,
    /// MCS flavour (from the scenario).
    pub flavour: mcs_importer::Flavour,
    /// Logical cluster → handle.
    pub clusters: BTreeMap<String, ClusterHandle>,
    /// Whether the clusters are shared with other scenarios or runs (faults then get the
    /// run id in their names and are scoped to the scenario's namespace).
    pub shared: bool,
    /// Run-wide options.
    pub cfg: Arc<RunConfig>,
    /// Event sink.
    pub sink: EventSink,
    /// Cancelled on SIGINT/SIGTERM.
    pub cancel: CancellationToken,
    /// Discovery cache.
    pub resolver: Resolver,
    created: Mutex<Vec<Created>>,
    own_namespaces: Mutex<Vec<(String, String)>>,
    probes: tokio::sync::Mutex<HashMap<String, ProbePod>>,
    reached: Mutex<HashSet<(Milestone, Option<String>)>>,
    export_at: Mutex<Option<Instant>>,
    unexported: Mutex<bool>,
    /// Background probes by name.
    pub background: tokio::sync::Mutex<HashMap<String, super::background::Running>>,
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
        let flavour = scenario.flavour;
        Ctx {
            run_id: cfg.run_id.clone(),
            scenario,
            display: display.to_string(),
            namespace,
            flavour,
            clusters: bound.clusters,
            shared: bound.shared,
            cfg,
            sink,
            cancel,
            resolver: Resolver::default(),
            created: Mutex::default(),
            own_namespaces: Mutex::default(),
            probes: tokio::sync::Mutex::default(),
            reached: Mutex::default(),
            export_at: Mutex::default(),
            unexported: Mutex::default(),
            background: tokio::sync::Mutex::default(),
        }
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

    /// Scenario name as events show it.
    pub fn name(&self) -> &str {
        &self.display
    }

    /// The client of a logical cluster (validation guarantees it is declared; binding
    /// guarantees it is bound).
    pub fn client(&self, cluster: &str) -> Result<Client, Failure> {
        self.clusters
            .get(cluster)
            .map(|h| h.client.clone())
            .ok_or_else(|| Failure::msg(format!("cluster {cluster:?} is not bound")))
    }

    /// Template variables for text used in `cluster`.
    pub fn vars(&self, cluster: &str) -> Vars {
        Vars {
            namespace: self.namespace.clone(),
            cluster: cluster.to_string(),
            run_id: self.run_id.clone(),
        }
    }

    /// Remembers an object for cleanup.
    pub fn created(&self, c: Created) {
        lock(&self.created).push(c);
    }

    /// Objects created so far, oldest first.
    pub fn created_objects(&self) -> Vec<Created> {
        lock(&self.created).clone()
    }

    /// Remembers a namespace the run created in `cluster`.
    pub fn own_namespace(&self, cluster: &str, ns: &str) {
        let mut own = lock(&self.own_namespaces);
        let entry = (cluster.to_string(), ns.to_string());
        if !own.contains(&entry) {
            own.push(entry);
        }
    }

    /// Namespaces the run created, as (cluster, namespace).
    pub fn own_namespaces(&self) -> Vec<(String, String)> {
        lock(&self.own_namespaces).clone()
    }

    /// The probe pod of `cluster`, created on first use in the run's namespace.
    pub async fn probe(&self, cluster: &str) -> Result<ProbePod, Failure> {
        let mut probes = self.probes.lock().await;
        if let Some(p) = probes.get(cluster) {
            return Ok(p.clone());
        }
        let client = self.client(cluster)?;
        // A fixed namespace may be shared with other runs: the pod's name carries the run id.
        let name = match self.scenario.namespace {
            crate::scenario::NamespacePolicy::Fixed { .. } => {
                format!("{}-{}", crate::probe::PROBE_POD, self.run_id)
            }
            crate::scenario::NamespacePolicy::Fresh { .. } => crate::probe::PROBE_POD.to_string(),
        };
        let pod = ProbePod::ensure_named(
            client,
            cluster,
            &self.namespace,
            &name,
            &self.run_id,
            &self.cfg.probe_image,
            self.scenario.timeouts.default,
        )
        .await
        .map_err(|e| Failure::msg(format!("probe pod in {cluster}: {e}")))?;
        probes.insert(cluster.to_string(), pod.clone());
        Ok(pod)
    }

    /// Records that an export was applied now (milestones are measured from it).
    pub fn export_applied(&self, cluster: &str) {
        *lock(&self.export_at) = Some(Instant::now());
        *lock(&self.unexported) = false;
        // A new export starts a new propagation: per-cluster milestones count again.
        lock(&self.reached).retain(|(m, _)| *m == Milestone::Unexported);
        self.milestone(Milestone::ExportApplied, Some(cluster));
    }

    /// Records that an export was deleted now.
    pub fn unexported(&self, cluster: &str) {
        *lock(&self.export_at) = Some(Instant::now());
        *lock(&self.unexported) = true;
        lock(&self.reached).retain(|(m, _)| *m != Milestone::ImportRemoved);
        self.milestone(Milestone::Unexported, Some(cluster));
    }

    /// Whether the latest export change was an unexport (import removal is then a
    /// milestone; an import that never existed is not "removed").
    pub fn after_unexport(&self) -> bool {
        *lock(&self.unexported)
    }

    /// Emits milestone `m` (per cluster when given) the first time it is reached.
    pub fn milestone(&self, m: Milestone, cluster: Option<&str>) {
        let key = (m, cluster.map(str::to_string));
        if !lock(&self.reached).insert(key) {
            return;
        }
        let since_export = lock(&self.export_at).map(|t| t.elapsed());
        self.sink.emit(Event::Milestone {
            scenario: self.name().to_string(),
            milestone: m,
            cluster: cluster.map(str::to_string),
            at: SystemTime::now(),
            since_export,
        });
    }
}
