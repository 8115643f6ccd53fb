//! Run liveness: while a run uses shared clusters it holds a Lease in every one of them
//! (`mcs-harness/run-<id>`, renewed every few seconds). `gc` removes what a run left behind
//! only once its Lease has expired — or, on the same host, once its process is gone — so it
//! never touches a live run's objects. `--keep` marks the Lease kept: gc then leaves the run
//! alone unless asked for it by id.

use std::time::{Duration, SystemTime};

use backon::Retryable;
use futures::future::join_all;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::task::JoinHandle;

use super::registry::ClusterRegistry;
use crate::retry::transient;

/// Namespace holding the runs' Leases (created when missing; never deleted).
pub const LEASE_NAMESPACE: &str = "mcs-harness";
/// A run's Lease is valid this long after its last renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often a run renews its Lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// Clock skew between hosts that gc tolerates before it trusts an expiry.
pub const SKEW_ALLOWANCE: Duration = Duration::from_secs(60);
/// Label on every object a run creates; its value is the run id.
pub const RUN_LABEL: &str = crate::probe::RUN_LABEL;

const HOST: &str = "mcs-harness.dev/host";
const PID: &str = "mcs-harness.dev/pid";
const PID_START: &str = "mcs-harness.dev/pid-start";
const KEPT: &str = "mcs-harness.dev/kept";
const MANAGER: &str = "mcs-harness";

/// Errors holding the Lease.
#[derive(Debug, thiserror::Error)]
pub enum LivenessError {
    /// The namespace or Lease could not be created.
    #[error("cannot create the run's Lease {LEASE_NAMESPACE}/{name} in cluster {cluster}")]
    Create {
        /// Cluster.
        cluster: String,
        /// Lease name.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
}

/// The Lease name of run `id`.
pub fn lease_name(run_id: &str) -> String {
    format!("run-{run_id}")
}

/// A held Lease in every cluster; renewed until [`RunLease::release`].
pub struct RunLease {
    run_id: String,
    clients: Vec<(String, Client)>,
    renew: JoinHandle<()>,
}

impl RunLease {
    /// Creates the Lease in every cluster of `registry` and starts renewing it.
    pub async fn acquire(
        registry: &ClusterRegistry,
        run_id: &str,
    ) -> Result<RunLease, LivenessError> {
        let clients: Vec<(String, Client)> = registry
            .iter()
            .map(|h| (h.name.to_string(), h.client.clone()))
            .collect();
        let name = lease_name(run_id);
        for (cluster, client) in &clients {
            create(client, run_id)
                .await
                .map_err(|source| LivenessError::Create {
                    cluster: cluster.clone(),
                    name: name.clone(),
                    source,
                })?;
        }
        let renew = tokio::spawn(renew_loop(clients.clone(), run_id.to_string()));
        Ok(RunLease {
            run_id: run_id.to_string(),
            clients,
            renew,
        })
    }

    /// Stops renewing; deletes the Lease, or (`kept`) marks it kept so gc leaves the run's
    /// objects until asked for them by id.
    pub async fn release(self, kept: bool) {
        self.renew.abort();
        let name = lease_name(&self.run_id);
        let work = self.clients.iter().map(|(_, c)| {
            let name = name.clone();
            async move {
                let api: Api<Lease> = Api::namespaced(c.clone(), LEASE_NAMESPACE);
                let p = json!({"metadata": {"annotations": {KEPT: "true"}}});
                let (pp, dp, patch) = (
                    PatchParams::default(),
                    DeleteParams::default(),
                    Patch::Merge(&p),
                );
                let res = match kept {
                    true => (|| api.patch(&name, &pp, &patch))
                        .retry(crate::retry::backoff().with_max_times(12))
                        .when(transient)
                        .await
                        .map(drop),
                    false => (|| api.delete(&name, &dp))
                        .retry(crate::retry::backoff().with_max_times(12))
                        .when(transient)
                        .await
                        .map(drop),
                };
                if let Err(e) = res {
                    tracing::debug!(lease = %name, "releasing the run lease: {e}");
                }
            }
        });
        join_all(work).await;
    }
}

impl Drop for RunLease {
    fn drop(&mut self) {
        self.renew.abort();
    }
}

fn micro_time(t: SystemTime) -> String {
    match jiff::Timestamp::try_from(t) {
        Ok(ts) => format!("{ts:.6}"),
        Err(_) => "1970-01-01T00:00:00.000000Z".to_string(),
    }
}

async fn create(client: &Client, run_id: &str) -> Result<(), kube::Error> {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": LEASE_NAMESPACE,
        "labels": {"app.kubernetes.io/managed-by": MANAGER}}}))
    .map_err(kube::Error::SerdeError)?;
    let (namespaces, pp) = (Api::<Namespace>::all(client.clone()), PostParams::default());
    let made = (|| namespaces.create(&pp, &ns))
        .retry(crate::retry::backoff().with_max_times(12))
        .when(transient)
        .await;
    match made {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e),
    }
    let now = micro_time(SystemTime::now());
    let (pid, start) = (std::process::id(), process_start(std::process::id()));
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": lease_name(run_id), "namespace": LEASE_NAMESPACE,
            "labels": {RUN_LABEL: run_id, "app.kubernetes.io/managed-by": MANAGER},
            "annotations": {HOST: hostname(), PID: pid.to_string(), PID_START: start.unwrap_or_default()}},
        "spec": {"holderIdentity": format!("mcs-harness@{}/{pid}", hostname()),
            "leaseDurationSeconds": LEASE_DURATION.as_secs(), "acquireTime": now, "renewTime": now}
    }))
    .map_err(kube::Error::SerdeError)?;
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let pp = PostParams::default();
    let created = (|| api.create(&pp, &lease))
        .retry(crate::retry::backoff().with_max_times(12))
        .when(transient)
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => renew(&api, run_id).await,
        Err(e) => Err(e),
    }
}

