//! Bound operations: what the engine executes. [`crate::scenario::Scenario::bind`] turns
//! each validated step into an [`Operation`] once the run's namespace and run id are known:
//! templates rendered, fixture manifests parsed into objects, defaults and timeouts
//! resolved. Nothing here is optional "because validation filled it in", and nothing
//! carries YAML positions (the step's `location` is text for messages only).
//!
//! This is a leaf module: pure data and pure helpers, no cluster, no context.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::scenario::Expr;

/// One bound step.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Index of the step in the scenario (0-based).
    pub index: usize,
    /// The step kind as written (`apply`, `expectDns`, ...).
    pub kind: &'static str,
    /// The step's name in reports: `name`, or a description, templates rendered.
    pub shown: String,
    /// `file:line:col` of the step, for messages.
    pub location: String,
    /// The step's deadline: its own timeout (or the scenario default), capped by
    /// `timeouts.step`.
    pub timeout: Duration,
    /// The Service the step is about (the doctor diagnoses it after a failure).
    pub service: Option<String>,
    /// What the step does, or why it could not be bound (the step then fails with it).
    pub op: Result<Op, BindError>,
}

/// A step that could not be bound (a template or manifest that fails with the run's real
/// values); the message is the step's failure text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BindError(pub String);

/// What a bound step does.
#[derive(Debug, Clone)]
pub enum Op {
    /// Server-side apply objects.
    Apply(Objects),
    /// Delete objects (in reverse order) and wait until they are gone.
    Delete(Objects),
    /// Patch one object.
    Patch(PatchOp),
    /// Set a Deployment's replicas.
    Scale(ScaleOp),
    /// Create a ServiceExport.
    Export(ServiceRef),
    /// Delete a ServiceExport.
    Unexport(ServiceRef),
    /// Wait for an expression on one object.
    Wait(WaitOp),
    /// Assert the ServiceImport and what MCS derives from it.
    ExpectImport(ImportOp),
    /// Assert a DNS answer from a probe pod.
    ExpectDns(DnsOp),
    /// Assert HTTP answers from a probe pod.
    ExpectHttp(HttpOp),
    /// Assert a TCP/UDP exchange from a probe pod.
    ExpectConnect(ConnectOp),
    /// Install a sim Fault.
    Fault(FaultOp),
    /// Remove a sim Fault.
    ClearFault(FaultRef),
    /// Sleep.
    Sleep(Duration),
    /// A step that must fail with the doctor naming `diagnosis`.
    ExpectFailure {
        /// The step expected to fail.
        inner: Box<Operation>,
        /// Expected diagnosis id.
        diagnosis: String,
    },
    /// Start a background probe.
    StartProbe(StartProbeOp),
    /// Stop a background probe and check its budget.
    StopProbe(StopProbeOp),
}

/// Objects of a manifest (file or inline), rendered and parsed.
#[derive(Debug, Clone)]
pub struct Objects {
    /// Target cluster.
    pub cluster: String,
    /// The manifest's source (`fixtures/…` path or `inline manifest`), for messages.
    pub what: String,
    /// The objects, in manifest order; each has apiVersion, kind and metadata.name.
    pub objects: Vec<Value>,
}

/// `patch`.
#[derive(Debug, Clone)]
pub struct PatchOp {
    /// Target cluster.
    pub cluster: String,
    /// API version.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Object name (rendered).
    pub name: String,
    /// The patch.
    pub body: PatchBody,
}

/// A patch body by type.
#[derive(Debug, Clone)]
pub enum PatchBody {
    /// JSON merge patch.
    Merge(Value),
    /// Strategic merge patch.
    Strategic(Value),
    /// JSON patch (parsed).
    Json(json_patch::Patch),
}

/// `scale`.
#[derive(Debug, Clone)]
pub struct ScaleOp {
    /// Target cluster.
    pub cluster: String,
    /// Deployment name.
    pub deployment: String,
    /// Replicas (validated to fit an int32).
    pub replicas: i64,
}

/// A Service in a cluster (`export`, `unexport`).
#[derive(Debug, Clone)]
pub struct ServiceRef {
    /// Cluster.
    pub cluster: String,
    /// Service name.
    pub service: String,
}

/// `wait`.
#[derive(Debug, Clone)]
pub struct WaitOp {
    /// Cluster.
    pub cluster: String,
    /// API version.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Object name (rendered).
    pub name: String,
    /// The parsed condition.
    pub expr: Expr,
    /// Consecutive satisfied observations required (≥ 1).
    pub hold: u32,
}

/// `expectImport`.
#[derive(Debug, Clone)]
pub struct ImportOp {
    /// Cluster to look in.
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// Whether the import must exist.
    pub present: bool,
    /// When given: the endpoint IP set must equal the ready pod IPs of these clusters.
    pub endpoints_from: Option<Vec<String>>,
    /// When given: whether the derived Service must exist.
    pub derived_service: Option<bool>,
    /// ServiceExport conditions: type → status.
    pub conditions: BTreeMap<String, String>,
}

