//! Schema-aware walks over objects for server-side apply, after
//! structured-merge-diff's `typed` package: field sets of values, merging an
//! applied configuration into a live object, removing owned paths and pruning
//! fields an applier stopped applying.
//!
//! Without OpenAPI schemas every JSON object is a granular map, arrays are
//! atomic unless [`super::schema`] marks them as list-maps or sets.

mod compare;

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::KindContext;
use super::fieldset::{FieldSet, field_pe, key_pe, path_to_string, value_pe};
use super::schema::{self, Rule};

pub(crate) use compare::Comparison;

/// How a list's items are identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// Replaced as a whole.
    Atomic,
    /// Items are objects identified by these key fields.
    Map(&'static [&'static str]),
    /// Items are scalars identified by value.
    Set,
}

/// Schema-aware operations for one kind.
pub(crate) struct Typed<'a> {
    ctx: &'a KindContext<'a>,
}

impl<'a> Typed<'a> {
    /// Walker for objects of kind `ctx`.
    pub(crate) fn new(ctx: &'a KindContext<'a>) -> Self {
        Typed { ctx }
    }

    pub(crate) fn list_kind(&self, spath: &[String]) -> ListKind {
        match schema::lookup(self.ctx, spath) {
            Some(Rule::Keyed { ssa, .. }) => ListKind::Map(ssa),
            Some(Rule::Set) => ListKind::Set,
            _ => ListKind::Atomic,
        }
    }

    pub(crate) fn map_is_atomic(&self, spath: &[String]) -> bool {
        matches!(schema::lookup(self.ctx, spath), Some(Rule::Atomic))
    }

    /// Path elements of the items of a non-atomic list; `None` when an item
    /// cannot be identified (missing key field, wrong item type).
    pub(crate) fn list_pes(&self, kind: ListKind, items: &[Value]) -> Option<Vec<String>> {
        items.iter().map(|item| item_pe(kind, item)).collect()
    }

    /// The field set of `value` (structured-merge-diff `ToFieldSet`): scalars,
    /// atomic lists and maps, empty maps, and list items are members. With
    /// `strict`, unidentifiable or duplicate list items are an error (applied
    /// configurations); otherwise such lists count as atomic (live objects).
    pub(crate) fn to_field_set(&self, value: &Value, strict: bool) -> Result<FieldSet, String> {
        let mut out = FieldSet::default();
        self.collect(value, &mut Vec::new(), &mut Vec::new(), strict, &mut out)?;
        Ok(out)
    }

    fn collect(
        &self,
        value: &Value,
        spath: &mut Vec<String>,
        path: &mut Vec<String>,
        strict: bool,
        out: &mut FieldSet,
    ) -> Result<(), String> {
        match value {
            Value::Object(_) if self.map_is_atomic(spath) => out.insert(path),
            Value::Object(map) => {
                for (key, child) in map {
                    spath.push(key.clone());
                    path.push(field_pe(key));
                    self.collect(child, spath, path, strict, out)?;
                    if child.is_null() || child.as_object().is_some_and(Map::is_empty) {
                        out.insert(path);
                    }
                    spath.pop();
                    path.pop();
                }
            }
            Value::Array(items) => self.collect_list(items, spath, path, strict, out)?,
            _ => out.insert(path),
        }
        Ok(())
    }

    fn collect_list(
        &self,
        items: &[Value],
        spath: &mut Vec<String>,
        path: &mut Vec<String>,
        strict: bool,
        out: &mut FieldSet,
    ) -> Result<(), String> {
        let kind = self.list_kind(spath);
        if kind == ListKind::Atomic {
            out.insert(path);
            return Ok(());
        }
        let Some(pes) = self.list_pes(kind, items) else {
            if strict {
                return Err(format!(
                    "{}: list item omits a key field ({}) and has no default",
                    path_to_string(path),
                    describe_keys(kind)
                ));
            }
            out.insert(path);
            return Ok(());
        };
        let mut seen = HashSet::new();
        for (pe, item) in pes.into_iter().zip(items) {
            if !seen.insert(pe.clone()) && strict {
                return Err(format!(
                    "{}: duplicate entries for key {}",
                    path_to_string(path),
                    path_to_string(std::slice::from_ref(&pe))
                ));
            }
            path.push(pe);
            if item.is_object() {
                self.collect(item, spath, path, strict, out)?;
            }
            out.insert(path);
            path.pop();
        }
        Ok(())
    }

    /// Merges an applied configuration into a live value (structured-merge-diff
    /// `Merge`): maps merge recursively, list-maps and sets merge by item
    /// identity, everything else takes the applied value.
    pub(crate) fn merge(&self, live: Option<&Value>, applied: &Value) -> Value {
        self.merge_at(live, applied, &mut Vec::new())
    }

    fn merge_at(&self, live: Option<&Value>, applied: &Value, spath: &mut Vec<String>) -> Value {
        match (live, applied) {
            (Some(Value::Object(l)), Value::Object(r)) if !self.map_is_atomic(spath) => {
                let mut out = l.clone();
                for (key, rv) in r {
                    spath.push(key.clone());
                    let merged = self.merge_at(l.get(key), rv, spath);
                    spath.pop();
                    out.insert(key.clone(), merged);
                }
                Value::Object(out)
            }
            (Some(Value::Array(l)), Value::Array(r)) => {
                let kind = self.list_kind(spath);
                if kind == ListKind::Atomic {
                    return applied.clone();
                }
                match (self.list_pes(kind, l), self.list_pes(kind, r)) {
                    (Some(lp), Some(rp)) => Value::Array(self.merge_items(l, &lp, r, &rp, spath)),
                    _ => applied.clone(),
                }
            }
            _ => applied.clone(),
        }
    }