async fn renew(api: &Api<Lease>, run_id: &str) -> Result<(), kube::Error> {
    let p = json!({"spec": {"renewTime": micro_time(SystemTime::now())}});
    api.patch(
        &lease_name(run_id),
        &PatchParams::default(),
        &Patch::Merge(&p),
    )
    .await
    .map(drop)
}

async fn renew_loop(clients: Vec<(String, Client)>, run_id: String) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        for (cluster, client) in &clients {
            let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
            let res = match renew(&api, &run_id).await {
                Err(kube::Error::Api(s)) if s.code == 404 => create(client, &run_id).await,
                other => other,
            };
            if let Err(e) = res {
                tracing::warn!(cluster, "renewing the run lease failed (retried): {e}");
            }
        }
    }
}

/// This machine's host name (for telling whether a run's process still exists).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The start time (clock ticks since boot) of process `pid`, which tells a pid apart from a
/// later process that reuses it.
pub fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// What a run's Lease says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// The run is (or may be) alive: leave its objects alone.
    Live,
    /// The run ended without cleaning up (or was killed): its objects may go.
    Expired,
    /// The run ended with `--keep`: its objects stay until gc is asked for them by id.
    Kept,
}

/// Judges a Lease at `now`, seen from host `here` (`alive(pid, start)` tells whether that
/// process still runs on this host).
pub fn liveness(
    lease: &Lease,
    now: SystemTime,
    here: &str,
    alive: &dyn Fn(&str, &str) -> bool,
) -> Liveness {
    let notes = lease.metadata.annotations.clone().unwrap_or_default();
    if notes.get(KEPT).is_some_and(|v| v == "true") {
        return Liveness::Kept;
    }
    if notes.get(HOST).is_some_and(|h| h == here)
        && let (Some(pid), Some(start)) = (notes.get(PID), notes.get(PID_START))
        && !start.is_empty()
    {
        return match alive(pid, start) {
            true => Liveness::Live,
            false => Liveness::Expired,
        };
    }
    let spec = lease.spec.clone().unwrap_or_default();
    let duration = Duration::from_secs(
        spec.lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(LEASE_DURATION.as_secs()),
    );
    let renewed = spec
        .renew_time
        .map(|t| SystemTime::from(t.0))
        .or_else(|| spec.acquire_time.map(|t| SystemTime::from(t.0)));
    match renewed {
        Some(at) if at + duration + SKEW_ALLOWANCE > now => Liveness::Live,
        _ => Liveness::Expired,
    }
}

/// Whether process `pid`, started at `start`, runs on this host.
pub fn process_alive(pid: &str, start: &str) -> bool {
    pid.parse::<u32>()
        .ok()
        .and_then(process_start)
        .is_some_and(|s| s == start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(notes: serde_json::Value, renewed: SystemTime) -> Lease {
        serde_json::from_value(json!({"metadata": {"name": "run-x", "annotations": notes},
            "spec": {"leaseDurationSeconds": 15, "renewTime": micro_time(renewed)}}))
        .unwrap()
    }

    #[test]
    fn leases_expire_by_time_or_by_a_dead_process_on_this_host() {
        let now = SystemTime::now();
        let never = |_: &str, _: &str| false;
        let always = |_: &str, _: &str| true;
        let fresh = lease(json!({}), now);
        assert_eq!(liveness(&fresh, now, "h", &never), Liveness::Live);
        let old = lease(json!({}), now - Duration::from_secs(120));
        assert_eq!(liveness(&old, now, "h", &never), Liveness::Expired);
        // Within the skew allowance a lease from another host is still trusted.
        let recent = lease(json!({}), now - Duration::from_secs(30));
        assert_eq!(liveness(&recent, now, "h", &never), Liveness::Live);
        // On this host the process decides, whatever the clock says.
        let here = json!({HOST: "h", PID: "42", PID_START: "99"});
        assert_eq!(
            liveness(&lease(here.clone(), now), now, "h", &never),
            Liveness::Expired
        );
        let stale = lease(here, now - Duration::from_secs(600));
        assert_eq!(liveness(&stale, now, "h", &always), Liveness::Live);
        let kept = lease(json!({KEPT: "true"}), now - Duration::from_secs(600));
        assert_eq!(liveness(&kept, now, "h", &never), Liveness::Kept);
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = std::process::id();
        let start = process_start(me).unwrap();
        assert!(process_alive(&me.to_string(), &start));
        assert!(!process_alive(&me.to_string(), "0"));
        assert!(!process_alive("not-a-pid", &start));
    }
}
