//! The per-cluster setup of `kind up` as plain kube API operations: install the MCS CRDs,
//! (upstream flavour) let CoreDNS read ServiceImports and EndpointSlices, and add the
//! `clusterset.local` stanza to the `coredns` ConfigMap, restarting CoreDNS via a pod
//! template annotation. Idempotent; the same code runs against kind and the embedded fleet.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use mcs_importer::Flavour;
use serde_json::json;

use super::corefile::{self, CorefileError};

/// Namespace of CoreDNS.
pub const KUBE_SYSTEM: &str = "kube-system";
/// Name of the CoreDNS ConfigMap, Deployment and service account.
pub const COREDNS: &str = "coredns";
/// Pod template annotation whose change restarts CoreDNS.
pub const RELOAD_ANNOTATION: &str = "mcs-harness.dev/corefile-digest";
/// Name of the ClusterRole and ClusterRoleBinding for CoreDNS (upstream flavour).
pub const RBAC_NAME: &str = "mcs-harness:coredns-multicluster";
/// Field manager of our server-side applies.
const MANAGER: &str = "mcs-harness";

/// Errors of the setup.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An API call failed.
    #[error("failed to {what}")]
    Api {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// The ConfigMap has no `Corefile` key.
    #[error("ConfigMap {KUBE_SYSTEM}/{COREDNS} has no `Corefile` key")]
    NoCorefile,
    /// The Corefile could not be edited.
    #[error("cannot edit the Corefile of ConfigMap {KUBE_SYSTEM}/{COREDNS}")]
    Corefile(#[source] CorefileError),
    /// A manifest could not be rendered (a bug).
    #[error("failed to render a manifest: {0}")]
    Render(String),
}

fn api_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> SetupError {
    let what = what.into();
    move |source| SetupError::Api { what, source }
}

/// What the setup does.
#[derive(Clone, Copy, Debug)]
pub struct SetupOptions {
    /// MCS flavour (CRDs and Corefile stanza).
    pub flavour: Flavour,
    /// Apply the CoreDNS RBAC objects (upstream flavour only). Off for API servers without
    /// `rbac.authorization.k8s.io`, such as the embedded fleet.
    pub rbac: bool,
}

/// What the setup changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupReport {
    /// Whether the Corefile was rewritten (false: the stanza was already there).
    pub corefile_changed: bool,
    /// The reload annotation value set on the Deployment, when it was set.
    pub digest: Option<String>,
    /// Whether the RBAC objects were applied.
    pub rbac_applied: bool,
}

impl std::fmt::Display for SetupReport {
    /// `Corefile updated, CoreDNS reloaded (digest …), RBAC applied` in words.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = vec![match self.corefile_changed {
            true => "Corefile updated".to_string(),
            false => "Corefile already set up".to_string(),
        }];
        if let Some(d) = &self.digest {
            parts.push(format!("CoreDNS restarted (digest {d})"));
        }
        if self.rbac_applied {
            parts.push("RBAC for CoreDNS applied".to_string());
        }
        f.write_str(&parts.join(", "))
    }
}

/// The ClusterRole letting CoreDNS's multicluster plugin read imports and slices.
pub fn cluster_role() -> ClusterRole {
    let rule = |group: &str, resource: &str| PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        verbs: vec!["list".into(), "watch".into()],
        ..Default::default()
    };
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(RBAC_NAME.into()),
            ..Default::default()
        },
        rules: Some(vec![
            rule("multicluster.x-k8s.io", "serviceimports"),
            rule("discovery.k8s.io", "endpointslices"),
        ]),
        ..Default::default()
    }
}

/// The ClusterRoleBinding granting [`cluster_role`] to `kube-system:coredns`.
pub fn cluster_role_binding() -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: ObjectMeta {
            name: Some(RBAC_NAME.into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: RBAC_NAME.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: COREDNS.into(),
            namespace: Some(KUBE_SYSTEM.into()),
            ..Default::default()
        }]),
    }
}

fn yaml<T: serde::Serialize>(v: &T) -> Result<String, SetupError> {
    serde_saphyr::to_string(v).map_err(|e| SetupError::Render(e.to_string()))
}

/// The manifests applied per cluster, as YAML: the flavour's CRDs, then (upstream) RBAC.
pub fn manifests(flavour: Flavour) -> Result<Vec<String>, SetupError> {
    let mut out = Vec::new();
    for crd in mcs_importer::types::crds_for(flavour) {
        out.push(
            mcs_importer::types::crd_yaml(&crd).map_err(|e| SetupError::Render(e.to_string()))?,
        );
    }
    if flavour == Flavour::Upstream {
        out.push(yaml(&cluster_role())?);
        out.push(yaml(&cluster_role_binding())?);
    }
    Ok(out)
}

/// Runs the setup against one cluster.
pub async fn setup(client: &Client, opts: &SetupOptions) -> Result<SetupReport, SetupError> {
    mcs_importer::install_crds(client, opts.flavour)
        .await
        .map_err(api_err("install the MCS CRDs"))?;
    let mut report = SetupReport::default();
    if opts.rbac && opts.flavour == Flavour::Upstream {
        apply_rbac(client).await?;
        report.rbac_applied = true;
    }
    if let Some(digest) = patch_corefile(client, opts.flavour).await? {
        restart_coredns(client, &digest).await?;
        report.corefile_changed = true;
        report.digest = Some(digest);
    }
    Ok(report)
}

async fn apply_rbac(client: &Client) -> Result<(), SetupError> {
    let pp = PatchParams::apply(MANAGER).force();
    let roles: Api<ClusterRole> = Api::all(client.clone());
    roles
        .patch(RBAC_NAME, &pp, &Patch::Apply(&cluster_role()))
        .await
        .map_err(api_err(format!("apply ClusterRole {RBAC_NAME}")))?;
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    bindings
        .patch(RBAC_NAME, &pp, &Patch::Apply(&cluster_role_binding()))
        .await
        .map_err(api_err(format!("apply ClusterRoleBinding {RBAC_NAME}")))?;
    Ok(())
}

/// Adds the stanza; returns the new Corefile's digest when it changed. The write carries
/// the read resourceVersion, so a concurrent edit fails with a conflict instead of being lost.
async fn patch_corefile(client: &Client, flavour: Flavour) -> Result<Option<String>, SetupError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), KUBE_SYSTEM);
    let what = format!("read ConfigMap {KUBE_SYSTEM}/{COREDNS}");
    let mut cm = api.get(COREDNS).await.map_err(api_err(what))?;
    let current = cm
        .data
        .as_ref()
        .and_then(|d| d.get("Corefile"))
        .ok_or(SetupError::NoCorefile)?;
    let Some(new) = corefile::with_stanza(current, flavour).map_err(SetupError::Corefile)? else {
        return Ok(None);
    };
    let digest = corefile::digest(&new);
    cm.data
        .get_or_insert_with(Default::default)
        .insert("Corefile".into(), new);
    let what = format!("update ConfigMap {KUBE_SYSTEM}/{COREDNS}");
    api.replace(&cm.name_any(), &PostParams::default(), &cm)
        .await
        .map_err(api_err(what))?;
    Ok(Some(digest))
}

async fn restart_coredns(client: &Client, digest: &str) -> Result<(), SetupError> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), KUBE_SYSTEM);
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
        RELOAD_ANNOTATION: digest
    }}}}});
    api.patch(COREDNS, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(api_err(format!(
            "annotate Deployment {KUBE_SYSTEM}/{COREDNS}"
        )))?;
    Ok(())
}
