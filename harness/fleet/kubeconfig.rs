//! kube clients from a kubeconfig (a file, or the JSON value the embedded fleet produces),
//! one per context.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Errors building clients.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The kubeconfig could not be read or parsed.
    #[error("failed to read kubeconfig {path}")]
    Kubeconfig {
        /// Path or description.
        path: String,
        /// Cause.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A context is missing or unusable.
    #[error(
        "failed to use context {context:?} of the kubeconfig: check `kubectl config get-contexts`"
    )]
    Context {
        /// Context name.
        context: String,
        /// Cause.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The client could not be built.
    #[error("failed to build a client for context {context:?}")]
    Client {
        /// Context name.
        context: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// `@in-cluster` was used outside a pod.
    #[error("cannot use {IN_CLUSTER}: {0} (it works only inside a pod with a service account)")]
    InCluster(String),
    /// The embedded fleet failed.
    #[error("failed to start the embedded fleet")]
    Sim(#[source] mcs_sim::FleetError),
    /// A logical cluster name is not a DNS-1123 label.
    #[error(transparent)]
    ClusterName(#[from] super::ClusterNameError),
    /// The kubeconfig produced by the fleet did not parse (a bug).
    #[error("the embedded fleet produced an unreadable kubeconfig: {0}")]
    Internal(String),
}

/// A client for `context` of an in-memory kubeconfig.
pub async fn client_for_context(kc: &Kubeconfig, context: &str) -> Result<Client, FleetError> {
    connect(kc, context).await.map(|(c, _)| c)
}

/// A client for `context` of an in-memory kubeconfig, and its API server URL.
pub async fn connect(kc: &Kubeconfig, context: &str) -> Result<(Client, String), FleetError> {
    let opts = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let cfg = Config::from_custom_kubeconfig(kc.clone(), &opts)
        .await
        .map_err(|source| FleetError::Context {
            context: context.to_string(),
            source,
        })?;
    let server = cfg.cluster_url.to_string();
    let client = Client::try_from(cfg).map_err(|source| FleetError::Client {
        context: context.to_string(),
        source,
    })?;
    Ok((client, server))
}

/// The pseudo-context naming the cluster the harness runs in (service account token and
/// CA mounted into its pod), e.g. `--cluster a=@in-cluster` in a CronJob.
pub const IN_CLUSTER: &str = "@in-cluster";

/// The kubeconfig at `path`, or `$KUBECONFIG` / `~/.kube/config` when `None`.
pub fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, FleetError> {
    match path {
        Some(p) => Kubeconfig::read_from(p).map_err(|source| FleetError::Kubeconfig {
            path: p.display().to_string(),
            source,
        }),
        None => Kubeconfig::read().map_err(|source| FleetError::Kubeconfig {
            path: "$KUBECONFIG or ~/.kube/config".into(),
            source,
        }),
    }
}

/// One client per named context of the kubeconfig at `path` (or `$KUBECONFIG`/default when
/// None), in the order given; [`IN_CLUSTER`] uses the pod's in-cluster configuration.
pub async fn clients_from_kubeconfig(
    path: Option<&Path>,
    contexts: &[String],
) -> Result<Vec<(String, Client)>, FleetError> {
    let needs_file = contexts.iter().any(|c| c != IN_CLUSTER);
    let kc = match needs_file {
        true => read_kubeconfig(path)?,
        false => Kubeconfig::default(),
    };
    let mut out = Vec::new();
    for ctx in contexts {
        let client = match ctx.as_str() {
            IN_CLUSTER => in_cluster()?,
            _ => client_for_context(&kc, ctx).await?,
        };
        out.push((ctx.clone(), client));
    }
    Ok(out)
}

/// Handles for `NAME=CONTEXT` bindings of the kubeconfig at `path` (or `$KUBECONFIG` /
/// default), in the order given; [`IN_CLUSTER`] uses the pod's in-cluster configuration.
pub async fn handles_from_kubeconfig(
    path: Option<&Path>,
    bindings: &[(String, String)],
) -> Result<Vec<super::ClusterHandle>, FleetError> {
    // Names first: a bad one is the user's to fix before any cluster is contacted.
    let names = bindings
        .iter()
        .map(|(n, _)| super::ClusterName::new(n.as_str()))
        .collect::<Result<Vec<_>, _>>()?;
    let needs_file = bindings.iter().any(|(_, c)| c != IN_CLUSTER);
    let kc = match needs_file {
        true => read_kubeconfig(path)?,
        false => Kubeconfig::default(),
    };
    let mut out = Vec::new();
    for (name, (_, ctx)) in names.into_iter().zip(bindings) {
        let (client, server) = match ctx.as_str() {
            IN_CLUSTER => in_cluster_with_url()?,
            _ => connect(&kc, ctx).await?,
        };
        out.push(super::ClusterHandle {
            name,
            location: ctx.clone(),
            server,
            client,
        });
    }
    Ok(out)
}

fn in_cluster() -> Result<Client, FleetError> {
    in_cluster_with_url().map(|(c, _)| c)
}

fn in_cluster_with_url() -> Result<(Client, String), FleetError> {
    let cfg = Config::incluster().map_err(|e| FleetError::InCluster(e.to_string()))?;
    let server = cfg.cluster_url.to_string();
    let client = Client::try_from(cfg).map_err(|source| FleetError::Client {
        context: IN_CLUSTER.to_string(),
        source,
    })?;
    Ok((client, server))
}
