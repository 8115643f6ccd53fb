//! ClusterIP allocation for Services, as the API server's Service REST storage does it: on
//! create, from the cluster's service range (or the requested address, if free); immutable
//! afterwards; released when the Service is gone (see `controllers::service`).

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
    let requested = spec["clusterIP"].as_str().unwrap_or("").to_string();
    if requested == "None" {
        spec["clusterIPs"] = json!(["None"]);
        return Ok(None);
    }
    let plan = &ctx.cluster.plan;
    let invalid = |msg: String| {
        let name = obj_name(obj);
        ApiError::invalid(
            "Service",
            "",
            &name,
            &[Cause {
                reason: "FieldValueInvalid",
                field: "spec.clusterIP".into(),
                message: msg,
            }],
        )
    };
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

fn obj_name(obj: &Value) -> String {
    obj["metadata"]["name"].as_str().unwrap_or("").to_string()
}

/// Keeps the allocated addresses of an existing Service (they are immutable).
pub fn keep(old: &Value, new: &mut Value) {
    for k in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
        if let Some(v) = old["spec"].get(k)
            && new["spec"].is_object()
        {
            new["spec"][k] = v.clone();
        }
    }
}
