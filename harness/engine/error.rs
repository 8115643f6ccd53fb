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

/// The HTTP status of an API error, if it is one.
pub(super) fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// A failed API call as a step failure, with the server's message.
pub(super) fn api_failure(what: &str, e: &kube::Error) -> crate::event::Failure {
    use crate::event::Failure;
    match e {
        kube::Error::Api(s) => {
            Failure::msg(format!("{what}: {} ({} {})", s.message, s.code, s.reason))
        }
        other => Failure::msg(format!("{what}: {other}")),
    }
}
