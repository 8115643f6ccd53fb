//! The running parts of the chain, per cluster: the importer (its Lease heartbeat, or GKE's
//! `gke-mcs` pods), the `clusterset.local` DNS answer and an HTTP request, both from a probe
//! pod.

use std::collections::BTreeSet;
use std::net::IpAddr;

use mcs_importer::Flavour;

use super::facts::{ClusterFacts, LeaseFacts, age, list};
use super::id::DiagnosisId;
use super::judge::{Ctx, Finding, Outcome, Owner, ev, newest};
use super::profile::DnsRule;
use crate::probe::{DnsResult, PROBE_POD};

/// Where the importer's heartbeat lives.
pub(crate) const IMPORTER_NAMESPACE: &str = "gke-mcs";
/// Name of the importer's Lease (and of GKE's importer Deployment).
pub(crate) const IMPORTER_NAME: &str = "gke-mcs-importer";

fn down(summary: String, evidence: Vec<super::model::Evidence>) -> Outcome {
    Outcome::Broken(Finding::user(DiagnosisId::ImporterDown, summary, evidence))
}

/// The Lease holds while `renewTime + leaseDurationSeconds` is not past.
fn lease(c: &ClusterFacts, ctx: &Ctx<'_>, lease: &LeaseFacts, notes: &str) -> Outcome {
    let now = ctx.f.now;
    let duration = lease.duration_secs.unwrap_or(15);
    let expires = lease.renewed.and_then(|r| {
        r.checked_add(jiff::SignedDuration::from_secs(i64::from(duration)))
            .ok()
    });
    let holder = lease.holder.clone().unwrap_or_default();
    if let (Some(r), Some(e)) = (lease.renewed, expires)
        && e >= now
    {
        let a = age(now, r);
        return Outcome::Ok(format!("lease renewed {a} ago by {holder}{notes}"));
    }
    let value = match lease.renewed {
        Some(r) => format!("{r} ({} ago; lease duration {duration}s)", age(now, r)),
        None => "never".into(),
    };
    down(
        format!(
            "the importer's heartbeat in cluster {} is stale: it is not running",
            c.name
        ),
        vec![ev(
            &c.name,
            format!("Lease {IMPORTER_NAMESPACE}/{IMPORTER_NAME}"),
            "spec.renewTime",
            value,
        )],
    )
}

/// The importer is alive: a fresh Lease, or a ready `gke-mcs` pod.
pub(crate) fn importer(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let imp = &c.importer;
    let lease_obj = format!("Lease {IMPORTER_NAMESPACE}/{IMPORTER_NAME}");
    let notes = match imp.permission_logs.len() {
        0 => String::new(),
        n => format!("; {n} permission errors in its logs"),
    };
    if let Some(l) = &imp.lease {
        return lease(c, ctx, l, &notes);
    }
    if let Some(reason) = &imp.unreadable {
        return Outcome::Skipped(format!("cannot read the importer's objects: {reason}"));
    }
    match imp.pods.as_deref() {
        Some(pods) if pods.iter().any(|p| p.ready) => {
            let ready = pods.iter().filter(|p| p.ready).count();
            Outcome::Ok(format!("{ready}/{} gke-mcs pods ready{notes}", pods.len()))
        }
        Some(pods) if !pods.is_empty() => down(
            format!("no importer pod is ready in cluster {}", c.name),
            pods.iter()
                .take(3)
                .map(|p| {
                    ev(
                        &c.name,
                        format!("Pod {IMPORTER_NAMESPACE}/{}", p.name),
                        "status",
                        p.state.clone(),
                    )
                })
                .collect(),
        ),
        _ if ctx.f.flavour == Flavour::Gke => down(
            format!(
                "no importer found in cluster {}: no Lease and no pods in namespace {IMPORTER_NAMESPACE}",
                c.name
            ),
            vec![ev(&c.name, lease_obj, "metadata.name", "absent".into())],
        ),
        _ => Outcome::Skipped("no heartbeat known for this MCS implementation".into()),
    }
}

fn probe_obj(ctx: &Ctx<'_>) -> String {
    format!("Pod {}/{PROBE_POD}", ctx.f.namespace)
}

