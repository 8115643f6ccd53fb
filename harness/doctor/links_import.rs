//! The importing side of the chain, per cluster: the namespace (opt-in), the ServiceImport
//! and its consistency with the exports, the derived Service, and the imported endpoints.

use std::collections::BTreeSet;

use mcs_importer::slices::LABEL_SERVICE_NAME;

use super::facts::{ClusterFacts, DerivedFacts, ImportFacts, PortKey, list};
use super::id::DiagnosisId;
use super::judge::{Ctx, Finding, Outcome, Owner, ev, newest};
use super::model::Evidence;
use super::profile::{ANTREA_PREFIX, CLOUD_MAP_DERIVED_ANNOTATION, DerivedRule, EndpointsRule};

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
        DiagnosisId::NamespaceMissing,
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
            DiagnosisId::ImportMissing,
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
    if ctx.profile().is_some_and(|p| !p.writes_import_clusters) {
        note = " (status.clusters not judged: this implementation does not write it)".into();
        return (evidence, note);
    }
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
        DiagnosisId::ImportInconsistent,
        format!(
            "the imported objects of {}/{} in cluster {} disagree with the exports",
            ctx.f.namespace, ctx.f.service, c.name
        ),
        evidence,
    )
}

/// The derived Service exists, carries the import's ports, and its ClusterIP is the
/// import's `spec.ips` (what `clusterset.local` answers) — where the implementation
/// profile says it writes one, and under its name.
pub(crate) fn derived(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let Some(i) = c.import.as_ref().filter(|_| c.namespace_present) else {
        return Outcome::Skipped("no import".into());
    };
    match ctx.profile().map_or(DerivedRule::Annotated, |p| p.derived) {
        DerivedRule::Annotated => one_derived(c, ctx, i, &i.derived_name, c.derived.as_ref()),
        DerivedRule::None => Outcome::Skipped(
            "this implementation writes no derived Service: DNS answers from its EndpointSlices"
                .into(),
        ),
        DerivedRule::AntreaPrefix => {
            let name = format!("{ANTREA_PREFIX}{}", ctx.f.service);
            let svc = c.upstream.antrea.as_ref().map(|a| &a.service);
            one_derived(c, ctx, i, &name, svc)
        }
        DerivedRule::PerCluster => per_cluster(c, ctx, i),
    }
}

fn derived_missing(c: &ClusterFacts, ctx: &Ctx<'_>, i: &ImportFacts, name: &str) -> Outcome {
    let obj = format!("Service {}/{name}", ctx.f.namespace);
    let f = Finding::user(
        DiagnosisId::DerivedServiceMissing,
        format!(
            "the ServiceImport exists in cluster {} but its derived Service {name} does not",
            c.name
        ),
        vec![ev(&c.name, obj, "metadata.name", "absent".into())],
    );
    let since = newest([i.created, ctx.export_since]);
    Outcome::Broken(f.owned(Owner::Importer, since))
}

/// The import's ports missing from a derived Service, as evidence.
fn missing_ports(
    c: &ClusterFacts,
    obj: &str,
    i: &ImportFacts,
    d: &DerivedFacts,
) -> Option<Evidence> {
    let numbers: BTreeSet<i32> = d.ports.iter().map(|p| p.port).collect();
    let missing: Vec<&PortKey> = i
        .ports
        .iter()
        .filter(|p| !numbers.contains(&p.port))
        .collect();
    let value = format!("{} (missing {})", list(&d.ports), list(&missing));
    (!missing.is_empty()).then(|| ev(&c.name, obj.to_string(), "spec.ports", value))
}

fn one_derived(
    c: &ClusterFacts,
    ctx: &Ctx<'_>,
    i: &ImportFacts,
    name: &str,
    d: Option<&DerivedFacts>,
) -> Outcome {
    let Some(d) = d else {
        return derived_missing(c, ctx, i, name);
    };
    let obj = format!("Service {}/{name}", ctx.f.namespace);
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
    evidence.extend(missing_ports(c, &obj, i, d));
    if !evidence.is_empty() {
        let since = newest([i.created, ctx.export_since]);
        return Outcome::Broken(inconsistent(c, ctx, evidence).owned(Owner::Importer, since));
    }
    Outcome::Ok(format!("{} ClusterIP {ip}", d.name))
}

/// Cloud Map: one derived Service per source cluster, listed in the import's annotation;
/// `spec.ips` stays empty (gke-reality.md §4), so only existence and ports are judged.
fn per_cluster(c: &ClusterFacts, ctx: &Ctx<'_>, i: &ImportFacts) -> Outcome {
    let entries = &c.upstream.per_cluster;
    if entries.is_empty() {
        let name = format!("(annotation {CLOUD_MAP_DERIVED_ANNOTATION})");
        return derived_missing(c, ctx, i, &name);
    }
    let mut evidence = Vec::new();
    for e in entries {
        let Some(d) = &e.service else {
            return derived_missing(c, ctx, i, &e.name);
        };
        let obj = format!("Service {}/{}", ctx.f.namespace, e.name);
        evidence.extend(missing_ports(c, &obj, i, d));
    }
    if !evidence.is_empty() {
        let since = newest([i.created, ctx.export_since]);
        return Outcome::Broken(inconsistent(c, ctx, evidence).owned(Owner::Importer, since));
    }
    let names: Vec<String> = entries
        .iter()
        .map(|e| format!("{} (cluster {})", e.name, e.cluster))
        .collect();
    Outcome::Ok(format!("one per source cluster: {}", names.join(", ")))
}

