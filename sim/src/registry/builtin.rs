//! The built-in resources every simulated cluster serves.

use super::{Conversion, ResourceDef};
use crate::store::ResKey;

struct B {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    namespaced: bool,
    status: bool,
    extra: &'static [&'static str],
}

const fn b(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
) -> B {
    B {
        group,
        version,
        kind,
        plural,
        short: &[],
        namespaced: true,
        status: false,
        extra: &[],
    }
}

impl B {
    const fn short(mut self, s: &'static [&'static str]) -> Self {
        self.short = s;
        self
    }
    const fn cluster(mut self) -> Self {
        self.namespaced = false;
        self
    }
    const fn status(mut self) -> Self {
        self.status = true;
        self
    }
    const fn extra(mut self, e: &'static [&'static str]) -> Self {
        self.extra = e;
        self
    }
}

const BUILTINS: &[B] = &[
    b("", "v1", "Namespace", "namespaces")
        .short(&["ns"])
        .cluster()
        .status()
        .extra(&["finalize"]),
    b("", "v1", "Pod", "pods")
        .short(&["po"])
        .status()
        .extra(&["exec", "log", "eviction"]),
    b("", "v1", "Service", "services").short(&["svc"]).status(),
    b("", "v1", "Endpoints", "endpoints").short(&["ep"]),
    b("", "v1", "ConfigMap", "configmaps").short(&["cm"]),
    b("", "v1", "Secret", "secrets"),
    b("", "v1", "ServiceAccount", "serviceaccounts").short(&["sa"]),
    b("", "v1", "Event", "events").short(&["ev"]),
    b("", "v1", "Node", "nodes")
        .short(&["no"])
        .cluster()
        .status(),
    b("apps", "v1", "Deployment", "deployments")
        .short(&["deploy"])
        .status(),
    b("apps", "v1", "ReplicaSet", "replicasets")
        .short(&["rs"])
        .status(),
    b("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    b("coordination.k8s.io", "v1", "Lease", "leases"),
    b("events.k8s.io", "v1", "Event", "events").short(&["ev"]),
    b(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
    )
    .short(&["crd", "crds"])
    .cluster()
    .status(),
    // Workload APIs of the strict fleet (StatefulSet, Job, CronJob).
    b("apps", "v1", "StatefulSet", "statefulsets")
        .short(&["sts"])
        .status(),
    b("batch", "v1", "Job", "jobs").status(),
    b("batch", "v1", "CronJob", "cronjobs")
        .short(&["cj"])
        .status(),
    // RBAC objects are stored (bootstrap roles included) but not enforced: every identity
    // acts as cluster-admin unless a Fault's deny rule says otherwise (simulation choice).
    b("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
    )
    .cluster(),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
    )
    .cluster(),
    // Reviews: create-only, answered from the fleet's identities and deny rules, never stored.
    b(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
    )
    .cluster(),
    b(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
    )
    .cluster(),
    b(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
    )
    .cluster(),
    b(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
    ),
];

/// Groups whose resources are create-only reviews.
pub const REVIEW_GROUPS: &[&str] = &["authentication.k8s.io", "authorization.k8s.io"];

/// Resources listed in the `all` category, as in Kubernetes.
const IN_ALL: &[&str] = &[
    "pods",
    "services",
    "deployments",
    "replicasets",
    "statefulsets",
    "jobs",
    "cronjobs",
];

/// Every built-in resource definition.
pub fn builtin_defs() -> Vec<ResourceDef> {
    BUILTINS.iter().map(to_def).collect()
}

fn to_def(b: &B) -> ResourceDef {
    let events_v1 = b.group == "events.k8s.io";
    let storage = if events_v1 {
        ResKey::new("", "events")
    } else {
        ResKey::new(b.group, b.plural)
    };
    ResourceDef {
        group: b.group.into(),
        version: b.version.into(),
        kind: b.kind.into(),
        plural: b.plural.into(),
        singular: b.kind.to_lowercase(),
        short_names: b.short.iter().map(|s| s.to_string()).collect(),
        categories: if IN_ALL.contains(&b.plural) {
            vec!["all".into()]
        } else {
            Vec::new()
        },
        namespaced: b.namespaced,
        status: b.status,
        scale: matches!(b.plural, "deployments" | "replicasets" | "statefulsets"),
        builtin: true,
        storage,
        conversion: if events_v1 {
            Conversion::EventsV1
        } else {
            Conversion::None
        },
        columns: None,
        extra_subresources: b.extra.to_vec(),
        schema: None,
    }
}
