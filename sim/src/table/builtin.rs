//! Built-in printers ported from Kubernetes' `pkg/printers/internalversion/printers.go`
//! (column names, types, priorities and cell formats), rendered as the server does:
//! always with the wide (`priority: 1`) cells.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{AGE_DESC, NAME_DESC, age, column_json, human_duration_since};
use crate::selector::LabelSelector;

type CellFn = fn(&Value, Timestamp) -> Vec<Value>;

/// A column definition: name, type, description, priority.
pub(super) type Col = (&'static str, &'static str, &'static str, i32);

pub(super) const NAME: Col = ("Name", "string", NAME_DESC, 0);
pub(super) const AGE: Col = ("Age", "string", AGE_DESC, 0);
pub(super) const CONTAINERS: Col = (
    "Containers",
    "string",
    "Names of each container in the template.",
    1,
);
pub(super) const IMAGES: Col = (
    "Images",
    "string",
    "Images referenced by each container in the template.",
    1,
);

const NAME_AGE: &[Col] = &[NAME, AGE];
const NAMESPACE: &[Col] = &[
    NAME,
    ("Status", "string", "The status of the namespace", 0),
    AGE,
];
const POD: &[Col] = &[
    NAME,
    (
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
        0,
    ),
    (
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
        0,
    ),
    (
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        0,
    ),
    AGE,
    (
        "IP",
        "string",
        "podIP address allocated to the pod. Routable at least within the cluster.",
        1,
    ),
    (
        "Node",
        "string",
        "NodeName indicates in which node this pod is scheduled.",
        1,
    ),
    (
        "Nominated Node",
        "string",
        "nominatedNodeName is set only when this pod preempts other pods on the node.",
        1,
    ),
    (
        "Readiness Gates",
        "string",
        "If specified, all readiness gates will be evaluated for pod readiness.",
        1,
    ),
];
const SERVICE: &[Col] = &[
    NAME,
    (
        "Type",
        "string",
        "type determines how the Service is exposed.",
        0,
    ),
    (
        "Cluster-IP",
        "string",
        "clusterIP is the IP address of the service.",
        0,
    ),
    (
        "External-IP",
        "string",
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
        0,
    ),
    (
        "Port(s)",
        "string",
        "The list of ports that are exposed by this service.",
        0,
    ),
    AGE,
    (
        "Selector",
        "string",
        "Route service traffic to pods with label keys and values matching this selector.",
        1,
    ),
];
const ENDPOINTS: &[Col] = &[
    NAME,
    (
        "Endpoints",
        "string",
        "The set of all endpoints is the union of all subsets.",
        0,
    ),
    AGE,
];
const ENDPOINT_SLICE: &[Col] = &[
    NAME,
    (
        "AddressType",
        "string",
        "addressType specifies the type of address carried by this EndpointSlice.",
        0,
    ),
    (
        "Ports",
        "string",
        "ports specifies the list of network ports exposed by each endpoint in this slice.",
        0,
    ),
    (
        "Endpoints",
        "string",
        "endpoints is a list of unique endpoints in this slice.",
        0,
    ),
    AGE,
];
const DEPLOYMENT: &[Col] = &[
    NAME,
    ("Ready", "string", "Number of the pod with ready state", 0),
    (
        "Up-to-date",
        "string",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        0,
    ),
    (
        "Available",
        "string",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        0,
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    ("Selector", "string", "Label selector for pods.", 1),
];
const REPLICA_SET: &[Col] = &[
    NAME,
    (
        "Desired",
        "integer",
        "Replicas is the number of desired replicas.",
        0,
    ),
    (
        "Current",
        "integer",
        "Replicas is the most recently observed number of replicas.",
        0,
    ),
    (
        "Ready",
        "integer",
        "The number of ready replicas for this replica set.",
        0,
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    (
        "Selector",
        "string",
        "Selector is a label query over pods that should match the replica count.",
        1,
    ),
];
const CONFIG_MAP: &[Col] = &[
    NAME,
    ("Data", "string", "Data contains the configuration data.", 0),
    AGE,
];
const SECRET: &[Col] = &[
    NAME,
    (
        "Type",
        "string",
        "Used to facilitate programmatic handling of secret data.",
        0,
    ),
    ("Data", "string", "Data contains the secret data.", 0),
    AGE,
];
const EVENT: &[Col] = &[
    (
        "Last Seen",
        "string",
        "The time at which the most recent occurrence of this event was recorded.",
        0,
    ),
    (
        "Type",
        "string",
        "Type of this event (Normal, Warning), new types could be added in the future",
        0,
    ),
    (
        "Reason",
        "string",
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        0,
    ),
    (
        "Object",
        "string",
        "The object that this event is about.",
        0,
    ),
    (
        "Subobject",
        "string",
        "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
        1,
    ),
    (
        "Source",
        "string",
        "The component reporting this event. Should be a short machine understandable string.",
        1,
    ),
    (
        "Message",
        "string",
        "A human-readable description of the status of this operation.",
        0,
    ),
    (
        "First Seen",
        "string",
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
        1,
    ),
    (
        "Count",
        "string",
        "The number of times this event has occurred.",
        1,
    ),
    ("Name", "string", NAME_DESC, 1),
];
const LEASE: &[Col] = &[
    NAME,
    (
        "Holder",
        "string",
        "holderIdentity contains the identity of the holder of a current lease.",
        0,
    ),
    AGE,
];
const CRD: &[Col] = &[NAME, ("Created At", "date", AGE_DESC, 0)];
const NODE: &[Col] = &[
    NAME,
    ("Status", "string", "The status of the node", 0),
    ("Roles", "string", "The roles of the node", 0),
    AGE,
    (
        "Version",
        "string",
        "Kubelet Version reported by the node.",
        0,
    ),
    (
        "Internal-IP",
        "string",
        "List of addresses reachable to the node.",
        1,
    ),
    (
        "External-IP",
        "string",
        "List of addresses reachable to the node.",
        1,
    ),
    (
        "OS-Image",
        "string",
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        1,
    ),
    (
        "Kernel-Version",
        "string",
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        1,
    ),
    (
        "Container-Runtime",
        "string",
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        1,
    ),
];

/// The columns and cell function of one kind.
pub(super) struct Printer {
    columns: &'static [Col],
    pub(super) cells: CellFn,
}

impl Printer {
    pub(super) fn definitions(&self) -> Vec<Value> {
        let defs = self.columns.iter();
        defs.map(|&(n, t, d, p)| column_json(n, t, if n == "Name" { "name" } else { "" }, d, p))
            .collect()
    }
}

/// The printer for (group, kind); Name + Age for kinds without a dedicated one.
pub(super) fn lookup(group: &str, kind: &str) -> Printer {
    let (columns, cells): (&'static [Col], CellFn) = match (group, kind) {
        ("", "Namespace") => (NAMESPACE, namespace),
        ("", "Pod") => (POD, pod),
        ("", "Service") => (SERVICE, service),
        ("", "Endpoints") => (ENDPOINTS, endpoints),
        ("discovery.k8s.io", "EndpointSlice") => (ENDPOINT_SLICE, endpoint_slice),
        ("apps", "Deployment") => (DEPLOYMENT, deployment),
        ("apps", "ReplicaSet") => (REPLICA_SET, replica_set),
        ("", "ConfigMap") => (CONFIG_MAP, config_map),
        ("", "Secret") => (SECRET, secret),
        ("", "Event") | ("events.k8s.io", "Event") => (EVENT, event),
        ("coordination.k8s.io", "Lease") => (LEASE, lease),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => (CRD, crd),
        ("", "Node") => (NODE, node),
        ("apps", "StatefulSet") => (
            super::workloads::STATEFUL_SET,
            super::workloads::stateful_set,
        ),
        ("batch", "Job") => (super::workloads::JOB, super::workloads::job),
        ("batch", "CronJob") => (super::workloads::CRON_JOB, super::workloads::cron_job),
        _ => (NAME_AGE, name_age),
    };
    Printer { columns, cells }
}

/// Row conditions: Kubernetes marks finished pods `Completed`.
pub(super) fn conditions(group: &str, kind: &str, obj: &Value) -> Option<Value> {
    let (reason, message) = match ((group, kind), st(&obj["status"]["phase"])) {
        (("", "Pod"), "Succeeded") => ("Succeeded", "The pod has completed successfully."),
        (("", "Pod"), "Failed") => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

pub(super) fn st(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

pub(super) fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn or<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.is_empty() { default } else { s }
}

pub(super) fn name(o: &Value) -> Value {
    Value::from(st(&o["metadata"]["name"]))
}

pub(super) fn created(o: &Value, now: Timestamp) -> Value {
    Value::from(age(st(&o["metadata"]["creationTimestamp"]), now))
}

/// `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty.
pub(super) fn format_labels(m: &Value) -> String {
    let mut pairs: Vec<String> = m
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", st(v)))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".into()
    } else {
        pairs.join(",")
    }
}

/// Up to three items, then ` + N more...`; `<unset>` when empty.
fn list_with_more(items: &[String]) -> String {
    let ret = items.iter().take(3).cloned().collect::<Vec<_>>().join(",");
    match items.len() {
        n if n > 3 => format!("{ret} + {} more...", n - 3),
        _ if ret.is_empty() => "<unset>".into(),
        _ => ret,
    }
}

pub(super) fn container_cells(template_spec: &Value) -> [Value; 2] {
    let ctrs = list(&template_spec["containers"]);
    let names: Vec<&str> = ctrs.iter().map(|c| st(&c["name"])).collect();
    let images: Vec<&str> = ctrs.iter().map(|c| st(&c["image"])).collect();
    [Value::from(names.join(",")), Value::from(images.join(","))]
}

fn name_age(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(o), created(o, now)]
}

fn namespace(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(o),
        Value::from(st(&o["status"]["phase"])),
        created(o, now),
    ]
}

#[derive(Default)]
struct PodTally {
    ready: usize,
    restarts: i64,
    last: Option<Timestamp>,
    sidecar_restarts: i64,
    sidecar_last: Option<Timestamp>,
}

fn later(cur: &mut Option<Timestamp>, status: &Value) {
    if let Ok(t) = st(&status["lastState"]["terminated"]["finishedAt"]).parse::<Timestamp>() {
        *cur = Some(cur.map_or(t, |c| c.max(t)));
    }
}

fn terminated_reason(term: &Value, prefix: &str) -> String {
    match st(&term["reason"]) {
        "" if int(&term["signal"]) != 0 => format!("{prefix}Signal:{}", int(&term["signal"])),
        "" => format!("{prefix}ExitCode:{}", int(&term["exitCode"])),
        r => format!("{prefix}{r}"),
    }
}

/// Init-container pass of `printPod`; true while the pod is still initializing.
fn init_statuses(o: &Value, t: &mut PodTally, reason: &mut String) -> bool {
    let specs = list(&o["spec"]["initContainers"]);
    let sidecar = |n: &str| {
        specs
            .iter()
            .any(|c| st(&c["name"]) == n && st(&c["restartPolicy"]) == "Always")
    };
    for (i, c) in list(&o["status"]["initContainerStatuses"])
        .iter()
        .enumerate()
    {
        t.restarts += int(&c["restartCount"]);
        later(&mut t.last, c);
        let is_sidecar = sidecar(st(&c["name"]));
        if is_sidecar {
            t.sidecar_restarts += int(&c["restartCount"]);
            later(&mut t.sidecar_last, c);
        }
        let (term, waiting) = (
            &c["state"]["terminated"],
            st(&c["state"]["waiting"]["reason"]),
        );
        if term.is_object() && int(&term["exitCode"]) == 0 {
            continue;
        }
        if is_sidecar && c["started"] == true {
            t.ready += usize::from(c["ready"] == true);
            continue;
        }
        *reason = if term.is_object() {
            terminated_reason(term, "Init:")
        } else if !waiting.is_empty() && waiting != "PodInitializing" {
            format!("Init:{waiting}")
        } else {
            format!("Init:{i}/{}", specs.len())
        };
        return true;
    }
    false
}

fn has_condition(o: &Value, ty: &str) -> bool {
    list(&o["status"]["conditions"])
        .iter()
        .any(|c| st(&c["type"]) == ty && st(&c["status"]) == "True")
}

/// Main-container pass of `printPod` (iterates statuses last to first).
fn container_statuses(o: &Value, t: &mut PodTally, reason: &mut String) {
    t.restarts = t.sidecar_restarts;
    t.last = t.sidecar_last;
    let mut has_running = false;
    for c in list(&o["status"]["containerStatuses"]).iter().rev() {
        t.restarts += int(&c["restartCount"]);
        later(&mut t.last, c);
        let (waiting, term) = (
            st(&c["state"]["waiting"]["reason"]),
            &c["state"]["terminated"],
        );
        if !waiting.is_empty() {
            *reason = waiting.to_owned();
        } else if term.is_object() {
            *reason = terminated_reason(term, "");
        } else if c["ready"] == true && c["state"]["running"].is_object() {
            has_running = true;
            t.ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        *reason = if has_condition(o, "Ready") {
            "Running"
        } else {
            "NotReady"
        }
        .into();
    }
}

fn pod(o: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&o["spec"], &o["status"]);
    let phase = st(&status["phase"]);
    let mut reason = or(st(&status["reason"]), phase).to_owned();
    let gated =
        |c: &Value| st(&c["type"]) == "PodScheduled" && st(&c["reason"]) == "SchedulingGated";
    if list(&status["conditions"]).iter().any(gated) {
        reason = "SchedulingGated".into();
    }
    let sidecars = list(&spec["initContainers"])
        .iter()
        .filter(|c| st(&c["restartPolicy"]) == "Always")
        .count();
    let total = list(&spec["containers"]).len() + sidecars;
    let mut t = PodTally::default();
    let initializing = init_statuses(o, &mut t, &mut reason);
    if !initializing || has_condition(o, "Initialized") {
        container_statuses(o, &mut t, &mut reason);
    }
    if !o["metadata"]["deletionTimestamp"].is_null() {
        if st(&status["reason"]) == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }
    let restarts = match t.last {
        Some(last) if t.restarts != 0 => {
            format!("{} ({} ago)", t.restarts, human_duration_since(last, now))
        }
        _ => t.restarts.to_string(),
    };
    let ip = list(&status["podIPs"])
        .first()
        .map_or_else(|| st(&status["podIP"]), |p| st(&p["ip"]));
    let gates = list(&spec["readinessGates"]);
    let passed = gates
        .iter()
        .filter(|g| has_condition(o, st(&g["conditionType"])))
        .count();
    let gates = if gates.is_empty() {
        "<none>".into()
    } else {
        format!("{passed}/{}", gates.len())
    };
    let cells = [format!("{}/{total}", t.ready), reason, restarts];
    let wide = [
        or(ip, "<none>"),
        or(st(&spec["nodeName"]), "<none>"),
        or(st(&status["nominatedNodeName"]), "<none>"),
    ];
    let mut row = vec![name(o)];
    row.extend(cells.map(Value::from));
    row.push(created(o, now));
    row.extend(wide.map(Value::from));
    row.push(Value::from(gates));
    row
}

fn service_external_ip(spec: &Value, status: &Value, ty: &str) -> String {
    let external: Vec<&str> = list(&spec["externalIPs"]).iter().map(st).collect();
    match ty {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".into(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            let ingress = list(&status["loadBalancer"]["ingress"]).iter();
            let lb: BTreeSet<&str> = ingress
                .map(|i| or(st(&i["ip"]), st(&i["hostname"])))
                .filter(|s| !s.is_empty())
                .collect();
            let all: Vec<&str> = lb.into_iter().chain(external).collect();
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => st(&spec["externalName"]).into(),
        _ => "<unknown>".into(),
    }
}

fn service(o: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &o["spec"];
    let ty = or(st(&spec["type"]), "ClusterIP");
    let cluster_ip = list(&spec["clusterIPs"])
        .first()
        .map_or_else(|| st(&spec["clusterIP"]), st);
    let ports: Vec<String> = list(&spec["ports"])
        .iter()
        .map(|p| {
            let proto = or(st(&p["protocol"]), "TCP");
            match int(&p["nodePort"]) {
                n if n > 0 => format!("{}:{n}/{proto}", int(&p["port"])),
                _ => format!("{}/{proto}", int(&p["port"])),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    };
    let external = service_external_ip(spec, &o["status"], ty);
    let cells = [ty.into(), or(cluster_ip, "<none>").into(), external, ports];
    let mut row = vec![name(o)];
    row.extend(cells.map(Value::from));
    row.extend([
        created(o, now),
        Value::from(format_labels(&spec["selector"])),
    ]);
    row
}

/// `formatEndpoints`: `ip:port` for every (port, address), at most three shown.
fn format_endpoints(o: &Value) -> String {
    let subsets = list(&o["subsets"]);
    if subsets.is_empty() {
        return "<none>".into();
    }
    let (mut shown, mut count, mut more) = (Vec::new(), 0, false);
    for ss in subsets {
        let addrs = list(&ss["addresses"]);
        let ports: Vec<Option<i64>> = match list(&ss["ports"]) {
            [] => vec![None],
            ps => ps.iter().map(|p| Some(int(&p["port"]))).collect(),
        };
        for port in ports {
            count += addrs.len();
            for a in addrs {
                if shown.len() == 3 {
                    more = true;
                    break;
                }
                let ip = st(&a["ip"]);
                shown.push(match port {
                    None => ip.to_owned(),
                    Some(p) if ip.contains(':') => format!("[{ip}]:{p}"),
                    Some(p) => format!("{ip}:{p}"),
                });
            }
        }
    }
    let ret = shown.join(",");
    if more {
        format!("{ret} + {} more...", count - 3)
    } else {
        ret
    }
}

fn endpoints(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(o), Value::from(format_endpoints(o)), created(o, now)]
}

fn endpoint_slice(o: &Value, now: Timestamp) -> Vec<Value> {
    let ports: Vec<String> = list(&o["ports"])
        .iter()
        .map(|p| match (&p["port"], st(&p["name"])) {
            (Value::Number(n), _) => n.to_string(),
            (_, "") => "*".into(),
            (_, n) => n.into(),
        })
        .collect();
    let addrs: Vec<String> = list(&o["endpoints"])
        .iter()
        .flat_map(|e| list(&e["addresses"]).iter().map(|a| st(a).to_owned()))
        .collect();
    let cells = [
        st(&o["addressType"]).to_owned(),
        list_with_more(&ports),
        list_with_more(&addrs),
    ];
    let mut row = vec![name(o)];
    row.extend(cells.map(Value::from));
    row.push(created(o, now));
    row
}

fn deployment(o: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&o["spec"], &o["status"]);
    let desired = spec["replicas"].as_i64().unwrap_or(1);
    let selector = LabelSelector::from_label_selector_json(&spec["selector"])
        .map_or_else(|_| "<invalid>".into(), |s| s.to_string());
    let ready = format!("{}/{desired}", int(&status["readyReplicas"]));
    let mut row = vec![
        name(o),
        Value::from(ready),
        Value::from(int(&status["updatedReplicas"])),
    ];
    row.extend([
        Value::from(int(&status["availableReplicas"])),
        created(o, now),
    ]);
    row.extend(container_cells(&spec["template"]["spec"]));
    row.push(Value::from(selector));
    row
}

fn replica_set(o: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&o["spec"], &o["status"]);
    let selector =
        match LabelSelector::from_label_selector_json(&spec["selector"]).map(|s| s.to_string()) {
            Err(_) => "<error>".into(),
            Ok(s) if s.is_empty() => "<none>".into(),
            Ok(s) => s,
        };
    let counts = [
        spec["replicas"].as_i64().unwrap_or(1),
        int(&status["replicas"]),
        int(&status["readyReplicas"]),
    ];
    let mut row = vec![name(o)];
    row.extend(counts.map(Value::from));
    row.push(created(o, now));
    row.extend(container_cells(&spec["template"]["spec"]));
    row.push(Value::from(selector));
    row
}

fn config_map(o: &Value, now: Timestamp) -> Vec<Value> {
    let n = |k: &str| o[k].as_object().map_or(0, |m| m.len());
    vec![
        name(o),
        Value::from(n("data") + n("binaryData")),
        created(o, now),
    ]
}

fn secret(o: &Value, now: Timestamp) -> Vec<Value> {
    let keys = |k: &str| o[k].as_object().into_iter().flat_map(|m| m.keys().cloned());
    let count = keys("data")
        .chain(keys("stringData"))
        .collect::<BTreeSet<_>>()
        .len();
    vec![
        name(o),
        Value::from(or(st(&o["type"]), "Opaque")),
        Value::from(count),
        created(o, now),
    ]
}

fn lease(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(o),
        Value::from(st(&o["spec"]["holderIdentity"])),
        created(o, now),
    ]
}

