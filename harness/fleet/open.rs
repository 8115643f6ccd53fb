//! Opens the provider the command line asks for — the embedded fleet (default), kubeconfig
//! contexts (`--cluster NAME=CONTEXT`), kind or k3s clusters — and runs preflight on its
//! clusters. The provider's capabilities come from what preflight saw where they are not
//! known in advance (contexts: how many clusters, which MCS APIs, whether faults exist).

use std::path::PathBuf;
use std::time::Duration;

use super::capabilities::Capabilities;
use super::embedded_provider::EmbeddedProvider;
use super::kubeconfig::{FleetError, handles_from_kubeconfig};
use super::preflight::{PreflightReport, preflight};
use super::provider::{BindBy, Keep, Provider, SharedProvider};
use super::registry::{ClusterHandle, ClusterRegistry};
use crate::scenario::Flavour;

/// Which provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    /// A fleet per scenario, in-process.
    Embedded,
    /// Existing clusters: `(logical name, kubeconfig context)` pairs.
    Contexts(Vec<(String, String)>),
    /// kind clusters `kind-<prefix>-1…N`, reused or created; importer in-process.
    Kind,
    /// k3s containers (feature `k3s`); importer in-process.
    K3s,
}

/// Everything needed to open a provider.
#[derive(Clone, Debug)]
pub struct ProviderOptions {
    /// Which one.
    pub kind: ProviderKind,
    /// Kubeconfig for contexts and kind (default: `$KUBECONFIG` or `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// kind cluster name prefix.
    pub kind_prefix: String,
    /// How many kind/k3s clusters.
    pub cluster_count: usize,
    /// MCS flavour set up on kind/k3s clusters.
    pub flavour: Flavour,
    /// Importer propagation delay (embedded, kind, k3s).
    pub propagation_delay: Duration,
    /// Bound of each cluster's preflight.
    pub preflight_timeout: Duration,
}

/// Why a provider could not be opened (all exit 2: the user's to fix).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Clients could not be built, or the embedded fleet did not start.
    #[error(transparent)]
    Fleet(#[from] FleetError),
    /// The same logical cluster is bound twice.
    #[error("cluster {0:?} is bound twice with --cluster: give each logical cluster one context")]
    Duplicate(String),
    /// Preflight found problems; every one is listed.
    #[error("preflight failed:\n{}", .0.problems().iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Preflight(Box<PreflightReport>),
    /// The kind provider failed.
    #[error("the kind provider failed")]
    Kind(#[source] crate::kind::cmd::KindCmdError),
    /// The k3s provider failed.
    #[error("{0}")]
    K3s(String),
}

/// Opens the provider and runs preflight on it; a preflight problem is an error.
pub async fn open(
    opts: &ProviderOptions,
) -> Result<(Box<dyn Provider>, PreflightReport), OpenError> {
    let provider: Box<dyn Provider> = match &opts.kind {
        ProviderKind::Embedded => {
            let p = EmbeddedProvider::start(opts.propagation_delay).await?;
            let report = preflight(p.registry(), opts.preflight_timeout).await;
            return checked(Box::new(p), report);
        }
        ProviderKind::Contexts(bindings) => return contexts(opts, bindings).await,
        ProviderKind::Kind => kind(opts).await?,
        ProviderKind::K3s => k3s(opts).await?,
    };
    let report = preflight(provider.registry(), opts.preflight_timeout).await;
    checked(provider, report)
}

fn checked(
    provider: Box<dyn Provider>,
    report: PreflightReport,
) -> Result<(Box<dyn Provider>, PreflightReport), OpenError> {
    match report.problems().is_empty() {
        true => Ok((provider, report)),
        false => Err(OpenError::Preflight(Box::new(report))),
    }
}

async fn contexts(
    opts: &ProviderOptions,
    bindings: &[(String, String)],
) -> Result<(Box<dyn Provider>, PreflightReport), OpenError> {
    for (i, (name, _)) in bindings.iter().enumerate() {
        if bindings[..i].iter().any(|(n, _)| n == name) {
            return Err(OpenError::Duplicate(name.clone()));
        }
    }
    let registry: ClusterRegistry = handles_from_kubeconfig(opts.kubeconfig.as_deref(), bindings)
        .await?
        .into_iter()
        .collect();
    let report = preflight(&registry, opts.preflight_timeout).await;
    if !report.problems().is_empty() {
        return Err(OpenError::Preflight(Box::new(report)));
    }
    let capabilities = Capabilities {
        clusters: Some(registry.len()),
        flavours: report.flavours(),
        faults: report.faults(),
        importer_in_process: false,
        fleet_per_scenario: false,
    };
    let description = format!("contexts {}", registry.describe());
    let provider = SharedProvider::new(
        description,
        capabilities,
        registry,
        BindBy::Name,
        Vec::new(),
    );
    Ok((Box::new(provider), report))
}

/// Capabilities of local clusters the harness set up for one flavour, importer in-process.
fn local_capabilities(n: usize, flavour: Flavour) -> Capabilities {
    Capabilities {
        clusters: Some(n),
        flavours: vec![flavour],
        faults: false,
        importer_in_process: true,
        fleet_per_scenario: false,
    }
}

fn local_registry(
    clusters: &[crate::local::LocalCluster],
    server: &dyn Fn(usize) -> String,
) -> Result<ClusterRegistry, OpenError> {
    clusters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(ClusterHandle {
                name: super::ClusterName::new(c.name.as_str()).map_err(FleetError::from)?,
                location: c.location.clone(),
                server: server(i),
                client: c.client.clone(),
            })
        })
        .collect()
}

