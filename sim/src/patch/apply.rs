//! Server-side apply (`application/apply-patch+yaml`), after
//! structured-merge-diff's `Updater.Apply`: merge the applied configuration
//! into the live object, prune what the applier stopped applying, detect
//! conflicts with other managers and record the applier's field set.

use serde_json::{Map, Value};

use super::managed::{self, APPLY, Entry};
use super::typed::Typed;
use super::{KindContext, PatchError};

/// Server-side apply. `live` None = create. `body` is YAML or JSON
/// (application/apply-patch+yaml; JSON is YAML). Returns the new object with
/// metadata.managedFields updated (operation "Apply", fieldsType "FieldsV1",
/// fieldsV1, manager, apiVersion, time = `now`, subresource when given).
///
/// Errors: `Malformed` for a body that is not a YAML/JSON mapping or that sets
/// metadata.managedFields; `Invalid` for a missing or mismatched apiVersion or
/// kind, a missing metadata.name on create, and list items without their key
/// fields; `Conflict` when another manager owns a field this apply changes and
/// `force` is false.
pub fn server_side_apply(
    ctx: &KindContext,
    live: Option<&Value>,
    body: &[u8],
    manager: &str,
    force: bool,
    subresource: Option<&str>,
    now: &str,
) -> Result<Value, PatchError> {
    let applied = parse_body(body)?;
    validate(ctx, &applied, live.is_none())?;
    let applied = Value::Object(drop_nulls(applied));
    let typed = Typed::new(ctx);
    let mut entries = live.and_then(managed::decode).unwrap_or_default();
    let live_value = live.map_or_else(
        || Value::Object(Map::new()),
        managed::without_managed_fields,
    );

    let reset = managed::reset_fields(ctx, subresource);
    let applied_set = typed
        .to_field_set(&applied, true)
        .map_err(PatchError::invalid)?
        .recursive_difference(&reset);
    let me = Entry::new(manager, APPLY, ctx.api_version(), subresource);
    let stored = applied_set.difference(&managed::stripped());
    let (own, last) = managed::replace_set(&mut entries, me, stored);
    let merged = typed.merge(Some(&live_value), &applied);
    let everyone = entries
        .iter()
        .fold(applied_set.union(&managed::stripped()), |acc, e| {
            acc.union(&e.set)
        });
    let mut result = typed.prune(&merged, &last, &everyone);

    let cmp = typed.compare(&live_value, &result).filter(&reset);
    let conflicts = managed::conflicts(&entries, Some(own), &cmp);
    if !force && !conflicts.is_empty() {
        return Err(PatchError::Conflict { conflicts });
    }
    managed::release(&mut entries, Some(own), &cmp);
    let entry = &mut entries[own];
    entry.api_version = ctx.api_version();
    if entry.time.is_none() || result != live_value || entry.set != last {
        entry.time = Some(now.to_string());
    }
    managed::encode(&mut result, entries);
    Ok(result)
}

/// Parses an apply body: JSON, else YAML (with legacy octal numbers such as
/// `0644`). Anything but a single mapping is malformed.
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, PatchError> {
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(value) => value,
        Err(_) => {
            let options = serde_saphyr::options! { legacy_octal_numbers: true };
            serde_saphyr::from_slice_with_options::<Value>(body, options)
                .map_err(|e| PatchError::malformed(format!("invalid apply patch body: {e}")))?
        }
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(PatchError::malformed(
            "apply patch body must be a yaml or json mapping",
        )),
    }
}

fn validate(
    ctx: &KindContext,
    applied: &Map<String, Value>,
    creating: bool,
) -> Result<(), PatchError> {
    let expected = ctx.api_version();
    match applied.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v == expected => {}
        Some(v) => {
            return Err(PatchError::invalid(format!(
                "incorrect version specified in apply patch: specified {v}, expected {expected}"
            )));
        }
        None => return Err(PatchError::invalid("apiVersion must be set in apply patch")),
    }
    match applied.get("kind").and_then(Value::as_str) {
        Some(k) if k == ctx.kind => {}
        Some(k) => {
            return Err(PatchError::invalid(format!(
                "incorrect kind specified in apply patch: specified {k}, expected {}",
                ctx.kind
            )));
        }
        None => return Err(PatchError::invalid("kind must be set in apply patch")),
    }
    let meta = applied.get("metadata");
    if meta
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|f| !f.is_null())
    {
        return Err(PatchError::malformed("metadata.managedFields must be nil"));
    }
    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str);
    if creating && name.is_none_or(str::is_empty) {
        return Err(PatchError::invalid(
            "metadata.name must be set to create an object by apply",
        ));
    }
    Ok(())
}

/// Drops null map values everywhere: an explicit null in an applied
/// configuration neither sets nor claims the field here.
fn drop_nulls(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k, strip(v)))
        .collect()
}

fn strip(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(drop_nulls(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(strip).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests;
