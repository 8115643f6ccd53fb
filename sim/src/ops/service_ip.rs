//! ClusterIP allocation for Services, as the API server's Service REST storage does it: on
//! create, from the cluster's service range (or the requested address, if free); immutable
//! afterwards; released when the Service is gone (see `controllers::service`).
//! NodePort and LoadBalancer Services get a node port per port from 30000-32767 (the
//! apiserver's default `--service-node-port-range`, fact), random and unique in the cluster;
//! a requested one must be in range and free, as the apiserver's port allocator checks.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::WriteCtx;
use crate::api::{ApiError, ApiResult};
use crate::validate::Cause;

/// Whether `ctx` writes core/v1 Services.
pub fn is_service(ctx: &WriteCtx) -> bool {
    ctx.def.group.is_empty() && ctx.def.kind == "Service"
}

/// Allocates (or claims) the ClusterIP of a new Service; returns the address to release if
/// the create fails later.
pub fn allocate(ctx: &WriteCtx, obj: &mut Value) -> ApiResult<Option<Ipv4Addr>> {
    let spec = &mut obj["spec"];
    if spec["type"] == "ExternalName" || ctx.dry_run {
        return Ok(None);
    }
    if matches!(spec["type"].as_str(), Some("NodePort" | "LoadBalancer")) {
        node_ports(ctx, obj)?;
    }
    let spec = &mut obj["spec"];
    let requested = spec["clusterIP"].as_str().unwrap_or("").to_string();
    if requested == "None" {
        spec["clusterIPs"] = json!(["None"]);
        // Kubernetes fact (docs: concepts/services-networking/dual-stack, "Services"):
        // headless Services get the cluster's IP families too; without a selector the
        // policy defaults to RequireDualStack, with one to SingleStack. The embedded fleet
        // is single-stack IPv4.
        if spec.get("ipFamilies").is_none_or(Value::is_null) {
            spec["ipFamilies"] = json!(["IPv4"]);
        }
        if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
            let selectorless = spec
                .get("selector")
                .and_then(Value::as_object)
                .is_none_or(|m| m.is_empty());
            spec["ipFamilyPolicy"] = json!(if selectorless {
                "RequireDualStack"
            } else {
                "SingleStack"
            });
        }
        return Ok(None);
    }
    let plan = &ctx.cluster.plan;
    let invalid = |msg: String| field_invalid(&obj_name(obj), "spec.clusterIP".into(), msg);
    let ip = if requested.is_empty() {
        plan.allocate_service_ip()
            .map_err(|e| invalid(e.to_string()))?
    } else {
        let ip: Ipv4Addr = requested.parse().map_err(|_| {
            invalid(format!(
                "Invalid value: {requested:?}: must be a valid IPv4 address or \"None\""
            ))
        })?;
        plan.claim_service_ip(ip)
            .map_err(|e| invalid(format!("Invalid value: {requested:?}: {e}")))?;
        ip
    };
    let spec = &mut obj["spec"];
    spec["clusterIP"] = json!(ip.to_string());
    spec["clusterIPs"] = json!([ip.to_string()]);
    spec["ipFamilies"] = json!(["IPv4"]);
    spec["ipFamilyPolicy"] = json!("SingleStack");
    Ok(Some(ip))
}

/// A 422 for Service `name` with one `FieldValueInvalid` cause at `field`.
fn field_invalid(name: &str, field: String, message: String) -> ApiError {
    ApiError::invalid(
        "Service",
        "",
        name,
        &[Cause {
            reason: "FieldValueInvalid",
            field,
            message,
        }],
    )
}

const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// Node ports of every stored Service.
fn used_node_ports(ctx: &WriteCtx) -> std::collections::HashSet<i64> {
    let res = crate::store::ResKey::new("", "services");
    let page = ctx.cluster.store.list(&res, None, None, 0, &|_| true);
    page.items
        .iter()
        .flat_map(|s| {
            s["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["nodePort"].as_i64())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn node_ports(ctx: &WriteCtx, obj: &mut Value) -> ApiResult<()> {
    let name = obj_name(obj);
    let mut used = used_node_ports(ctx);
    let Some(ports) = obj["spec"]["ports"].as_array_mut() else {
        return Ok(());
    };
    let invalid = |i: usize, n: i64, detail: &str| {
        field_invalid(
            &name,
            format!("spec.ports[{i}].nodePort"),
            format!("Invalid value: {n}: {detail}"),
        )
    };
    for (i, p) in ports.iter_mut().enumerate() {
        match p["nodePort"].as_i64().filter(|n| *n != 0) {
            Some(n) if !NODE_PORTS.contains(&n) => {
                return Err(invalid(
                    i,
                    n,
                    "provided port is not in the valid range. The range of valid ports is 30000-32767",
                ));
            }
            Some(n) if !used.insert(n) => {
                return Err(invalid(i, n, "provided port is already allocated"));
            }
            Some(_) => {}
            None => {
                let free = NODE_PORTS.clone().filter(|n| !used.contains(n)).count();
                if free == 0 {
                    return Err(invalid(i, 0, "range of valid ports is full"));
                }
                let mut rng = rand::rng();
                let n = loop {
                    let n = rand::Rng::random_range(&mut rng, NODE_PORTS);
                    if !used.contains(&n) {
                        break n;
                    }
                };
                used.insert(n);
                p["nodePort"] = json!(n);
            }
        }
    }
    Ok(())
}

fn obj_name(obj: &Value) -> String {
    obj["metadata"]["name"].as_str().unwrap_or("").to_string()
}

/// Keeps the allocated addresses of an existing Service (they are immutable), and the node
/// ports of ports that are still there (same port and protocol) when the update omits them.
pub fn keep(old: &Value, new: &mut Value) {
    let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
    let exposed = matches!(
        new["spec"]["type"].as_str(),
        Some("NodePort" | "LoadBalancer")
    );
    if let Some(ports) = new["spec"]["ports"].as_array_mut().filter(|_| exposed) {
        for p in ports.iter_mut().filter(|p| p.get("nodePort").is_none()) {
            let same = old_ports.iter().find(|o| {
                o["port"] == p["port"]
                    && o["protocol"].as_str().unwrap_or("TCP")
                        == p["protocol"].as_str().unwrap_or("TCP")
            });
            if let Some(n) = same.and_then(|o| o.get("nodePort")) {
                p["nodePort"] = n.clone();
            }
        }
    }
    for k in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
        if let Some(v) = old["spec"].get(k)
            && new["spec"].is_object()
        {
            new["spec"][k] = v.clone();
        }
    }
}
