//! The clusters a provider hands out: logical name → client and identity (where it runs, the
//! API server it talks to). The engine and the doctor only ever see these.

use std::collections::BTreeMap;

use kube::Client;

/// A logical cluster bound to a real one.
#[derive(Clone)]
pub struct ClusterHandle {
    /// Logical name (as in scenarios).
    pub name: super::ClusterName,
    /// Where it runs, for reports: a context name, `embedded`, a container.
    pub location: String,
    /// API server URL (for messages; never carries credentials).
    pub server: String,
    /// Its client.
    pub client: Client,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHandle")
            .field("name", &self.name)
            .field("location", &self.location)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// The clusters of a fleet by logical name, in the order they were bound.
#[derive(Clone, Debug, Default)]
pub struct ClusterRegistry {
    order: Vec<super::ClusterName>,
    clusters: BTreeMap<super::ClusterName, ClusterHandle>,
}

impl ClusterRegistry {
    /// Adds (or replaces) a cluster.
    pub fn insert(&mut self, h: ClusterHandle) {
        if !self.clusters.contains_key(&h.name) {
            self.order.push(h.name.clone());
        }
        self.clusters.insert(h.name.clone(), h);
    }

    /// The cluster named `name`.
    pub fn get(&self, name: &str) -> Option<&ClusterHandle> {
        self.clusters.get(name)
    }

    /// Clusters in the order they were bound.
    pub fn iter(&self) -> impl Iterator<Item = &ClusterHandle> {
        self.order.iter().filter_map(|n| self.clusters.get(n))
    }

    /// How many clusters.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether it holds no cluster.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// `a=ctx-a, b=ctx-b` for reports.
    pub fn describe(&self) -> String {
        let shown: Vec<String> = self
            .iter()
            .map(|h| format!("{}={}", h.name, h.location))
            .collect();
        shown.join(", ")
    }
}

impl FromIterator<ClusterHandle> for ClusterRegistry {
    fn from_iter<T: IntoIterator<Item = ClusterHandle>>(iter: T) -> Self {
        let mut r = ClusterRegistry::default();
        for h in iter {
            r.insert(h);
        }
        r
    }
}
