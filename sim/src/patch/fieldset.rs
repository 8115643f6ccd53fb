//! Field sets: the ownership trees stored in `metadata.managedFields[].fieldsV1`.
//!
//! A [`FieldSet`] is a tree keyed by structured-merge-diff path elements in
//! their FieldsV1 spelling: `f:<field>`, `k:<json object of list-map keys>`,
//! `v:<json scalar>` (set items) and `i:<index>`. A node is a *member* when the
//! path ending at it is in the set; FieldsV1 writes a member leaf as `{}` and a
//! member with children as a `".": {}` entry.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldSet {
    member: bool,
    children: BTreeMap<String, FieldSet>,
}

/// The path element of object field `name`.
pub(crate) fn field_pe(name: &str) -> String {
    format!("f:{name}")
}

/// The path element of a list-map item with the given key fields.
pub(crate) fn key_pe(keys: Map<String, Value>) -> String {
    format!("k:{}", Value::Object(keys))
}

/// The path element of a set item.
pub(crate) fn value_pe(value: &Value) -> String {
    format!("v:{value}")
}

impl FieldSet {
    /// Adds `path` to the set.
    pub(crate) fn insert(&mut self, path: &[String]) {
        let mut node = self;
        for pe in path {
            node = node.children.entry(pe.clone()).or_default();
        }
        node.member = true;
    }

    /// Whether `path` is in the set.
    #[cfg(test)]
    pub(crate) fn has(&self, path: &[String]) -> bool {
        let mut node = self;
        for pe in path {
            match node.children.get(pe) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.member
    }

    /// The subtree under path element `pe`.
    pub(crate) fn child(&self, pe: &str) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Whether the path ending at this node is in the set.
    pub(crate) fn is_member(&self) -> bool {
        self.member
    }

    /// True when no path is in the set.
    pub(crate) fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// Paths in either set.
    pub(crate) fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_in(other);
        out
    }

    fn union_in(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (pe, child) in &other.children {
            self.children.entry(pe.clone()).or_default().union_in(child);
        }
    }

