//! The scenario file as written: serde/schemars types that mirror the YAML exactly.
//!
//! Fields that validation checks keep their source position (`Spanned`) so that every
//! error can name `file:line:col`. Nothing here performs I/O; see `validate` for the
//! checks and for the engine-facing [`super::Step`] / [`super::Action`] types.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::expr::Expr;

/// A string with the position of its YAML node.
pub type SpannedStr = Spanned<String>;

/// The top level of a scenario file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScenarioDoc {
    /// Scenario name, a DNS-1123 label (`mcs-basic`).
    #[schemars(with = "String")]
    pub name: SpannedStr,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: Option<String>,
    /// Labels for selecting scenarios (`run --selector suite=basic,!faults`): keys and
    /// values as Kubernetes label keys and values (`[prefix/]name`, 63 characters at most).
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub labels: Option<Spanned<BTreeMap<String, String>>>,
    /// Logical cluster names (DNS-1123 labels, unique, at least one).
    #[schemars(with = "Vec<String>")]
    pub clusters: Spanned<Vec<SpannedStr>>,
    /// Which MCS implementation the scenario targets.
    #[serde(default)]
    pub flavour: Flavour,
    /// Namespace policy; default: a fresh namespace per run in every cluster.
    #[serde(default)]
    #[schemars(with = "Option<NamespacePolicy>")]
    pub namespace: Option<Spanned<NamespacePolicy>>,
    /// Default timeouts.
    #[serde(default)]
    pub timeouts: TimeoutsDoc,
    /// What the scenario needs from the fleet beyond what its steps show (the number of
    /// clusters, faults and flavour are also inferred). A provider that cannot offer it
    /// skips the scenario with the reason.
    #[serde(default)]
    #[schemars(with = "Option<RequiresDoc>")]
    pub requires: Option<Spanned<RequiresDoc>>,
    /// The steps, run in order (at least one).
    #[schemars(with = "Vec<StepDoc>")]
    pub steps: Spanned<Vec<Spanned<StepDoc>>>,
}

/// The MCS flavour a scenario targets (one type for the whole workspace).
pub use mcs_importer::Flavour;

/// Where the scenario's objects live.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "policy"
)]
pub enum NamespacePolicy {
    /// A new namespace per run (`mcs-<scenario>-<run id>`), created in every cluster (or
    /// only in `createIn`, to test namespace opt-in) and deleted afterwards.
    Fresh {
        /// Clusters to create the namespace in at start (default: all). Create it in the
        /// others with an `apply` of a Namespace named `{{ namespace }}`.
        #[serde(default)]
        create_in: Option<Vec<String>>,
    },
    /// A fixed, pre-existing (or created) namespace.
    Fixed {
        /// The namespace name.
        name: String,
    },
}

impl Default for NamespacePolicy {
    fn default() -> Self {
        NamespacePolicy::Fresh { create_in: None }
    }
}

/// `requires`: capabilities the fleet must have.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequiresDoc {
    /// At least this many clusters (default: the number of `clusters`; may not be fewer).
    #[serde(default)]
    pub clusters: Option<u32>,
    /// The embedded fleet's Fault API (`fault`/`clearFault` steps imply it).
    #[serde(default)]
    pub faults: Option<bool>,
}

/// Default timeouts as written (durations like `500ms`, `30s`, `2m`, `1m30s`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TimeoutsDoc {
    /// Timeout of waits and assertions without their own (default 60s).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub default: Option<SpannedStr>,
    /// Upper bound for any single step (default 120s).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub step: Option<SpannedStr>,
}

/// One step as written: exactly one action key plus optional `name` and `timeout`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepDoc {
    /// Human-readable step name used in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Timeout for this step (overrides `timeouts.default`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<SpannedStr>,
    /// Apply manifests (server-side apply).
    #[serde(default)]
    pub apply: Option<ManifestAction>,
    /// Delete the objects of manifests.
    #[serde(default)]
    pub delete: Option<ManifestAction>,
    /// Patch one object.
    #[serde(default)]
    pub patch: Option<PatchAction>,
    /// Scale a Deployment.
    #[serde(default)]
    pub scale: Option<ScaleAction>,
    /// Create the ServiceExport of a Service.
    #[serde(default)]
    pub export: Option<ServiceAction>,
    /// Delete the ServiceExport of a Service.
    #[serde(default)]
    pub unexport: Option<ServiceAction>,
    /// Wait until an expression on an object's fields holds.
    #[serde(default)]
    pub wait: Option<WaitAction>,
    /// Assert the ServiceImport (and derived objects) in a cluster.
    #[serde(default)]
    pub expect_import: Option<ExpectImportAction>,
    /// Resolve a name from a probe pod and check the answer.
    #[serde(default)]
    pub expect_dns: Option<ExpectDnsAction>,
    /// Fetch a URL from a probe pod and check status and serving clusters.
    #[serde(default)]
    pub expect_http: Option<ExpectHttpAction>,
    /// Exchange a TCP or UDP message with `nc` from a probe pod and check the reply.
    #[serde(default)]
    pub expect_connect: Option<super::model_net::ExpectConnectAction>,
    /// Install a sim Fault object.
    #[serde(default)]
    pub fault: Option<FaultAction>,
    /// Remove a sim Fault object.
    #[serde(default)]
    pub clear_fault: Option<ClearFaultAction>,
    /// Sleep for a duration. Prefer `wait`: sleeps make scenarios slow and flaky.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub sleep: Option<SpannedStr>,
    /// Run a step that is expected to fail, and assert the doctor's diagnosis.
    #[serde(default)]
    pub expect_failure: Option<ExpectFailureAction>,
    /// Start probing DNS and/or HTTP in the background while later steps run.
    #[serde(default)]
    pub start_probe: Option<StartProbeAction>,
    /// Stop a background probe and assert its error budget.
    #[serde(default)]
    pub stop_probe: Option<StopProbeAction>,
}

