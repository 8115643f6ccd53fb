//! The Fault object's spec, parsed and validated, and the CRD that serves it.

use serde_json::{Value, json};

/// One fault, as its spec says.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultSpec {
    /// Cut traffic between this cluster and `peers` (both directions).
    Partition {
        /// Peer cluster names.
        peers: Vec<String>,
    },
    /// DNS outage.
    Dns {
        /// `ServFail` or `Drop`.
        mode: String,
    },
    /// Random API failures, latency, watch drops.
    ApiErrors {
        /// Fraction of requests that fail (0..=1).
        rate: f64,
        /// HTTP codes to answer (500, 503, 429, ...).
        codes: Vec<u16>,
        /// Added latency per request, in milliseconds.
        latency_ms: u64,
        /// Cut watch streams after this many seconds (0 = never).
        watch_drop_seconds: u64,
    },
    /// 403 for an identity.
    Deny {
        /// User name, or "*".
        user: String,
        /// Verbs, default all.
        verbs: Vec<String>,
        /// Resources (`endpoints`, `endpointslices.discovery.k8s.io`), default all.
        resources: Vec<String>,
        /// Namespaces, default all.
        namespaces: Vec<String>,
    },
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl FaultSpec {
    /// Parses `spec`; the error says what to write instead.
    pub fn parse(spec: &Value) -> Result<FaultSpec, String> {
        let kinds: Vec<&str> = ["partition", "dns", "apiErrors", "deny"]
            .into_iter()
            .filter(|k| spec.get(*k).is_some())
            .collect();
        match kinds.as_slice() {
            ["partition"] => parse_partition(&spec["partition"]),
            ["dns"] => parse_dns(&spec["dns"]),
            ["apiErrors"] => parse_api_errors(&spec["apiErrors"]),
            ["deny"] => parse_deny(&spec["deny"]),
            [] => Err("spec must set one of partition, dns, apiErrors, deny".into()),
            many => Err(format!(
                "spec sets {} faults ({}); use one Fault object per fault",
                many.len(),
                many.join(", ")
            )),
        }
    }

    /// A short description for status and printer columns.
    pub fn describe(&self) -> String {
        match self {
            FaultSpec::Partition { peers } => format!("partition from {}", peers.join(",")),
            FaultSpec::Dns { mode } => format!("dns {mode}"),
            FaultSpec::ApiErrors {
                rate,
                codes,
                latency_ms,
                watch_drop_seconds,
            } => {
                format!(
                    "api errors rate={rate} codes={codes:?} latency={latency_ms}ms watchDrop={watch_drop_seconds}s"
                )
            }
            FaultSpec::Deny {
                user,
                verbs,
                resources,
                ..
            } => {
                format!("deny {user} {} on {}", or_all(verbs), or_all(resources))
            }
        }
    }
}

/// Where a fault applies: the whole cluster (no namespaces), or only what concerns the
/// listed namespaces. A simulation choice, so that several test runs can share one fleet and
/// still break only their own namespaces (a real outage is cluster-wide):
/// - `partition`: connections to pods in these namespaces;
/// - `dns`: queries for names in these namespaces (`*.NS.svc.cluster.local`,
///   `*.NS.svc.clusterset.local`, `*.NS.pod.cluster.local`);
/// - `apiErrors`: requests on objects in these namespaces (and on the Namespace objects);
/// - `deny`: requests in these namespaces (intersected with `deny.namespaces`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Namespaces the fault is limited to; empty: the whole cluster.
    pub namespaces: Vec<String>,
}

impl Scope {
    /// Parses `spec.scope` (absent: the whole cluster).
    pub fn parse(spec: &Value) -> Result<Scope, String> {
        let Some(scope) = spec.get("scope") else {
            return Ok(Scope::default());
        };
        let ns = &scope["namespaces"];
        let ok = scope.is_object()
            && scope
                .as_object()
                .is_some_and(|o| o.keys().all(|k| k == "namespaces"))
            && (ns.is_null()
                || ns
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)));
        if !ok {
            return Err("scope must be {namespaces: [NAME, ...]}".into());
        }
        Ok(Scope {
            namespaces: strings(ns),
        })
    }

    /// Whether something in namespace `ns` (None: cluster-scoped) is affected.
    pub fn covers(&self, ns: Option<&str>) -> bool {
        self.namespaces.is_empty() || ns.is_some_and(|n| self.namespaces.iter().any(|x| x == n))
    }

    /// ` in namespaces a,b` for descriptions (empty for the whole cluster).
    pub fn describe(&self) -> String {
        match self.namespaces.is_empty() {
            true => String::new(),
            false => format!(" in namespaces {}", self.namespaces.join(",")),
        }
    }
}

fn or_all(v: &[String]) -> String {
    if v.is_empty() {
        "*".into()
    } else {
        v.join(",")
    }
}

fn parse_partition(p: &Value) -> Result<FaultSpec, String> {
    let peers = strings(&p["peers"]);
    if peers.is_empty() {
        return Err("partition.peers must list at least one cluster name".into());
    }
    Ok(FaultSpec::Partition { peers })
}

