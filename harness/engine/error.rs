//! Engine errors: problems that stop a run before or outside of a step (bad bindings,
//! protected namespaces). Step failures are not errors: they are
//! [`crate::event::Outcome::Failed`] values reported through the Event stream.

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
