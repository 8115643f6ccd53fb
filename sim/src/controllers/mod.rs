//! In-process controllers of a simulated cluster, driven by the store's event stream:
//! CRD establishment, namespace termination, garbage collection of owned objects.

mod crd;
mod deployment;
mod endpoints;
mod gc;
mod mirroring;
mod namespace;
mod owned;
mod replicaset;
mod slices;

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
            match rx.recv().await {
                Ok(ev) => c.on_event(&cluster, &ev),
                Err(RecvError::Lagged(_)) => c.resync(&cluster),
                Err(RecvError::Closed) => break,
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
        spawn(cluster.clone(), gc::GarbageCollector),
        spawn(cluster.clone(), deployment::DeploymentController::default()),
        spawn(cluster.clone(), replicaset::ReplicaSetController::default()),
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
