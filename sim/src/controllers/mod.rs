//! In-process controllers of a simulated cluster, driven by the store's event stream:
//! CRD establishment, namespace termination, garbage collection of owned objects.

mod crd;
mod gc;
mod namespace;

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::store::StoreEvent;

/// A controller reacts to every committed change, and resynchronises after missing events.
trait Controller: Send + 'static {
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent);
    fn resync(&mut self, cluster: &Cluster);
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
        }
    })
}

/// Starts every controller of `cluster`; abort the handles to stop them.
pub fn start(cluster: Arc<Cluster>) -> Vec<JoinHandle<()>> {
    vec![
        spawn(cluster.clone(), crd::CrdController),
        spawn(cluster.clone(), namespace::NamespaceController::default()),
        spawn(cluster, gc::GarbageCollector),
    ]
}
