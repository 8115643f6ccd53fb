//! Comparison of two versions of an object (structured-merge-diff `Compare`):
//! which paths were added, modified or removed. Drives ownership changes on
//! every write.

use serde_json::{Map, Value};

use super::{ListKind, Typed};
use crate::patch::fieldset::{FieldSet, field_pe};

/// Paths that changed between two versions of an object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Present only in the new version.
    pub(crate) added: FieldSet,
    /// Leaf values that differ.
    pub(crate) modified: FieldSet,
    /// Present only in the old version.
    pub(crate) removed: FieldSet,
}

impl Comparison {
    /// Added or modified paths: what a writer takes ownership of.
    pub(crate) fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }

    /// Drops every path at or below a member of `ignored`.
    pub(crate) fn filter(&self, ignored: &FieldSet) -> Comparison {
        Comparison {
            added: self.added.recursive_difference(ignored),
            modified: self.modified.recursive_difference(ignored),
            removed: self.removed.recursive_difference(ignored),
        }
    }
}

/// The shape a node is compared as.
enum Shape<'v> {
    Map(
        Option<&'v Map<String, Value>>,
        Option<&'v Map<String, Value>>,
    ),
    List(Vec<(String, Option<&'v Value>, Option<&'v Value>)>),
    Leaf,
}

impl Typed<'_> {
    /// Compares `old` with `new`.
    pub(crate) fn compare(&self, old: &Value, new: &Value) -> Comparison {
        let mut out = Comparison::default();
        self.cmp(
            Some(old),
            Some(new),
            &mut Vec::new(),
            &mut Vec::new(),
            &mut out,
        );
        out
    }

    fn cmp(
        &self,
        l: Option<&Value>,
        r: Option<&Value>,
        spath: &mut Vec<String>,
        path: &mut Vec<String>,
        out: &mut Comparison,
    ) {
        match self.shape(l, r, spath) {
            Shape::Leaf => leaf(l, r, path, out),
            Shape::Map(lm, rm) => {
                let mut keys: Vec<&String> = lm.into_iter().flat_map(Map::keys).collect();
                for key in rm.into_iter().flat_map(Map::keys) {
                    if lm.is_none_or(|m| !m.contains_key(key)) {
                        keys.push(key);
                    }
                }
                for key in keys {
                    spath.push(key.clone());
                    path.push(field_pe(key));
                    let (lv, rv) = (lm.and_then(|m| m.get(key)), rm.and_then(|m| m.get(key)));
                    self.cmp(lv, rv, spath, path, out);
                    spath.pop();
                    path.pop();
                }
                non_leaf(l, r, path, out);
            }
            Shape::List(items) => {
                for (pe, lv, rv) in items {
                    path.push(pe);
                    self.cmp(lv, rv, spath, path, out);
                    path.pop();
                }
                non_leaf(l, r, path, out);
            }
        }
    }

    fn shape<'v>(&self, l: Option<&'v Value>, r: Option<&'v Value>, spath: &[String]) -> Shape<'v> {
        let empty = |v: Option<&Value>| match v {
            None => true,
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if empty(l) && empty(r) {
            return Shape::Leaf;
        }
        let maps = (l.map(Value::as_object), r.map(Value::as_object));
        match maps {
            (None | Some(Some(_)), None | Some(Some(_))) if !self.map_is_atomic(spath) => {
                return Shape::Map(maps.0.flatten(), maps.1.flatten());
            }
            _ => {}
        }
        let lists = (l.map(Value::as_array), r.map(Value::as_array));
        let (None | Some(Some(_)), None | Some(Some(_))) = lists else {
            return Shape::Leaf;
        };
        let (la, ra) = (
            lists.0.flatten().map_or(&[][..], Vec::as_slice),
            lists.1.flatten().map_or(&[][..], Vec::as_slice),
        );
        let kind = self.list_kind(spath);
        if kind == ListKind::Atomic {
            return Shape::Leaf;
        }
        match (self.list_pes(kind, la), self.list_pes(kind, ra)) {
            (Some(lp), Some(rp)) => Shape::List(pair_items(la, &lp, ra, &rp)),
            _ => Shape::Leaf,
        }
    }
}

/// Items of both sides by identity: right-hand items in order (first
/// occurrence wins), then left-hand items missing on the right.
fn pair_items<'v>(
    la: &'v [Value],
    lp: &[String],
    ra: &'v [Value],
    rp: &[String],
) -> Vec<(String, Option<&'v Value>, Option<&'v Value>)> {
    let find_l = |pe: &String| lp.iter().position(|p| p == pe).map(|i| &la[i]);
    let mut out: Vec<(String, Option<&Value>, Option<&Value>)> = Vec::new();
    for (pe, rv) in rp.iter().zip(ra) {
        if out.iter().all(|(seen, _, _)| seen != pe) {
            out.push((pe.clone(), find_l(pe), Some(rv)));
        }
    }
    for (pe, lv) in lp.iter().zip(la) {
        if !rp.contains(pe) && out.iter().all(|(seen, _, _)| seen != pe) {
            out.push((pe.clone(), Some(lv), None));
        }
    }
    out
}

fn leaf(l: Option<&Value>, r: Option<&Value>, path: &[String], out: &mut Comparison) {
    match (l, r) {
        (None, Some(_)) => out.added.insert(path),
        (Some(_), None) => out.removed.insert(path),
        (Some(a), Some(b)) if a != b => out.modified.insert(path),
        _ => {}
    }
}

/// Membership of a map or list node that appeared or disappeared.
///
/// Structured-merge-diff adds every new non-leaf node, but Kubernetes compares
/// against Go zero values in which most struct fields already exist, so in
/// practice only list items, whatever lies inside a new list item, and the
/// free-form `labels`/`annotations` maps show up with a `.` member. That is
/// the rule used here.
fn non_leaf(l: Option<&Value>, r: Option<&Value>, path: &[String], out: &mut Comparison) {
    match (l, r) {
        (None, Some(_)) if shows_as_member(path) => out.added.insert(path),
        (Some(_), None) if !path.is_empty() => out.removed.insert(path),
        _ => {}
    }
}

fn shows_as_member(path: &[String]) -> bool {
    let in_item = path
        .iter()
        .any(|pe| pe.starts_with("k:") || pe.starts_with("v:"));
    let free_form = matches!(
        path.last().map(String::as_str),
        Some("f:labels" | "f:annotations")
    );
    in_item || free_form
}
