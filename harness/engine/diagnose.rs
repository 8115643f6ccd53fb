//! Runs the doctor for the Service a failed step is about, bounded in time, so a failure
//! report says which link of the MCS chain broke.

use std::time::Duration;

use super::context::Ctx;
use crate::doctor::{self, Diagnosis};

/// Upper bound for one diagnosis (it probes DNS and HTTP from probe pods).
const DIAGNOSIS_TIMEOUT: Duration = Duration::from_secs(30);

/// The doctor's diagnosis of `service` in the run's namespace, or why there is none.
pub(super) async fn diagnose(ctx: &Ctx, service: &str) -> Result<Diagnosis, String> {
    let target = doctor::Target {
        clusters: ctx.clusters.clients().into_iter().collect(),
        flavour: ctx.id.flavour,
        namespace: ctx.id.namespace.clone(),
        service: service.to_string(),
        // A `gke_PROJECT_LOCATION_CLUSTER` context is membership CLUSTER (as the CLI reads it).
        memberships: ctx
            .clusters
            .handles()
            .iter()
            .filter_map(|(n, h)| {
                let (_, _, cluster) = doctor::gcloud_fleet::gke_context_parts(&h.location)?;
                Some((cluster, n.clone()))
            })
            .collect(),
        consumer: None,
    };
    // The scenario's default timeout is its author's notion of how long propagation may
    // take here (milliseconds on the embedded fleet, minutes on GKE): a change younger
    // than that is "propagating", an older one that never arrived is broken.
    let opts = doctor::Options {
        probe_image: ctx.cfg.probe_image.clone(),
        run_id: ctx.id.run_id.clone(),
        propagation_window: ctx.id.default_timeout,
        ..Default::default()
    };
    match tokio::time::timeout(DIAGNOSIS_TIMEOUT, doctor::diagnose(&target, &opts)).await {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(format!("the doctor failed: {e}")),
        Err(_) => Err(format!("the doctor took longer than {DIAGNOSIS_TIMEOUT:?}")),
    }
}
