//! Object validation producing Kubernetes-style `StatusCause`s (HTTP 422).
//!
//! Field paths, reasons and message bodies follow `k8s.io/apimachinery`'s
//! `util/validation` and the per-group `pkg/apis/*/validation` packages, so a
//! client sees e.g. `metadata.name: Invalid value: "Foo": a lowercase RFC 1123
//! subdomain must consist of ...`. Only the rules listed per kind below are
//! checked; the server is expected to default fields (e.g. protocol `TCP`)
//! either before or instead of validating them, so absent optional fields pass.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value, json};

/// `reason` for a missing required field.
pub const REQUIRED: &str = "FieldValueRequired";
/// `reason` for a malformed or out-of-range value.
pub const INVALID: &str = "FieldValueInvalid";
/// `reason` for a value outside an enumeration.
pub const NOT_SUPPORTED: &str = "FieldValueNotSupported";
/// `reason` for a value that must be unique but is repeated.
pub const DUPLICATE: &str = "FieldValueDuplicate";
/// `reason` for a value exceeding a size limit (annotations, Secret data).
pub const TOO_LONG: &str = "FieldValueTooLong";
/// `reason` for a value of the wrong JSON type (custom resources).
pub const TYPE_INVALID: &str = "FieldValueTypeInvalid";
/// `reason` for a list with too many items.
pub const TOO_MANY: &str = "FieldValueTooMany";

const PORT_MSG: &str = "must be between 1 and 65535, inclusive";
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
static NULL: Value = Value::Null;

/// One validation failure, serialisable as a `metav1.StatusCause`.
///
/// `message` is Kubernetes' `field.Error.ErrorBody()`, e.g.
/// `Invalid value: "Foo": a lowercase RFC 1123 ...` or `Required value`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Cause {
    /// One of [`REQUIRED`], [`INVALID`], [`NOT_SUPPORTED`], [`DUPLICATE`], [`TOO_LONG`].
    pub reason: &'static str,
    /// Dotted field path, e.g. `spec.containers[0].name` or `data[key]`.
    pub field: String,
    /// Error body without the field prefix.
    pub message: String,
}

impl Cause {
    fn new(
        reason: &'static str,
        field: String,
        kind: &str,
        value: Option<&Value>,
        detail: &str,
    ) -> Self {
        let mut message = kind.to_owned();
        if let Some(v) = value {
            message.push_str(": ");
            message.push_str(&render(v));
        }
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        Cause {
            reason,
            field,
            message,
        }
    }
    fn required(field: impl Into<String>, detail: &str) -> Self {
        Self::new(REQUIRED, field.into(), "Required value", None, detail)
    }
    fn invalid(field: impl Into<String>, value: impl Into<Value>, detail: &str) -> Self {
        Self::new(
            INVALID,
            field.into(),
            "Invalid value",
            Some(&value.into()),
            detail,
        )
    }
    fn not_supported(field: impl Into<String>, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
        let detail = format!("supported values: {}", list.join(", "));
        Self::new(
            NOT_SUPPORTED,
            field.into(),
            "Unsupported value",
            Some(value),
            &detail,
        )
    }
    fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(
            DUPLICATE,
            field.into(),
            "Duplicate value",
            Some(&value.into()),
            "",
        )
    }
    fn too_long(field: impl Into<String>, max: usize) -> Self {
        let detail = format!("may not be more than {max} bytes");
        Self::new(TOO_LONG, field.into(), "Too long", None, &detail)
    }
}

/// Kubernetes' top-level 422 message: `Kind[.group] "name" is invalid: f: msg`,
/// with several causes wrapped as `[f1: m1, f2: m2]`.
pub fn invalid_message(group: &str, kind: &str, name: &str, causes: &[Cause]) -> String {
    let qualified = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    let mut parts: Vec<String> = Vec::new();
    for c in causes {
        let p = format!("{}: {}", c.field, c.message);
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    let body = match parts.len() {
        1 => parts.remove(0),
        _ => format!("[{}]", parts.join(", ")),
    };
    format!("{qualified} {} is invalid: {body}", quote(name))
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        other => other.to_string(),
    }
}

fn quote(s: &str) -> String {
    Value::from(s).to_string()
}

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let ex: String = examples
        .iter()
        .map(|e| format!("'{e}', "))
        .collect::<Vec<_>>()
        .join(" or ");
    format!("{msg} (e.g. {ex}regex used for validation is '{fmt}')")
}

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without the length limit.
fn label_shape(s: &str) -> bool {
    let ok_ends = s.starts_with(is_lower_alnum) && s.ends_with(is_lower_alnum);
    ok_ends && s.chars().all(|c| is_lower_alnum(c) || c == '-')
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn qualified_shape(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    s.starts_with(alnum)
        && s.ends_with(alnum)
        && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
}

fn subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push(max_len(253));
    }
    if !s.split('.').all(label_shape) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            &["example.com"],
        ));
    }
    errs
}

fn label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !label_shape(s) {
        errs.push(regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
            &["my-name", "123-abc"],
        ));
    }
    errs
}

fn dns1035_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !(label_shape(s) && s.starts_with(|c: char| c.is_ascii_lowercase())) {
        errs.push(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
            "[a-z]([-a-z0-9]*[a-z0-9])?",
            &["my-name", "abc-123"],
        ));
    }
    errs
}

fn qualified_name_errors(s: &str) -> Vec<String> {
    const MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
    const FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    let examples = ["MyName", "my.name", "123-abc"];
    let parts: Vec<&str> = s.split('/').collect();
    let mut errs = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(
                    subdomain_errors(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            name
        }
        _ => {
            let re = regex_error(MSG, FMT, &examples);
            return vec![format!(
                "a qualified name {re} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len(63)));
    }
    if !qualified_shape(name) {
        errs.push(format!("name part {}", regex_error(MSG, FMT, &examples)));
    }
    errs
}

fn label_value_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len(63));
    }
    if !s.is_empty() && !qualified_shape(s) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?",
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

fn config_key_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push(max_len(253));
    }
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        errs.push(regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    match s {
        "." => errs.push("must not be '.'".to_owned()),
        ".." => errs.push("must not be '..'".to_owned()),
        _ if s.starts_with("..") => errs.push("must not start with '..'".to_owned()),
        _ => {}
    }
    errs
}

