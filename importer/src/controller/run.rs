//! Running the importer: caches per cluster, workers draining the queue, the lease, a
//! periodic resync; clusters can be added and removed while it runs.
//!
//! Workers reconcile one (namespace, name) per key; namespace-wide and fleet-wide keys are
//! expanded into per-name keys first, so that the queue's one-worker-per-key guarantee
//! covers every reconcile. A reconcile that did not finish is retried with a backoff.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use tokio::sync::RwLock;
use tokio::task::JoinHandle;

use super::cache::{ClusterCache, ClusterConn, api_resource};
use super::queue::{Key, Queue};
use super::{Flavour, ImporterConfig, Outcome, Shared, gke, lease, ready, upstream, write};

/// Concurrent reconciles.
const WORKERS: usize = 4;
/// Everything is reconciled again this often, writes included (a safety net for changes
/// made behind the importer's back, e.g. an edited derived Service; not the retry path).
const RESYNC: Duration = Duration::from_secs(60);

/// A running importer; dropping it stops everything.
pub struct Importer {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Importer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Importer {
    /// Starts watching `clusters` and reconciling.
    pub async fn start(cfg: ImporterConfig, clusters: Vec<ClusterConn>) -> Importer {
        // GKE runs its importer as a Deployment in `gke-mcs`; its stand-in pods ask this
        // endpoint whether they are ready (`ready`).
        let listener = match (cfg.flavour, cfg.importer_deployment) {
            (Flavour::Gke, true) => ready::bind().await,
            _ => None,
        };
        let shared = Arc::new(Shared {
            queue: Queue::new(cfg.propagation_delay),
            cfg,
            clusters: RwLock::new(Vec::new()),
            applied: Default::default(),
            reachability: Default::default(),
            ready_addr: listener.as_ref().and_then(|l| l.local_addr().ok()),
        });
        let me = Importer {
            shared: shared.clone(),
            tasks: Vec::new(),
        };
        for c in clusters {
            me.add_cluster(c).await;
        }
        let mut me = me;
        if let Some(l) = listener {
            me.tasks.push(tokio::spawn(ready::serve(l, shared.clone())));
        }
        for _ in 0..WORKERS {
            me.tasks.push(tokio::spawn(work(shared.clone())));
        }
        me.tasks
            .push(tokio::spawn(lease::renew_forever(shared.clone())));
        let s = shared.clone();
        me.tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(RESYNC).await;
                s.applied.lock().unwrap_or_else(|e| e.into_inner()).clear();
                s.queue.add(Key::All);
            }
        }));
        me
    }

    /// Adds a cluster at runtime.
    pub async fn add_cluster(&self, conn: ClusterConn) {
        let cache = Arc::new(ClusterCache::start(conn, &self.shared));
        self.shared.clusters.write().await.push(cache);
        self.shared.queue.add(Key::All);
    }

    /// Removes a cluster at runtime (its objects stay; others stop importing from it).
    pub async fn remove_cluster(&self, name: &str) {
        self.shared
            .clusters
            .write()
            .await
            .retain(|c| c.name != name);
        self.shared.queue.add(Key::All);
    }

    /// Names of the clusters watched.
    pub async fn clusters(&self) -> Vec<String> {
        self.shared
            .clusters
            .read()
            .await
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }
}

async fn work(shared: Arc<Shared>) {
    while let Some(key) = shared.queue.next().await {
        let outcome = match &key {
            Key::Object { namespace, name } => match shared.cfg.flavour {
                Flavour::Gke => gke::reconcile(&shared, namespace, name).await,
                Flavour::Upstream => upstream::reconcile(&shared, namespace, name).await,
            },
            Key::Namespace(ns) => expand(&shared, Some(ns)).await,
            Key::All => expand(&shared, None).await,
        };
        match outcome {
            Outcome::Done => shared.queue.forget(&key),
            Outcome::Retry => shared.queue.retry(key.clone()),
        }
        shared.queue.done(&key);
    }
}

/// Queues the names of a namespace (`None`: of the fleet): exports in the caches plus
/// imports that exist (so that removed exports get their imports cleaned up). `Retry` when
/// a cluster's imports could not be listed for a transient reason: a name only they know
/// would be missed.
async fn expand(shared: &Shared, ns_filter: Option<&str>) -> Outcome {
    let mut complete = true;
    let clusters = shared.clusters.read().await.clone();
    let mut out = BTreeSet::new();
    let import_ar = api_resource(shared.cfg.flavour, "ServiceImport");
    for c in &clusters {
        for e in c.exports.state() {
            let ns = e.namespace().unwrap_or_default();
            if ns_filter.is_none_or(|f| f == ns) {
                out.insert((ns, e.name_any()));
            }
        }
        let api: Api<DynamicObject> = match ns_filter {
            Some(ns) => Api::namespaced_with(c.client.clone(), ns, &import_ar),
            None => Api::all_with(c.client.clone(), &import_ar),
        };
        let owned = shared.cfg.flavour.managed_by();
        let lp = ListParams::default().labels(&format!("app.kubernetes.io/managed-by={owned}"));
        match api.list(&lp).await {
            Ok(list) => {
                for i in list.items {
                    out.insert((i.namespace().unwrap_or_default(), i.name_any()));
                }
            }
            Err(e) => {
                tracing::warn!(cluster = %c.name, error = %e, "failed to list ServiceImports");
                // A refusal (403, 404: no CRD) stays one until the resync; a transient error
                // is worth a retry soon.
                complete &= !write::transient(&e);
            }
        }
    }
    // The key already waited the propagation delay: its names are due now.
    for (namespace, name) in out {
        shared.queue.add_now(Key::Object { namespace, name });
    }
    Outcome::from_ok(complete)
}
