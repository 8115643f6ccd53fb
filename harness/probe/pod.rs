//! The probe pod: created once per namespace (or reused), kept alive by a long `sleep`, and
//! waited for with a watch until it runs.

use std::collections::BTreeMap;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use tokio::time::Instant;

use super::error::{PodRef, ProbeError, Result};
use super::{PROBE_POD, RUN_LABEL};

/// Name of the probe pod's container.
const CONTAINER: &str = "probe";

/// Keeps the container alive; `sleep` exists in busybox, curl, netshoot and Debian images.
/// 2^31-1 seconds is accepted by every `sleep` implementation (no `infinity` needed).
const KEEP_ALIVE: [&str; 2] = ["sleep", "2147483647"];

/// A pod inside a cluster from which probes are run.
#[derive(Clone)]
pub struct ProbePod {
    pub(super) client: Client,
    pub(super) cluster: String,
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) container: String,
    pub(super) image: String,
}

impl std::fmt::Debug for ProbePod {
    // kube::Client has no Debug (and holds credentials): show where the pod is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbePod")
            .field("cluster", &self.cluster)
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("container", &self.container)
            .field("image", &self.image)
            .finish_non_exhaustive()
    }
}

/// Retries of API calls and execs: transient failures only, 50 ms to 1 s apart, 8 retries
/// (about 5 s in all), so that a probe survives an API server failing a third of requests.
pub(super) fn api_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(1))
        .with_max_times(8)
        .with_jitter()
}

impl ProbePod {
    /// Creates pod [`PROBE_POD`] in `namespace` (labels: [`RUN_LABEL`]=`run_id`,
    /// `app.kubernetes.io/managed-by=mcs-harness`; command `sleep 2147483647`,
    /// `restartPolicy: Always`), or reuses it when it already exists, then waits (watch-driven,
    /// bounded by `timeout`) until it is Running. `cluster` is the logical cluster name used in
    /// messages. A reused pod keeps its image: probes pick their tools from the image the pod
    /// really runs.
    pub async fn ensure(
        client: Client,
        cluster: &str,
        namespace: &str,
        run_id: &str,
        image: &str,
        timeout: Duration,
    ) -> Result<ProbePod> {
        Self::ensure_named(
            client, cluster, namespace, PROBE_POD, run_id, image, timeout,
        )
        .await
    }

    /// [`ProbePod::ensure`] with a pod name of the caller's (runs sharing a namespace use
    /// names with their run id).
    pub async fn ensure_named(
        client: Client,
        cluster: &str,
        namespace: &str,
        name: &str,
        run_id: &str,
        image: &str,
        timeout: Duration,
    ) -> Result<ProbePod> {
        let deadline = Instant::now() + timeout;
        let mut probe = ProbePod {
            client,
            cluster: cluster.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            container: CONTAINER.to_string(),
            image: image.to_string(),
        };
        probe.create_or_reuse(run_id, deadline, timeout).await?;
        let pod = probe.wait_running(deadline, timeout).await?;
        probe.adopt(&pod);
        tracing::debug!(cluster, namespace, image = %probe.image, "probe pod running");
        Ok(probe)
    }

