//! A container's environment as the kubelet builds it: `env` (literal values with `$(VAR)`
//! references to earlier variables, the downward API's `fieldRef`, `configMapKeyRef` and
//! `secretKeyRef`), `envFrom`, and the `kubernetes` Service's variables; and the `$(VAR)`
//! expansion of `command`/`args` (Kubernetes' `expansion.Expand`: `$$` escapes, unknown
//! references stay as written). A missing ConfigMap, Secret or key that is not `optional`
//! is `CreateContainerConfigError`, as on a node.

use std::net::Ipv4Addr;

use base64::Engine;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::store::{Meta, ObjKey, ResKey};

/// `$(VAR)` expansion with `vars` (later entries win).
pub fn expand(s: &str, vars: &[(String, String)]) -> String {
    let mut out = String::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '$' && b.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if b[i] == '$'
            && b.get(i + 1) == Some(&'(')
            && let Some(end) = b[i + 2..].iter().position(|&c| c == ')')
        {
            let name: String = b[i + 2..i + 2 + end].iter().collect();
            match vars.iter().rev().find(|(k, _)| *k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&format!("$({name})")),
            }
            i += end + 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The downward API value of `fieldPath` for a pod running on `ip`.
fn field(cluster: &Cluster, pod: &Value, path: &str, ip: Ipv4Addr) -> Option<String> {
    let meta = Meta(pod);
    let annotated = |kind: &str| {
        let key = path
            .strip_prefix(&format!("metadata.{kind}['"))?
            .strip_suffix("']")?;
        Some(
            pod["metadata"][kind][key]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    Some(match path {
        "metadata.name" => meta.name().to_string(),
        "metadata.namespace" => meta.namespace().to_string(),
        "metadata.uid" => meta.uid().to_string(),
        "spec.nodeName" => cluster.node_name(),
        "spec.serviceAccountName" => pod["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        "status.hostIP" | "status.hostIPs" => cluster.node_ip().to_string(),
        "status.podIP" | "status.podIPs" => ip.to_string(),
        p if p.starts_with("metadata.labels[") => annotated("labels")?,
        p if p.starts_with("metadata.annotations[") => annotated("annotations")?,
        _ => return None,
    })
}

/// Reads key `key` of ConfigMap/Secret `name` in `ns` (Secret values are decoded).
fn key_of(
    cluster: &Cluster,
    secret: bool,
    ns: &str,
    name: &str,
    key: &str,
) -> Result<String, String> {
    let (res, kind) = match secret {
        true => (ResKey::new("", "secrets"), "secret"),
        false => (ResKey::new("", "configmaps"), "configmap"),
    };
    let Some(obj) = cluster.store.get(&res, &ObjKey::new(ns, name)) else {
        return Err(format!("{kind} \"{name}\" not found"));
    };
    if secret {
        let raw = obj["data"][key]
            .as_str()
            .ok_or_else(|| format!("couldn't find key {key} in Secret {ns}/{name}"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap_or_default();
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    obj["data"][key]
        .as_str()
        .map(String::from)
        .ok_or_else(|| format!("couldn't find key {key} in ConfigMap {ns}/{name}"))
}

fn env_from(
    cluster: &Cluster,
    ns: &str,
    src: &Value,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let prefix = src["prefix"].as_str().unwrap_or("");
    for (secret, field) in [(false, "configMapRef"), (true, "secretRef")] {
        let r = &src[field];
        let Some(name) = r["name"].as_str() else {
            continue;
        };
        let res = match secret {
            true => ResKey::new("", "secrets"),
            false => ResKey::new("", "configmaps"),
        };
        match cluster.store.get(&res, &ObjKey::new(ns, name)) {
            Some(obj) => {
                for (k, _) in obj["data"].as_object().into_iter().flatten() {
                    let v = key_of(cluster, secret, ns, name, k)?;
                    out.push((format!("{prefix}{k}"), v));
                }
            }
            None if r["optional"] == true => {}
            None => {
                let kind = if secret { "secret" } else { "configmap" };
                return Err(format!("{kind} \"{name}\" not found"));
            }
        }
    }
    Ok(())
}

/// The container's environment, or the `CreateContainerConfigError` message.
pub fn resolve(
    cluster: &Cluster,
    pod: &Value,
    container: &Value,
    ip: Ipv4Addr,
) -> Result<Vec<(String, String)>, String> {
    let ns = Meta(pod).namespace();
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(api) = cluster.store.get(
        &ResKey::new("", "services"),
        &ObjKey::new("default", "kubernetes"),
    ) {
        let host = api["spec"]["clusterIP"].as_str().unwrap_or("").to_string();
        out.push(("KUBERNETES_SERVICE_HOST".into(), host.clone()));
        out.push(("KUBERNETES_SERVICE_PORT".into(), "443".into()));
        out.push(("KUBERNETES_PORT".into(), format!("tcp://{host}:443")));
    }
    for src in container["envFrom"].as_array().into_iter().flatten() {
        env_from(cluster, ns, src, &mut out)?;
    }
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or("").to_string();
        let from = &e["valueFrom"];
        let value = if let Some(v) = e["value"].as_str() {
            expand(v, &out)
        } else if let Some(p) = from["fieldRef"]["fieldPath"].as_str() {
            field(cluster, pod, p, ip).unwrap_or_default()
        } else if from["resourceFieldRef"].is_object() {
            "0".to_string()
        } else {
            let (secret, r) = match from.get("secretKeyRef") {
                Some(r) => (true, r),
                None => (false, &from["configMapKeyRef"]),
            };
            let (Some(n), Some(k)) = (r["name"].as_str(), r["key"].as_str()) else {
                out.push((name, String::new()));
                continue;
            };
            match key_of(cluster, secret, ns, n, k) {
                Ok(v) => v,
                Err(_) if r["optional"] == true => continue,
                Err(e) => return Err(e),
            }
        };
        out.push((name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_like_kubernetes() {
        let vars = vec![("MY_POD_IP".to_string(), "127.1.0.5".to_string())];
        assert_eq!(
            expand("SYSTEM:echo pod ip $(MY_POD_IP)", &vars),
            "SYSTEM:echo pod ip 127.1.0.5"
        );
        assert_eq!(
            expand("$(NOPE) $$(MY_POD_IP) $HOME", &vars),
            "$(NOPE) $(MY_POD_IP) $HOME"
        );
    }
}
