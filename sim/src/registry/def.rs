//! `ResourceDef` (one served resource at one version) and the `Registry` that holds them.

use std::sync::RwLock;

use crate::store::ResKey;
use crate::table::PrinterColumn;

/// How objects are converted between their stored form and this served version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// Stored as served (only `apiVersion` is rewritten).
    None,
    /// `events.k8s.io/v1` Events stored as core `v1` Events.
    EventsV1,
}

/// One resource served at one group/version.
#[derive(Clone, Debug)]
pub struct ResourceDef {
    /// API group ("" = core).
    pub group: String,
    /// Version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Plural resource name, used in URLs.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Has a `status` subresource (status is masked on main-resource writes).
    pub status: bool,
    /// Has a `scale` subresource (`spec.replicas` / `status.replicas`).
    pub scale: bool,
    /// Built in (strategic merge patch allowed) or custom.
    pub builtin: bool,
    /// Where objects are stored.
    pub storage: ResKey,
    /// Conversion between storage and this version.
    pub conversion: Conversion,
    /// Printer columns of a custom resource.
    pub columns: Option<Vec<PrinterColumn>>,
    /// Extra subresources served (`exec`, `log`, `finalize`, ...), without status/scale.
    pub extra_subresources: Vec<&'static str>,
    /// A custom resource version's `openAPIV3Schema` (structural validation, pruning,
    /// defaulting); None for built-ins, whose schemas are in [`crate::schema`].
    pub schema: Option<std::sync::Arc<serde_json::Value>>,
}

impl ResourceDef {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The stored object as this version serves it.
    pub fn to_served(&self, stored: &serde_json::Value) -> serde_json::Value {
        let mut v = match self.conversion {
            Conversion::EventsV1 => crate::convert::core_to_events_v1(stored),
            Conversion::None => stored.clone(),
        };
        if let Some(o) = v.as_object_mut() {
            o.insert("apiVersion".into(), self.api_version().into());
            o.insert("kind".into(), self.kind.clone().into());
        }
        v
    }

    /// An object of this version in storage form.
    pub fn to_storage(&self, served: serde_json::Value) -> serde_json::Value {
        let mut v = match self.conversion {
            Conversion::EventsV1 => crate::convert::events_v1_to_core(&served),
            Conversion::None => served,
        };
        if self.conversion == Conversion::None
            && let Some(o) = v.as_object_mut()
        {
            o.insert("apiVersion".into(), self.api_version().into());
            o.insert("kind".into(), self.kind.clone().into());
        }
        v
    }

    /// Objects of this resource carry `metadata.generation` (they have a spec).
    pub fn has_generation(&self) -> bool {
        !self.builtin
            || matches!(
                self.plural.as_str(),
                "deployments"
                    | "replicasets"
                    | "customresourcedefinitions"
                    | "statefulsets"
                    | "jobs"
                    | "cronjobs"
            )
    }
}

/// All resources a cluster serves; custom ones change at runtime.
#[derive(Default)]
pub struct Registry {
    defs: RwLock<Vec<ResourceDef>>,
}

impl Registry {
    /// A registry with every built-in resource.
    pub fn with_builtins() -> Self {
        Self {
            defs: RwLock::new(super::builtin::builtin_defs()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<ResourceDef>> {
        self.defs.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The resource served at `group/version` under the plural `plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        self.read()
            .iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .cloned()
    }

    /// Whether `group/version` is served at all.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.read()
            .iter()
            .any(|d| d.group == group && d.version == version)
    }

    /// A snapshot of every definition.
    pub fn all(&self) -> Vec<ResourceDef> {
        self.read().clone()
    }

    /// Every served definition stored under `storage`.
    pub fn for_storage(&self, storage: &ResKey) -> Vec<ResourceDef> {
        self.read()
            .iter()
            .filter(|d| &d.storage == storage)
            .cloned()
            .collect()
    }

    /// Replaces the custom resources that belong to CRD `crd_name` (storage key
    /// `plural.group`) with `defs` (empty = remove).
    pub fn set_custom(&self, storage: &ResKey, defs: Vec<ResourceDef>) {
        let mut all = self.defs.write().unwrap_or_else(|e| e.into_inner());
        all.retain(|d| d.builtin || &d.storage != storage);
        all.extend(defs);
    }
}