/// `apply` / `delete`: exactly one of `file` or `manifest`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManifestAction {
    /// Target cluster (declared in `clusters`).
    #[schemars(with = "String")]
    pub cluster: SpannedStr,
    /// Manifest file, relative to the scenario's directory or the project root.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub file: Option<SpannedStr>,
    /// Inline manifest (multi-document YAML), templated.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub manifest: Option<SpannedStr>,
    /// The resolved path of `file` (filled in by validation).
    #[serde(skip)]
    pub resolved_file: Option<PathBuf>,
    /// The text of `file` as validation read it (the fixture is read once).
    #[serde(skip)]
    pub fixture_text: Option<String>,
}

/// Kind of patch, as for `kubectl patch --type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PatchType {
    /// JSON merge patch (RFC 7386).
    #[default]
    Merge,
    /// JSON patch (RFC 6902), `patch` must be a list of operations.
    Json,
    /// Kubernetes strategic merge patch.
    Strategic,
}

/// `patch`: one object, identified by apiVersion/kind/name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchAction {
    /// Target cluster.
    #[schemars(with = "String")]
    pub cluster: SpannedStr,
    /// API version, e.g. `apps/v1`.
    pub api_version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Object name (templated).
    #[schemars(with = "String")]
    pub name: SpannedStr,
    /// Patch type (default merge).
    #[serde(default, rename = "type")]
    pub patch_type: PatchType,
    /// The patch body.
    #[schemars(with = "serde_json::Value")]
    pub patch: Spanned<serde_json::Value>,
}

/// `scale`: set a Deployment's replicas.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScaleAction {
    /// Target cluster.
    #[schemars(with = "String")]
    pub cluster: SpannedStr,
    /// Deployment name.
    pub deployment: String,
    /// Desired replicas (0 to 2147483647, as `spec.replicas` is an int32).
    #[schemars(with = "u32", range(min = 0, max = 2147483647))]
    pub replicas: Spanned<i64>,
}

/// `export` / `unexport`: a Service in a cluster.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceAction {
    /// Target cluster.
    #[schemars(with = "String")]
    pub cluster: SpannedStr,
    /// Service name.
    pub service: String,
}

/// `wait`: an expression on one object's fields (see [`Expr`] for the language).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WaitAction {
    /// Target cluster.
    #[schemars(with = "String")]
    pub cluster: SpannedStr,
    /// API version, e.g. `v1`.
    pub api_version: String,
    /// Kind, e.g. `Endpoints`.
    pub kind: String,
    /// Object name (templated).
    #[schemars(with = "String")]
    pub name: SpannedStr,
    /// Condition, e.g. `.subsets[0].addresses | length == 2`.
    #[serde(rename = "for")]
    #[schemars(with = "String")]
    pub condition: SpannedStr,
    /// Consecutive satisfied observations required (default 1).
    #[serde(default)]
    pub hold: Option<u32>,
    /// The parsed `for` expression (filled in by validation).
    #[serde(skip)]
    pub expr: Option<Expr>,
}

/// `expectImport`: the ServiceImport and what MCS derives from it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectImportAction {
    /// Cluster to look in.
    #[schemars(with = "String")]
    pub cluster: SpannedStr,
    /// Service name.
    pub service: String,
    /// Whether the import must exist (default true).
    #[serde(default = "yes")]
    pub present: bool,
    /// Endpoint IP set must equal the ready pod IPs of these exporting clusters.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub endpoints_from: Option<Vec<SpannedStr>>,
    /// Whether a derived Service must exist (GKE `gke-mcs-*`).
    #[serde(default)]
    pub derived_service: Option<bool>,
    /// Conditions on the ServiceExport/ServiceImport: type → status.
    #[serde(default)]
    pub conditions: BTreeMap<String, String>,
}

/// `true`, for `#[serde(default = …)]`.
pub(super) fn yes() -> bool {
    true
}

