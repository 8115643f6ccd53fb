//! The probe-pod pool: one probe pod per cluster, created on first use in the run's
//! namespace and shared by every DNS/HTTP assertion and background probe of the scenario.

use std::collections::HashMap;
use std::time::Duration;

use kube::Client;

use super::error::StepError;
use crate::probe::ProbePod;

/// How the pool's pods are made.
pub(super) struct PodSpec {
    /// Namespace of the run.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Run id (label).
    pub run_id: String,
    /// Image.
    pub image: String,
    /// How long a pod may take to become ready.
    pub ready_timeout: Duration,
}

/// Probe pods by cluster.
pub(super) struct ProbePool {
    spec: PodSpec,
    pods: tokio::sync::Mutex<HashMap<String, ProbePod>>,
}

impl ProbePool {
    /// An empty pool making pods per `spec`.
    pub fn new(spec: PodSpec) -> ProbePool {
        ProbePool {
            spec,
            pods: tokio::sync::Mutex::default(),
        }
    }

    /// The probe pod of `cluster`, created (through `client`) on first use.
    pub async fn get(&self, cluster: &str, client: Client) -> Result<ProbePod, StepError> {
        let mut pods = self.pods.lock().await;
        if let Some(p) = pods.get(cluster) {
            return Ok(p.clone());
        }
        let s = &self.spec;
        let pod = ProbePod::ensure_named(
            client,
            cluster,
            &s.namespace,
            &s.name,
            &s.run_id,
            &s.image,
            s.ready_timeout,
        )
        .await
        .map_err(|source| StepError::ProbePod {
            cluster: cluster.to_string(),
            source: Box::new(source),
        })?;
        pods.insert(cluster.to_string(), pod.clone());
        Ok(pod)
    }
}