async fn kind(opts: &ProviderOptions) -> Result<Box<dyn Provider>, OpenError> {
    let flavour: mcs_importer::Flavour = opts.flavour;
    let ko = crate::kind::provider::KindOptions {
        prefix: opts.kind_prefix.clone(),
        clusters: opts.cluster_count,
        flavour,
        kubeconfig: opts.kubeconfig.clone(),
        propagation_delay: opts.propagation_delay,
    };
    let kind = crate::kind::provider::bring_up(&ko, &mut std::io::stderr())
        .await
        .map_err(OpenError::Kind)?;
    let registry = local_registry(&kind.prepared.clusters, &|_| String::new())?;
    let provider = SharedProvider::new(
        kind.describe(flavour),
        local_capabilities(registry.len(), opts.flavour),
        registry,
        BindBy::Order,
        vec![Box::new(kind) as Keep],
    );
    Ok(Box::new(provider))
}

#[cfg(not(feature = "k3s"))]
async fn k3s(_opts: &ProviderOptions) -> Result<Box<dyn Provider>, OpenError> {
    Err(OpenError::K3s(
        "this mcs-harness was built without the k3s provider: rebuild with \
         `cargo build --release --features k3s` (needs a Docker daemon at run time)"
            .into(),
    ))
}

#[cfg(feature = "k3s")]
async fn k3s(opts: &ProviderOptions) -> Result<Box<dyn Provider>, OpenError> {
    let flavour: mcs_importer::Flavour = opts.flavour;
    let ko = crate::k3s::K3sOptions {
        clusters: opts.cluster_count,
        ..crate::k3s::K3sOptions::default()
    };
    let fleet = crate::k3s::start(&ko)
        .await
        .map_err(|e| OpenError::K3s(format!("the k3s provider failed: {e}")))?;
    let prepared = crate::local::prepare(fleet.clusters.clone(), flavour, opts.propagation_delay)
        .await
        .map_err(|e| OpenError::K3s(format!("preparing the k3s clusters failed: {e}")))?;
    let servers: Vec<String> = fleet.nodes.iter().map(|n| n.server.clone()).collect();
    let registry = local_registry(&prepared.clusters, &|i| {
        servers.get(i).cloned().unwrap_or_default()
    })?;
    let description = fleet.describe();
    // Dropped in this order when the run ends: the importer, then the containers.
    let provider = SharedProvider::new(
        description,
        local_capabilities(registry.len(), opts.flavour),
        registry,
        BindBy::Order,
        vec![Box::new(prepared) as Keep, Box::new(fleet) as Keep],
    );
    Ok(Box::new(provider))
}