/// IANA_SVC_NAME rules for container port names and string target ports.
fn port_name_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 15 {
        errs.push(max_len(15));
    }
    if s.is_empty() || !s.chars().all(|c| is_lower_alnum(c) || c == '-') {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if !s.chars().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_owned());
    }
    if s.contains("--") {
        errs.push("must not contain consecutive hyphens".to_owned());
    }
    if s.starts_with('-') || s.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_owned());
    }
    errs
}

fn joined(errs: Vec<String>) -> Result<(), String> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// DNS-1123 subdomain check (max 253); `Err` carries Kubernetes' message(s), joined by `; `.
pub fn is_dns1123_subdomain(s: &str) -> Result<(), String> {
    joined(subdomain_errors(s))
}

/// DNS-1123 label check (max 63), used for namespace and container names.
pub fn is_dns1123_label(s: &str) -> Result<(), String> {
    joined(label_errors(s))
}

/// DNS-1035 label check (max 63, starts with a letter), used for Service names.
pub fn is_dns1035_label(s: &str) -> Result<(), String> {
    joined(dns1035_errors(s))
}

/// Qualified-name check for label/annotation keys: `[prefix/]name`.
pub fn is_qualified_name(s: &str) -> Result<(), String> {
    joined(qualified_name_errors(s))
}

/// Label value check: empty, or ≤ 63 of `[A-Za-z0-9._-]` starting and ending alphanumeric.
pub fn is_label_value(s: &str) -> Result<(), String> {
    joined(label_value_errors(s))
}

// ---- JSON access helpers ------------------------------------------------------------

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    (!cur.is_null()).then_some(cur)
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn int(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(Value::as_i64)
}

fn map_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    at(v, path).and_then(Value::as_object)
}

/// Map entries in key order, independent of serde_json's `preserve_order` feature.
fn sorted(m: Option<&Map<String, Value>>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = m.into_iter().flatten().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn push_all(c: &mut Vec<Cause>, field: &str, value: &str, errs: Vec<String>) {
    c.extend(errs.iter().map(|m| Cause::invalid(field, value, m)));
}

fn check_port(c: &mut Vec<Cause>, field: String, port: i64) {
    if !(1..=65535).contains(&port) {
        c.push(Cause::invalid(field, port, PORT_MSG));
    }
}

fn check_protocol(c: &mut Vec<Cause>, port: &Value, p: &str) {
    if let Some(v) =
        at(port, &["protocol"]).filter(|v| !PROTOCOLS.contains(&v.as_str().unwrap_or("")))
    {
        c.push(Cause::not_supported(format!("{p}.protocol"), v, PROTOCOLS));
    }
}

fn check_enum(c: &mut Vec<Cause>, v: &Value, path: &[&str], field: &str, allowed: &[&str]) {
    if let Some(x) = at(v, path).filter(|x| !allowed.contains(&x.as_str().unwrap_or(""))) {
        c.push(Cause::not_supported(field, x, allowed));
    }
}

// ---- entry point and metadata ---------------------------------------------------------

/// Validates `obj` for create/update of `kind` in API `group` ("" = core).
///
/// Always checks metadata (name or generateName, name format for the kind,
/// labels, annotations, finalizers); then the kind-specific rules of Pod,
/// Service, Endpoints, ConfigMap, Secret, Event (core and events.k8s.io),
/// Deployment/ReplicaSet, EndpointSlice, Lease and CustomResourceDefinition.
/// Namespaces, ServiceAccounts, Nodes and custom resources get metadata checks only.
pub fn validate(group: &str, kind: &str, obj: &Value) -> Vec<Cause> {
    let mut c = Vec::new();
    metadata(group, kind, obj, &mut c);
    match (group, kind) {
        ("", "Pod") => pod_spec(at(obj, &["spec"]).unwrap_or(&NULL), "spec", &mut c),
        ("", "Service") => service(obj, &mut c),
        ("", "Endpoints") => endpoints(obj, &mut c),
        ("", "ConfigMap") => config_map(obj, &mut c),
        ("", "Secret") => secret(obj, &mut c),
        ("", "Event") => core_event(obj, &mut c),
        ("events.k8s.io", "Event") => events_v1_event(obj, &mut c),
        ("apps", "Deployment" | "ReplicaSet") => workload(obj, &mut c),
        ("discovery.k8s.io", "EndpointSlice") => endpoint_slice(obj, &mut c),
        ("coordination.k8s.io", "Lease") => lease(obj, &mut c),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(obj, &mut c),
        _ => {}
    }
    c
}

fn path_segment_errors(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|c| name.contains(**c))
        .map(|c| format!("may not contain '{c}'"))
        .collect()
}

fn name_errors(group: &str, kind: &str, name: &str) -> Vec<String> {
    match (group, kind) {
        ("", "Namespace") => label_errors(name),
        ("", "Service") => dns1035_errors(name),
        ("", "Event") => Vec::new(), // core/v1 events skip name-format validation
        // RBAC objects: path.ValidatePathSegmentName (fact: pkg/apis/rbac/validation), so
        // `system:coredns` is a valid ClusterRole name.
        ("rbac.authorization.k8s.io", _) => path_segment_errors(name),
        _ => subdomain_errors(name),
    }
}

/// Kubernetes' `maskTrailingDash`: a generateName prefix may end in '-'.
fn mask_trailing_dash(s: &str) -> String {
    match s.strip_suffix('-') {
        Some(rest) if !rest.is_empty() => {
            let mut masked = rest.to_owned();
            masked.pop();
            masked.push('a');
            masked
        }
        _ => s.to_owned(),
    }
}

fn metadata(group: &str, kind: &str, obj: &Value, c: &mut Vec<Cause>) {
    let name = text(obj, &["metadata", "name"]);
    let generate = text(obj, &["metadata", "generateName"]);
    if !name.is_empty() {
        push_all(c, "metadata.name", name, name_errors(group, kind, name));
    } else if !generate.is_empty() {
        let errs = name_errors(group, kind, &mask_trailing_dash(generate));
        push_all(c, "metadata.generateName", generate, errs);
    } else {
        c.push(Cause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    }
    labels(at(obj, &["metadata", "labels"]), "metadata.labels", c);
    annotations(
        obj_or_empty(obj, &["metadata", "annotations"]),
        "metadata.annotations",
        c,
    );
    for f in list(obj, &["metadata", "finalizers"])
        .iter()
        .filter_map(Value::as_str)
    {
        push_all(c, "metadata.finalizers", f, qualified_name_errors(f));
    }
}

fn obj_or_empty<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    at(v, path).unwrap_or(&NULL)
}

