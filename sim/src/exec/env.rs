//! What a command running inside a simulated pod sees: its identity, resolver configuration,
//! network, environment variables, writable files and where its output goes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::Fs;
use crate::net::Network;

/// Receives a running program's output as it is written (a container's log).
pub trait OutputSink: Send + Sync {
    /// `data` written to stdout (or stderr).
    fn write(&self, stderr: bool, data: &[u8]);
}

/// The process-level context of a command: container env, filesystem, output sink.
#[derive(Clone)]
pub struct Process {
    /// The container's environment variables (Kubernetes `env`, resolved), in order.
    pub vars: Vec<(String, String)>,
    /// The container's writable files (`kubectl cp`, redirections).
    pub fs: Arc<Fs>,
    /// Streams top-level output as it is produced (the container's main process); exec
    /// sessions collect output instead.
    pub sink: Option<Arc<dyn OutputSink>>,
    /// Longest real `sleep` (exec sessions are bounded; a container's own program is not).
    pub sleep_cap: Option<Duration>,
    /// Multiplies `sleep` durations: lifecycle hooks run on the kubelet's compressed clock.
    pub sleep_scale: f64,
}

impl Default for Process {
    /// An exec session: no env of its own, a scratch filesystem, output collected, sleeps
    /// capped at [`super::builtins::SLEEP_CAP`].
    fn default() -> Self {
        Self {
            vars: Vec::new(),
            fs: Arc::default(),
            sink: None,
            sleep_cap: Some(super::builtins::SLEEP_CAP),
            sleep_scale: 1.0,
        }
    }
}

/// The environment of one exec'd command.
#[derive(Clone)]
pub struct ExecEnv {
    /// Cluster the pod runs in.
    pub cluster: String,
    /// Pod namespace.
    pub namespace: String,
    /// Pod name (also its hostname).
    pub pod: String,
    /// Pod IP.
    pub pod_ip: Ipv4Addr,
    /// Image of the container exec'd into (decides which tools exist: busybox, curl, netshoot).
    pub image: String,
    /// The cluster DNS server (kube-dns ClusterIP, port 53).
    pub nameserver: SocketAddr,
    /// resolv.conf search list, e.g. `["app.svc.cluster.local", "svc.cluster.local", "cluster.local"]`.
    pub search: Vec<String>,
    /// resolv.conf `ndots`.
    pub ndots: u8,
    /// The network, as seen from this pod's cluster.
    pub net: Arc<dyn Network>,
    /// Env, files and output of the process.
    pub process: Process,
}

impl ExecEnv {
    /// A container env variable.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.process
            .vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
