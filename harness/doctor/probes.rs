//! The DNS and HTTP links, run from a probe pod in the service's namespace of every
//! importing cluster (concurrently). The doctor creates the pod through
//! [`ProbePod::ensure`] (labelled with the run id) unless one exists already, and deletes
//! afterwards only a pod it created and that still carries its run id: a probe pod of a
//! running scenario is reused and left alone.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use kube::{Client, ResourceExt};

use super::api::{Options, Target};
use super::facts::{ClusterFacts, Facts, ProbeFacts};
use crate::probe::{DnsResult, PROBE_POD, ProbePod, RUN_LABEL};

/// Longest HTTP request: a reachable service answers well within it.
const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Probes from every cluster that has the namespace and the import; fills `facts`.
pub(crate) async fn run(target: &Target, opts: &Options, facts: &mut Facts) {
    let fqdn = format!("{}.{}.svc.clusterset.local", facts.service, facts.namespace);
    let namespace = facts.namespace.as_str();
    let jobs = facts
        .clusters
        .iter()
        .zip(&target.clusters)
        .map(|(c, (_, client))| {
            let fqdn = fqdn.clone();
            async move {
                let url = url(&fqdn, c);
                if !(c.namespace_present && c.import.is_some()) {
                    return ProbeFacts {
                        skipped: Some("no import here".into()),
                        fqdn,
                        url,
                        ..ProbeFacts::default()
                    };
                }
                probe_cluster(client, &c.name, namespace, fqdn, url, opts).await
            }
        });
    let results: Vec<ProbeFacts> = futures::future::join_all(jobs).await;
    for (c, r) in facts.clusters.iter_mut().zip(results) {
        c.probes = r;
    }
}

/// `http://FQDN[:port]/` on the import's first TCP port.
fn url(fqdn: &str, c: &ClusterFacts) -> String {
    let port = c
        .import
        .iter()
        .flat_map(|i| &i.ports)
        .find(|p| p.protocol == "TCP")
        .map_or(80, |p| p.port);
    match port {
        80 => format!("http://{fqdn}/"),
        p => format!("http://{fqdn}:{p}/"),
    }
}

async fn probe_cluster(
    client: &Client,
    cluster: &str,
    namespace: &str,
    fqdn: String,
    url: String,
    opts: &Options,
) -> ProbeFacts {
    let mut facts = ProbeFacts {
        fqdn,
        url,
        ..ProbeFacts::default()
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let existed = match pods.get_opt(PROBE_POD).await {
        Ok(p) => p.is_some(),
        Err(e) => {
            facts.skipped = Some(format!("cannot read pods in {namespace}: {e}"));
            return facts;
        }
    };
    let t = opts.probe_timeout;
    let image = &opts.probe_image;
    match ProbePod::ensure(client.clone(), cluster, namespace, &opts.run_id, image, t).await {
        Ok(pod) => run_probes(&pod, &mut facts, t).await,
        Err(e) => facts.skipped = Some(format!("no probe pod: {e}")),
    }
    if !existed {
        remove_own(&pods, &opts.run_id).await;
    }
    facts
}

async fn run_probes(pod: &ProbePod, facts: &mut ProbeFacts, timeout: Duration) {
    match tokio::time::timeout(timeout, pod.dns(&facts.fqdn)).await {
        Ok(Ok(r)) => facts.dns = Some(r),
        Ok(Err(e)) => facts.skipped = Some(format!("the DNS probe could not run: {e}")),
        Err(_) => {
            let msg = format!("no answer within {}s", timeout.as_secs_f32());
            facts.dns = Some(DnsResult::Failed(msg));
        }
    }
    // Without an address, HTTP can only repeat the DNS failure.
    if !matches!(&facts.dns, Some(DnsResult::Answer(a)) if !a.is_empty()) {
        return;
    }
    match pod.http(&facts.url, timeout.min(MAX_HTTP_TIMEOUT)).await {
        Ok(r) => facts.http = Some(r),
        Err(e) => facts.http_skipped = Some(format!("the HTTP probe could not run: {e}")),
    }
}

/// Deletes the probe pod if it carries our run id (it may have been replaced meanwhile).
async fn remove_own(pods: &Api<Pod>, run_id: &str) {
    let Ok(Some(pod)) = pods.get_opt(PROBE_POD).await else {
        return;
    };
    if pod.labels().get(RUN_LABEL).map(String::as_str) != Some(run_id) {
        return;
    }
    let dp = DeleteParams {
        preconditions: pod.uid().map(|uid| kube::api::Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    if let Err(e) = pods.delete(PROBE_POD, &dp).await {
        tracing::warn!(error = %e, "failed to delete the doctor's probe pod");
    }
}
