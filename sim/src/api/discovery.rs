//! Discovery documents: `/api`, `/apis`, `/apis/{group}`, `/api/v1`, `/apis/{group}/{version}`,
//! and `/version`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::registry::ResourceDef;

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "33", "gitVersion": "v1.33.0-mcs-sim",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
        "platform": "linux/amd64", "emulationMajor": "1", "emulationMinor": "33",
    })
}

/// `/api`.
pub fn core_versions(cluster: &Cluster) -> Value {
    json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": cluster.addr.to_string()}],
    })
}

/// Kubernetes version priority: GA > beta > alpha, higher numbers first.
fn version_rank(v: &str) -> (u8, u32, u32) {
    let rest = v.trim_start_matches('v');
    let (major, tail) = rest.split_at(
        rest.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len()),
    );
    let major = major.parse().unwrap_or(0);
    let (stage, minor) = if let Some(m) = tail.strip_prefix("beta") {
        (1, m.parse().unwrap_or(0))
    } else if let Some(m) = tail.strip_prefix("alpha") {
        (0, m.parse().unwrap_or(0))
    } else if tail.is_empty() {
        (2, 0)
    } else {
        return (0, 0, 0);
    };
    (stage, major, minor)
}

fn groups(cluster: &Cluster) -> BTreeMap<String, Vec<String>> {
    let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in cluster
        .registry
        .all()
        .into_iter()
        .filter(|d| !d.group.is_empty())
    {
        let vs = g.entry(d.group.clone()).or_default();
        if !vs.contains(&d.version) {
            vs.push(d.version.clone());
        }
    }
    for vs in g.values_mut() {
        vs.sort_by_key(|v| std::cmp::Reverse(version_rank(v)));
    }
    g
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

/// `/apis`.
pub fn group_list(cluster: &Cluster) -> Value {
    let groups: Vec<Value> = groups(cluster)
        .iter()
        .map(|(n, v)| group_json(n, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`; None when the group is not served.
pub fn group(cluster: &Cluster, name: &str) -> Option<Value> {
    let g = groups(cluster);
    let mut doc = group_json(name, g.get(name)?);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn resource_entries(d: &ResourceDef) -> Vec<Value> {
    let mut out = vec![json!({
        "name": d.plural, "singularName": d.singular, "namespaced": d.namespaced,
        "kind": d.kind, "verbs": if crate::registry::REVIEW_GROUPS.contains(&d.group.as_str()) { &["create"][..] } else { VERBS },
        "shortNames": d.short_names, "categories": d.categories,
    })];
    let sub = |name: &str, kind: &str, verbs: &[&str]| {
        json!({"name": format!("{}/{name}", d.plural), "singularName": "", "namespaced": d.namespaced,
               "kind": kind, "verbs": verbs})
    };
    if d.status {
        out.push(sub("status", &d.kind, &["get", "patch", "update"]));
    }
    if d.scale {
        let mut s = sub("scale", "Scale", &["get", "patch", "update"]);
        s["group"] = json!("autoscaling");
        s["version"] = json!("v1");
        out.push(s);
    }
    for extra in &d.extra_subresources {
        out.push(match *extra {
            "exec" => sub("exec", "PodExecOptions", &["create", "get"]),
            "log" => sub("log", "Pod", &["get"]),
            "finalize" => sub("finalize", &d.kind, &["update"]),
            "eviction" => {
                let mut e = sub("eviction", "Eviction", &["create"]);
                e["group"] = json!("policy");
                e["version"] = json!("v1");
                e
            }
            other => sub(other, &d.kind, &["get"]),
        });
    }
    out
}

/// `/api/v1` or `/apis/{group}/{version}`; None when not served.
pub fn resource_list(cluster: &Cluster, group: &str, version: &str) -> Option<Value> {
    if !cluster.registry.serves(group, version) {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let resources: Vec<Value> = cluster
        .registry
        .all()
        .iter()
        .filter(|d| d.group == group && d.version == version)
        .flat_map(resource_entries)
        .collect();
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

#[cfg(test)]
mod tests {
    use super::version_rank;

    #[test]
    fn versions_rank_like_kubernetes() {
        let mut v = vec!["v1alpha1", "v1beta1", "v1", "v2beta2", "v2"];
        v.sort_by_key(|v| std::cmp::Reverse(version_rank(v)));
        assert_eq!(v, vec!["v2", "v1", "v2beta2", "v1beta1", "v1alpha1"]);
    }
}