/// What the imported endpoints should hold, where they live, and what they are called.
struct Imported<'a> {
    actual: Option<&'a BTreeSet<String>>,
    expected: &'a BTreeSet<String>,
    what: &'static str,
    obj: String,
    field: &'static str,
}

fn slices_obj(ctx: &Ctx<'_>) -> String {
    format!(
        "EndpointSlices {} -l {LABEL_SERVICE_NAME}={}",
        ctx.f.namespace, ctx.f.service
    )
}

/// The imported addresses per the flavour and implementation profile; `Err`: not judged.
fn imported<'a>(
    c: &'a ClusterFacts,
    ctx: &'a Ctx<'_>,
    i: &ImportFacts,
) -> Result<Imported<'a>, String> {
    let pods = "the ready pods";
    let Some(p) = ctx.profile() else {
        return Ok(Imported {
            actual: c.imported.as_ref(),
            expected: &ctx.expected,
            what: pods,
            obj: format!("Endpoints {}/{}", ctx.f.namespace, i.derived_name),
            field: "subsets[].addresses",
        });
    };
    let slices = |expected, what| Imported {
        actual: c.imported.as_ref(),
        expected,
        what,
        obj: slices_obj(ctx),
        field: "endpoints[].addresses",
    };
    let service_ips = "the Service ClusterIPs";
    Ok(match p.endpoints {
        EndpointsRule::PodSlices => slices(&ctx.expected, pods),
        EndpointsRule::ServiceIpSlices if i.type_ == "Headless" => slices(&ctx.expected, pods),
        EndpointsRule::ServiceIpSlices => slices(&ctx.expected_service_ips, service_ips),
        EndpointsRule::AntreaEndpoints => {
            let actual = c
                .upstream
                .antrea
                .as_ref()
                .and_then(|a| a.endpoints.as_ref());
            // Antrea's endpointIPType: ClusterIP (default) or PodIP; either is healthy.
            let by_pod = actual.is_some_and(|a| *a == ctx.expected);
            Imported {
                actual,
                expected: if by_pod {
                    &ctx.expected
                } else {
                    &ctx.expected_service_ips
                },
                what: if by_pod { pods } else { service_ips },
                obj: format!(
                    "Endpoints {}/{ANTREA_PREFIX}{}",
                    ctx.f.namespace, ctx.f.service
                ),
                field: "subsets[].addresses",
            }
        }
        EndpointsRule::NotInApi => {
            return Err(format!(
                "not judged: {} keeps remote endpoints outside the Kubernetes API (BPF maps,                  unless EndpointSlice sync is on); DNS and HTTP tell",
                p.title
            ));
        }
    })
}

/// The imported addresses are exactly what the exporting clusters call for: their ready
/// pods, or (Lighthouse, Antrea by default) their Service ClusterIPs.
pub(crate) fn endpoints(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let Some(i) = c.import.as_ref().filter(|_| c.namespace_present) else {
        return Outcome::Skipped("no import".into());
    };
    if ctx.expected.is_empty() {
        return Outcome::Skipped("no ready pod to import".into());
    }
    let want = match imported(c, ctx, i) {
        Ok(w) => w,
        Err(why) => return Outcome::Skipped(why),
    };
    let since = newest([ctx.export_since, ctx.pods_since, c.namespace_created]);
    let empty = BTreeSet::new();
    let actual = want.actual.unwrap_or(&empty);
    let expected = want.expected;
    let exporters = list(&ctx.resolution.clusters);
    if actual.is_empty() {
        let value = match want.actual {
            None => "object absent".to_string(),
            Some(_) => "no ready address".to_string(),
        };
        let f = Finding::user(
            DiagnosisId::EndpointsEmpty,
            format!(
                "the imported endpoints of {} in cluster {} are empty, but {} ready pods run in {exporters}",
                ctx.f.service,
                c.name,
                ctx.expected.len()
            ),
            vec![ev(
                &c.name,
                want.obj,
                want.field,
                format!("{value} (expected {})", list(expected)),
            )],
        );
        return Outcome::Broken(f.owned(Owner::Importer, since));
    }
    if actual != expected {
        let missing: Vec<&String> = expected.difference(actual).collect();
        let extra: Vec<&String> = actual.difference(expected).collect();
        let value = format!(
            "{} (missing: {}; not expected: {})",
            list(actual),
            list(missing),
            list(extra)
        );
        let f = Finding::user(
            DiagnosisId::EndpointsStale,
            format!(
                "the imported endpoints of {} in cluster {} are not {} of {exporters}",
                ctx.f.service, c.name, want.what
            ),
            vec![ev(&c.name, want.obj, want.field, value)],
        );
        return Outcome::Broken(f.owned(Owner::Importer, since));
    }
    Outcome::Ok(format!(
        "{} addresses = {} of {exporters}",
        actual.len(),
        want.what
    ))
}
