//! `metadata.managedFields` bookkeeping: decoding and encoding entries, moving
//! ownership between managers, and [`record_update`] for non-apply writes
//! (create, update, patch), after Kubernetes' `fieldmanager` and
//! structured-merge-diff's `Updater.Update`.

use serde_json::{Map, Value, json};

use super::fieldset::{FieldSet, field_pe, path_to_string};
use super::typed::{Comparison, Typed};
use super::{ApplyConflict, KindContext};

/// `operation` of server-side apply entries.
pub(crate) const APPLY: &str = "Apply";
/// `operation` of every other write.
pub(crate) const UPDATE: &str = "Update";

/// Exact paths never recorded in field sets (Kubernetes' `stripMeta`, plus the
/// deletion bookkeeping the server sets itself).
const STRIPPED: &[&[&str]] = &[
    &["apiVersion"],
    &["kind"],
    &["metadata"],
    &["metadata", "name"],
    &["metadata", "namespace"],
    &["metadata", "creationTimestamp"],
    &["metadata", "selfLink"],
    &["metadata", "uid"],
    &["metadata", "clusterName"],
    &["metadata", "generation"],
    &["metadata", "managedFields"],
    &["metadata", "resourceVersion"],
    &["metadata", "deletionTimestamp"],
    &["metadata", "deletionGracePeriodSeconds"],
];

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) manager: String,
    pub(crate) operation: String,
    pub(crate) api_version: String,
    pub(crate) subresource: String,
    pub(crate) time: Option<String>,
    pub(crate) set: FieldSet,
}

impl Entry {
    /// An entry with an empty field set.
    pub(crate) fn new(
        manager: &str,
        operation: &str,
        api_version: String,
        subresource: Option<&str>,
    ) -> Entry {
        Entry {
            manager: manager.to_string(),
            operation: operation.to_string(),
            api_version,
            subresource: subresource.unwrap_or_default().to_string(),
            time: None,
            set: FieldSet::default(),
        }
    }

    /// Whether both entries belong to the same manager identity: manager,
    /// operation and subresource, plus the API version for updaters.
    pub(crate) fn same_identity(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == APPLY || self.api_version == other.api_version)
    }

    /// The manager as Kubernetes prints it in conflicts.
    pub(crate) fn describe(&self) -> String {
        let mut out = Value::String(self.manager.clone()).to_string();
        if !self.subresource.is_empty() {
            out.push_str(" with subresource ");
            out.push_str(&Value::String(self.subresource.clone()).to_string());
        }
        if self.operation == UPDATE {
            out.push_str(" using ");
            out.push_str(&self.api_version);
        }
        out
    }

    fn from_value(value: &Value) -> Option<Entry> {
        let map = value.as_object()?;
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some(Entry {
            manager: text("manager"),
            operation: text("operation"),
            api_version: text("apiVersion"),
            subresource: text("subresource"),
            time: map.get("time").and_then(Value::as_str).map(str::to_string),
            set: map
                .get("fieldsV1")
                .map(FieldSet::from_fields_v1)
                .unwrap_or_default(),
        })
    }

    fn to_value(&self) -> Value {
        let mut out = Map::new();
        out.insert("manager".into(), json!(self.manager));
        out.insert("operation".into(), json!(self.operation));
        out.insert("apiVersion".into(), json!(self.api_version));
        if let Some(time) = &self.time {
            out.insert("time".into(), json!(time));
        }
        out.insert("fieldsType".into(), json!("FieldsV1"));
        out.insert("fieldsV1".into(), self.set.to_fields_v1());
        if !self.subresource.is_empty() {
            out.insert("subresource".into(), json!(self.subresource));
        }
        Value::Object(out)
    }
}

/// Entries of `obj.metadata.managedFields`; `None` when absent or not a list.
pub(crate) fn decode(obj: &Value) -> Option<Vec<Entry>> {
    let list = obj.pointer("/metadata/managedFields")?.as_array()?;
    Some(list.iter().filter_map(Entry::from_value).collect())
}

