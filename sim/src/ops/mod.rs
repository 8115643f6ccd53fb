//! Object lifecycle semantics shared by the HTTP handlers and the in-process controllers:
//! create (defaults, validation, metadata), update (status masking, generation,
//! finalizers), patch (retrying compare-and-swap) and delete (finalizers, propagation).
//! Objects here are in storage form; the API layer converts to and from served versions.

mod create;
mod defaults;
mod delete;
mod service_ip;
mod update;

use crate::cluster::Cluster;
use crate::registry::ResourceDef;

pub use create::create;
pub use delete::{DeleteOpts, delete};
pub use update::{held, modify, patch, update};

/// Who writes and how: passed to every operation.
pub struct WriteCtx<'a> {
    /// The cluster written to.
    pub cluster: &'a Cluster,
    /// The resource.
    pub def: &'a ResourceDef,
    /// Field manager recorded in managedFields.
    pub manager: &'a str,
    /// Validate and compute but store nothing.
    pub dry_run: bool,
    /// Subresource written (`status`, `scale`), if any.
    pub sub: Option<&'a str>,
    /// The write is a server-side apply (managedFields already recorded by the patch).
    pub apply: bool,
}

impl<'a> WriteCtx<'a> {
    /// A context for writes by an in-process controller.
    pub fn controller(cluster: &'a Cluster, def: &'a ResourceDef, manager: &'a str) -> Self {
        Self {
            cluster,
            def,
            manager,
            dry_run: false,
            sub: None,
            apply: false,
        }
    }

    fn kind_ctx(&self) -> crate::patch::KindContext<'a> {
        crate::patch::KindContext {
            group: &self.def.group,
            version: &self.def.version,
            kind: &self.def.kind,
            builtin: self.def.builtin,
        }
    }
}