fn labels(v: Option<&Value>, field: &str, c: &mut Vec<Cause>) {
    for (k, val) in sorted(v.and_then(Value::as_object)) {
        push_all(c, field, k, qualified_name_errors(k));
        let val = val.as_str().unwrap_or("");
        push_all(c, field, val, label_value_errors(val));
    }
}

fn annotations(v: &Value, field: &str, c: &mut Vec<Cause>) {
    let mut total = 0;
    for (k, val) in sorted(v.as_object()) {
        push_all(c, field, k, qualified_name_errors(&k.to_lowercase()));
        total += k.len() + val.as_str().map_or(0, str::len);
    }
    if total > 256 * 1024 {
        c.push(Cause::too_long(field, 256 * 1024));
    }
}

// ---- core kinds ----------------------------------------------------------------------

fn pod_spec(spec: &Value, p: &str, c: &mut Vec<Cause>) {
    let containers = list(spec, &["containers"]);
    if containers.is_empty() {
        c.push(Cause::required(format!("{p}.containers"), ""));
    }
    let regular: HashSet<&str> = containers.iter().map(|x| text(x, &["name"])).collect();
    let mut seen = HashSet::new();
    for (i, ctr) in list(spec, &["initContainers"]).iter().enumerate() {
        container(
            ctr,
            &format!("{p}.initContainers[{i}]"),
            &mut seen,
            Some(&regular),
            c,
        );
    }
    let mut seen = HashSet::new();
    for (i, ctr) in containers.iter().enumerate() {
        container(ctr, &format!("{p}.containers[{i}]"), &mut seen, None, c);
    }
    let policies = ["Always", "OnFailure", "Never"];
    check_enum(
        c,
        spec,
        &["restartPolicy"],
        &format!("{p}.restartPolicy"),
        &policies,
    );
}

fn container<'a>(
    ctr: &'a Value,
    p: &str,
    seen: &mut HashSet<&'a str>,
    others: Option<&HashSet<&str>>,
    c: &mut Vec<Cause>,
) {
    let name = text(ctr, &["name"]);
    if name.is_empty() {
        c.push(Cause::required(format!("{p}.name"), ""));
    } else {
        push_all(c, &format!("{p}.name"), name, label_errors(name));
        if seen.contains(name) || others.is_some_and(|o| o.contains(name)) {
            c.push(Cause::duplicate(format!("{p}.name"), name));
        }
        seen.insert(name);
    }
    if text(ctr, &["image"]).is_empty() {
        c.push(Cause::required(format!("{p}.image"), ""));
    }
    // validatePullPolicy (fact: pkg/apis/core/validation): absent is defaulted.
    let pull = ["Always", "IfNotPresent", "Never"];
    check_enum(
        c,
        ctr,
        &["imagePullPolicy"],
        &format!("{p}.imagePullPolicy"),
        &pull,
    );
    let mut port_names = HashSet::new();
    for (i, port) in list(ctr, &["ports"]).iter().enumerate() {
        let pp = format!("{p}.ports[{i}]");
        let pname = text(port, &["name"]);
        if !pname.is_empty() {
            push_all(c, &format!("{pp}.name"), pname, port_name_errors(pname));
            if !port_names.insert(pname) {
                c.push(Cause::duplicate(format!("{pp}.name"), pname));
            }
        }
        match int(port, &["containerPort"]) {
            None | Some(0) => c.push(Cause::required(format!("{pp}.containerPort"), "")),
            Some(n) => check_port(c, format!("{pp}.containerPort"), n),
        }
        if let Some(h) = int(port, &["hostPort"]).filter(|h| *h != 0) {
            check_port(c, format!("{pp}.hostPort"), h);
        }
        check_protocol(c, port, &pp);
    }
}

fn service(obj: &Value, c: &mut Vec<Cause>) {
    let spec = obj_or_empty(obj, &["spec"]);
    let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    check_enum(c, spec, &["type"], "spec.type", &types);
    let ty = text(spec, &["type"]);
    let ports = list(spec, &["ports"]);
    if ports.is_empty() && text(spec, &["clusterIP"]) != "None" && ty != "ExternalName" {
        c.push(Cause::required("spec.ports", ""));
    }
    if ty == "ExternalName" {
        match text(spec, &["externalName"]) {
            "" => c.push(Cause::required("spec.externalName", "")),
            en => push_all(
                c,
                "spec.externalName",
                en,
                subdomain_errors(en.trim_end_matches('.')),
            ),
        }
    }
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = format!("spec.ports[{i}]");
        named_port(port, &p, ports.len() > 1, &mut names, c);
        check_port(c, format!("{p}.port"), int(port, &["port"]).unwrap_or(0));
        check_protocol(c, port, &p);
        match at(port, &["targetPort"]) {
            Some(Value::Number(n)) => {
                check_port(c, format!("{p}.targetPort"), n.as_i64().unwrap_or(0))
            }
            Some(Value::String(s)) => {
                push_all(c, &format!("{p}.targetPort"), s, port_name_errors(s))
            }
            _ => {}
        }
        if let Some(np) = int(port, &["nodePort"]).filter(|n| *n != 0) {
            check_port(c, format!("{p}.nodePort"), np);
        }
    }
}

/// Service/Endpoints port name: required when there are several ports, DNS-1123 label, unique.
fn named_port<'a>(
    port: &'a Value,
    p: &str,
    require: bool,
    names: &mut HashSet<&'a str>,
    c: &mut Vec<Cause>,
) {
    let name = text(port, &["name"]);
    if name.is_empty() {
        if require {
            c.push(Cause::required(format!("{p}.name"), ""));
        }
        return;
    }
    push_all(c, &format!("{p}.name"), name, label_errors(name));
    if !names.insert(name) {
        c.push(Cause::duplicate(format!("{p}.name"), name));
    }
}