/// The expected DNS answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsExpect {
    /// NXDOMAIN.
    NxDomain,
    /// The ServiceImport's IPs.
    ImportIp,
    /// These IPs.
    Ips(Vec<String>),
    /// The ready pod IPs of these clusters.
    PodsOf(Vec<String>),
    /// The `from` cluster's own Service's `spec.clusterIPs` (`cluster-ip`).
    ClusterIp,
    /// The `status.podIPs` of one pod (name rendered) in a cluster.
    Pod {
        /// Pod name.
        pod: String,
        /// Cluster the pod runs in.
        cluster: String,
    },
    /// Exactly these SRV records, in any order (`type: SRV`; targets rendered, lowercase,
    /// no trailing dot).
    Srv(Vec<crate::probe::SrvRecord>),
    /// This many records, each SRV record with `port` when given.
    Count {
        /// Number of records.
        count: usize,
        /// Port every SRV record must carry.
        port: Option<u16>,
    },
}

/// `expectDns`.
#[derive(Debug, Clone)]
pub struct DnsOp {
    /// Probing cluster.
    pub from: String,
    /// Name to resolve (rendered).
    pub name: String,
    /// Record type queried (`nslookup -type=…`); `None`: what `nslookup NAME` asks.
    pub record_type: Option<crate::scenario::DnsType>,
    /// Expected answer.
    pub answer: DnsExpect,
}

/// `expectConnect`: a TCP/UDP exchange with `nc` from a probe pod.
#[derive(Debug, Clone)]
pub struct ConnectOp {
    /// Probing cluster.
    pub from: String,
    /// Host (rendered).
    pub host: String,
    /// Port.
    pub port: u16,
    /// UDP instead of TCP.
    pub udp: bool,
    /// What is sent (default `hi`).
    pub send: String,
    /// Text the reply must contain (`None`: any non-empty reply).
    pub contains: Option<String>,
    /// `false`: no such reply may come (the step fails at the first).
    pub reachable: bool,
    /// Clusters allowed to serve (matched on the pod IP the reply names).
    pub served_by: Option<Vec<String>>,
    /// Consecutive good replies required.
    pub hold: u32,
    /// `nc -w` seconds.
    pub wait_seconds: u32,
}

/// `expectHttp`.
#[derive(Debug, Clone)]
pub struct HttpOp {
    /// Probing cluster.
    pub from: String,
    /// URL (rendered).
    pub url: String,
    /// Expected status.
    pub status: u16,
    /// When given: clusters allowed to serve.
    pub served_by: Option<Vec<String>>,
    /// Every backend pod must be hit at least once.
    pub every_backend: bool,
    /// Consecutive successful requests required (≥ 1).
    pub hold: u32,
}

/// `fault`.
#[derive(Debug, Clone)]
pub struct FaultOp {
    /// Cluster.
    pub cluster: String,
    /// Fault name as written (the engine adds the run id on shared clusters).
    pub name: String,
    /// Fault spec.
    pub spec: Value,
}

/// `clearFault`.
#[derive(Debug, Clone)]
pub struct FaultRef {
    /// Cluster.
    pub cluster: String,
    /// Fault name as written.
    pub name: String,
}

/// `startProbe`.
#[derive(Debug, Clone)]
pub struct StartProbeOp {
    /// Probe name.
    pub name: String,
    /// One sampler per probing cluster.
    pub from: Vec<ProbeTarget>,
    /// Expected HTTP status.
    pub status: u16,
    /// Time between rounds.
    pub interval: Duration,
}

/// What one probing cluster samples (rendered for that cluster).
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// Probing cluster.
    pub cluster: String,
    /// Name to resolve each round.
    pub dns: Option<String>,
    /// URL to fetch each round.
    pub url: Option<String>,
}

/// `stopProbe`.
#[derive(Debug, Clone)]
pub struct StopProbeOp {
    /// Probe name.
    pub name: String,
    /// Most failed samples allowed.
    pub max_failed: u32,
    /// Longest allowed outage, when limited.
    pub max_outage: Option<Duration>,
    /// When given: every answer must come from one of these clusters.
    pub allowed_clusters: Option<Vec<String>>,
}

/// `SERVICE` and `NAMESPACE` of a name like `SERVICE.NAMESPACE.svc.clusterset.local`.
pub fn service_of(host: &str) -> Option<(String, String)> {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    // `…<svc>.<ns>.svc.<zone>`: the two labels before the last `svc` (KEP-1645 DNS names
    // may put a host and a cluster id in front: `<host>.<clusterid>.<svc>.<ns>.svc.clusterset.local`);
    // otherwise a short `<svc>.<ns>[…]` name.
    let at = match labels.iter().rposition(|l| *l == "svc") {
        Some(i) if i >= 2 => i - 2,
        _ => 0,
    };
    let service = labels.get(at).filter(|s| !s.is_empty())?;
    let namespace = labels.get(at + 1).filter(|s| !s.is_empty())?;
    Some((service.to_string(), namespace.to_string()))
}

/// The host of an `http://host[:port]/path` URL.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Parses rendered multi-document YAML into objects (empty documents skipped); each must
/// have apiVersion, kind and metadata.name.
pub fn parse_manifests(text: &str, what: &str) -> Result<Vec<Value>, BindError> {
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| BindError(format!("{what}: invalid YAML: {e}")))?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    for (i, d) in docs.iter().enumerate() {
        let ok = d["apiVersion"].is_string()
            && d["kind"].is_string()
            && d["metadata"]["name"].is_string();
        if !ok {
            return Err(BindError(format!(
                "{what}: document {} needs apiVersion, kind and metadata.name",
                i + 1
            )));
        }
    }
    Ok(docs)
}