fn parse_dns(d: &Value) -> Result<FaultSpec, String> {
    match d["mode"].as_str().unwrap_or("ServFail") {
        m @ ("ServFail" | "Drop") => Ok(FaultSpec::Dns {
            mode: m.to_string(),
        }),
        other => Err(format!(
            "dns.mode {other:?} is not supported: use ServFail or Drop"
        )),
    }
}

fn parse_api_errors(a: &Value) -> Result<FaultSpec, String> {
    let rate = a["rate"].as_f64().unwrap_or(0.0);
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("apiErrors.rate {rate} must be between 0 and 1"));
    }
    let codes: Vec<u16> = match a.get("codes") {
        None => vec![500],
        Some(c) => c
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64())
                    .filter_map(|x| u16::try_from(x).ok())
                    .collect()
            })
            .unwrap_or_default(),
    };
    if codes.is_empty() || codes.iter().any(|c| !(400..=599).contains(c)) {
        return Err(
            "apiErrors.codes must list HTTP error codes (400-599), e.g. [500, 503, 429]".into(),
        );
    }
    Ok(FaultSpec::ApiErrors {
        rate,
        codes,
        latency_ms: a["latencyMs"].as_u64().unwrap_or(0),
        watch_drop_seconds: a["watchDropSeconds"].as_u64().unwrap_or(0),
    })
}

fn parse_deny(d: &Value) -> Result<FaultSpec, String> {
    let user = d["user"].as_str().unwrap_or("").to_string();
    if user.is_empty() {
        return Err("deny.user is required (a user name, e.g. system:serviceaccount:gke-mcs:gke-mcs-importer, or \"*\")".into());
    }
    Ok(FaultSpec::Deny {
        user,
        verbs: strings(&d["verbs"]),
        resources: strings(&d["resources"]),
        namespaces: strings(&d["namespaces"]),
    })
}

/// The CustomResourceDefinition of `faults.sim.mcs-harness.dev`.
pub fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("faults.{}", super::GROUP)},
        "spec": {"group": super::GROUP, "scope": "Cluster",
            "names": {"plural": "faults", "singular": "fault", "kind": "Fault", "listKind": "FaultList", "categories": ["mcs-sim"]},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Active", "type": "boolean", "jsonPath": ".status.active"},
                    {"name": "Effect", "type": "string", "jsonPath": ".status.effect"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_and_rejects_bad_specs() {
        assert_eq!(
            FaultSpec::parse(&json!({"partition": {"peers": ["b"]}})),
            Ok(FaultSpec::Partition {
                peers: vec!["b".into()]
            })
        );
        assert_eq!(
            FaultSpec::parse(&json!({"dns": {"mode": "Drop"}})),
            Ok(FaultSpec::Dns {
                mode: "Drop".into()
            })
        );
        let api = FaultSpec::parse(
            &json!({"apiErrors": {"rate": 0.5, "codes": [503], "watchDropSeconds": 2}}),
        )
        .unwrap();
        assert_eq!(
            api,
            FaultSpec::ApiErrors {
                rate: 0.5,
                codes: vec![503],
                latency_ms: 0,
                watch_drop_seconds: 2
            }
        );
        let deny = FaultSpec::parse(
            &json!({"deny": {"user": "u", "verbs": ["list"], "resources": ["endpoints"]}}),
        )
        .unwrap();
        assert_eq!(deny.describe(), "deny u list on endpoints");
        assert!(FaultSpec::parse(&json!({})).unwrap_err().contains("one of"));
        assert!(
            FaultSpec::parse(&json!({"dns": {}, "deny": {"user": "u"}}))
                .unwrap_err()
                .contains("one Fault object per fault")
        );
        assert!(FaultSpec::parse(&json!({"partition": {"peers": []}})).is_err());
        assert!(
            FaultSpec::parse(&json!({"dns": {"mode": "Slow"}}))
                .unwrap_err()
                .contains("ServFail or Drop")
        );
        assert!(FaultSpec::parse(&json!({"apiErrors": {"rate": 2}})).is_err());
        assert!(FaultSpec::parse(&json!({"apiErrors": {"codes": [200]}})).is_err());
        assert!(FaultSpec::parse(&json!({"deny": {}})).is_err());
    }

    #[test]
    fn scope_limits_a_fault_to_namespaces() {
        let whole = Scope::parse(&json!({"dns": {}})).unwrap();
        assert!(whole.covers(None) && whole.covers(Some("x")));
        let s = Scope::parse(&json!({"dns": {}, "scope": {"namespaces": ["a", "b"]}})).unwrap();
        assert!(s.covers(Some("a")) && !s.covers(Some("c")) && !s.covers(None));
        assert_eq!(s.describe(), " in namespaces a,b");
        assert!(Scope::parse(&json!({"scope": {"ns": ["a"]}})).is_err());
        assert!(Scope::parse(&json!({"scope": {"namespaces": [1]}})).is_err());
        assert!(Scope::parse(&json!({"scope": []})).is_err());
        // `scope` is not a fault kind of its own.
        assert!(FaultSpec::parse(&json!({"scope": {}, "dns": {}})).is_ok());
    }
}