    /// Paths in `self` that are not in `other` (exact paths, not subtrees).
    pub(crate) fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            let rest = match other.children.get(pe) {
                Some(o) => child.difference(o),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(pe.clone(), rest);
            }
        }
        out
    }

    /// Paths in both sets.
    pub(crate) fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            if let Some(o) = other.children.get(pe) {
                let both = child.intersection(o);
                if !both.is_empty() {
                    out.children.insert(pe.clone(), both);
                }
            }
        }
        out
    }

    /// `self` without every path that lies at or below a member of `other`.
    pub(crate) fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        if other.member {
            return FieldSet::default();
        }
        let mut out = FieldSet {
            member: self.member,
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            let rest = match other.children.get(pe) {
                Some(o) => child.recursive_difference(o),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(pe.clone(), rest);
            }
        }
        out
    }

    /// Also marks every named field (`f:`) above a member as a member, like
    /// structured-merge-diff's `EnsureNamedFieldsAreMembers`.
    pub(crate) fn ensure_named(&self) -> FieldSet {
        let mut out = FieldSet {
            member: self.member,
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            let mut named = child.ensure_named();
            if named.is_empty() {
                continue;
            }
            if pe.starts_with("f:") {
                named.member = true;
            }
            out.children.insert(pe.clone(), named);
        }
        out
    }

    /// Every member path, depth first in path-element order.
    pub(crate) fn paths(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The FieldsV1 JSON form of the set.
    pub(crate) fn to_fields_v1(&self) -> Value {
        let mut out = Map::new();
        for (pe, child) in &self.children {
            if child.is_empty() {
                continue;
            }
            out.insert(pe.clone(), child.node_to_fields_v1());
        }
        Value::Object(out)
    }

    fn node_to_fields_v1(&self) -> Value {
        let Value::Object(mut out) = self.to_fields_v1() else {
            return Value::Object(Map::new());
        };
        if self.member && !out.is_empty() {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        Value::Object(out)
    }

    /// Parses the FieldsV1 JSON form; anything that is not an object is skipped.
    pub(crate) fn from_fields_v1(value: &Value) -> FieldSet {
        let mut out = FieldSet::default();
        if let Value::Object(map) = value {
            for (pe, child) in map {
                if pe == "." {
                    out.member = true;
                    continue;
                }
                let mut node = FieldSet::from_fields_v1(child);
                if child.as_object().is_some_and(Map::is_empty) {
                    node.member = true;
                }
                if !node.is_empty() {
                    out.children.insert(pe.clone(), node);
                }
            }
        }
        out
    }
}

/// Renders a path the way structured-merge-diff prints it in conflicts:
/// `.spec.containers[name="web"].image`, `.metadata.finalizers[="x"]`.
pub(crate) fn path_to_string(path: &[String]) -> String {
    let mut out = String::new();
    for pe in path {
        if let Some(name) = pe.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(keys) = pe.strip_prefix("k:") {
            out.push('[');
            out.push_str(&render_keys(keys));
            out.push(']');
        } else if let Some(value) = pe.strip_prefix("v:") {
            out.push_str("[=");
            out.push_str(value);
            out.push(']');
        } else if let Some(index) = pe.strip_prefix("i:") {
            out.push('[');
            out.push_str(index);
            out.push(']');
        } else {
            out.push_str(pe);
        }
    }
    out
}

fn render_keys(keys: &str) -> String {
    match serde_json::from_str::<Map<String, Value>>(keys) {
        Ok(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        Err(_) => keys.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    fn set(paths: &[&[&str]]) -> FieldSet {
        let mut s = FieldSet::default();
        for path in paths {
            s.insert(&p(path));
        }
        s
    }

    #[test]
    fn fields_v1_round_trip_with_dot_members() {
        let wire = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}
        });
        let parsed = FieldSet::from_fields_v1(&wire);
        assert!(parsed.has(&p(&["f:metadata", "f:labels"])));
        assert!(parsed.has(&p(&["f:metadata", "f:labels", "f:app"])));
        assert!(!parsed.has(&p(&["f:metadata"])));
        assert!(parsed.has(&p(&["f:spec", "f:containers", "k:{\"name\":\"web\"}"])));
        assert_eq!(parsed.to_fields_v1(), wire);
    }

    #[test]
    fn set_algebra() {
        let a = set(&[&["f:a"], &["f:b", "f:c"], &["f:b", "f:d"]]);
        let b = set(&[&["f:b", "f:c"], &["f:e"]]);
        assert_eq!(a.difference(&b), set(&[&["f:a"], &["f:b", "f:d"]]));
        assert_eq!(a.intersection(&b), set(&[&["f:b", "f:c"]]));
        assert_eq!(
            a.union(&b),
            set(&[&["f:a"], &["f:b", "f:c"], &["f:b", "f:d"], &["f:e"]])
        );
        assert_eq!(a.recursive_difference(&set(&[&["f:b"]])), set(&[&["f:a"]]));
        assert!(a.difference(&a).is_empty());
        assert_eq!(a.paths().len(), 3);
    }

    #[test]
    fn ensure_named_marks_field_ancestors_only() {
        let s = set(&[&["f:spec", "f:containers", "k:{\"name\":\"a\"}", "f:image"]]);
        let e = s.ensure_named();
        assert!(e.has(&p(&["f:spec"])));
        assert!(e.has(&p(&["f:spec", "f:containers"])));
        assert!(!e.has(&p(&["f:spec", "f:containers", "k:{\"name\":\"a\"}"])));
    }

    #[test]
    fn paths_render_like_structured_merge_diff() {
        let mut keys = Map::new();
        keys.insert("containerPort".into(), json!(80));
        keys.insert("protocol".into(), json!("TCP"));
        let path = vec![
            field_pe("spec"),
            field_pe("ports"),
            key_pe(keys),
            field_pe("name"),
        ];
        assert_eq!(
            path_to_string(&path),
            ".spec.ports[containerPort=80,protocol=\"TCP\"].name"
        );
        let fin = vec![
            field_pe("metadata"),
            field_pe("finalizers"),
            value_pe(&json!("x")),
        ];
        assert_eq!(path_to_string(&fin), ".metadata.finalizers[=\"x\"]");
        assert_eq!(path_to_string(&p(&["f:a", "i:3"])), ".a[3]");
    }
}