fn endpoints(obj: &Value, c: &mut Vec<Cause>) {
    for (i, ss) in list(obj, &["subsets"]).iter().enumerate() {
        let p = format!("subsets[{i}]");
        let (ready, not_ready) = (list(ss, &["addresses"]), list(ss, &["notReadyAddresses"]));
        if ready.is_empty() && not_ready.is_empty() {
            c.push(Cause::required(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (key, addrs) in [("addresses", ready), ("notReadyAddresses", not_ready)] {
            for (j, a) in addrs.iter().enumerate() {
                let f = format!("{p}.{key}[{j}].ip");
                match text(a, &["ip"]) {
                    "" => c.push(Cause::required(f, "")),
                    ip if ip.parse::<std::net::IpAddr>().is_err() => {
                        c.push(Cause::invalid(f, ip, IP_MSG))
                    }
                    _ => {}
                }
            }
        }
        let ports = list(ss, &["ports"]);
        if ports.is_empty() {
            c.push(Cause::required(format!("{p}.ports"), ""));
        }
        let mut names = HashSet::new();
        for (j, port) in ports.iter().enumerate() {
            let pp = format!("{p}.ports[{j}]");
            named_port(port, &pp, ports.len() > 1, &mut names, c);
            check_port(c, format!("{pp}.port"), int(port, &["port"]).unwrap_or(0));
            check_protocol(c, port, &pp);
        }
    }
}

fn data_keys(map: Option<&Map<String, Value>>, bag: &str, c: &mut Vec<Cause>) -> usize {
    let mut size = 0;
    for (k, v) in sorted(map) {
        push_all(c, &format!("{bag}[{k}]"), k, config_key_errors(k));
        size += v.as_str().map_or(0, str::len);
    }
    size
}

fn config_map(obj: &Value, c: &mut Vec<Cause>) {
    let (data, binary) = (map_at(obj, &["data"]), map_at(obj, &["binaryData"]));
    let size = data_keys(data, "data", c) + data_keys(binary, "binaryData", c);
    for (k, _) in sorted(binary) {
        if data.is_some_and(|d| d.contains_key(k)) {
            c.push(Cause::invalid(
                format!("binaryData[{k}]"),
                k.as_str(),
                "duplicate of key present in data",
            ));
        }
    }
    if size > 1024 * 1024 {
        c.push(Cause::too_long("", 1024 * 1024));
    }
}

/// Keys that Secrets of a well-known `type` must carry (in `data` or `stringData`).
const SECRET_KEYS: &[(&str, &[&str])] = &[
    ("kubernetes.io/dockercfg", &[".dockercfg"]),
    ("kubernetes.io/dockerconfigjson", &[".dockerconfigjson"]),
    ("kubernetes.io/ssh-auth", &["ssh-privatekey"]),
    ("kubernetes.io/tls", &["tls.crt", "tls.key"]),
];

fn secret(obj: &Value, c: &mut Vec<Cause>) {
    let (data, string_data) = (map_at(obj, &["data"]), map_at(obj, &["stringData"]));
    let size = data_keys(data, "data", c) + data_keys(string_data, "stringData", c);
    if size > 1024 * 1024 {
        c.push(Cause::too_long("data", 1024 * 1024));
    }
    let has = |k: &str| {
        data.is_some_and(|d| d.contains_key(k)) || string_data.is_some_and(|d| d.contains_key(k))
    };
    let ty = text(obj, &["type"]);
    for (_, keys) in SECRET_KEYS.iter().filter(|(t, _)| *t == ty) {
        for key in keys.iter().filter(|k| !has(k)) {
            c.push(Cause::required(format!("data[{key}]"), ""));
        }
    }
    if ty == "kubernetes.io/basic-auth" && !has("username") && !has("password") {
        c.push(Cause::required("data[username]", ""));
        c.push(Cause::required("data[password]", ""));
    }
    let sa_key = "kubernetes.io/service-account.name";
    if ty == "kubernetes.io/service-account-token"
        && text(obj, &["metadata", "annotations", sa_key]).is_empty()
    {
        c.push(Cause::required(
            format!("metadata.annotations[{sa_key}]"),
            "",
        ));
    }
}

fn core_event(obj: &Value, c: &mut Vec<Cause>) {
    let Some(involved) = at(obj, &["involvedObject"]) else {
        c.push(Cause::required("involvedObject", ""));
        return;
    };
    let ns = text(obj, &["metadata", "namespace"]);
    let ins = text(involved, &["namespace"]);
    let mismatch = if at(obj, &["eventTime"]).is_none() {
        if ins.is_empty() {
            !ns.is_empty() && ns != "default"
        } else {
            ns != ins
        }
    } else {
        ins.is_empty() && ns != "default" && ns != "kube-system"
    };
    if mismatch {
        c.push(Cause::invalid(
            "involvedObject.namespace",
            ins,
            "does not match event.namespace",
        ));
    }
    if at(obj, &["eventTime"]).is_some() {
        for f in [
            "reportingComponent",
            "reportingInstance",
            "action",
            "reason",
        ] {
            if text(obj, &[f]).is_empty() {
                c.push(Cause::required(f, ""));
            }
        }
    }
}

fn events_v1_event(obj: &Value, c: &mut Vec<Cause>) {
    for f in [
        "eventTime",
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
    ] {
        if at(obj, &[f]).is_none_or(|v| v.as_str() == Some("")) {
            c.push(Cause::required(f, ""));
        }
    }
    let ty = text(obj, &["type"]);
    if ty != "Normal" && ty != "Warning" {
        c.push(Cause::invalid(
            "type",
            "",
            &format!("has invalid value: {ty}"),
        ));
    }
}

// ---- other groups --------------------------------------------------------------------

fn workload(obj: &Value, c: &mut Vec<Cause>) {
    let spec = obj_or_empty(obj, &["spec"]);
    if let Some(r) = int(spec, &["replicas"]).filter(|r| *r < 0) {
        c.push(Cause::invalid(
            "spec.replicas",
            r,
            "must be greater than or equal to 0",
        ));
    }
    let raw = at(spec, &["selector"]);
    if raw.is_none() {
        c.push(Cause::required("spec.selector", ""));
    }
    let sel_value = raw.cloned().unwrap_or(Value::Null);
    if raw.is_some_and(|s| {
        map_at(s, &["matchLabels"]).is_none_or(Map::is_empty)
            && list(s, &["matchExpressions"]).is_empty()
    }) {
        c.push(Cause::invalid(
            "spec.selector",
            sel_value.clone(),
            "empty selector is invalid for deployment",
        ));
    }
    let template = obj_or_empty(spec, &["template"]);
    let tlabels = at(template, &["metadata", "labels"]);
    match crate::selector::LabelSelector::from_label_selector_json(&sel_value) {
        Err(e) => c.push(Cause::invalid("spec.selector", sel_value, &e.to_string())),
        Ok(sel) if !sel.is_empty() && !sel.matches(tlabels.and_then(Value::as_object)) => {
            let shown = tlabels.cloned().unwrap_or(Value::Null);
            let msg = "`selector` does not match template `labels`";
            c.push(Cause::invalid("spec.template.metadata.labels", shown, msg));
        }
        Ok(_) => {}
    }
    labels(tlabels, "spec.template.metadata.labels", c);
    annotations(
        obj_or_empty(template, &["metadata", "annotations"]),
        "spec.template.metadata.annotations",
        c,
    );
    let pod = obj_or_empty(template, &["spec"]);
    pod_spec(pod, "spec.template.spec", c);
    if at(pod, &["restartPolicy"]).is_some() {
        check_enum(
            c,
            pod,
            &["restartPolicy"],
            "spec.template.spec.restartPolicy",
            &["Always"],
        );
    }
}

fn endpoint_slice(obj: &Value, c: &mut Vec<Cause>) {
    let ty = text(obj, &["addressType"]);
    if ty.is_empty() {
        c.push(Cause::required("addressType", ""));
    }
    check_enum(
        c,
        obj,
        &["addressType"],
        "addressType",
        &["FQDN", "IPv4", "IPv6"],
    );
    for (i, ep) in list(obj, &["endpoints"]).iter().enumerate() {
        let p = format!("endpoints[{i}].addresses");
        let addrs = list(ep, &["addresses"]);
        if addrs.is_empty() {
            c.push(Cause::required(&p, "must contain at least 1 address"));
        }
        for (j, a) in addrs.iter().enumerate() {
            let a = a.as_str().unwrap_or("");
            let f = format!("{p}[{j}]");
            match ty {
                "IPv4" if a.parse::<Ipv4Addr>().is_err() => {
                    c.push(Cause::invalid(f, a, "must be a valid IPv4 address"))
                }
                "IPv6" if a.parse::<Ipv6Addr>().is_err() => {
                    c.push(Cause::invalid(f, a, "must be a valid IPv6 address"))
                }
                "FQDN" => push_all(c, &f, a, subdomain_errors(a)),
                _ => {}
            }
        }
    }
    let mut names = HashSet::new();
    for (i, port) in list(obj, &["ports"]).iter().enumerate() {
        let p = format!("ports[{i}]");
        named_port(port, &p, false, &mut names, c);
        if let Some(n) = int(port, &["port"]) {
            check_port(c, format!("{p}.port"), n);
        }
        check_protocol(c, port, &p);
    }
}

fn lease(obj: &Value, c: &mut Vec<Cause>) {
    if let Some(d) = int(obj, &["spec", "leaseDurationSeconds"]).filter(|d| *d <= 0) {
        c.push(Cause::invalid(
            "spec.leaseDurationSeconds",
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = int(obj, &["spec", "leaseTransitions"]).filter(|t| *t < 0) {
        c.push(Cause::invalid(
            "spec.leaseTransitions",
            t,
            "must be greater than or equal to 0",
        ));
    }
}

fn crd(obj: &Value, c: &mut Vec<Cause>) {
    let spec = obj_or_empty(obj, &["spec"]);
    let (group, plural) = (text(spec, &["group"]), text(spec, &["names", "plural"]));
    let name = text(obj, &["metadata", "name"]);
    if name != format!("{plural}.{group}") {
        c.push(Cause::invalid(
            "metadata.name",
            name,
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        c.push(Cause::required("spec.group", ""));
    } else {
        push_all(c, "spec.group", group, subdomain_errors(group));
        if !group.contains('.') {
            c.push(Cause::invalid(
                "spec.group",
                group,
                "should be a domain with at least one dot",
            ));
        }
    }
    if text(spec, &["scope"]).is_empty() {
        c.push(Cause::required("spec.scope", ""));
    }
    check_enum(
        c,
        spec,
        &["scope"],
        "spec.scope",
        &["Cluster", "Namespaced"],
    );
    crd_names(spec, c);
    crd_versions(list(spec, &["versions"]), c);
}

fn crd_versions(versions: &[Value], c: &mut Vec<Cause>) {
    let mut seen = HashSet::new();
    for (i, v) in versions.iter().enumerate() {
        let vname = text(v, &["name"]);
        let errs = dns1035_errors(vname);
        if !errs.is_empty() {
            c.push(Cause::invalid(
                format!("spec.versions[{i}].name"),
                vname,
                &errs.join(","),
            ));
        }
        seen.insert(vname);
    }
    if seen.len() != versions.len() {
        c.push(Cause::invalid(
            "spec.versions",
            versions.to_vec(),
            "must contain unique version names",
        ));
    }
    let storage = versions
        .iter()
        .filter(|v| at(v, &["storage"]) == Some(&json!(true)))
        .count();
    if storage != 1 {
        let msg = "must have exactly one version marked as storage version";
        c.push(Cause::invalid("spec.versions", versions.to_vec(), msg));
    }
}

fn crd_names(spec: &Value, c: &mut Vec<Cause>) {
    for (key, required) in [("plural", true), ("singular", false)] {
        let v = text(spec, &["names", key]);
        let field = format!("spec.names.{key}");
        if v.is_empty() {
            if required {
                c.push(Cause::required(field, ""));
            }
        } else if let Err(e) = joined(label_errors(v)) {
            c.push(Cause::invalid(field, v, &e.replace("; ", ",")));
        }
    }
    for (key, required) in [("kind", true), ("listKind", false)] {
        let v = text(spec, &["names", key]);
        let field = format!("spec.names.{key}");
        if v.is_empty() {
            if required {
                c.push(Cause::required(field, ""));
            }
        } else if let Err(e) = joined(dns1035_errors(&v.to_lowercase())) {
            let msg = format!(
                "may have mixed case, but should otherwise match: {}",
                e.replace("; ", ",")
            );
            c.push(Cause::invalid(field, v, &msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBDOMAIN_MSG: &str = r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

    fn fields(causes: &[Cause]) -> Vec<(&str, &str)> {
        causes
            .iter()
            .map(|c| (c.reason, c.field.as_str()))
            .collect()
    }

    fn meta(name: &str) -> Value {
        json!({"name": name, "namespace": "default"})
    }

    fn pod_spec_json() -> Value {
        json!({"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]})
    }

    #[test]
    fn dns_name_messages_match_kubernetes() {
        assert_eq!(is_dns1123_subdomain("a.b-c.d"), Ok(()));
        assert_eq!(is_dns1123_subdomain("Foo").unwrap_err(), SUBDOMAIN_MSG);
        assert_eq!(is_dns1123_subdomain("a..b").unwrap_err(), SUBDOMAIN_MSG);
        assert!(
            is_dns1123_subdomain(&"a".repeat(254))
                .unwrap_err()
                .starts_with("must be no more than 253 characters")
        );
        assert_eq!(is_dns1123_label("my-name"), Ok(()));
        assert_eq!(is_dns1123_label("a.b").unwrap_err(), LABEL_MSG);
        assert_eq!(
            is_dns1123_label(&"a".repeat(64)).unwrap_err(),
            "must be no more than 63 characters"
        );
        assert_eq!(is_dns1035_label("abc-123"), Ok(()));
        assert_eq!(is_dns1035_label("1abc").unwrap_err(), DNS1035_MSG);
        assert_eq!(is_dns1035_label("abc-").unwrap_err(), DNS1035_MSG);
    }

    #[test]
    fn qualified_names_and_label_values() {
        assert_eq!(is_qualified_name("example.com/My_Name-1.x"), Ok(()));
        assert_eq!(
            is_qualified_name("/a").unwrap_err(),
            "prefix part must be non-empty"
        );
        assert!(
            is_qualified_name("Ex.com/a")
                .unwrap_err()
                .starts_with("prefix part a lowercase RFC 1123 subdomain")
        );
        assert!(
            is_qualified_name("a/")
                .unwrap_err()
                .starts_with("name part must be non-empty; name part must consist of")
        );
        assert!(
            is_qualified_name("a/b/c")
                .unwrap_err()
                .starts_with("a qualified name must consist of")
        );
        assert!(is_qualified_name("a/b/c").unwrap_err().ends_with(
            "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ));
        assert_eq!(
            is_qualified_name(&"n".repeat(64)).unwrap_err(),
            "name part must be no more than 63 characters"
        );
        assert_eq!(is_label_value(""), Ok(()));
        assert_eq!(is_label_value("My_value.1"), Ok(()));
        assert!(
            is_label_value("-x")
                .unwrap_err()
                .starts_with("a valid label must be an empty string or consist of")
        );
    }

    #[test]
    fn name_is_required_unless_generated() {
        let c = validate("", "ConfigMap", &json!({"metadata": {}}));
        assert_eq!(
            c,
            vec![Cause {
                reason: REQUIRED,
                field: "metadata.name".into(),
                message: "Required value: name or generateName is required".into()
            }]
        );
        assert!(
            validate(
                "",
                "ConfigMap",
                &json!({"metadata": {"generateName": "cm-"}})
            )
            .is_empty()
        );
        let c = validate(
            "",
            "ConfigMap",
            &json!({"metadata": {"generateName": "CM-"}}),
        );
        assert_eq!(fields(&c), [(INVALID, "metadata.generateName")]);
    }

    #[test]
    fn name_format_depends_on_kind() {
        let c = validate("", "ConfigMap", &json!({"metadata": meta("Foo")}));
        assert_eq!(
            c[0].message,
            format!("Invalid value: \"Foo\": {SUBDOMAIN_MSG}")
        );
        assert!(validate("", "ConfigMap", &json!({"metadata": meta("a.b")})).is_empty());
        assert_eq!(
            fields(&validate(
                "",
                "Namespace",
                &json!({"metadata": {"name": "a.b"}})
            )),
            [(INVALID, "metadata.name")]
        );
        let svc = json!({"metadata": meta("1svc"), "spec": {"clusterIP": "None"}});
        assert_eq!(
            validate("", "Service", &svc)[0].message,
            format!("Invalid value: \"1svc\": {DNS1035_MSG}")
        );
        assert!(validate("example.com", "Widget", &json!({"metadata": meta("w.1")})).is_empty());
        assert_eq!(
            fields(&validate(
                "example.com",
                "Widget",
                &json!({"metadata": meta("W")})
            )),
            [(INVALID, "metadata.name")]
        );
    }

    #[test]
    fn labels_annotations_and_finalizers() {
        let m = json!({"metadata": {"name": "x", "labels": {"-bad": "ok", "good": "-bad"},
            "annotations": {"a/b/c": "v"}, "finalizers": ["example.com/ok", "bad/"]}});
        let c = validate("", "ConfigMap", &m);
        assert_eq!(
            fields(&c),
            [
                (INVALID, "metadata.labels"),
                (INVALID, "metadata.labels"),
                (INVALID, "metadata.annotations"),
                (INVALID, "metadata.finalizers"),
                (INVALID, "metadata.finalizers")
            ]
        );
        assert!(
            c[0].message
                .starts_with("Invalid value: \"-bad\": name part must consist of")
        );
        let big = json!({"metadata": {"name": "x", "annotations": {"k": "v".repeat(256 * 1024)}}});
        let c = validate("", "ConfigMap", &big);
        assert_eq!(
            c,
            vec![Cause {
                reason: TOO_LONG,
                field: "metadata.annotations".into(),
                message: "Too long: may not be more than 262144 bytes".into()
            }]
        );
    }

    #[test]
    fn pod_rules() {
        assert!(
            validate(
                "",
                "Pod",
                &json!({"metadata": meta("p"), "spec": pod_spec_json()})
            )
            .is_empty()
        );
        assert_eq!(
            fields(&validate(
                "",
                "Pod",
                &json!({"metadata": meta("p"), "spec": {}})
            )),
            [(REQUIRED, "spec.containers")]
        );
        let spec = json!({"initContainers": [{"name": "app", "image": "busybox"}], "containers": [
            {"image": "nginx"},
            {"name": "App", "image": "nginx"},
            {"name": "app", "ports": [{"containerPort": 70000}, {"containerPort": 0, "protocol": "HTTP", "name": "Web"}]},
            {"name": "app", "image": "x", "imagePullPolicy": "Sometimes"}
        ], "restartPolicy": "Sometimes"});
        let c = validate("", "Pod", &json!({"metadata": meta("p"), "spec": spec}));
        assert_eq!(
            fields(&c),
            [
                (DUPLICATE, "spec.initContainers[0].name"),
                (REQUIRED, "spec.containers[0].name"),
                (INVALID, "spec.containers[1].name"),
                (REQUIRED, "spec.containers[2].image"),
                (INVALID, "spec.containers[2].ports[0].containerPort"),
                (INVALID, "spec.containers[2].ports[1].name"),
                (REQUIRED, "spec.containers[2].ports[1].containerPort"),
                (NOT_SUPPORTED, "spec.containers[2].ports[1].protocol"),
                (DUPLICATE, "spec.containers[3].name"),
                (NOT_SUPPORTED, "spec.containers[3].imagePullPolicy"),
                (NOT_SUPPORTED, "spec.restartPolicy"),
            ]
        );
        assert_eq!(
            c[4].message,
            "Invalid value: 70000: must be between 1 and 65535, inclusive"
        );
        assert_eq!(
            c[5].message,
            "Invalid value: \"Web\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
        );
        assert_eq!(
            c[7].message,
            r#"Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP""#
        );
        assert_eq!(c[8].message, "Duplicate value: \"app\"");
    }

    fn svc(spec: Value) -> Vec<Cause> {
        validate(
            "",
            "Service",
            &json!({"metadata": meta("web"), "spec": spec}),
        )
    }

    #[test]
    fn service_rules() {
        assert!(svc(json!({"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}], "selector": {"app": "web"}})).is_empty());
        assert!(
            svc(json!({"clusterIP": "None"})).is_empty(),
            "headless services may omit ports"
        );
        assert_eq!(fields(&svc(json!({}))), [(REQUIRED, "spec.ports")]);
        assert_eq!(
            fields(&svc(json!({"type": "ExternalName"}))),
            [(REQUIRED, "spec.externalName")]
        );
        assert!(svc(json!({"type": "ExternalName", "externalName": "db.example.com."})).is_empty());
        let c = svc(json!({"type": "Magic", "ports": [{"port": 80}]}));
        assert_eq!(
            c[0].message,
            r#"Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort""#
        );
        let c = svc(json!({"ports": [
            {"port": 80, "name": "http"}, {"port": 0}, {"port": 443, "name": "http", "protocol": "QUIC"},
            {"port": 81, "name": "Bad", "targetPort": "Web", "nodePort": 99999}
        ]}));
        assert_eq!(
            fields(&c),
            [
                (REQUIRED, "spec.ports[1].name"),
                (INVALID, "spec.ports[1].port"),
                (DUPLICATE, "spec.ports[2].name"),
                (NOT_SUPPORTED, "spec.ports[2].protocol"),
                (INVALID, "spec.ports[3].name"),
                (INVALID, "spec.ports[3].targetPort"),
                (INVALID, "spec.ports[3].nodePort"),
            ]
        );
        assert_eq!(c[0].message, "Required value");
    }

    fn deploy(kind: &str, spec: Value) -> Vec<Cause> {
        validate(
            "apps",
            kind,
            &json!({"metadata": meta("web"), "spec": spec}),
        )
    }

    fn template(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}, "spec": pod_spec_json()})
    }

    #[test]
    fn deployment_and_replicaset_rules() {
        for kind in ["Deployment", "ReplicaSet"] {
            let ok = json!({"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web", "x": "y"}))});
            assert!(deploy(kind, ok).is_empty(), "{kind}");
            let c = deploy(kind, json!({"template": template(json!({"app": "web"}))}));
            assert_eq!(
                fields(&c),
                [
                    (REQUIRED, "spec.selector"),
                    (INVALID, "spec.template.metadata.labels")
                ]
            );
            let c = deploy(
                kind,
                json!({"selector": {}, "template": template(json!({"app": "web"}))}),
            );
            assert_eq!(
                c,
                vec![Cause {
                    reason: INVALID,
                    field: "spec.selector".into(),
                    message: "Invalid value: {}: empty selector is invalid for deployment".into()
                }]
            );
            let c = deploy(
                kind,
                json!({"replicas": -1, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "db"}))}),
            );
            assert_eq!(
                fields(&c),
                [
                    (INVALID, "spec.replicas"),
                    (INVALID, "spec.template.metadata.labels")
                ]
            );
            assert_eq!(
                c[0].message,
                "Invalid value: -1: must be greater than or equal to 0"
            );
            assert_eq!(
                c[1].message,
                "Invalid value: {\"app\":\"db\"}: `selector` does not match template `labels`"
            );
        }
        let spec = json!({"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c"}]}}});
        assert_eq!(
            fields(&deploy("Deployment", spec)),
            [
                (REQUIRED, "spec.template.spec.containers[0].image"),
                (NOT_SUPPORTED, "spec.template.spec.restartPolicy")
            ]
        );
        let bad_op = json!({"selector": {"matchExpressions": [{"key": "a", "operator": "Is"}]}, "template": template(json!({}))});
        assert_eq!(
            fields(&deploy("Deployment", bad_op)),
            [(INVALID, "spec.selector")]
        );
    }

    #[test]
    fn endpoints_rules() {
        let ok = json!({"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], "ports": [{"port": 8080}]}]});
        assert!(validate("", "Endpoints", &ok).is_empty());
        let bad = json!({"metadata": meta("web"), "subsets": [
            {"addresses": [{"hostname": "x"}, {"ip": "10.0.0.300"}], "ports": [{"port": 0, "name": "a"}, {"port": 1, "protocol": "ICMP"}]},
            {}
        ]});
        let c = validate("", "Endpoints", &bad);
        assert_eq!(
            fields(&c),
            [
                (REQUIRED, "subsets[0].addresses[0].ip"),
                (INVALID, "subsets[0].addresses[1].ip"),
                (INVALID, "subsets[0].ports[0].port"),
                (REQUIRED, "subsets[0].ports[1].name"),
                (NOT_SUPPORTED, "subsets[0].ports[1].protocol"),
                (REQUIRED, "subsets[1]"),
                (REQUIRED, "subsets[1].ports"),
            ]
        );
        assert_eq!(
            c[1].message,
            "Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
        );
    }

    #[test]
    fn endpoint_slice_rules() {
        let slice = |v: Value| validate("discovery.k8s.io", "EndpointSlice", &v);
        assert!(slice(json!({"metadata": meta("s"), "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"port": 80, "name": "http"}]})).is_empty());
        assert_eq!(
            fields(&slice(json!({"metadata": meta("s")}))),
            [(REQUIRED, "addressType")]
        );
        let c = slice(
            json!({"metadata": meta("s"), "addressType": "IPv4", "endpoints": [{"addresses": []}, {"addresses": ["fd00::1"]}], "ports": [{"port": 70000}]}),
        );
        assert_eq!(
            fields(&c),
            [
                (REQUIRED, "endpoints[0].addresses"),
                (INVALID, "endpoints[1].addresses[0]"),
                (INVALID, "ports[0].port")
            ]
        );
        assert_eq!(
            c[0].message,
            "Required value: must contain at least 1 address"
        );
        let c = slice(json!({"metadata": meta("s"), "addressType": "IPX"}));
        assert_eq!(
            c[0].message,
            r#"Unsupported value: "IPX": supported values: "FQDN", "IPv4", "IPv6""#
        );
    }

    #[test]
    fn config_map_and_secret_rules() {
        let cm = json!({"metadata": meta("c"), "data": {"good.key": "v", "bad key": "v", "..x": "v"}, "binaryData": {"good.key": ""}});
        let c = validate("", "ConfigMap", &cm);
        assert_eq!(
            fields(&c),
            [
                (INVALID, "data[..x]"),
                (INVALID, "data[bad key]"),
                (INVALID, "binaryData[good.key]")
            ]
        );
        assert_eq!(
            c[0].message,
            "Invalid value: \"..x\": must not start with '..'"
        );
        assert_eq!(
            c[1].message,
            "Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        );
        let tls = json!({"metadata": meta("s"), "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
        assert_eq!(
            fields(&validate("", "Secret", &tls)),
            [(REQUIRED, "data[tls.key]")]
        );
        let ok = json!({"metadata": meta("s"), "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}, "stringData": {"tls.key": "k"}});
        assert!(validate("", "Secret", &ok).is_empty());
        assert_eq!(
            fields(&validate(
                "",
                "Secret",
                &json!({"metadata": meta("s"), "data": {"a/b": ""}})
            )),
            [(INVALID, "data[a/b]")]
        );
        let sa = json!({"metadata": meta("s"), "type": "kubernetes.io/service-account-token"});
        assert_eq!(
            fields(&validate("", "Secret", &sa)),
            [(
                REQUIRED,
                "metadata.annotations[kubernetes.io/service-account.name]"
            )]
        );
    }

    #[test]
    fn lease_namespace_and_service_account() {
        let lease = json!({"metadata": meta("l"), "spec": {"holderIdentity": "a", "leaseDurationSeconds": 0, "leaseTransitions": -1}});
        let c = validate("coordination.k8s.io", "Lease", &lease);
        assert_eq!(
            fields(&c),
            [
                (INVALID, "spec.leaseDurationSeconds"),
                (INVALID, "spec.leaseTransitions")
            ]
        );
        assert_eq!(c[0].message, "Invalid value: 0: must be greater than 0");
        assert!(
            validate(
                "coordination.k8s.io",
                "Lease",
                &json!({"metadata": meta("l"), "spec": {"leaseDurationSeconds": 15}})
            )
            .is_empty()
        );
        assert!(validate("", "Namespace", &json!({"metadata": {"name": "team-a"}})).is_empty());
        assert!(validate("", "ServiceAccount", &json!({"metadata": meta("default")})).is_empty());
    }

    #[test]
    fn event_rules() {
        let ok = json!({"metadata": meta("web.1"), "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"}});
        assert!(validate("", "Event", &ok).is_empty());
        assert_eq!(
            fields(&validate("", "Event", &json!({"metadata": meta("e")}))),
            [(REQUIRED, "involvedObject")]
        );
        let c = validate(
            "",
            "Event",
            &json!({"metadata": meta("e"), "involvedObject": {"namespace": "other"}}),
        );
        assert_eq!(
            c[0].message,
            "Invalid value: \"other\": does not match event.namespace"
        );
        let new_style = json!({"metadata": meta("e"), "eventTime": "2024-01-01T00:00:00.000000Z", "involvedObject": {"namespace": "default"}});
        assert_eq!(
            fields(&validate("", "Event", &new_style)),
            [
                (REQUIRED, "reportingComponent"),
                (REQUIRED, "reportingInstance"),
                (REQUIRED, "action"),
                (REQUIRED, "reason")
            ]
        );
        let v1 = json!({"metadata": meta("e"), "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "c",
            "reportingInstance": "i", "action": "A", "reason": "R", "type": "Normal"});
        assert!(validate("events.k8s.io", "Event", &v1).is_empty());
        let c = validate(
            "events.k8s.io",
            "Event",
            &json!({"metadata": meta("e"), "type": "Info"}),
        );
        assert_eq!(c.len(), 6);
        assert_eq!(c[5].message, "Invalid value: \"\": has invalid value: Info");
    }

    fn crd_json() -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true}, {"name": "v1beta1", "served": true, "storage": false}]
        }})
    }

    #[test]
    fn crd_rules() {
        let v = |o: &Value| validate("apiextensions.k8s.io", "CustomResourceDefinition", o);
        assert!(v(&crd_json()).is_empty());
        let mut bad = crd_json();
        bad["metadata"]["name"] = json!("widget.example.com");
        bad["spec"]["scope"] = json!("Global");
        bad["spec"]["versions"] = json!([{"name": "v1", "storage": false}, {"name": "v1", "storage": false}, {"name": "V2"}]);
        bad["spec"]["names"]["kind"] = json!("Wid get");
        let c = v(&bad);
        assert_eq!(
            fields(&c),
            [
                (INVALID, "metadata.name"),
                (NOT_SUPPORTED, "spec.scope"),
                (INVALID, "spec.names.kind"),
                (INVALID, "spec.versions[2].name"),
                (INVALID, "spec.versions"),
                (INVALID, "spec.versions"),
            ]
        );
        assert_eq!(
            c[0].message,
            "Invalid value: \"widget.example.com\": must be spec.names.plural+\".\"+spec.group"
        );
        assert!(c[4].message.ends_with("must contain unique version names"));
        assert!(
            c[5].message
                .ends_with("must have exactly one version marked as storage version")
        );
        let empty =
            json!({"metadata": {"name": "x.y"}, "spec": {"group": "nodot", "versions": []}});
        let c = v(&empty);
        assert_eq!(
            fields(&c),
            [
                (INVALID, "metadata.name"),
                (INVALID, "spec.group"),
                (REQUIRED, "spec.scope"),
                (REQUIRED, "spec.names.plural"),
                (REQUIRED, "spec.names.kind"),
                (INVALID, "spec.versions"),
            ]
        );
        assert_eq!(
            c[1].message,
            "Invalid value: \"nodot\": should be a domain with at least one dot"
        );
    }

    #[test]
    fn aggregate_message() {
        let one = [Cause::required("spec.ports", "")];
        assert_eq!(
            invalid_message("", "Service", "web", &one),
            "Service \"web\" is invalid: spec.ports: Required value"
        );
        let two = [
            Cause::required("spec.selector", ""),
            Cause::invalid("spec.replicas", -1, "must be greater than or equal to 0"),
        ];
        assert_eq!(
            invalid_message("apps", "Deployment", "web", &two),
            "Deployment.apps \"web\" is invalid: [spec.selector: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]"
        );
    }

    #[test]
    fn causes_serialize_as_status_causes() {
        let c = Cause::duplicate("spec.ports[1].name", "http");
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"reason": "FieldValueDuplicate", "field": "spec.ports[1].name", "message": "Duplicate value: \"http\""})
        );
    }
}
