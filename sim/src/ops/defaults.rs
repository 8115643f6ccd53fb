//! Defaulting of built-in kinds, as the API server's defaulters do (the subset of fields
//! that clients and printers look at).

use serde_json::{Value, json};

use crate::registry::ResourceDef;

/// Sets `field` when it is missing or null.
fn default(obj: &mut Value, field: &str, v: Value) {
    if obj.is_null() {
        *obj = json!({});
    }
    if let Some(o) = obj.as_object_mut()
        && o.get(field).is_none_or(Value::is_null)
    {
        o.insert(field.to_string(), v);
    }
}

/// Applies defaults for `def`'s kind to `obj` (`create` = the object is new).
pub fn apply(def: &ResourceDef, obj: &mut Value, create: bool) {
    if !def.builtin {
        return;
    }
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Namespace") => {
            default(&mut obj["spec"], "finalizers", json!(["kubernetes"]));
            if create {
                obj["status"] = json!({"phase": "Active"});
            }
        }
        ("", "Pod") => {
            pod_spec(&mut obj["spec"]);
            if create {
                obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
            }
        }
        ("", "Service") => service(obj),
        ("", "Secret") => default(obj, "type", json!("Opaque")),
        ("apps", "Deployment") => {
            let spec = &mut obj["spec"];
            default(spec, "replicas", json!(1));
            default(spec, "revisionHistoryLimit", json!(10));
            default(spec, "progressDeadlineSeconds", json!(600));
            default(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
            pod_spec(&mut spec["template"]["spec"]);
        }
        ("apps", "ReplicaSet") => {
            default(&mut obj["spec"], "replicas", json!(1));
            pod_spec(&mut obj["spec"]["template"]["spec"]);
        }
        ("apps", "StatefulSet") => stateful_set(&mut obj["spec"]),
        ("batch", "Job") => {
            if create {
                job_selector(obj);
            }
            job(&mut obj["spec"]);
        }
        ("batch", "CronJob") => {
            let spec = &mut obj["spec"];
            default(spec, "concurrencyPolicy", json!("Allow"));
            default(spec, "suspend", json!(false));
            default(spec, "successfulJobsHistoryLimit", json!(3));
            default(spec, "failedJobsHistoryLimit", json!(1));
            job(&mut spec["jobTemplate"]["spec"]);
        }
        _ => {}
    }
}

fn stateful_set(spec: &mut Value) {
    default(spec, "replicas", json!(1));
    default(spec, "podManagementPolicy", json!("OrderedReady"));
    default(spec, "revisionHistoryLimit", json!(10));
    default(
        spec,
        "updateStrategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    );
    default(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    pod_spec(&mut spec["template"]["spec"]);
}

fn job(spec: &mut Value) {
    if spec["completions"].is_null() && spec["parallelism"].is_null() {
        default(spec, "completions", json!(1));
    }
    default(spec, "parallelism", json!(1));
    default(spec, "backoffLimit", json!(6));
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    pod_spec(&mut spec["template"]["spec"]);
}

/// The job strategy's generated selector: the Job's uid as a label on its pods.
fn job_selector(obj: &mut Value) {
    if obj["spec"]["manualSelector"] == true {
        return;
    }
    let uid = obj["metadata"]["uid"].clone();
    let name = obj["metadata"]["name"].clone();
    obj["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    let labels = &mut obj["spec"]["template"]["metadata"]["labels"];
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels[k] = v.clone();
    }
}

fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "securityContext", json!({}));
    for list in ["containers", "initContainers"] {
        let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in cs {
            container(c);
        }
    }
}

fn container(c: &mut Value) {
    let image = c["image"].as_str().unwrap_or("").to_string();
    let tag = image.rsplit('/').next().unwrap_or("");
    let latest = !tag.contains(':') || tag.ends_with(":latest");
    let policy = if latest && !image.contains('@') {
        "Always"
    } else {
        "IfNotPresent"
    };
    default(c, "imagePullPolicy", json!(policy));
    default(c, "terminationMessagePath", json!("/dev/termination-log"));
    default(c, "terminationMessagePolicy", json!("File"));
    default(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            default(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).filter(|p| p.is_object()) {
            default(p, "timeoutSeconds", json!(1));
            default(p, "periodSeconds", json!(10));
            default(p, "successThreshold", json!(1));
            default(p, "failureThreshold", json!(3));
        }
    }
}

fn service(obj: &mut Value) {
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        return;
    }
    default(spec, "type", json!("ClusterIP"));
    if spec["type"] != "ExternalName" {
        default(spec, "sessionAffinity", json!("None"));
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            default(p, "protocol", json!("TCP"));
            // Go's zero values count as unset here: protobuf bodies carry `targetPort: 0`.
            let unset = matches!(p.get("targetPort"), None | Some(Value::Null))
                || p["targetPort"] == 0
                || p["targetPort"] == "";
            if unset && let Some(port) = p.get("port").cloned() {
                p["targetPort"] = port;
            }
        }
    }
}
