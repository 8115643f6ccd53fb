//! Keeps the `clusterset.local` records of one cluster (GKE flavour) in the Corefile of its
//! `coredns` ConfigMap: a reflector over the cluster's ServiceImports wakes a writer that
//! rewrites the lines between the markers ([`crate::dns`]) whenever they differ.
//!
//! Writes carry the read resourceVersion (a concurrent edit of the Corefile is re-read, not
//! overwritten); failures are retried with a backoff (50 ms doubling to 2 s), and every
//! [`RESYNC`] the records are checked again. The ConfigMap is watched too, so a hand edit of
//! the records (or a setup that rewrote the Corefile) is repaired at once.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::Notify;

use super::Flavour;
use super::cache::api_resource;
use super::queue::{RETRY_BASE, RETRY_MAX};
use crate::dns::{Record, RecordsError, records, replace_records};

/// How often the records are compared with the ConfigMap without a change of imports.
const RESYNC: Duration = Duration::from_secs(30);

/// The ConfigMap (key `Corefile`) holding the records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecordsTarget {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl Default for DnsRecordsTarget {
    /// `kube-system/coredns`, where kind, k3s and kubeadm keep the Corefile.
    fn default() -> Self {
        Self {
            namespace: "kube-system".into(),
            name: "coredns".into(),
        }
    }
}

/// Errors of one sync (logged and retried).
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("failed to read ConfigMap {0}")]
    Read(String, #[source] kube::Error),
    #[error("ConfigMap {0} has no `Corefile` key")]
    NoCorefile(String),
    #[error("cannot place the records in ConfigMap {0}")]
    Markers(String, #[source] RecordsError),
    #[error("failed to update ConfigMap {0}")]
    Write(String, #[source] kube::Error),
}

/// Runs until aborted: watches ServiceImports of `client`'s cluster and writes their records.
pub async fn maintain(client: Client, cluster: String, target: DnsRecordsTarget) {
    let ar = api_resource(Flavour::Gke, "ServiceImport");
    let writer = reflector::store::Writer::new(ar.clone());
    let store = writer.as_reader();
    let wake = Arc::new(Notify::new());
    let syncer = tokio::spawn(write_loop(
        client.clone(),
        cluster.clone(),
        target.clone(),
        store,
        wake.clone(),
    ));
    // Edits of the ConfigMap by others (a re-run setup, a hand edit) are repaired at once.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &target.namespace);
    let by_name = watcher::Config::default().fields(&format!("metadata.name={}", target.name));
    let edits = watcher(cms, by_name)
        .default_backoff()
        .map(|ev| ev.map(|_| ()).map_err(|e| e.to_string()));
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    let imports = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .map(|ev| match ev {
            // The store is complete only at InitDone, which does wake the writer.
            Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => Ok(None),
            Ok(_) => Ok(Some(())),
            Err(e) => Err(e.to_string()),
        });
    let edits = edits.map(|r| r.map(Some));
    let mut events = std::pin::pin!(futures::stream::select(imports, edits));
    while let Some(ev) = events.next().await {
        match ev {
            Ok(Some(())) => wake.notify_one(),
            Ok(None) => {}
            Err(e) => tracing::warn!(%cluster, error = %e, "watching for clusterset.local records"),
        }
    }
    syncer.abort();
}

async fn write_loop(
    client: Client,
    cluster: String,
    target: DnsRecordsTarget,
    store: Store<DynamicObject>,
    wake: Arc<Notify>,
) {
    if store.wait_until_ready().await.is_err() {
        return;
    }
    let api: Api<ConfigMap> = Api::namespaced(client, &target.namespace);
    let mut delay = RETRY_BASE;
    loop {
        let wanted = wanted(&store);
        match sync(&api, &target, &wanted).await {
            Ok(changed) => {
                if changed {
                    tracing::info!(%cluster, records = wanted.len(), "clusterset.local records written");
                }
                delay = RETRY_BASE;
                let _ = tokio::time::timeout(RESYNC, wake.notified()).await;
            }
            Err(e) => {
                tracing::warn!(%cluster, error = %e, source = ?std::error::Error::source(&e), "writing clusterset.local records");
                // A change of imports while waiting makes the next try use it.
                let _ = tokio::time::timeout(delay, wake.notified()).await;
                delay = (delay * 2).min(RETRY_MAX);
            }
        }
    }
}

/// The records of every ServiceImport in the store.
fn wanted(store: &Store<DynamicObject>) -> Vec<Record> {
    records(store.state().iter().map(|i| {
        let ips = i.data["spec"]["ips"].as_array().into_iter().flatten();
        let ips = ips.filter_map(|v| v.as_str().map(str::to_string)).collect();
        (i.namespace().unwrap_or_default(), i.name_any(), ips)
    }))
}

/// Writes `wanted` into the Corefile; `Ok(true)` when it changed.
async fn sync(
    api: &Api<ConfigMap>,
    target: &DnsRecordsTarget,
    wanted: &[Record],
) -> Result<bool, SyncError> {
    let shown = format!("{}/{}", target.namespace, target.name);
    let mut cm = api
        .get(&target.name)
        .await
        .map_err(|e| SyncError::Read(shown.clone(), e))?;
    let current = cm
        .data
        .as_ref()
        .and_then(|d| d.get("Corefile"))
        .ok_or_else(|| SyncError::NoCorefile(shown.clone()))?;
    let Some(new) =
        replace_records(current, wanted).map_err(|e| SyncError::Markers(shown.clone(), e))?
    else {
        return Ok(false);
    };
    cm.data
        .get_or_insert_with(Default::default)
        .insert("Corefile".into(), new);
    api.replace(&target.name, &PostParams::default(), &cm)
        .await
        .map_err(|e| SyncError::Write(shown, e))?;
    Ok(true)
}
