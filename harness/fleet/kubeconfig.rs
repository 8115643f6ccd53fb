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
    /// The embedded fleet failed.
    #[error("failed to start the embedded fleet")]
    Sim(#[source] mcs_sim::FleetError),
    /// The kubeconfig produced by the fleet did not parse (a bug).
    #[error("the embedded fleet produced an unreadable kubeconfig: {0}")]
    Internal(String),
}

/// A client for `context` of an in-memory kubeconfig.
pub async fn client_for_context(kc: &Kubeconfig, context: &str) -> Result<Client, FleetError> {
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
    Client::try_from(cfg).map_err(|source| FleetError::Client {
        context: context.to_string(),
        source,
    })
}

/// One client per named context of the kubeconfig at `path` (or `$KUBECONFIG`/default when
/// None), in the order given.
pub async fn clients_from_kubeconfig(
    path: Option<&Path>,
    contexts: &[String],
) -> Result<Vec<(String, Client)>, FleetError> {
    let kc = match path {
        Some(p) => Kubeconfig::read_from(p).map_err(|source| FleetError::Kubeconfig {
            path: p.display().to_string(),
            source,
        })?,
        None => Kubeconfig::read().map_err(|source| FleetError::Kubeconfig {
            path: "$KUBECONFIG or ~/.kube/config".into(),
            source,
        })?,
    };
    let mut out = Vec::new();
    for ctx in contexts {
        out.push((ctx.clone(), client_for_context(&kc, ctx).await?));
    }
    Ok(out)
}
