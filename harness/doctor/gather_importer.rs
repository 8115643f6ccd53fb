//! Reading the importer's state in one cluster (best effort, never an error): our
//! importer's Lease heartbeat `gke-mcs/gke-mcs-importer`, GKE's `gke-mcs` pods, and the
//! permission errors in the recent logs of those pods. Reads only: the doctor never writes
//! to `gke-mcs`.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, LogParams};
use mcs_importer::Flavour;

use super::facts::{ImporterFacts, LeaseFacts, is_permission_message};
use super::gather::pod_facts;
use super::links_runtime::{IMPORTER_NAME, IMPORTER_NAMESPACE};

/// Log lines read per importer pod, and how far back.
const LOG_TAIL: i64 = 200;
const LOG_SINCE_SECONDS: i64 = 15 * 60;
/// Permission lines kept per pod (logs are evidence, not a dump), and the most characters
/// kept of one line: a whole GKE permission error (its JSON details run past 1,000
/// characters) fits; reports fold long evidence into a collapsed block instead of cutting it.
const KEEP_LINES: usize = 3;
const MAX_LINE: usize = 4096;

/// The importer's facts in the cluster of `client`.
pub(crate) async fn read(client: &Client, flavour: Flavour) -> ImporterFacts {
    let leases: Api<Lease> = Api::namespaced(client.clone(), IMPORTER_NAMESPACE);
    let pods: Api<Pod> = Api::namespaced(client.clone(), IMPORTER_NAMESPACE);
    let lp = ListParams::default();
    let (lease, listed) = tokio::join!(leases.get_opt(IMPORTER_NAME), pods.list(&lp));
    let mut facts = ImporterFacts::default();
    match lease {
        Ok(l) => facts.lease = l.map(|l| lease_facts(&l)),
        Err(e) => {
            facts.unreadable = Some(format!("Lease {IMPORTER_NAMESPACE}/{IMPORTER_NAME}: {e}"))
        }
    }
    match listed {
        Ok(list) => facts.pods = Some(list.items.iter().map(pod_facts).collect()),
        Err(e) => {
            facts
                .unreadable
                .get_or_insert(format!("pods in {IMPORTER_NAMESPACE}: {e}"));
        }
    }
    // GKE's importer reports IAM denials only in its logs.
    if flavour == Flavour::Gke && facts.lease.is_none() {
        let names: Vec<String> = facts
            .pods
            .iter()
            .flatten()
            .map(|p| p.name.clone())
            .collect();
        for name in names.iter().take(3) {
            facts
                .permission_logs
                .extend(permission_lines(&pods, name).await);
        }
    }
    facts
}

fn lease_facts(l: &Lease) -> LeaseFacts {
    let spec = l.spec.clone().unwrap_or_default();
    LeaseFacts {
        holder: spec.holder_identity,
        renewed: spec.renew_time.or(spec.acquire_time).map(|t| t.0),
        duration_secs: spec.lease_duration_seconds,
    }
}

async fn permission_lines(pods: &Api<Pod>, name: &str) -> Vec<String> {
    let lp = LogParams {
        tail_lines: Some(LOG_TAIL),
        since_seconds: Some(LOG_SINCE_SECONDS),
        ..LogParams::default()
    };
    let Ok(text) = pods.logs(name, &lp).await else {
        return Vec::new();
    };
    evidence_lines(name, &text)
}

/// The last [`KEEP_LINES`] permission lines of a log, each prefixed with the pod's name and
/// cut at [`MAX_LINE`] characters.
fn evidence_lines(pod: &str, log: &str) -> Vec<String> {
    let lines: Vec<&str> = log.lines().filter(|l| is_permission_message(l)).collect();
    let start = lines.len().saturating_sub(KEEP_LINES);
    lines[start..]
        .iter()
        .map(|l| {
            let short: String = l.chars().take(MAX_LINE).collect();
            format!("{pod}: {short}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_permission_error_is_kept_whole() {
        let detail = "x".repeat(1500);
        let line =
            format!("ERROR: PERMISSION_DENIED: Permission 'compute.networks.get' denied {detail}");
        assert!(
            is_permission_message(&line),
            "fixture must be a permission line"
        );
        let log = format!("info: started\n{line}\n");
        let got = evidence_lines("gke-mcs-importer-1", &log);
        assert_eq!(got, vec![format!("gke-mcs-importer-1: {line}")]);
        let huge = format!("{line}{}", "y".repeat(MAX_LINE));
        let cut = evidence_lines("p", &huge);
        assert_eq!(cut[0].chars().count(), "p: ".len() + MAX_LINE);
    }
}
