//! The clusters a running scenario is bound to: logical name → handle, and the discovery
//! cache (API resource and scope per cluster, apiVersion and kind).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use backon::Retryable;
use kube::Client;
use kube::api::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};

use super::error::StepError;
use super::sync::lock;
use crate::fleet::ClusterHandle;
use crate::retry::{backoff, transient};

/// (cluster, apiVersion, kind).
type KindKey = (String, String, String);

/// Bound clusters and their discovery cache.
pub(super) struct Clusters {
    handles: BTreeMap<String, ClusterHandle>,
    cache: Mutex<HashMap<KindKey, (ApiResource, bool)>>,
}

impl Clusters {
    /// The clusters of `handles`.
    pub fn new(handles: BTreeMap<String, ClusterHandle>) -> Clusters {
        Clusters {
            handles,
            cache: Mutex::default(),
        }
    }

    /// Logical cluster → handle, in name order.
    pub fn handles(&self) -> &BTreeMap<String, ClusterHandle> {
        &self.handles
    }

    /// Logical names, in name order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.handles.keys()
    }

    /// (name, client) of every cluster.
    pub fn clients(&self) -> Vec<(String, Client)> {
        self.handles
            .iter()
            .map(|(n, h)| (n.clone(), h.client.clone()))
            .collect()
    }

    /// The client of a logical cluster (validation guarantees it is declared; binding
    /// guarantees it is bound).
    pub fn client(&self, cluster: &str) -> Result<Client, StepError> {
        self.handles
            .get(cluster)
            .map(|h| h.client.clone())
            .ok_or_else(|| StepError::Unbound(cluster.to_string()))
    }

    /// The resource of `apiVersion`/`kind` in `cluster`, and whether it is namespaced.
    pub async fn resolve(
        &self,
        cluster: &str,
        api_version: &str,
        kind: &str,
    ) -> Result<(Client, ApiResource, bool), StepError> {
        let client = self.client(cluster)?;
        let key = (
            cluster.to_string(),
            api_version.to_string(),
            kind.to_string(),
        );
        if let Some((ar, namespaced)) = lock(&self.cache).get(&key) {
            return Ok((client, ar.clone(), *namespaced));
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found: Result<(ApiResource, ApiCapabilities), kube::Error> =
            (|| kube::discovery::pinned_kind(&client, &gvk))
                .retry(backoff())
                .when(transient)
                .await;
        let (ar, caps) = found.map_err(|source| StepError::NotServed {
            cluster: cluster.to_string(),
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            source: Box::new(source),
        })?;
        let namespaced = caps.scope == Scope::Namespaced;
        lock(&self.cache).insert(key, (ar.clone(), namespaced));
        Ok((client, ar, namespaced))
    }
}
