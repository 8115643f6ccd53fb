//! Change events emitted by the store, in resourceVersion order.

use std::sync::Arc;

use serde_json::Value;

use super::{ObjKey, ResKey};

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object was changed.
    Modified,
    /// The object was removed from the store.
    Deleted,
}

impl EventType {
    /// The watch event type string (`ADDED`, `MODIFIED`, `DELETED`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct StoreEvent {
    /// The served JSON encoding of `object`, computed once by the first watch that needs it
    /// and shared by all others (keyed by the apiVersion it was served as).
    pub encoded: std::sync::OnceLock<(String, bytes::Bytes)>,
    /// The resourceVersion of the change (for deletions: the version of the delete).
    pub rv: u64,
    /// Added, modified or deleted.
    pub kind: EventType,
    /// Which resource.
    pub res: ResKey,
    /// Which object.
    pub key: ObjKey,
    /// The object after the change (for deletions: the last state, with the delete's version).
    pub object: Arc<Value>,
    /// The object before the change, when there was one.
    pub prev: Option<Arc<Value>>,
}