    /// Port of structured-merge-diff's list merge ordering: live-only items keep
    /// their place, shared items follow the applied order, applied-only items
    /// are placed before the next shared item that follows them.
    fn merge_items(
        &self,
        l: &[Value],
        lp: &[String],
        r: &[Value],
        rp: &[String],
        spath: &mut Vec<String>,
    ) -> Vec<Value> {
        let first_l = |pe: &str| lp.iter().position(|p| p == pe).map(|i| &l[i]);
        let in_r = |pe: &str| rp.iter().any(|p| p == pe);
        let mut shared = rp.iter().filter(|pe| lp.contains(pe));
        let mut next_shared = shared.next();
        let mut merged_rhs: HashSet<&str> = HashSet::new();
        let mut out = Vec::with_capacity(l.len().max(r.len()));
        let (mut li, mut ri) = (0, 0);
        while li < l.len() || ri < r.len() {
            if li < l.len() && ri < r.len() {
                let pe = &lp[li];
                if *pe == rp[ri] {
                    merged_rhs.insert(pe);
                    out.push(self.merge_at(first_l(pe), &r[ri], spath));
                    li += 1;
                    ri += 1;
                    next_shared = shared.next();
                    continue;
                }
                if in_r(pe) && next_shared.is_some_and(|s| s != pe) {
                    li += 1;
                    continue;
                }
            }
            if li < l.len() {
                let pe = &lp[li];
                if !in_r(pe) {
                    out.push(l[li].clone());
                    li += 1;
                    continue;
                }
                if merged_rhs.contains(pe.as_str()) {
                    li += 1;
                    continue;
                }
            }
            if ri < r.len() {
                let pe = &rp[ri];
                merged_rhs.insert(pe);
                out.push(self.merge_at(first_l(pe), &r[ri], spath));
                ri += 1;
                if next_shared == Some(pe) {
                    next_shared = shared.next();
                }
            }
        }
        out
    }

    /// Removes every member path of `set` (with its subtree) from `value`.
    pub(crate) fn remove(&self, value: &mut Value, set: &FieldSet) {
        self.remove_at(value, set, &mut Vec::new());
    }

    fn remove_at(&self, value: &mut Value, set: &FieldSet, spath: &mut Vec<String>) {
        match value {
            Value::Object(_) if self.map_is_atomic(spath) => {}
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    let Some(child) = set.child(&field_pe(&key)) else {
                        continue;
                    };
                    if child.is_member() {
                        map.remove(&key);
                    } else if let Some(inner) = map.get_mut(&key) {
                        spath.push(key);
                        self.remove_at(inner, child, spath);
                        spath.pop();
                    }
                }
            }
            Value::Array(items) => {
                let kind = self.list_kind(spath);
                if kind == ListKind::Atomic {
                    return;
                }
                let Some(pes) = self.list_pes(kind, items) else {
                    return;
                };
                let old = std::mem::take(items);
                for (mut item, pe) in old.into_iter().zip(pes) {
                    match set.child(&pe) {
                        Some(child) if child.is_member() => continue,
                        Some(child) => self.remove_at(&mut item, child, spath),
                        None => {}
                    }
                    items.push(item);
                }
            }
            _ => {}
        }
    }

    /// Structured-merge-diff `prune`: removes from `merged` the fields that
    /// `last` (the applier's previous applied set) owned and that nobody in
    /// `managed` (all current sets, including the applier's new one) owns.
    pub(crate) fn prune(&self, merged: &Value, last: &FieldSet, managed: &FieldSet) -> Value {
        if last.is_empty() {
            return merged.clone();
        }
        let last = last.ensure_named();
        let paths_of = |v: &Value| {
            self.to_field_set(v, false)
                .unwrap_or_default()
                .ensure_named()
        };
        let merged_set = paths_of(merged);
        let mut candidate = merged.clone();
        self.remove(&mut candidate, &last);
        let keep = paths_of(&candidate).union(&managed.ensure_named());
        let mut owned_back = merged.clone();
        self.remove(&mut owned_back, &merged_set.difference(&keep));
        let dangling = merged_set
            .difference(&paths_of(&owned_back))
            .intersection(&last);
        let mut out = merged.clone();
        self.remove(&mut out, &dangling);
        out
    }
}

/// The path element of one list item, or `None` when it cannot be identified.
fn item_pe(kind: ListKind, item: &Value) -> Option<String> {
    match kind {
        ListKind::Atomic => None,
        ListKind::Set => match item {
            Value::Object(_) | Value::Array(_) => None,
            scalar => Some(value_pe(scalar)),
        },
        ListKind::Map(keys) => {
            let map = item.as_object()?;
            let mut out = Map::new();
            for key in keys {
                let value = match map.get(*key) {
                    Some(v) if !v.is_null() => v.clone(),
                    _ => Value::String(schema::key_default(key)?.to_string()),
                };
                out.insert((*key).to_string(), value);
            }
            Some(key_pe(out))
        }
    }
}

fn describe_keys(kind: ListKind) -> String {
    match kind {
        ListKind::Map(keys) => keys.join(", "),
        ListKind::Set => "set items must be scalars".to_string(),
        ListKind::Atomic => String::new(),
    }
}

#[cfg(test)]
mod tests;
