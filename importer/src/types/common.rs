//! Shapes shared by both ServiceImport flavours (GKE `net.gke.io/v1` and upstream
//! `multicluster.x-k8s.io/v1alpha1`): the import type, its ports, the exporting-cluster
//! status entry, and the schema annotations Kubernetes needs for list merging.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

pub use k8s_openapi::api::core::v1::{ClientIPConfig, SessionAffinityConfig};

/// The protocol a port uses when a manifest leaves `protocol` out (as core/v1 does).
pub const DEFAULT_PROTOCOL: &str = "TCP";

/// `sessionAffinity` value meaning "no affinity" (the core/v1 default).
pub const SESSION_AFFINITY_NONE: &str = "None";

/// How an imported service is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServiceImportType {
    /// One cluster-set VIP (`spec.ips`) fronts the endpoints of every exporting cluster.
    #[serde(rename = "ClusterSetIP")]
    ClusterSetIp,
    /// No VIP: `clusterset.local` DNS answers with the ready endpoint addresses.
    Headless,
}

impl ServiceImportType {
    /// The wire value (`ClusterSetIP` or `Headless`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterSetIp => "ClusterSetIP",
            Self::Headless => "Headless",
        }
    }
}

impl std::fmt::Display for ServiceImportType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// Hand-written so the CRD carries a plain `type: string` + `enum` (a structural schema),
// without relying on how schemars renders documented unit variants.
impl JsonSchema for ServiceImportType {
    fn schema_name() -> Cow<'static, str> {
        "ServiceImportType".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "type defines the type of this service. Must be ClusterSetIP or Headless.",
            "type": "string",
            "enum": ["ClusterSetIP", "Headless"],
        })
    }
}

/// A port exposed by an imported service (mcs-api `ServicePort`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    /// The name of this port within the service (a DNS_LABEL). All ports of a service
    /// must have unique names; optional if only one port is defined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,

    /// The IP protocol for this port: "TCP", "UDP" or "SCTP". Default is TCP.
    #[serde(default = "default_protocol")]
    #[schemars(transform = drop_default)]
    pub protocol: String,

    /// The port that will be exposed by this service.
    pub port: i32,

    /// The application protocol for this port, a hint for implementations (IANA service
    /// names, `kubernetes.io/h2c`, or implementation-defined prefixed names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

impl ServicePort {
    /// A port with the given number and protocol and no name or app protocol.
    pub fn new(port: i32, protocol: &str) -> Self {
        Self {
            name: None,
            protocol: protocol.to_string(),
            port,
            app_protocol: None,
        }
    }

    /// The same port with `name` set.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }
}

/// An exporting cluster listed in a ServiceImport's status.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct ClusterStatus {
    /// The name of the exporting cluster (an RFC-1123 DNS label).
    pub cluster: String,
}

fn default_protocol() -> String {
    DEFAULT_PROTOCOL.to_string()
}

/// The upstream CRDs carry no schema default for `protocol`; we only default when reading.
fn drop_default(schema: &mut Schema) {
    schema.remove("default");
}

/// A `metav1.Condition` list as Kubernetes validates it: a map keyed by `type`, with the
/// field constraints apimachinery declares on `Condition` (k8s-openapi's schema has none).
pub(crate) fn conditions_schema(_: &mut SchemaGenerator) -> Schema {
    let mut schema = json_schema!({
        "type": "array",
        "items": {
            "description": "Condition contains details for one aspect of the current state of this API Resource.",
            "type": "object",
            "required": ["lastTransitionTime", "message", "reason", "status", "type"],
            "properties": {
                "lastTransitionTime": {
                    "description": "When the condition last changed status.",
                    "type": "string",
                    "format": "date-time",
                },
                "message": {
                    "description": "Human-readable details about the transition; may be empty.",
                    "type": "string",
                    "maxLength": 32768,
                },
                "observedGeneration": {
                    "description": "The .metadata.generation the condition was set from.",
                    "type": "integer",
                    "format": "int64",
                    "minimum": 0,
                },
                "reason": {
                    "description": "CamelCase machine-readable reason for the last transition.",
                    "type": "string",
                    "maxLength": 1024,
                    "minLength": 1,
                    "pattern": CONDITION_REASON_PATTERN,
                },
                "status": {
                    "description": "status of the condition, one of True, False, Unknown.",
                    "type": "string",
                    "enum": ["True", "False", "Unknown"],
                },
                "type": {
                    "description": "type of condition in CamelCase or in foo.example.com/CamelCase.",
                    "type": "string",
                    "maxLength": 316,
                    "pattern": CONDITION_TYPE_PATTERN,
                },
            },
        },
    });
    list_map(&mut schema, "type");
    schema
}

/// `metav1.Condition.reason` validation (apimachinery).
const CONDITION_REASON_PATTERN: &str = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
/// `metav1.Condition.type` validation (apimachinery).
const CONDITION_TYPE_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

/// Marks a `clusters` list as a map keyed by `cluster`.
pub(crate) fn clusters_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.subschema_for::<Vec<ClusterStatus>>();
    list_map(&mut schema, "cluster");
    schema
}

/// Marks a `ports` list as atomic (replaced as a whole by server-side apply).
pub(crate) fn ports_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.subschema_for::<Vec<ServicePort>>();
    schema.insert("x-kubernetes-list-type".into(), "atomic".into());
    schema
}

fn list_map(schema: &mut Schema, key: &str) {
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!([key]),
    );
}
