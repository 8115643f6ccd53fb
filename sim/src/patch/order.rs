//! Element ordering of merged lists in strategic merge patch, ported from
//! apimachinery's `normalizeElementOrder`/`mergeSortedSlice`: items named by
//! the patch (or its `$setElementOrder` directive) follow the patch order,
//! server-only items keep their live order, and the two are interleaved using
//! the live order as the tie-breaker.

use serde_json::Value;

/// The identity of a list element: its merge-key value for lists of maps, the
/// element itself for lists of primitives.
pub(crate) fn ident<'v>(item: &'v Value, key: Option<&str>) -> Option<&'v Value> {
    match key {
        Some(k) => item.get(k),
        None => Some(item),
    }
}

/// Position of the element of `list` with the same identity as `item`.
pub(crate) fn index_of(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    let id = ident(item, key)?;
    list.iter().position(|x| ident(x, key) == Some(id))
}

/// Orders `merged`: items whose identity appears in `patch_order` are sorted
/// by it, the rest by `server_order`, and the two runs are interleaved.
pub(crate) fn normalize(
    merged: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let (mut patch_items, mut server_only): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|item| index_of(patch_order, item, key).is_some());
    sort_by_order(&mut patch_items, patch_order, key);
    sort_by_order(&mut server_only, server_order, key);
    merge_sorted(server_only, patch_items, server_order, key)
}

fn sort_by_order(items: &mut [Value], order: &[Value], key: Option<&str>) {
    items.sort_by_key(|item| index_of(order, item, key).unwrap_or(usize::MAX));
}

/// Inserts each `left` item before the first `right` item that comes after it
/// in `server_order`; relative order inside each run is kept.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => matches!(
                (index_of(server_order, l, key), index_of(server_order, r, key)),
                (Some(li), Some(ri)) if li < ri
            ),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[Value]) -> Vec<&str> {
        list.iter()
            .map(|v| v["name"].as_str().unwrap_or("?"))
            .collect()
    }

    fn named(names: &[&str]) -> Vec<Value> {
        names.iter().map(|n| json!({"name": n})).collect()
    }

    #[test]
    fn patch_items_follow_patch_order_server_items_keep_place() {
        let live = named(&["a", "b", "c"]);
        let merged = named(&["a", "b", "c", "d"]);
        let patch = named(&["c", "d"]);
        let out = normalize(merged, &patch, &live, Some("name"));
        assert_eq!(names(&out), ["a", "b", "c", "d"]);

        let merged = named(&["a", "b", "c"]);
        let patch = named(&["b", "a"]);
        let out = normalize(merged, &patch, &live, Some("name"));
        assert_eq!(names(&out), ["b", "a", "c"]);
    }

    #[test]
    fn primitives_use_their_value_as_identity() {
        let live = vec![json!("x"), json!("y")];
        let merged = vec![json!("x"), json!("y"), json!("z")];
        let out = normalize(merged, &[json!("z"), json!("x")], &live, None);
        assert_eq!(out, vec![json!("z"), json!("x"), json!("y")]);
    }
}