fn crd(o: &Value, _now: Timestamp) -> Vec<Value> {
    let ts = st(&o["metadata"]["creationTimestamp"]).parse::<Timestamp>();
    let at = ts.map_or_else(
        |_| "0001-01-01T00:00:00Z".into(),
        |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    vec![name(o), Value::from(at)]
}

fn event(o: &Value, now: Timestamp) -> Vec<Value> {
    let converted;
    let e = if o.get("regarding").is_some() || st(&o["apiVersion"]).starts_with("events.k8s.io") {
        converted = crate::convert::events_v1_to_core(o);
        &converted
    } else {
        o
    };
    let since = |v: &Value| age(st(v), now);
    let first = since(if st(&e["firstTimestamp"]).is_empty() {
        &e["eventTime"]
    } else {
        &e["firstTimestamp"]
    });
    let mut last = if st(&e["lastTimestamp"]).is_empty() {
        first.clone()
    } else {
        since(&e["lastTimestamp"])
    };
    let mut count = int(&e["count"]);
    if e["series"].is_object() {
        last = since(&e["series"]["lastObservedTime"]);
        count = int(&e["series"]["count"]);
    } else if count == 0 {
        count = 1;
    }
    let involved = &e["involvedObject"];
    let kind = st(&involved["kind"]).to_lowercase();
    let target = match st(&involved["name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = or(st(&e["source"]["component"]), st(&e["reportingComponent"]));
    let instance = or(st(&e["source"]["host"]), st(&e["reportingInstance"]));
    let source = if instance.is_empty() {
        component.to_owned()
    } else {
        format!("{component}, {instance}")
    };
    let head = [
        last,
        st(&e["type"]).into(),
        st(&e["reason"]).into(),
        target,
        st(&involved["fieldPath"]).into(),
    ];
    let mut row: Vec<Value> = head.map(Value::from).into();
    row.extend([source, st(&e["message"]).trim().to_owned(), first].map(Value::from));
    row.extend([Value::from(count), name(e)]);
    row
}

fn node(o: &Value, now: Timestamp) -> Vec<Value> {
    let ready = list(&o["status"]["conditions"])
        .iter()
        .rev()
        .find(|c| st(&c["type"]) == "Ready");
    let mut status = vec![ready.map_or("Unknown", |c| {
        if st(&c["status"]) == "True" {
            "Ready"
        } else {
            "NotReady"
        }
    })];
    if o["spec"]["unschedulable"] == true {
        status.push("SchedulingDisabled");
    }
    let mut roles = BTreeSet::new();
    for (k, v) in o["metadata"]["labels"].as_object().into_iter().flatten() {
        match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => roles.insert(role),
            _ if k == "kubernetes.io/role" && !st(v).is_empty() => roles.insert(st(v)),
            _ => false,
        };
    }
    let roles = if roles.is_empty() {
        "<none>".into()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };
    let address = |ty: &str| {
        let found = list(&o["status"]["addresses"])
            .iter()
            .find(|a| st(&a["type"]) == ty);
        found.map_or("<none>", |a| st(&a["address"]))
    };
    let info = &o["status"]["nodeInfo"];
    let unknown = |k: &str| or(st(&info[k]), "<unknown>");
    let mut row = vec![
        name(o),
        Value::from(status.join(",")),
        Value::from(roles),
        created(o, now),
    ];
    row.extend(
        [
            st(&info["kubeletVersion"]),
            address("InternalIP"),
            address("ExternalIP"),
        ]
        .map(Value::from),
    );
    row.extend(
        [
            unknown("osImage"),
            unknown("kernelVersion"),
            unknown("containerRuntimeVersion"),
        ]
        .map(Value::from),
    );
    row
}

#[cfg(test)]
mod tests {
    use super::super::to_table;
    use super::*;

    fn now() -> Timestamp {
        "2024-06-01T12:00:00Z".parse().unwrap()
    }

    /// RFC 3339 time `secs` before `now()`.
    fn ago(secs: i64) -> String {
        now()
            .checked_sub(jiff::SignedDuration::from_secs(secs))
            .unwrap()
            .to_string()
    }

    fn with_meta(name: &str, mut obj: Value) -> Value {
        obj["metadata"] =
            json!({"name": name, "namespace": "default", "creationTimestamp": ago(300)});
        obj
    }

    fn row(group: &str, kind: &str, obj: &Value) -> Value {
        to_table(
            group,
            kind,
            None,
            std::slice::from_ref(obj),
            json!({}),
            "None",
            now(),
        )["rows"][0]
            .clone()
    }

    fn cells(group: &str, kind: &str, obj: &Value) -> Value {
        row(group, kind, obj)["cells"].clone()
    }

    fn headers(group: &str, kind: &str) -> Vec<(String, i64)> {
        let t = to_table(group, kind, None, &[], json!({}), "None", now());
        let defs = t["columnDefinitions"].as_array().unwrap().clone();
        defs.iter()
            .map(|d| {
                (
                    d["name"].as_str().unwrap().to_owned(),
                    d["priority"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    fn names(group: &str, kind: &str) -> Vec<String> {
        headers(group, kind).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn column_definitions_carry_all_fields() {
        let t = to_table("", "Pod", None, &[], json!({}), "None", now());
        let name = &t["columnDefinitions"][0];
        assert_eq!(
            (
                name["name"].as_str(),
                name["type"].as_str(),
                name["format"].as_str()
            ),
            (Some("Name"), Some("string"), Some("name"))
        );
        assert!(
            name["description"]
                .as_str()
                .unwrap()
                .starts_with("Name must be unique within a namespace.")
        );
        assert_eq!(t["columnDefinitions"][1]["format"], "");
        let wide: Vec<String> = headers("", "Pod")
            .into_iter()
            .filter(|(_, p)| *p == 1)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(wide, ["IP", "Node", "Nominated Node", "Readiness Gates"]);
    }

    #[test]
    fn namespace_printer() {
        assert_eq!(names("", "Namespace"), ["Name", "Status", "Age"]);
        let ns = with_meta("team-a", json!({"status": {"phase": "Active"}}));
        assert_eq!(
            cells("", "Namespace", &ns),
            json!(["team-a", "Active", "5m"])
        );
    }

    fn running_pod() -> Value {
        with_meta(
            "web",
            json!({
                "spec": {"nodeName": "node-1", "containers": [{"name": "app"}, {"name": "side"}],
                         "readinessGates": [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]},
                "status": {"phase": "Running", "podIPs": [{"ip": "10.1.0.5"}],
                    "conditions": [{"type": "Ready", "status": "True"}, {"type": "example.com/lb", "status": "True"}],
                    "containerStatuses": [
                        {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}},
                        {"name": "side", "ready": true, "restartCount": 2, "state": {"running": {}},
                         "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}}
                    ]}
            }),
        )
    }

    #[test]
    fn pod_printer_running_and_wide() {
        assert_eq!(
            names("", "Pod"),
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        assert_eq!(
            cells("", "Pod", &running_pod()),
            json!([
                "web",
                "2/2",
                "Running",
                "2 (5m ago)",
                "5m",
                "10.1.0.5",
                "node-1",
                "<none>",
                "1/2"
            ])
        );
        let bare = with_meta(
            "p",
            json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}}),
        );
        assert_eq!(
            cells("", "Pod", &bare),
            json!([
                "p", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"
            ])
        );
    }

    #[test]
    fn pod_printer_status_reasons() {
        let mut p = running_pod();
        p["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "CrashLoopBackOff"}});
        p["status"]["containerStatuses"][0]["ready"] = json!(false);
        assert_eq!(
            cells("", "Pod", &p).as_array().unwrap()[1..3],
            [json!("1/2"), json!("CrashLoopBackOff")]
        );
        let mut t = running_pod();
        t["metadata"]["deletionTimestamp"] = json!(ago(1));
        assert_eq!(cells("", "Pod", &t)[2], "Terminating");
        let mut done = running_pod();
        done["status"]["phase"] = json!("Succeeded");
        done["status"]["containerStatuses"] = json!([{"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]);
        let r = row("", "Pod", &done);
        assert_eq!(r["cells"][2], "Completed");
        assert_eq!(
            r["conditions"],
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
        );
        assert!(row("", "Pod", &running_pod()).get("conditions").is_none());
        let mut sig = running_pod();
        sig["status"]["containerStatuses"] =
            json!([{"name": "app", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]);
        assert_eq!(cells("", "Pod", &sig)[2], "Signal:9");
    }

    #[test]
    fn pod_printer_init_containers() {
        let mut p = with_meta(
            "p",
            json!({"spec": {"initContainers": [{"name": "init"}, {"name": "init2"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "init", "state": {"terminated": {"exitCode": 0}}},
                {"name": "init2", "state": {"running": {}}}]}}),
        );
        assert_eq!(cells("", "Pod", &p)[2], "Init:1/2");
        p["status"]["initContainerStatuses"][1]["state"] =
            json!({"waiting": {"reason": "ImagePullBackOff"}});
        assert_eq!(cells("", "Pod", &p)[2], "Init:ImagePullBackOff");
        p["status"]["initContainerStatuses"][1]["state"] = json!({"terminated": {"exitCode": 3}});
        assert_eq!(cells("", "Pod", &p)[2], "Init:ExitCode:3");
        let sidecar = with_meta(
            "s",
            json!({"spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Running", "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "state": {"running": {}}}],
                "containerStatuses": [{"name": "a", "ready": true, "state": {"running": {}}}]}}),
        );
        assert_eq!(
            cells("", "Pod", &sidecar).as_array().unwrap()[1..3],
            [json!("2/2"), json!("Running")]
        );
    }

    fn svc(spec: Value, status: Value) -> Value {
        with_meta("web", json!({"spec": spec, "status": status}))
    }

    #[test]
    fn service_printer() {
        assert_eq!(
            names("", "Service"),
            [
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
                "Selector"
            ]
        );
        let c = svc(
            json!({"type": "ClusterIP", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}], "selector": {"app": "web", "tier": "fe"}}),
            json!({}),
        );
        assert_eq!(
            cells("", "Service", &c),
            json!([
                "web",
                "ClusterIP",
                "10.96.0.10",
                "<none>",
                "80/TCP,53/UDP",
                "5m",
                "app=web,tier=fe"
            ])
        );
        let np = svc(
            json!({"type": "NodePort", "clusterIP": "10.96.0.11", "externalIPs": ["1.2.3.4"], "ports": [{"port": 80, "nodePort": 30080}]}),
            json!({}),
        );
        assert_eq!(
            cells("", "Service", &np),
            json!([
                "web",
                "NodePort",
                "10.96.0.11",
                "1.2.3.4",
                "80:30080/TCP",
                "5m",
                "<none>"
            ])
        );
        let lb = svc(
            json!({"type": "LoadBalancer", "clusterIP": "None", "ports": [{"port": 443}]}),
            json!({}),
        );
        assert_eq!(
            cells("", "Service", &lb).as_array().unwrap()[2..4],
            [json!("None"), json!("<pending>")]
        );
        let lb2 = svc(
            json!({"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]}),
            json!({"loadBalancer": {"ingress": [{"hostname": "lb.example"}, {"ip": "5.5.5.5"}]}}),
        );
        assert_eq!(
            cells("", "Service", &lb2).as_array().unwrap()[2..5],
            [
                json!("<none>"),
                json!("5.5.5.5,lb.example,9.9.9.9"),
                json!("<none>")
            ]
        );
        let en = svc(
            json!({"type": "ExternalName", "externalName": "db.example.com"}),
            json!({}),
        );
        assert_eq!(cells("", "Service", &en)[3], "db.example.com");
    }

    fn eps(subsets: Value) -> Value {
        with_meta("web", json!({"subsets": subsets}))
    }

    #[test]
    fn endpoints_printer() {
        assert_eq!(names("", "Endpoints"), ["Name", "Endpoints", "Age"]);
        let two = eps(
            json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 8080}]}]),
        );
        assert_eq!(
            cells("", "Endpoints", &two),
            json!(["web", "10.0.0.1:8080,10.0.0.2:8080", "5m"])
        );
        let five = eps(
            json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}, {"ip": "10.0.0.5"}], "ports": [{"port": 80}]}]),
        );
        assert_eq!(
            cells("", "Endpoints", &five)[1],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."
        );
        let two_ports = eps(
            json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}]),
        );
        assert_eq!(
            cells("", "Endpoints", &two_ports)[1],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."
        );
        assert_eq!(cells("", "Endpoints", &eps(json!([])))[1], "<none>");
        assert_eq!(
            cells("", "Endpoints", &with_meta("x", json!({})))[1],
            "<none>"
        );
        assert_eq!(
            cells(
                "",
                "Endpoints",
                &eps(json!([{"addresses": [{"ip": "10.0.0.9"}]}]))
            )[1],
            "10.0.0.9"
        );
        assert_eq!(
            cells(
                "",
                "Endpoints",
                &eps(json!([{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]))
            )[1],
            "[fd00::1]:80"
        );
    }

    #[test]
    fn endpoint_slice_printer() {
        assert_eq!(
            names("discovery.k8s.io", "EndpointSlice"),
            ["Name", "AddressType", "Ports", "Endpoints", "Age"]
        );
        let s = with_meta(
            "web-abc",
            json!({"addressType": "IPv4", "ports": [{"port": 80}, {"name": "dns"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}, {"addresses": ["10.0.0.4"]}]}),
        );
        assert_eq!(
            cells("discovery.k8s.io", "EndpointSlice", &s),
            json!([
                "web-abc",
                "IPv4",
                "80,dns,*",
                "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
                "5m"
            ])
        );
        let empty = with_meta("e", json!({"addressType": "IPv6"}));
        assert_eq!(
            cells("discovery.k8s.io", "EndpointSlice", &empty)
                .as_array()
                .unwrap()[2..4],
            [json!("<unset>"), json!("<unset>")]
        );
    }

    fn workload() -> Value {
        with_meta(
            "web",
            json!({
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1"}, {"name": "log", "image": "busybox"}]}}},
                "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
            }),
        )
    }

    #[test]
    fn deployment_and_replicaset_printers() {
        assert_eq!(
            headers("apps", "Deployment")
                .iter()
                .map(|(n, p)| format!("{n}:{p}"))
                .collect::<Vec<_>>(),
            [
                "Name:0",
                "Ready:0",
                "Up-to-date:0",
                "Available:0",
                "Age:0",
                "Containers:1",
                "Images:1",
                "Selector:1"
            ]
        );
        assert_eq!(
            cells("apps", "Deployment", &workload()),
            json!([
                "web",
                "2/3",
                3,
                2,
                "5m",
                "app,log",
                "nginx:1,busybox",
                "app=web"
            ])
        );
        assert_eq!(
            names("apps", "ReplicaSet"),
            [
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
        assert_eq!(
            cells("apps", "ReplicaSet", &workload()),
            json!([
                "web",
                3,
                3,
                2,
                "5m",
                "app,log",
                "nginx:1,busybox",
                "app=web"
            ])
        );
        let bare = with_meta("rs", json!({}));
        assert_eq!(
            cells("apps", "ReplicaSet", &bare),
            json!(["rs", 1, 0, 0, "5m", "", "", "<none>"])
        );
        assert_eq!(
            cells("apps", "Deployment", &bare),
            json!(["rs", "0/1", 0, 0, "5m", "", "", ""])
        );
        let mut bad = workload();
        bad["spec"]["selector"] = json!({"matchExpressions": [{"key": "a", "operator": "Bad"}]});
        assert_eq!(cells("apps", "Deployment", &bad)[7], "<invalid>");
        assert_eq!(cells("apps", "ReplicaSet", &bad)[7], "<error>");
    }

    #[test]
    fn config_printers() {
        assert_eq!(names("", "ConfigMap"), ["Name", "Data", "Age"]);
        let cm = with_meta(
            "cfg",
            json!({"data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}}),
        );
        assert_eq!(cells("", "ConfigMap", &cm), json!(["cfg", 3, "5m"]));
        assert_eq!(names("", "Secret"), ["Name", "Type", "Data", "Age"]);
        let s = with_meta(
            "s",
            json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
        );
        assert_eq!(
            cells("", "Secret", &s),
            json!(["s", "kubernetes.io/tls", 2, "5m"])
        );
        assert_eq!(
            cells("", "Secret", &with_meta("o", json!({})))
                .as_array()
                .unwrap()[1..3],
            [json!("Opaque"), json!(0)]
        );
        assert_eq!(names("", "ServiceAccount"), ["Name", "Age"]);
        let sa = with_meta("default", json!({"secrets": [{"name": "tok"}]}));
        assert_eq!(cells("", "ServiceAccount", &sa), json!(["default", "5m"]));
    }

    #[test]
    fn event_printer() {
        assert_eq!(
            names("", "Event"),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ]
        );
        let e = with_meta(
            "web.1",
            json!({"type": "Warning", "reason": "BackOff", "message": " Back-off restarting \n",
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
            "source": {"component": "kubelet", "host": "node-1"}, "count": 4,
            "firstTimestamp": ago(3600), "lastTimestamp": ago(30)}),
        );
        assert_eq!(
            cells("", "Event", &e),
            json!([
                "30s",
                "Warning",
                "BackOff",
                "pod/web",
                "spec.containers{app}",
                "kubelet, node-1",
                "Back-off restarting",
                "60m",
                4,
                "web.1"
            ])
        );
        let v1 = with_meta(
            "n.1",
            json!({"apiVersion": "events.k8s.io/v1", "type": "Normal", "reason": "Sync", "note": "ok",
            "regarding": {"kind": "Node"}, "reportingController": "ctrl", "eventTime": ago(10),
            "series": {"count": 7, "lastObservedTime": ago(5)}}),
        );
        assert_eq!(
            cells("events.k8s.io", "Event", &v1),
            json!([
                "5s", "Normal", "Sync", "node", "", "ctrl", "ok", "10s", 7, "n.1"
            ])
        );
        let single = with_meta(
            "x",
            json!({"involvedObject": {"kind": "Pod", "name": "p"}, "eventTime": ago(20)}),
        );
        assert_eq!(
            cells("", "Event", &single).as_array().unwrap()[7..9],
            [json!("20s"), json!(1)]
        );
        assert_eq!(cells("", "Event", &single)[0], "20s");
    }

    #[test]
    fn lease_crd_and_node_printers() {
        assert_eq!(
            names("coordination.k8s.io", "Lease"),
            ["Name", "Holder", "Age"]
        );
        let l = with_meta("leader", json!({"spec": {"holderIdentity": "pod-a_1234"}}));
        assert_eq!(
            cells("coordination.k8s.io", "Lease", &l),
            json!(["leader", "pod-a_1234", "5m"])
        );
        assert_eq!(
            names("apiextensions.k8s.io", "CustomResourceDefinition"),
            ["Name", "Created At"]
        );
        let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-05-01T10:20:30Z"}});
        assert_eq!(
            cells("apiextensions.k8s.io", "CustomResourceDefinition", &crd),
            json!(["widgets.example.com", "2024-05-01T10:20:30Z"])
        );
        assert_eq!(
            names("", "Node"),
            [
                "Name",
                "Status",
                "Roles",
                "Age",
                "Version",
                "Internal-IP",
                "External-IP",
                "OS-Image",
                "Kernel-Version",
                "Container-Runtime"
            ]
        );
        let mut n = with_meta(
            "node-1",
            json!({"spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian"}}}),
        );
        n["metadata"]["labels"] = json!({"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge", "node-role.kubernetes.io/": "x"});
        assert_eq!(
            cells("", "Node", &n),
            json!([
                "node-1",
                "Ready,SchedulingDisabled",
                "control-plane,edge",
                "5m",
                "v1.32.0",
                "172.18.0.2",
                "<none>",
                "Debian",
                "<unknown>",
                "<unknown>"
            ])
        );
        let bare = with_meta("n2", json!({}));
        assert_eq!(
            cells("", "Node", &bare).as_array().unwrap()[1..3],
            [json!("Unknown"), json!("<none>")]
        );
    }
}
