//! The cleanup ledger: what a running scenario created (objects and namespaces), so that
//! cleanup deletes exactly that.

use std::sync::Mutex;

use kube::api::ApiResource;

use super::sync::lock;

/// An object the scenario created, deleted again at cleanup.
#[derive(Clone, Debug)]
pub(super) struct Created {
    /// Logical cluster.
    pub cluster: String,
    /// Its API resource.
    pub resource: ApiResource,
    /// Namespace (None: cluster-scoped).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl Created {
    /// `Kind ns/name in cluster` for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!(
                "{} {ns}/{} in {}",
                self.resource.kind, self.name, self.cluster
            ),
            None => format!("{} {} in {}", self.resource.kind, self.name, self.cluster),
        }
    }
}

/// What the run created, in creation order.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    created: Mutex<Vec<Created>>,
    own_namespaces: Mutex<Vec<(String, String)>>,
}

impl Ledger {
    /// Remembers an object for cleanup.
    pub fn created(&self, c: Created) {
        lock(&self.created).push(c);
    }

    /// Objects created so far, oldest first.
    pub fn created_objects(&self) -> Vec<Created> {
        lock(&self.created).clone()
    }

    /// Remembers a namespace the run created in `cluster`.
    pub fn own_namespace(&self, cluster: &str, ns: &str) {
        let mut own = lock(&self.own_namespaces);
        let entry = (cluster.to_string(), ns.to_string());
        if !own.contains(&entry) {
            own.push(entry);
        }
    }

    /// Namespaces the run created, as (cluster, namespace).
    pub fn own_namespaces(&self) -> Vec<(String, String)> {
        lock(&self.own_namespaces).clone()
    }
}