/// Writes `entries` to `obj.metadata.managedFields`, dropping empty sets and
/// sorting like Kubernetes (operation, time, manager, apiVersion, subresource).
/// No entries left removes the field.
pub(crate) fn encode(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (
            &a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        let list = entries.iter().map(Entry::to_value).collect();
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// A copy of `obj` without `metadata.managedFields`.
pub(crate) fn without_managed_fields(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    out
}

/// The exact paths never recorded in field sets.
pub(crate) fn stripped() -> FieldSet {
    let mut out = FieldSet::default();
    for path in STRIPPED {
        let pes: Vec<String> = path.iter().map(|name| field_pe(name)).collect();
        out.insert(&pes);
    }
    out
}

/// Subtrees a write through `subresource` does not own (Kubernetes' reset
/// fields): `status` for the main resource of built-in kinds, `spec` for the
/// status subresource.
pub(crate) fn reset_fields(ctx: &KindContext, subresource: Option<&str>) -> FieldSet {
    let mut out = FieldSet::default();
    match subresource {
        Some("status") => out.insert(&[field_pe("spec")]),
        None if ctx.builtin => out.insert(&[field_pe("status")]),
        _ => {}
    }
    out
}

/// Gives the entry with `me`'s identity the field set `set` (adding the entry
/// when missing); returns its index and its previous set.
pub(crate) fn replace_set(entries: &mut Vec<Entry>, me: Entry, set: FieldSet) -> (usize, FieldSet) {
    let own = match entries.iter().position(|e| e.same_identity(&me)) {
        Some(i) => i,
        None => {
            entries.push(me);
            entries.len() - 1
        }
    };
    let last = std::mem::replace(&mut entries[own].set, set);
    (own, last)
}

/// Fields other managers (every entry but `own`) own that `cmp` changes.
pub(crate) fn conflicts(
    entries: &[Entry],
    own: Option<usize>,
    cmp: &Comparison,
) -> Vec<ApplyConflict> {
    let changed = cmp.changed();
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if Some(i) == own {
            continue;
        }
        for path in entry.set.intersection(&changed).paths() {
            out.push(ApplyConflict {
                manager: entry.manager.clone(),
                field: path_to_string(&path),
                message: format!("conflict with {}", entry.describe()),
            });
        }
    }
    out
}

/// Takes changed fields away from other managers and forgets removed ones
/// (the forced path of structured-merge-diff's `update`).
pub(crate) fn release(entries: &mut [Entry], own: Option<usize>, cmp: &Comparison) {
    let changed = cmp.changed();
    for (i, entry) in entries.iter_mut().enumerate() {
        if Some(i) != own {
            entry.set = entry.set.difference(&changed).difference(&cmp.removed);
        }
    }
}

/// Bookkeeping for non-apply writes (create/update/patch): the fields that
/// differ between `old` (None on create) and `new` become owned by `manager`
/// with operation "Update" (one entry per manager+operation+apiVersion+subresource),
/// and are removed from other managers' sets; entries that end up empty are
/// dropped. Mutates `new.metadata.managedFields`.
///
/// Like Kubernetes, managedFields sent in `new` are honoured when non-empty
/// (`[{}]` therefore resets them); otherwise, and for subresources, the ones in
/// `old` are used.
pub fn record_update(
    ctx: &KindContext,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let mut entries = match decode(new) {
        Some(sent) if !sent.is_empty() && subresource.is_none() => sent,
        _ => old.and_then(decode).unwrap_or_default(),
    };
    let typed = Typed::new(ctx);
    let old_value = old.map_or_else(|| json!({}), without_managed_fields);
    let cmp = typed
        .compare(&old_value, &without_managed_fields(new))
        .filter(&reset_fields(ctx, subresource));
    release(&mut entries, None, &cmp);
    let changes = cmp.changed().difference(&stripped());
    if !changes.is_empty() {
        let me = Entry::new(manager, UPDATE, ctx.api_version(), subresource);
        match entries.iter_mut().find(|e| e.same_identity(&me)) {
            Some(entry) => {
                entry.set = entry.set.union(&changes);
                entry.time = Some(now.to_string());
            }
            None => entries.push(Entry {
                time: Some(now.to_string()),
                set: changes,
                ..me
            }),
        }
    }
    encode(new, entries);
}

#[cfg(test)]
mod tests;
