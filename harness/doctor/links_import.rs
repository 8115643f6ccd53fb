//! The importing side of the chain, per cluster: the namespace (opt-in), the ServiceImport
//! and its consistency with the exports, the derived Service, and the imported endpoints.

use std::collections::BTreeSet;

use mcs_importer::Flavour;
use mcs_importer::slices::LABEL_SERVICE_NAME;

use super::facts::{ClusterFacts, ImportFacts, PortKey, list};
use super::judge::{Ctx, Finding, Outcome, Owner, ev, newest};
use super::model::Evidence;
use super::remedy::ids;

fn import_obj(ctx: &Ctx<'_>) -> String {
    format!("ServiceImport {}/{}", ctx.f.namespace, ctx.f.service)
}

/// The namespace exists (a cluster opts in to an import by having it, gke-reality.md §2 F5
/// and the recipe). A cluster without it has declined the import: that is a break only in
/// the consumer named by `--from`, or, when none is named, when no cluster but the
/// exporters imports at all (then nobody could consume the service).
pub(crate) fn namespace(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    if c.namespace_present {
        return Outcome::Ok("present".into());
    }
    let opted_out = || {
        Outcome::Skipped(format!(
            "opted out: no namespace {} here, so nothing is imported (create it to opt in)",
            ctx.f.namespace
        ))
    };
    match &ctx.f.consumer {
        Some(from) if *from != c.name => return opted_out(),
        Some(_) => {}
        None => {
            let importers = ctx
                .f
                .clusters
                .iter()
                .filter(|o| o.namespace_present && o.export.is_none())
                .count();
            if importers > 0 {
                return opted_out();
            }
        }
    }
    Outcome::Broken(Finding::user(
        ids::NAMESPACE_MISSING,
        format!(
            "namespace {} does not exist in cluster {}, so nothing is imported there",
            ctx.f.namespace, c.name
        ),
        vec![ev(
            &c.name,
            format!("Namespace {}", ctx.f.namespace),
            "metadata.name",
            "absent".into(),
        )],
    ))
}

/// The import's (name, number, protocol) ports as the resolver merges them.
fn expected_ports(ctx: &Ctx<'_>) -> BTreeSet<PortKey> {
    ctx.resolution
        .import
        .iter()
        .flat_map(|i| &i.ports)
        .map(|p| PortKey {
            name: p.name.clone(),
            port: p.port,
            protocol: p.protocol.clone(),
        })
        .collect()
}

/// The ServiceImport exists where the namespace does and agrees with the exports.
pub(crate) fn import(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    if !c.namespace_present {
        return Outcome::Skipped("no namespace".into());
    }
    let Some(shape) = &ctx.resolution.import else {
        return Outcome::Skipped("nothing valid is exported".into());
    };
    let Some(i) = &c.import else {
        let f = Finding::user(
            ids::IMPORT_MISSING,
            format!(
                "no ServiceImport {}/{} in cluster {} although {} export it",
                ctx.f.namespace,
                ctx.f.service,
                c.name,
                list(&ctx.resolution.clusters)
            ),
            vec![ev(
                &c.name,
                import_obj(ctx),
                "metadata.name",
                "absent".into(),
            )],
        );
        let since = newest([ctx.export_since, c.namespace_created]);
        return Outcome::Broken(f.owned(Owner::Importer, since));
    };
    let (evidence, note) = mismatches(c, ctx, i, shape.import_type.as_str());
    if !evidence.is_empty() {
        let since = newest([ctx.export_since, ctx.services_since, i.created]);
        return Outcome::Broken(inconsistent(c, ctx, evidence).owned(Owner::Importer, since));
    }
    Outcome::Ok(format!(
        "{} [{}], ports {}, from {}{note}",
        i.type_,
        i.ips.join(","),
        list(&i.ports),
        list(&i.clusters)
    ))
}

/// `status.clusters` as logical cluster names (sorted), or the memberships no mapping
/// names: GKE writes membership resource names there (gke-reality.md §1.3).
fn exporting_clusters(ctx: &Ctx<'_>, i: &ImportFacts) -> Result<Vec<String>, Vec<String>> {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for entry in &i.clusters {
        match ctx.f.cluster_of_entry(entry) {
            Some(c) => known.push(c),
            None => unknown.push(
                mcs_importer::types::gke::membership_of(entry)
                    .unwrap_or(entry)
                    .to_string(),
            ),
        }
    }
    known.sort();
    match unknown.is_empty() {
        true => Ok(known),
        false => Err(unknown),
    }
}

/// Where the import disagrees with what the exports call for, and a note on what was shown
/// but not judged (`status.clusters` naming memberships no mapping knows).
fn mismatches(
    c: &ClusterFacts,
    ctx: &Ctx<'_>,
    i: &ImportFacts,
    want_type: &str,
) -> (Vec<Evidence>, String) {
    let mut evidence = Vec::new();
    if i.type_ != want_type {
        let value = format!("{} (the exports call for {want_type})", i.type_);
        evidence.push(ev(&c.name, import_obj(ctx), "spec.type", value));
    }
    let want_ports = expected_ports(ctx);
    let ports: BTreeSet<PortKey> = i.ports.iter().cloned().collect();
    if ports != want_ports {
        let value = format!(
            "{} (the exports call for {})",
            list(&ports),
            list(&want_ports)
        );
        evidence.push(ev(&c.name, import_obj(ctx), "spec.ports", value));
    }
    let mut note = String::new();
    match exporting_clusters(ctx, i) {
        Ok(clusters) if clusters != ctx.resolution.clusters => {
            let value = format!(
                "{} (exporting: {})",
                list(&i.clusters),
                list(&ctx.resolution.clusters)
            );
            evidence.push(ev(&c.name, import_obj(ctx), "status.clusters", value));
        }
        Ok(_) => {}
        Err(unknown) => {
            note = format!(
                " (status.clusters not judged: no cluster known for membership {}; map it with \
                 --membership NAME=CONTEXT or --gcloud)",
                list(&unknown)
            );
        }
    }
    (evidence, note)
}