/// `clusterset.local` answers with the import's address (or, headless, the endpoints).
pub(crate) fn dns(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let p = &c.probes;
    if let Some(reason) = &p.skipped {
        return Outcome::Skipped(reason.clone());
    }
    let (Some(result), Some(i)) = (&p.dns, &c.import) else {
        return Outcome::Skipped("not probed".into());
    };
    let parse = |ips: &mut dyn Iterator<Item = &String>| -> BTreeSet<IpAddr> {
        ips.filter_map(|ip| ip.parse().ok()).collect()
    };
    let rule = ctx.profile().map_or(DnsRule::ExactlyImportIps, |p| p.dns);
    // `any`: the answer must be some of `expected` (an implementation answering one source
    // cluster's address); otherwise exactly `expected`.
    let (expected, any) = match rule {
        _ if i.type_ == "Headless" => (parse(&mut c.imported.iter().flatten()), false),
        DnsRule::ExactlyImportIps => (parse(&mut i.ips.iter()), false),
        DnsRule::SomeImportIpOrEndpoint if i.ips.is_empty() => {
            (parse(&mut c.imported.iter().flatten()), true)
        }
        DnsRule::SomeImportIpOrEndpoint => (parse(&mut i.ips.iter()), true),
        DnsRule::SomeImportIpOrDerived => {
            let derived = c
                .upstream
                .per_cluster
                .iter()
                .filter_map(|e| e.service.as_ref().and_then(|s| s.cluster_ip.as_ref()));
            (parse(&mut i.ips.iter().chain(derived)), true)
        }
    };
    let matches = |got: &BTreeSet<IpAddr>| match any {
        true => !got.is_empty() && got.is_subset(&expected),
        false => *got == expected,
    };
    let since = newest([i.created, ctx.export_since]);
    let field = format!("nslookup {}", p.fqdn);
    let evidence = |value: String| vec![ev(&c.name, probe_obj(ctx), &field, value)];
    let finding = match result {
        DnsResult::Answer(got) if matches(got) => {
            return Outcome::Ok(format!("{} → {}", p.fqdn, list(got)));
        }
        DnsResult::Answer(got) => Finding::user(
            DiagnosisId::DnsWrongAnswer,
            format!(
                "{} resolves to {} in cluster {}, not to the import's {}",
                p.fqdn,
                list(got),
                c.name,
                list(&expected)
            ),
            evidence(format!("{} (expected {})", list(got), list(&expected))),
        )
        .owned(Owner::Propagation, since),
        DnsResult::NxDomain => Finding::user(
            DiagnosisId::DnsNxdomain,
            format!(
                "{} does not exist for the DNS of cluster {} although the ServiceImport does",
                p.fqdn, c.name
            ),
            evidence("NXDOMAIN".into()),
        )
        .owned(Owner::Propagation, since),
        DnsResult::Failed(msg) => Finding::user(
            DiagnosisId::DnsFailed,
            format!(
                "the DNS of cluster {} fails to answer for {}",
                c.name, p.fqdn
            ),
            evidence(msg.clone()),
        ),
    };
    Outcome::Broken(finding)
}

/// An HTTP request to the clusterset name gets an answer (any status but a proxy error).
pub(crate) fn http(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let p = &c.probes;
    if let Some(reason) = &p.skipped {
        return Outcome::Skipped(reason.clone());
    }
    let Some(r) = &p.http else {
        let why = p
            .http_skipped
            .as_deref()
            .unwrap_or("not probed (no DNS answer)");
        return Outcome::Skipped(why.to_string());
    };
    match r.status {
        Some(s) if !(502..=504).contains(&s) => {
            let from = r
                .backend
                .as_ref()
                .map(|b| {
                    let cluster = b.cluster.clone().unwrap_or_else(|| "?".into());
                    format!(" from {cluster}/{}", b.pod)
                })
                .unwrap_or_default();
            Outcome::Ok(format!("HTTP {s}{from}"))
        }
        status => {
            let value = match (status, &r.error) {
                (_, Some(e)) => e.clone(),
                (Some(s), None) => format!("HTTP {s}"),
                (None, None) => "no answer".into(),
            };
            Outcome::Broken(Finding::user(
                DiagnosisId::Unreachable,
                format!(
                    "{} resolves in cluster {} but HTTP gets no answer from it",
                    p.url, c.name
                ),
                vec![ev(
                    &c.name,
                    probe_obj(ctx),
                    &format!("GET {}", p.url),
                    value,
                )],
            ))
        }
    }
}
