//! In-process controllers of a simulated cluster, driven by the store's event stream:
//! CRD establishment, namespace termination, garbage collection of owned objects, the
//! workload controllers (Deployment, ReplicaSet, StatefulSet, Job, CronJob), endpoints.

mod crd;
pub mod cron;
mod cronjob;
mod deployment;
mod endpoints;
mod gc;
mod job;
mod mirroring;
mod namespace;
mod owned;
mod replicaset;
mod serviceaccount;
mod slices;
mod statefulset;

use std::sync::Arc;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::store::StoreEvent;

/// A controller reacts to every committed change, and resynchronises after missing events.
pub trait Controller: Send + 'static {
    /// One committed change.
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent);
    /// Catch up after missed events (and at start).
    fn resync(&mut self, cluster: &Cluster);
    /// Called after each batch of events (everything pending at once): controllers that
    /// only mark work in `on_event` do it here, once per object per batch.
    fn flush(&mut self, _cluster: &Cluster) {}
    /// When the controller wants to run [`Controller::tick`] without an event (back-off
    /// timers, schedules); `None` = only on events.
    fn next_wake(&self) -> Option<tokio::time::Instant> {
        None
    }
    /// Timer work that is due.
    fn tick(&mut self, _cluster: &Cluster) {}
}

/// Most events handled before a flush.
const BATCH: usize = 4096;

pub use owned::write_status;

/// Writes a pod's status (kubelet), keeping condition transition times that did not change.
pub fn write_pod_status(cluster: &Cluster, pod: &serde_json::Value, status: &serde_json::Value) {
    let res = crate::store::ResKey::new("", "pods");
    let key = crate::store::key_of(pod);
    let Some(cur) = cluster.store.get(&res, &key) else {
        return;
    };
    let mut status = status.clone();
    owned::keep_transition_times(&cur["status"]["conditions"], &mut status["conditions"]);
    write_status(cluster, &res, &key, "kubelet", status);
}

fn spawn(cluster: Arc<Cluster>, mut c: impl Controller) -> JoinHandle<()> {
    let mut rx = cluster.store.subscribe();
    tokio::spawn(async move {
        c.resync(&cluster);
        loop {
            let wake = c.next_wake();
            let timer = async move {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let got = tokio::select! {
                r = rx.recv() => Some(r),
                _ = timer => None,
            };
            match got {
                None => c.tick(&cluster),
                Some(Ok(ev)) => c.on_event(&cluster, &ev),
                Some(Err(RecvError::Lagged(_))) => c.resync(&cluster),
                Some(Err(RecvError::Closed)) => break,
            }
            for _ in 0..BATCH {
                match rx.try_recv() {
                    Ok(ev) => c.on_event(&cluster, &ev),
                    Err(TryRecvError::Lagged(_)) => c.resync(&cluster),
                    Err(_) => break,
                }
            }
            c.flush(&cluster);
        }
    })
}

/// Starts every controller of `cluster`; abort the handles to stop them.
pub fn start(cluster: Arc<Cluster>) -> Vec<JoinHandle<()>> {
    let faults = cluster.faults;
    let mut tasks = vec![
        spawn(cluster.clone(), crd::CrdController),
        spawn(cluster.clone(), namespace::NamespaceController::default()),
        spawn(cluster.clone(), serviceaccount::ServiceAccountController),
        spawn(cluster.clone(), gc::GarbageCollector),
        spawn(cluster.clone(), deployment::DeploymentController::default()),
        spawn(cluster.clone(), replicaset::ReplicaSetController::default()),
        spawn(
            cluster.clone(),
            statefulset::StatefulSetController::default(),
        ),
        spawn(cluster.clone(), job::JobController::default()),
        spawn(cluster.clone(), cronjob::CronJobController::default()),
        spawn(cluster.clone(), endpoints::EndpointsController::default()),
        spawn(cluster.clone(), mirroring::MirroringController),
        spawn(
            cluster.clone(),
            crate::net::ServiceProxy::new(cluster.clone()),
        ),
    ];
    if faults {
        tasks.push(spawn(
            cluster.clone(),
            crate::faults::FaultController::default(),
        ));
    }
    tasks.push(spawn(
        cluster.clone(),
        crate::kubelet::Kubelet::new(cluster),
    ));
    tasks
}
