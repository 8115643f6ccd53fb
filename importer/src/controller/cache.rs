//! Per-cluster caches: reflectors over ServiceExports, Services and Namespaces that also
//! enqueue the keys their changes concern. Endpoints are not cached: the importer reads them
//! when it reconciles (as GKE's importer reads NEGs), so losing access shows at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use tokio::task::JoinHandle;

use super::{Flavour, Key, Shared};

/// A named cluster connection.
#[derive(Clone)]
pub struct ClusterConn {
    /// Cluster name (as the fleet knows it).
    pub name: String,
    /// Client with the importer's identity.
    pub client: Client,
}

/// Cached state of one cluster.
pub struct ClusterCache {
    /// Cluster name.
    pub name: String,
    /// Client.
    pub client: Client,
    /// ServiceExports of the flavour.
    pub exports: Store<DynamicObject>,
    /// Services.
    pub services: Store<Service>,
    /// Namespaces.
    pub namespaces: Store<Namespace>,
    /// Last watch error per resource (cleared when a watch lists again).
    pub errors: Mutex<HashMap<&'static str, String>>,
    /// Event recorder of this cluster.
    pub recorder: kube::runtime::events::Recorder,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ClusterCache {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The ApiResource of a flavour's kind (`ServiceExport`, `ServiceImport`) in the version the
/// importer uses ([`Flavour::importer_version`]).
pub fn api_resource(flavour: Flavour, kind: &str) -> ApiResource {
    let gvk = GroupVersionKind::gvk(flavour.group(), flavour.importer_version(), kind);
    ApiResource::from_gvk_with_plural(&gvk, &format!("{}s", kind.to_lowercase()))
}

impl ClusterCache {
    /// Starts the reflectors of one cluster.
    pub fn start(conn: ClusterConn, shared: &Arc<Shared>) -> ClusterCache {
        let ar = api_resource(shared.cfg.flavour, "ServiceExport");
        let exports_w = reflector::store::Writer::new(ar.clone());
        let exports = exports_w.as_reader();
        let (services, services_w) = reflector::store();
        let (namespaces, namespaces_w) = reflector::store();
        let name = conn.name.clone();
        let mut cache = ClusterCache {
            name: name.clone(),
            client: conn.client.clone(),
            exports,
            services,
            namespaces,
            errors: Mutex::new(HashMap::new()),
            recorder: super::write::recorder(&conn.client),
            tasks: Vec::new(),
        };
        let client = conn.client;
        let exp_api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        cache.tasks.push(spawn_reflector(
            shared.clone(),
            name.clone(),
            "serviceexports",
            reflector::reflector(exports_w, watcher(exp_api, watcher::Config::default())),
        ));
        cache.tasks.push(spawn_reflector(
            shared.clone(),
            name.clone(),
            "services",
            reflector::reflector(
                services_w,
                watcher(
                    Api::<Service>::all(client.clone()),
                    watcher::Config::default(),
                ),
            ),
        ));
        // Endpoint changes of exported Services only trigger reconciles (not cached: the
        // reconcile reads endpoints itself).
        let slices = watcher(
            Api::<EndpointSlice>::all(client.clone()),
            watcher::Config::default(),
        );
        cache.tasks.push(spawn_reflector(
            shared.clone(),
            name.clone(),
            "endpointslices",
            slices,
        ));
        if let (Flavour::Gke, Some(target)) = (shared.cfg.flavour, &shared.cfg.dns_records) {
            cache.tasks.push(tokio::spawn(super::dns::maintain(
                client.clone(),
                name.clone(),
                target.clone(),
            )));
        }
        cache.tasks.push(spawn_reflector(
            shared.clone(),
            name,
            "namespaces",
            reflector::reflector(
                namespaces_w,
                watcher(Api::<Namespace>::all(client), watcher::Config::default()),
            ),
        ));
        cache
    }

    /// Records or clears the watch error of `resource`.
    pub fn set_error(&self, resource: &'static str, error: Option<String>) {
        let mut e = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        match error {
            Some(msg) => e.insert(resource, msg),
            None => e.remove(resource),
        };
    }

    /// Whether namespace `ns` exists (and is not being deleted).
    pub fn has_namespace(&self, ns: &str) -> bool {
        self.namespaces
            .state()
            .iter()
            .any(|n| n.name_any() == ns && n.meta().deletion_timestamp.is_none())
    }
}

fn key_of<K: Resource>(obj: &K) -> Key {
    Key::Object {
        namespace: obj.meta().namespace.clone().unwrap_or_default(),
        name: obj.meta().name.clone().unwrap_or_default(),
    }
}

fn spawn_reflector<K, S>(
    shared: Arc<Shared>,
    cluster: String,
    resource: &'static str,
    stream: S,
) -> JoinHandle<()>
where
    K: Resource + Clone + Send + Sync + 'static,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let stream = stream.default_backoff();
        futures::pin_mut!(stream);
        while let Some(ev) = stream.next().await {
            let key = |o: &K| match resource {
                "namespaces" => Key::Namespace(o.meta().name.clone().unwrap_or_default()),
                "endpointslices" => Key::Object {
                    namespace: o.meta().namespace.clone().unwrap_or_default(),
                    name: o
                        .meta()
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("kubernetes.io/service-name"))
                        .cloned()
                        .unwrap_or_default(),
                },
                _ => key_of(o),
            };
            match ev {
                Ok(
                    watcher::Event::Apply(o)
                    | watcher::Event::Delete(o)
                    | watcher::Event::InitApply(o),
                ) => {
                    // Derived Services are ours: their changes need no reconcile.
                    let ours = o
                        .meta()
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("app.kubernetes.io/managed-by"))
                        .is_some_and(|v| {
                            v == super::gke::MANAGED_BY || v == crate::slices::MANAGED_BY
                        });
                    if !ours {
                        shared.queue.add(key(&o));
                    }
                }
                Ok(watcher::Event::InitDone) => {
                    mark(&shared, &cluster, resource, None).await;
                    shared.queue.add(Key::All);
                }
                Ok(watcher::Event::Init) => {}
                Err(e) => mark(&shared, &cluster, resource, Some(e.to_string())).await,
            }
        }
    })
}

async fn mark(shared: &Shared, cluster: &str, resource: &'static str, error: Option<String>) {
    if let Some(c) = shared
        .clusters
        .read()
        .await
        .iter()
        .find(|c| c.name == cluster)
    {
        c.set_error(resource, error);
    }
}