/// Expected DNS answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DnsAnswer {
    /// `import-ip` (the ServiceImport's IP) or `nxdomain`.
    Keyword(String),
    /// An explicit set of IPs.
    Ips(Vec<String>),
    /// The pod IPs of these clusters (headless).
    PodsOf {
        /// Clusters whose ready pod IPs are the answer.
        #[serde(rename = "podsOf", alias = "pods-of")]
        pods_of: Vec<String>,
    },
    /// The IPs of one pod (`{pod: hello-ss-0, cluster: a}`), e.g. a StatefulSet member's
    /// per-host name.
    Pod {
        /// Pod name (templated).
        pod: String,
        /// Cluster the pod runs in.
        cluster: String,
    },
    /// Exactly these SRV records, in any order (`type: SRV`).
    Srv {
        /// The records.
        srv: Vec<super::model_net::SrvRecordDoc>,
    },
    /// This many records (addresses, or SRV records with `type: SRV`), each SRV record with
    /// `port` when given.
    Count {
        /// Number of records.
        count: usize,
        /// Port every SRV record must carry.
        #[serde(default)]
        port: Option<u16>,
    },
}

/// `expectDns`: resolve from a probe pod.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectDnsAction {
    /// Cluster whose probe pod resolves.
    #[schemars(with = "String")]
    pub from: SpannedStr,
    /// Name to resolve (templated).
    #[schemars(with = "String")]
    pub name: SpannedStr,
    /// Record type queried (`nslookup -type=…`); default: what `nslookup NAME` asks
    /// (A and AAAA).
    #[serde(default, rename = "type")]
    pub record_type: Option<super::model_net::DnsType>,
    /// Expected answer.
    #[schemars(with = "DnsAnswer")]
    pub answer: Spanned<DnsAnswer>,
}

/// `expectHttp`: fetch from a probe pod.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectHttpAction {
    /// Cluster whose probe pod fetches.
    #[schemars(with = "String")]
    pub from: SpannedStr,
    /// URL (templated).
    #[schemars(with = "String")]
    pub url: SpannedStr,
    /// Expected status (default 200).
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Clusters allowed to serve (all of them must serve when `everyBackend`).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub served_by: Option<Vec<SpannedStr>>,
    /// Every backend pod must be hit at least once.
    #[serde(default)]
    pub every_backend: bool,
    /// Number of consecutive successful requests required (default 1).
    #[serde(default)]
    pub hold: Option<u32>,
}

fn ok_status() -> u16 {
    200
}

/// `fault`: a sim Fault object (its `spec` is passed through).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FaultAction {
    /// Cluster the fault is installed in.
    #[schemars(with = "String")]
    pub cluster: SpannedStr,
    /// Fault object name.
    pub name: String,
    /// Fault spec, e.g. `{partition: {peers: [a]}}`.
    pub spec: serde_json::Value,
}

/// `clearFault`: remove a sim Fault object.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClearFaultAction {
    /// Cluster the fault is installed in.
    #[schemars(with = "String")]
    pub cluster: SpannedStr,
    /// Fault object name.
    pub name: String,
}

/// `startProbe`: DNS and/or HTTP probes from probe pods at a fixed rate, in the background.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartProbeAction {
    /// Probe name, referenced by `stopProbe`.
    #[schemars(with = "String")]
    pub name: SpannedStr,
    /// Clusters whose probe pods probe.
    #[schemars(with = "Vec<String>")]
    pub from: Vec<SpannedStr>,
    /// Name to resolve each round (templated); a sample is ok when it has an answer.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub dns: Option<SpannedStr>,
    /// URL to fetch each round (templated); a sample is ok with the expected status.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub url: Option<SpannedStr>,
    /// Expected HTTP status (default 200).
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Time between rounds (default 200ms).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub interval: Option<SpannedStr>,
    /// The parsed interval (filled in by validation).
    #[serde(skip)]
    pub period: Option<std::time::Duration>,
}

/// `stopProbe`: stops a background probe and checks its error budget.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StopProbeAction {
    /// Name of a started probe.
    #[schemars(with = "String")]
    pub name: SpannedStr,
    /// Most failed samples allowed (default 0).
    #[serde(default)]
    pub max_failed: Option<u32>,
    /// Longest allowed run of consecutive failures, e.g. `2s` (default: no limit).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_outage: Option<SpannedStr>,
    /// Every HTTP answer must come from one of these clusters (default: any).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub allowed_clusters: Option<Vec<SpannedStr>>,
    /// The parsed `maxOutage` (filled in by validation).
    #[serde(skip)]
    pub outage: Option<std::time::Duration>,
}

/// `expectFailure`: a nested step that must fail, with the doctor's diagnosis id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExpectFailureAction {
    /// The step expected to fail.
    #[schemars(with = "StepDoc")]
    pub step: Box<Spanned<StepDoc>>,
    /// Expected diagnosis id, one of the doctor's (`DiagnosisId`), e.g. `endpoints-empty`.
    #[schemars(with = "String")]
    pub diagnosis: SpannedStr,
}
