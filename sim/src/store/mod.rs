//! The per-cluster object store: every API object of one simulated cluster, kept as JSON,
//! with a monotonically increasing resourceVersion, an event log for watch resumption and a
//! broadcast channel that feeds live watches and the in-process controllers.
//!
//! The store knows nothing of HTTP or of Kubernetes semantics beyond keys, resourceVersions,
//! uids and owner references; the API layer (`crate::api`) implements the verbs on top of it.

mod event;
mod key;
mod object;
#[allow(clippy::module_inception)]
mod store;

pub use event::{EventType, StoreEvent};
pub use key::{ObjKey, ResKey};
pub use object::{Meta, now_rfc3339};
pub use store::{
    DEFAULT_LOG_BUDGET, ListPage, Store, StoreError, StoreResult, approx_size, key_of,
};
