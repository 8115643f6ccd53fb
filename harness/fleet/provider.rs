//! The provider layer: where a run's clusters come from. A [`Provider`] declares its
//! [`Capabilities`], says for each scenario whether it can run there ([`Provider::fit`]), and
//! binds the scenario's logical clusters when its turn comes ([`Provider::bind`]): to clusters
//! it shares with every other scenario (contexts, kind, k3s), or to a fleet of the scenario's
//! own (the embedded provider).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use super::capabilities::Capabilities;
use super::registry::{ClusterHandle, ClusterRegistry};
use crate::scenario::Scenario;

/// A boxed future, for the object-safe [`Provider::bind`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something kept alive while clusters are in use (a fleet, an importer, containers).
pub type Keep = Box<dyn Send>;

/// Errors of providers: the user's to fix (exit 2), or a fleet that could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A scenario names a cluster no `--cluster` binds, although the fleet has enough.
    #[error(
        "scenario {scenario} names cluster {cluster:?}, which is not bound (bound: {bound}): add --cluster {cluster}=CONTEXT"
    )]
    Unbound {
        /// Scenario name.
        scenario: String,
        /// Its cluster.
        cluster: String,
        /// What is bound.
        bound: String,
    },
    /// A scenario's cluster name is not a DNS-1123 label (validation refuses it first).
    #[error(transparent)]
    ClusterName(#[from] super::ClusterNameError),
    /// A fleet for one scenario could not be started.
    #[error("failed to start an embedded fleet for scenario {scenario}")]
    Start {
        /// Scenario name.
        scenario: String,
        /// Cause.
        #[source]
        source: super::FleetError,
    },
}

/// The clusters one scenario runs on, and whatever keeps them alive until it ends.
pub struct Binding {
    /// Logical cluster → handle.
    pub clusters: BTreeMap<String, ClusterHandle>,
    /// Whether other scenarios, or other runs, may use the same clusters at the same time
    /// (faults are then scoped to the scenario's namespace and run alone).
    pub shared: bool,
    _keep: Option<Keep>,
}

impl Binding {
    /// Clusters shared with others.
    pub fn shared(clusters: BTreeMap<String, ClusterHandle>) -> Binding {
        Binding {
            clusters,
            shared: true,
            _keep: None,
        }
    }

    /// Clusters of the scenario's own, alive as long as `keep`.
    pub fn own(clusters: BTreeMap<String, ClusterHandle>, keep: Keep) -> Binding {
        Binding {
            clusters,
            shared: false,
            _keep: Some(keep),
        }
    }
}

/// Where clusters come from.
pub trait Provider: Send + Sync {
    /// One line for reports, e.g. `contexts a=gke_1, b=gke_2`.
    fn describe(&self) -> String;

    /// What the fleet offers.
    fn capabilities(&self) -> &Capabilities;

    /// The clusters all scenarios share (preflight checks them; `gc` cleans them). For the
    /// embedded provider: a sample fleet of the same make as the scenarios' own.
    fn registry(&self) -> &ClusterRegistry;

    /// Whether `scenario` can run here: `Ok(None)` it runs, `Ok(Some(reason))` it is skipped
    /// (a capability is missing), `Err` the command line is wrong for it.
    fn fit(&self, scenario: &Scenario) -> Result<Option<String>, ProviderError> {
        Ok(self.capabilities().unmet(scenario))
    }

    /// The clusters for `scenario` (which fits), bound when its turn comes.
    fn bind<'a>(&'a self, scenario: &'a Scenario) -> BoxFuture<'a, Result<Binding, ProviderError>>;
}

/// How a shared fleet's clusters are given to a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindBy {
    /// By logical name (`--cluster a=CONTEXT` binds `a`).
    Name,
    /// In order: the scenario's first cluster to the fleet's first (kind, k3s).
    Order,
}

/// A fleet every scenario shares: kubeconfig contexts, kind or k3s clusters.
pub struct SharedProvider {
    description: String,
    capabilities: Capabilities,
    registry: ClusterRegistry,
    by: BindBy,
    keep: Mutex<Vec<Keep>>,
}

impl SharedProvider {
    /// A provider over `registry`; `keep` lives as long as it (dropped in order).
    pub fn new(
        description: String,
        capabilities: Capabilities,
        registry: ClusterRegistry,
        by: BindBy,
        keep: Vec<Keep>,
    ) -> SharedProvider {
        SharedProvider {
            description,
            capabilities,
            registry,
            by,
            keep: Mutex::new(keep),
        }
    }

    fn clusters_for(
        &self,
        scenario: &Scenario,
    ) -> Result<BTreeMap<String, ClusterHandle>, ProviderError> {
        match self.by {
            BindBy::Name => scenario
                .clusters
                .iter()
                .map(|c| {
                    self.registry
                        .get(c)
                        .map(|h| (c.clone(), h.clone()))
                        .ok_or_else(|| ProviderError::Unbound {
                            scenario: scenario.name.clone(),
                            cluster: c.clone(),
                            bound: self.registry.describe(),
                        })
                })
                .collect(),
            BindBy::Order => scenario
                .clusters
                .iter()
                .zip(self.registry.iter())
                .map(|(name, h)| {
                    let mut h = h.clone();
                    h.name = super::ClusterName::new(name.as_str())?;
                    Ok((name.clone(), h))
                })
                .collect(),
        }
    }
}

impl Drop for SharedProvider {
    fn drop(&mut self) {
        // In order: the importer before the clusters it watches.
        let keep = std::mem::take(self.keep.get_mut().unwrap_or_else(|e| e.into_inner()));
        for k in keep {
            drop(k);
        }
    }
}

impl Provider for SharedProvider {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn registry(&self) -> &ClusterRegistry {
        &self.registry
    }

    fn fit(&self, scenario: &Scenario) -> Result<Option<String>, ProviderError> {
        if let Some(reason) = self.capabilities.unmet(scenario) {
            return Ok(Some(reason));
        }
        self.clusters_for(scenario).map(|_| None)
    }

    fn bind<'a>(&'a self, scenario: &'a Scenario) -> BoxFuture<'a, Result<Binding, ProviderError>> {
        Box::pin(async move { self.clusters_for(scenario).map(Binding::shared) })
    }
}
