//! One simulated cluster: its name, object store, served resources and identities.

use std::net::SocketAddr;
use std::time::Instant;

use crate::api::Auth;
use crate::registry::{Registry, ResourceDef};
use crate::store::{ResKey, Store};

/// Everything one simulated cluster holds.
pub struct Cluster {
    /// Cluster name (= kubeconfig context name).
    pub name: String,
    /// All objects.
    pub store: Store,
    /// Served resources.
    pub registry: Registry,
    /// Tokens and deny rules.
    pub auth: Auth,
    /// Where its API server listens.
    pub addr: SocketAddr,
    /// When it started.
    pub started: Instant,
}

impl Cluster {
    /// A new cluster with only built-in resources and no objects.
    pub fn new(name: &str, addr: SocketAddr, event_log: usize) -> Self {
        Self {
            name: name.to_string(),
            store: Store::new(event_log),
            registry: Registry::with_builtins(),
            auth: Auth::default(),
            addr,
            started: Instant::now(),
        }
    }

    /// The preferred served definition of a storage resource.
    pub fn def_for(&self, res: &ResKey) -> Option<ResourceDef> {
        self.registry.for_storage(res).into_iter().next()
    }

    /// The definition of a built-in resource by group and plural (`("apps", "deployments")`).
    pub fn builtin(&self, group: &str, plural: &str) -> Option<ResourceDef> {
        self.def_for(&ResKey::new(group, plural))
    }
}
