//! Strategic merge patch (`application/strategic-merge-patch+json`) as
//! apimachinery's `strategicpatch.StrategicMergePatch` applies it to built-in
//! kinds: maps merge recursively, `null` deletes, lists with a merge key merge
//! by key, merge-strategy primitive lists union, other lists are replaced.
//! Directives: `$patch` (replace/delete, in maps and list items),
//! `$retainKeys`, `$deleteFromPrimitiveList/<f>` and `$setElementOrder/<f>`.

use serde_json::{Map, Value};

use super::order;
use super::schema::{self, Rule};
use super::{KindContext, PatchError};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

type Object = Map<String, Value>;

/// Applies a strategic merge patch to `live`. Custom resources are
/// `Unsupported`, as Kubernetes answers 415 for them.
pub(crate) fn strategic_merge_patch(
    ctx: &KindContext,
    live: &Value,
    body: &[u8],
) -> Result<Value, PatchError> {
    if !ctx.builtin {
        return Err(PatchError::Unsupported {
            message: "strategic merge patch is not supported for custom resources; \
                      accepted media types include application/json-patch+json, \
                      application/merge-patch+json, application/apply-patch+yaml"
                .to_string(),
        });
    }
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| PatchError::malformed(format!("invalid strategic merge patch body: {e}")))?;
    let Value::Object(patch) = patch else {
        return Err(PatchError::malformed(
            "strategic merge patch must be a json object",
        ));
    };
    let original = live.as_object().cloned().unwrap_or_default();
    let merged = Merger { ctx }.merge_map(original, patch, &mut Vec::new())?;
    Ok(Value::Object(merged))
}

struct Merger<'a> {
    ctx: &'a KindContext<'a>,
}

