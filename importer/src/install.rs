//! Installing the CRDs the importer needs into a cluster (kind, the embedded fleet; GKE
//! installs its own): one flavour's MCS group (and `about.k8s.io` ClusterProperty for
//! upstream), applied with server-side apply, then waited for until Established.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};

/// How long to wait for each CRD to be Established before going on (the importer's
/// watchers retry with backoff, so a late CRD only delays it).
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

/// Applies the CRDs `flavour` needs ([`crate::types::crds_for`]) and waits for each to be
/// Established (polling; up to 30 s each).
pub async fn install_crds(client: &Client, flavour: crate::Flavour) -> kube::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("mcs-importer").force();
    for crd in crate::types::crds_for(flavour) {
        let name = crd.name_any();
        let applied = api.patch(&name, &pp, &Patch::Apply(&crd)).await?;
        let deadline = tokio::time::Instant::now() + ESTABLISH_TIMEOUT;
        let mut current = applied;
        while !established(&current) {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(crd = %name, "CRD not established after {ESTABLISH_TIMEOUT:?}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            current = api.get(&name).await?;
        }
    }
    Ok(())
}