    /// The logical cluster name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The namespace of the pod.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn api(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn api_error(&self, action: &'static str, source: kube::Error) -> ProbeError {
        ProbeError::Api {
            action,
            pod: self.pod_ref(),
            source: Box::new(source),
        }
    }

    /// The pod's identity for error messages.
    pub(super) fn pod_ref(&self) -> Box<PodRef> {
        Box::new(PodRef {
            cluster: self.cluster.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        })
    }

    fn ended(&self, state: String) -> ProbeError {
        ProbeError::Ended {
            pod: self.pod_ref(),
            state,
        }
    }

    /// Creates the pod unless it exists; waits out a pod still terminating from an earlier
    /// run, since a pod being deleted cannot be reused.
    async fn create_or_reuse(
        &self,
        run_id: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<()> {
        let api = self.api();
        let existing = (|| api.get_opt(&self.name))
            .retry(api_backoff())
            .when(super::error::transient_kube)
            .await
            .map_err(|e| self.api_error("get", e))?;
        if let Some(pod) = existing {
            if pod.metadata.deletion_timestamp.is_none() {
                return Ok(());
            }
            let uid = pod.metadata.uid.unwrap_or_default();
            let gone = await_condition(api.clone(), &self.name, conditions::is_deleted(&uid));
            if tokio::time::timeout_at(deadline, gone).await.is_err() {
                return Err(self.not_running(timeout, "still terminating".to_string()));
            }
        }
        let manifest = self.manifest(run_id);
        let pp = PostParams::default();
        let created = (|| api.create(&pp, &manifest))
            .retry(api_backoff())
            .when(super::error::transient_kube)
            .await;
        match created {
            Ok(_) => Ok(()),
            // Created concurrently by another probe of the same run: reuse it.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(self.api_error("create", e)),
        }
    }

    fn manifest(&self, run_id: &str) -> Pod {
        let labels = BTreeMap::from([
            (RUN_LABEL.to_string(), run_id.to_string()),
            (
                "app.kubernetes.io/managed-by".to_string(),
                "mcs-harness".to_string(),
            ),
            ("app.kubernetes.io/name".to_string(), PROBE_POD.to_string()),
        ]);
        Pod {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: self.container.clone(),
                    image: Some(self.image.clone()),
                    command: Some(KEEP_ALIVE.iter().map(|s| s.to_string()).collect()),
                    ..Container::default()
                }],
                // Always: a probe pod must outlive long upgrade-validation runs.
                restart_policy: Some("Always".to_string()),
                // `sleep` as PID 1 ignores SIGTERM: don't make cleanup wait 30 s for it.
                termination_grace_period_seconds: Some(1),
                // Probes need no API credentials inside the pod.
                automount_service_account_token: Some(false),
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }

    /// Waits until the pod runs, ends, or disappears; watch errors are retried until the
    /// deadline (a wait must survive dropped watches).
    async fn wait_running(&self, deadline: Instant, timeout: Duration) -> Result<Pod> {
        let api = self.api();
        let settled = |p: Option<&Pod>| match p {
            None => true,
            Some(p) => matches!(phase(p), "Running" | "Succeeded" | "Failed"),
        };
        let watch = (|| await_condition(api.clone(), &self.name, settled))
            .retry(api_backoff().with_max_times(usize::MAX))
            .notify(|e, _| tracing::debug!(error = %e, "watch of the probe pod failed; retrying"));
        let seen = match tokio::time::timeout_at(deadline, watch).await {
            Ok(Ok(seen)) => seen,
            Ok(Err(e)) => return Err(self.not_running(timeout, format!("watch failed: {e}"))),
            Err(_) => {
                let last = match api.get_opt(&self.name).await {
                    Ok(Some(p)) => describe(&p),
                    Ok(None) => "deleted".to_string(),
                    Err(e) => format!("unknown: {e}"),
                };
                return Err(self.not_running(timeout, last));
            }
        };
        match seen {
            Some(p) if phase(&p) == "Running" => Ok(p),
            Some(p) => Err(self.ended(describe(&p))),
            None => Err(self.ended("deleted".to_string())),
        }
    }

    fn not_running(&self, timeout: Duration, last: String) -> ProbeError {
        ProbeError::NotRunning {
            pod: self.pod_ref(),
            timeout,
            last,
        }
    }

    /// Takes the container and image the running pod really has (a reused pod may differ).
    fn adopt(&mut self, pod: &Pod) {
        let first = pod.spec.as_ref().and_then(|s| s.containers.first());
        if let Some(c) = first {
            self.container = c.name.clone();
            if let Some(image) = &c.image
                && *image != self.image
            {
                tracing::debug!(requested = %self.image, running = %image, "reusing probe pod with another image");
                self.image = image.clone();
            }
        }
    }
}

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// A one-line summary of a pod's state: phase and the containers' waiting/terminated reasons.
fn describe(p: &Pod) -> String {
    let mut out = format!("phase {}", phase(p));
    let statuses = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    for cs in statuses.into_iter().flatten() {
        let state = cs.state.as_ref();
        if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.as_deref().unwrap_or("waiting");
            out += &format!(", container {} {reason}", cs.name);
            if let Some(m) = &w.message {
                out += &format!(" ({m})");
            }
        } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            let reason = t.reason.as_deref().unwrap_or("terminated");
            out += &format!(", container {} {reason} exit code {}", cs.name, t.exit_code);
        }
    }
    if let Some(m) = p.status.as_ref().and_then(|s| s.message.as_ref()) {
        out += &format!(": {m}");
    }
    out
}