impl Merger<'_> {
    /// apimachinery `mergeMap`. `path` holds the field names down to this map.
    fn merge_map(
        &self,
        mut original: Object,
        mut patch: Object,
        path: &mut Vec<String>,
    ) -> Result<Object, PatchError> {
        if let Some(directive) = patch.remove(DIRECTIVE) {
            return match directive.as_str() {
                Some("replace") => self.merge_map(Object::new(), patch, path),
                Some("delete") => Ok(Object::new()),
                _ => Err(PatchError::invalid(format!(
                    "unknown patch type {directive} in map"
                ))),
            };
        }
        apply_retain_keys(&mut original, &mut patch)?;
        self.apply_set_element_order(&mut original, &mut patch, path)?;
        let (deletes, fields): (Vec<_>, Vec<_>) = patch
            .into_iter()
            .partition(|(k, _)| k.starts_with(DELETE_FROM_PRIMITIVE));
        for (key, value) in fields {
            self.merge_field(&mut original, key, value, path)?;
        }
        for (key, value) in deletes {
            let field = &key[DELETE_FROM_PRIMITIVE.len()..];
            delete_from_primitive_list(&mut original, field, value)?;
        }
        Ok(original)
    }

    fn merge_field(
        &self,
        original: &mut Object,
        key: String,
        value: Value,
        path: &mut Vec<String>,
    ) -> Result<(), PatchError> {
        if value.is_null() {
            original.remove(&key);
            return Ok(());
        }
        path.push(key.clone());
        let merged = match (original.remove(&key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                Value::Object(self.merge_map(o, p, path)?)
            }
            (Some(Value::Array(o)), Value::Array(p)) => Value::Array(self.merge_list(o, p, path)?),
            (_, value) => self.fill(value, path)?,
        };
        path.pop();
        original.insert(key, merged);
        Ok(())
    }

    /// A patch value with nothing to merge into: directives and nulls are
    /// resolved against an empty original.
    fn fill(&self, value: Value, path: &mut Vec<String>) -> Result<Value, PatchError> {
        Ok(match value {
            Value::Object(p) => Value::Object(self.merge_map(Object::new(), p, path)?),
            Value::Array(p) => Value::Array(self.merge_list(Vec::new(), p, path)?),
            scalar => scalar,
        })
    }

    /// apimachinery `mergeSliceHandler`: merge or replace by the field's strategy.
    fn merge_list(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        path: &mut Vec<String>,
    ) -> Result<Vec<Value>, PatchError> {
        match schema::lookup(self.ctx, path) {
            Some(Rule::Keyed { smp, .. }) => self.merge_keyed(original, patch, smp, path),
            Some(Rule::Set) => merge_primitives(original, patch),
            _ => patch.into_iter().map(|v| self.fill(v, path)).collect(),
        }
    }

    /// apimachinery `mergeSlice` for lists of maps with a merge key.
    fn merge_keyed(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        key: &str,
        path: &mut Vec<String>,
    ) -> Result<Vec<Value>, PatchError> {
        if original.is_empty() && patch.is_empty() {
            return Ok(original);
        }
        let (original, plain) = self.special_elements(original, patch, key, path)?;
        let mut merged = original.clone();
        for item in &plain {
            let id = item.get(key).ok_or_else(|| no_merge_key(item, key))?;
            match merged.iter().position(|o| o.get(key) == Some(id)) {
                Some(i) => {
                    let existing = match std::mem::take(&mut merged[i]) {
                        Value::Object(map) => map,
                        _ => Object::new(),
                    };
                    merged[i] = Value::Object(self.merge_map(existing, item.clone(), path)?);
                }
                None => {
                    let filled = self.merge_map(Object::new(), item.clone(), path)?;
                    merged.push(Value::Object(filled));
                }
            }
        }
        let patch_order: Vec<Value> = plain.into_iter().map(Value::Object).collect();
        Ok(order::normalize(merged, &patch_order, &original, Some(key)))
    }

    /// apimachinery `mergeSliceWithSpecialElements`: applies `$patch: delete`
    /// items, honours `$patch: replace`, returns (original, plain patch items).
    fn special_elements(
        &self,
        mut original: Vec<Value>,
        patch: Vec<Value>,
        key: &str,
        path: &mut Vec<String>,
    ) -> Result<(Vec<Value>, Vec<Object>), PatchError> {
        let mut plain = Vec::new();
        let mut replace = false;
        for item in patch {
            let Value::Object(item) = item else {
                return Err(PatchError::invalid(format!(
                    "list items merged by key {key:?} must be objects, got {item}"
                )));
            };
            let Some(directive) = item.get(DIRECTIVE) else {
                plain.push(item);
                continue;
            };
            match directive.as_str() {
                Some("delete") => {
                    let id = item.get(key).ok_or_else(|| no_merge_key(&item, key))?;
                    original.retain(|o| o.get(key) != Some(id));
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return Err(PatchError::invalid(
                        "merging lists cannot yet be specified in the patch",
                    ));
                }
                _ => {
                    return Err(PatchError::invalid(format!(
                        "unknown patch type {directive} in list item"
                    )));
                }
            }
        }
        if !replace {
            return Ok((original, plain));
        }
        let items = plain
            .into_iter()
            .map(|item| self.merge_map(Object::new(), item, path).map(Value::Object))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, Vec::new()))
    }

    /// apimachinery `mergePatchIntoOriginal`: merges each list named by a
    /// `$setElementOrder/<field>` directive and orders it by the directive.
    fn apply_set_element_order(
        &self,
        original: &mut Object,
        patch: &mut Object,
        path: &mut Vec<String>,
    ) -> Result<(), PatchError> {
        let directives: Vec<String> = patch
            .keys()
            .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for directive in directives {
            let field = directive[SET_ELEMENT_ORDER.len()..].to_string();
            let Some(Value::Array(order)) = patch.remove(&directive) else {
                return Err(PatchError::malformed(format!(
                    "invalid patch format of {directive}: must be a list"
                )));
            };
            let live = list_field(original.get(&field), &field)?;
            let patched = list_field(patch.remove(&field).as_ref(), &field)?;
            path.push(field.clone());
            let key = match schema::lookup(self.ctx, path) {
                Some(Rule::Keyed { smp, .. }) => Some(smp),
                _ => None,
            };
            validate_order(patched.as_deref().unwrap_or_default(), &order, key)?;
            let merged = match (live.clone(), patched) {
                (Some(o), None) => o,
                (o, Some(p)) => self.merge_list(o.unwrap_or_default(), p, path)?,
                (None, None) => {
                    path.pop();
                    continue;
                }
            };
            path.pop();
            let server_order = live.unwrap_or_default();
            let ordered = order::normalize(merged, &order, &server_order, key);
            original.insert(field, Value::Array(ordered));
        }
        Ok(())
    }
}

