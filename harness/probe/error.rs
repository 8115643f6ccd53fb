//! Errors of the probe module: every message names the probe pod, its namespace and cluster,
//! and says what to check.

use std::fmt;
use std::time::Duration;

/// Which probe pod an error is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRef {
    /// Logical cluster name.
    pub cluster: String,
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub name: String,
}

impl fmt::Display for PodRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PodRef {
            cluster,
            namespace,
            name,
        } = self;
        write!(f, "{namespace}/{name} in cluster {cluster}")
    }
}

/// Errors creating the probe pod or running a command in it.
///
/// A probe *result* (NXDOMAIN, connection refused, HTTP 503...) is not an error: it is
/// returned as [`DnsResult`](super::DnsResult) or [`HttpResult`](super::HttpResult). These
/// errors mean the probe itself could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// An API request about the probe pod failed.
    #[error(
        "failed to {action} probe pod {pod}: check that the cluster is reachable and that the \
         harness may create, get and watch pods in namespace {}",
        pod.namespace
    )]
    Api {
        /// What was attempted (`create`, `get`...).
        action: &'static str,
        /// The probe pod.
        pod: Box<PodRef>,
        /// Cause.
        #[source]
        source: Box<kube::Error>,
    },
    /// The pod did not reach phase Running in time.
    #[error(
        "probe pod {pod} is not running after {} (last seen: {last}): check that its \
         image can be pulled and the pod scheduled (`kubectl describe pod {} -n {}`)",
        crate::duration::human(*timeout),
        pod.name,
        pod.namespace
    )]
    NotRunning {
        /// The probe pod.
        pod: Box<PodRef>,
        /// How long the harness waited.
        timeout: Duration,
        /// The pod's state when the harness gave up.
        last: String,
    },
    /// The pod ended (phase Succeeded or Failed) or disappeared.
    #[error(
        "probe pod {pod} is not usable ({state}): delete it so the harness recreates it, and \
         check that its image provides `sleep`"
    )]
    Ended {
        /// The probe pod.
        pod: Box<PodRef>,
        /// What was seen (`phase Failed`, `deleted`...).
        state: String,
    },
    /// The exec connection could not be opened.
    #[error(
        "failed to exec `{command}` in probe pod {pod}: check that the pod is running and that \
         the harness may create pods/exec there"
    )]
    ExecConnect {
        /// The command line.
        command: String,
        /// The probe pod.
        pod: Box<PodRef>,
        /// Cause.
        #[source]
        source: Box<kube::Error>,
    },
    /// The exec stream broke, or closed without reporting an exit status.
    #[error(
        "the exec stream of `{command}` in probe pod {pod} broke ({detail}): check the \
         connection to the API server and the node's kubelet"
    )]
    ExecStream {
        /// The command line.
        command: String,
        /// The probe pod.
        pod: Box<PodRef>,
        /// What happened.
        detail: String,
        /// Cause, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The command could not be started (missing executable, runtime error...).
    #[error(
        "`{command}` could not run in probe pod {pod} ({reason}: {message}): use a probe image \
         that provides it, e.g. busybox:1.36 or curlimages/curl:8.5.0"
    )]
    ExecFailed {
        /// The command line.
        command: String,
        /// The probe pod.
        pod: Box<PodRef>,
        /// The exec Status reason (`InternalError`...).
        reason: String,
        /// The exec Status message.
        message: String,
    },
    /// The command did not finish in time although it bounds its own duration.
    #[error(
        "`{command}` in probe pod {pod} did not finish within {}: check the node running \
         the pod and its connection to the API server",
        crate::duration::human(*limit)
    )]
    ExecTimeout {
        /// The command line.
        command: String,
        /// The probe pod.
        pod: Box<PodRef>,
        /// The limit that was exceeded.
        limit: Duration,
    },
}

/// Result of the probe module.
pub type Result<T, E = ProbeError> = std::result::Result<T, E>;

impl ProbeError {
    /// Whether retrying may succeed: transport failures, 5xx and 429 answers.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            ProbeError::Api { source, .. } | ProbeError::ExecConnect { source, .. } => {
                transient_kube(source)
            }
            ProbeError::ExecStream { .. } => true,
            ProbeError::NotRunning { .. }
            | ProbeError::Ended { .. }
            | ProbeError::ExecFailed { .. }
            | ProbeError::ExecTimeout { .. } => false,
        }
    }
}

/// Whether a kube error is worth retrying (the harness-wide rule).
pub(crate) use crate::retry::transient as transient_kube;