fn inconsistent(c: &ClusterFacts, ctx: &Ctx<'_>, evidence: Vec<Evidence>) -> Finding {
    Finding::user(
        ids::IMPORT_INCONSISTENT,
        format!(
            "the imported objects of {}/{} in cluster {} disagree with the exports",
            ctx.f.namespace, ctx.f.service, c.name
        ),
        evidence,
    )
}

/// The derived Service exists, carries the import's ports, and its ClusterIP is the
/// import's `spec.ips` (what `clusterset.local` answers).
pub(crate) fn derived(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let Some(i) = c.import.as_ref().filter(|_| c.namespace_present) else {
        return Outcome::Skipped("no import".into());
    };
    let obj = format!("Service {}/{}", ctx.f.namespace, i.derived_name);
    let since = newest([i.created, ctx.export_since]);
    let Some(d) = &c.derived else {
        let f = Finding::user(
            ids::DERIVED_SERVICE_MISSING,
            format!(
                "the ServiceImport exists in cluster {} but its derived Service {} does not",
                c.name, i.derived_name
            ),
            vec![ev(&c.name, obj, "metadata.name", "absent".into())],
        );
        return Outcome::Broken(f.owned(Owner::Importer, since));
    };
    let mut evidence = Vec::new();
    let ip = d.cluster_ip.clone().unwrap_or_default();
    if i.type_ == "Headless" {
        if ip != "None" {
            evidence.push(ev(
                &c.name,
                obj.clone(),
                "spec.clusterIP",
                format!("{ip} (import is Headless)"),
            ));
        }
    } else if ip.is_empty() || ip == "None" || i.ips != [ip.clone()] {
        let value = format!(
            "ServiceImport spec.ips [{}], derived Service ClusterIP {ip:?}",
            i.ips.join(",")
        );
        evidence.push(ev(&c.name, import_obj(ctx), "spec.ips", value));
    }
    let numbers: BTreeSet<i32> = d.ports.iter().map(|p| p.port).collect();
    let missing: Vec<&PortKey> = i
        .ports
        .iter()
        .filter(|p| !numbers.contains(&p.port))
        .collect();
    if !missing.is_empty() {
        let value = format!("{} (missing {})", list(&d.ports), list(missing));
        evidence.push(ev(&c.name, obj, "spec.ports", value));
    }
    if !evidence.is_empty() {
        return Outcome::Broken(inconsistent(c, ctx, evidence).owned(Owner::Importer, since));
    }
    Outcome::Ok(format!("{} ClusterIP {ip}", d.name))
}

/// Where the imported addresses live, for evidence.
fn imported_obj(ctx: &Ctx<'_>, i: &ImportFacts) -> (String, &'static str) {
    match ctx.f.flavour {
        Flavour::Gke => (
            format!("Endpoints {}/{}", ctx.f.namespace, i.derived_name),
            "subsets[].addresses",
        ),
        Flavour::Upstream => (
            format!(
                "EndpointSlices {} -l {LABEL_SERVICE_NAME}={}",
                ctx.f.namespace, ctx.f.service
            ),
            "endpoints[].addresses",
        ),
    }
}

/// The imported addresses are exactly the ready pods of the exporting clusters.
pub(crate) fn endpoints(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let Some(i) = c.import.as_ref().filter(|_| c.namespace_present) else {
        return Outcome::Skipped("no import".into());
    };
    if ctx.expected.is_empty() {
        return Outcome::Skipped("no ready pod to import".into());
    }
    let (obj, field) = imported_obj(ctx, i);
    let since = newest([ctx.export_since, ctx.pods_since, c.namespace_created]);
    let empty = BTreeSet::new();
    let actual = c.imported.as_ref().unwrap_or(&empty);
    let exporters = list(&ctx.resolution.clusters);
    if actual.is_empty() {
        let value = match c.imported {
            None => "object absent".to_string(),
            Some(_) => "no ready address".to_string(),
        };
        let f = Finding::user(
            ids::ENDPOINTS_EMPTY,
            format!(
                "the imported endpoints of {} in cluster {} are empty, but {} ready pods run in {exporters}",
                ctx.f.service,
                c.name,
                ctx.expected.len()
            ),
            vec![ev(
                &c.name,
                obj,
                field,
                format!("{value} (expected {})", list(&ctx.expected)),
            )],
        );
        return Outcome::Broken(f.owned(Owner::Importer, since));
    }
    if *actual != ctx.expected {
        let missing: Vec<&String> = ctx.expected.difference(actual).collect();
        let extra: Vec<&String> = actual.difference(&ctx.expected).collect();
        let value = format!(
            "{} (missing: {}; not a ready pod: {})",
            list(actual),
            list(missing),
            list(extra)
        );
        let f = Finding::user(
            ids::ENDPOINTS_STALE,
            format!(
                "the imported endpoints of {} in cluster {} are not the ready pods of {exporters}",
                ctx.f.service, c.name
            ),
            vec![ev(&c.name, obj, field, value)],
        );
        return Outcome::Broken(f.owned(Owner::Importer, since));
    }
    Outcome::Ok(format!(
        "{} addresses = ready pods of {exporters}",
        actual.len()
    ))
}