/// A list-typed field of an original or a patch; `None` when absent.
fn list_field(value: Option<&Value>, field: &str) -> Result<Option<Vec<Value>>, PatchError> {
    match value {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items.clone())),
        Some(other) => Err(PatchError::invalid(format!(
            "{field} must be a list to use $setElementOrder, got {other}"
        ))),
    }
}

/// apimachinery `validatePatchWithSetOrderList`: patch items must appear in
/// the `$setElementOrder` list, in the same relative order.
fn validate_order(patch: &[Value], order: &[Value], key: Option<&str>) -> Result<(), PatchError> {
    let items: Vec<&Value> = patch
        .iter()
        .filter(|v| v.get(DIRECTIVE).is_none())
        .collect();
    let (mut pi, mut oi) = (0, 0);
    while pi < items.len() && oi < order.len() {
        let same = order::ident(items[pi], key)
            .is_some_and(|id| order::ident(&order[oi], key) == Some(id));
        if same {
            pi += 1;
        }
        oi += 1;
    }
    if pi < items.len() && !order.is_empty() {
        return Err(PatchError::invalid(
            "the order in the patch list doesn't match the $setElementOrder list",
        ));
    }
    Ok(())
}

/// apimachinery `applyRetainKeysDirective`: drops original keys not listed.
fn apply_retain_keys(original: &mut Object, patch: &mut Object) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(list) = retain else {
        return Err(PatchError::malformed(
            "invalid patch format of retainKeys: must be a list",
        ));
    };
    let keep: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    for (key, value) in patch.iter() {
        let directive =
            key.starts_with(DELETE_FROM_PRIMITIVE) || key.starts_with(SET_ELEMENT_ORDER);
        if !value.is_null() && !directive && !keep.contains(&key.as_str()) {
            return Err(PatchError::malformed(format!(
                "invalid patch format of retainKeys: {key} is in the patch but not in $retainKeys"
            )));
        }
    }
    original.retain(|key, _| keep.contains(&key.as_str()));
    Ok(())
}

/// `$deleteFromPrimitiveList/<field>`: removes the listed values.
fn delete_from_primitive_list(
    original: &mut Object,
    field: &str,
    values: Value,
) -> Result<(), PatchError> {
    let Value::Array(values) = values else {
        return Err(PatchError::malformed(format!(
            "invalid patch format of primitive list: {DELETE_FROM_PRIMITIVE}{field} must be a list"
        )));
    };
    if let Some(Value::Array(items)) = original.get_mut(field) {
        items.retain(|v| !values.contains(v));
    }
    Ok(())
}

/// apimachinery `mergeSlice` for merge-strategy lists of primitives: union,
/// original duplicates collapsed, ordered like any merged list.
fn merge_primitives(original: Vec<Value>, patch: Vec<Value>) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if let Some(bad) = patch.iter().find(|v| v.is_object() || v.is_array()) {
        return Err(PatchError::invalid(format!(
            "list of primitives cannot be patched with {bad}"
        )));
    }
    let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
    for item in original.iter().chain(&patch) {
        if !merged.contains(item) {
            merged.push(item.clone());
        }
    }
    Ok(order::normalize(merged, &patch, &original, None))
}

fn no_merge_key(item: &impl std::fmt::Debug, key: &str) -> PatchError {
    PatchError::invalid(format!(
        "map: {item:?} does not contain declared merge key: {key}"
    ))
}

#[cfg(test)]
mod tests;
