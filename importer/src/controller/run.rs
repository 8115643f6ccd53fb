//! Running the importer: caches per cluster, workers draining the queue, the lease, a
//! periodic resync; clusters can be added and removed while it runs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use tokio::sync::RwLock;
use tokio::task::JoinHandle;

use super::cache::{ClusterCache, ClusterConn, api_resource};
use super::queue::{Key, Queue};
use super::{Flavour, ImporterConfig, Shared, gke, lease, upstream};

/// Concurrent reconciles.
const WORKERS: usize = 4;
/// Names whose last reconcile hit an error are retried this often (catches changes that
/// raise no event, e.g. a permission granted back).
const RETRY_FAILED: Duration = Duration::from_secs(2);
/// Everything is reconciled again this often, writes included.
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
        let shared = Arc::new(Shared {
            queue: Queue::new(cfg.propagation_delay),
            cfg,
            clusters: RwLock::new(Vec::new()),
            failed: Default::default(),
            applied: Default::default(),
        });
        let me = Importer {
            shared: shared.clone(),
            tasks: Vec::new(),
        };
        for c in clusters {
            me.add_cluster(c).await;
        }
        let mut me = me;
        for _ in 0..WORKERS {
            me.tasks.push(tokio::spawn(work(shared.clone())));
        }
        me.tasks
            .push(tokio::spawn(lease::renew_forever(shared.clone())));
        let s = shared.clone();
        me.tasks.push(tokio::spawn(async move {
            let mut last_full = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(RETRY_FAILED).await;
                if last_full.elapsed() >= RESYNC {
                    last_full = tokio::time::Instant::now();
                    s.applied.lock().unwrap_or_else(|e| e.into_inner()).clear();
                    s.queue.add(Key::All);
                }
                let failed: Vec<(String, String)> = s
                    .failed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                for (namespace, name) in failed {
                    s.queue.add(Key::Object { namespace, name });
                }
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
        for (ns, name) in expand(&shared, &key).await {
            match shared.cfg.flavour {
                Flavour::Gke => gke::reconcile(&shared, &ns, &name).await,
                Flavour::Upstream => upstream::reconcile(&shared, &ns, &name).await,
            }
        }
    }
}

/// The (namespace, name) pairs a key stands for: exports in the caches plus imports that
/// exist (so that removed exports get their imports cleaned up).
async fn expand(shared: &Shared, key: &Key) -> BTreeSet<(String, String)> {
    let ns_filter = match key {
        Key::Object { namespace, name } => {
            return BTreeSet::from([(namespace.clone(), name.clone())]);
        }
        Key::Namespace(ns) => Some(ns.as_str()),
        Key::All => None,
    };
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
        let owned = match shared.cfg.flavour {
            Flavour::Gke => gke::MANAGED_BY,
            Flavour::Upstream => crate::slices::MANAGED_BY,
        };
        let lp = ListParams::default().labels(&format!("app.kubernetes.io/managed-by={owned}"));
        if let Ok(list) = api.list(&lp).await {
            for i in list.items {
                out.insert((i.namespace().unwrap_or_default(), i.name_any()));
            }
        }
    }
    out
}
