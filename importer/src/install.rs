//! Installing the CRDs the importer needs into a cluster (kind, the embedded fleet; GKE
//! installs its own): both MCS groups and `about.k8s.io` ClusterProperty, applied with
//! server-side apply, then waited for until Established.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};

/// Applies the CRDs `flavour` needs ([`crate::types::crds_for`]) and waits (up to 30 s
/// each) for Established.
pub async fn install_crds(client: &Client, flavour: crate::Flavour) -> kube::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("mcs-importer").force();
    for crd in crate::types::crds_for(flavour) {
        let name = crd.name_any();
        api.patch(&name, &pp, &Patch::Apply(&crd)).await?;
        let established = await_condition(api.clone(), &name, conditions::is_crd_established());
        if tokio::time::timeout(Duration::from_secs(30), established)
            .await
            .is_err()
        {
            tracing::warn!(crd = %name, "CRD not established after 30s");
        }
    }
    Ok(())
}
