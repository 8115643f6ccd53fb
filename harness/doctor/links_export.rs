//! The exporting side of the chain: the Service, its selector and pods, its own endpoints,
//! and the ServiceExport's conditions.

use mcs_importer::types::{gke, upstream};

use super::facts::{ClusterFacts, CondFacts, ExportFacts, list};
use super::id::DiagnosisId;
use super::judge::{Ctx, Finding, Outcome, Owner, ev};
use super::profile::Profile;

fn service_obj(ctx: &Ctx<'_>) -> String {
    format!("Service {}/{}", ctx.f.namespace, ctx.f.service)
}

fn export_obj(ctx: &Ctx<'_>) -> String {
    format!("ServiceExport {}/{}", ctx.f.namespace, ctx.f.service)
}

/// The Service exists and is not ExternalName.
pub(crate) fn service(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let (ns, svc) = (&ctx.f.namespace, &ctx.f.service);
    if c.export.is_none() {
        return match (&c.service, ctx.any_export, ctx.any_service) {
            (_, true, _) => Outcome::Skipped("not exported from this cluster".into()),
            (Some(_), false, _) => Outcome::Ok("present (not exported)".into()),
            (None, false, true) => Outcome::Skipped("no Service here".into()),
            (None, false, false) => Outcome::Broken(Finding::user(
                DiagnosisId::ServiceMissing,
                format!("Service {ns}/{svc} exists in no cluster (and nothing exports it)"),
                vec![ev(
                    &c.name,
                    service_obj(ctx),
                    "metadata.name",
                    "absent".into(),
                )],
            )),
        };
    }
    let Some(s) = &c.service else {
        let mut evidence = vec![ev(
            &c.name,
            service_obj(ctx),
            "metadata.name",
            "absent".into(),
        )];
        evidence.extend(export_conditions(c, ctx));
        return Outcome::Broken(Finding::user(
            DiagnosisId::ServiceMissing,
            format!(
                "cluster {} exports {ns}/{svc} but has no Service of that name",
                c.name
            ),
            evidence,
        ));
    };
    if s.type_ == "ExternalName" {
        return Outcome::Broken(Finding::user(
            DiagnosisId::ExternalName,
            format!(
                "Service {ns}/{svc} in cluster {} is of type ExternalName, which MCS cannot export",
                c.name
            ),
            vec![
                ev(&c.name, service_obj(ctx), "spec.type", s.type_.clone()),
                ev(
                    &c.name,
                    service_obj(ctx),
                    "spec.externalName",
                    s.external_name.clone().unwrap_or_default(),
                ),
            ],
        ));
    }
    let ip = s.cluster_ip.as_deref().unwrap_or("-");
    Outcome::Ok(format!("{} {ip}, ports {}", s.type_, list(&s.ports)))
}

fn export_conditions(c: &ClusterFacts, ctx: &Ctx<'_>) -> Vec<super::model::Evidence> {
    c.export
        .iter()
        .flat_map(|e| &e.conditions)
        .filter(|cond| cond.status == "False" || cond.type_.contains("Conflict"))
        .map(|cond| {
            ev(
                &c.name,
                export_obj(ctx),
                &format!("status.conditions[{}]", cond.type_),
                cond.describe(),
            )
        })
        .collect()
}

/// The Service, when the service-side links apply to `c` and it can have pods.
fn usable<'c>(c: &'c ClusterFacts, ctx: &Ctx<'_>) -> Option<&'c super::facts::ServiceFacts> {
    c.service
        .as_ref()
        .filter(|s| ctx.candidate(c) && s.type_ != "ExternalName")
}

/// The selector matches pods.
pub(crate) fn selector(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let Some(s) = usable(c, ctx) else {
        return Outcome::Skipped("no exported Service here".into());
    };
    if !s.has_selector() {
        return Outcome::Ok("no selector: endpoints are managed by hand".into());
    }
    if !c.pods.is_empty() {
        return Outcome::Ok(format!(
            "{} matches {} pods",
            s.selector_string(),
            c.pods.len()
        ));
    }
    let others = if c.other_pods.is_empty() {
        "no pods in the namespace".to_string()
    } else {
        c.other_pods.join("; ")
    };
    Outcome::Broken(Finding::user(
        DiagnosisId::SelectorMatchesNothing,
        format!(
            "the selector {} of Service {}/{} matches no pod in cluster {}",
            s.selector_string(),
            ctx.f.namespace,
            ctx.f.service,
            c.name
        ),
        vec![
            ev(
                &c.name,
                service_obj(ctx),
                "spec.selector",
                s.selector_string(),
            ),
            ev(
                &c.name,
                format!("Pods in {}", ctx.f.namespace),
                "metadata.labels",
                others,
            ),
        ],
    ))
}

/// Some matching pod is ready.
pub(crate) fn pods_ready(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let Some(s) = usable(c, ctx).filter(|s| s.has_selector() && !c.pods.is_empty()) else {
        return Outcome::Skipped("no selected pods".into());
    };
    let ready = c.pods.iter().filter(|p| p.ready).count();
    if ready > 0 {
        return Outcome::Ok(format!("{ready}/{} ready", c.pods.len()));
    }
    let evidence = c
        .pods
        .iter()
        .take(3)
        .map(|p| {
            ev(
                &c.name,
                format!("Pod {}/{}", ctx.f.namespace, p.name),
                "status.conditions[Ready]",
                format!("False ({})", p.state),
            )
        })
        .collect();
    Outcome::Broken(Finding::user(
        DiagnosisId::PodsNotReady,
        format!(
            "{} pods match {} in cluster {} but none is ready",
            c.pods.len(),
            s.selector_string(),
            c.name
        ),
        evidence,
    ))
}

/// The Service's own Endpoints list its ready pods.
pub(crate) fn local_endpoints(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let Some(s) = usable(c, ctx) else {
        return Outcome::Skipped("no exported Service here".into());
    };
    let object = format!("Endpoints {}/{}", ctx.f.namespace, ctx.f.service);
    let actual = &c.local_endpoints;
    let expected = c.expected_local_endpoints();
    let remedy = format!(
        "the cluster's endpoints controller has not caught up with the pods, or the Service's \
         ports do not match the pods: `kubectl --context {} -n {} get endpoints,endpointslices \
         -l kubernetes.io/service-name={}`",
        c.name, ctx.f.namespace, ctx.f.service
    );
    let broken = |id, summary, value| {
        let mut f = Finding::user(
            id,
            summary,
            vec![ev(&c.name, object.clone(), "subsets", value)],
        );
        f.remedy = Some(remedy.clone());
        Outcome::Broken(f)
    };
    if s.has_selector() && expected.is_empty() {
        return Outcome::Skipped("no ready pods".into());
    }
    if actual.is_empty() {
        return broken(
            DiagnosisId::EndpointsEmpty,
            format!(
                "the Endpoints of Service {} in cluster {} list no ready address",
                ctx.f.service, c.name
            ),
            format!("no ready address (ready pods: {})", list(&expected)),
        );
    }
    if *actual != expected {
        return broken(
            DiagnosisId::EndpointsStale,
            format!(
                "the Endpoints of Service {} in cluster {} differ from its ready pods",
                ctx.f.service, c.name
            ),
            format!("{} (ready pods: {})", list(actual), list(&expected)),
        );
    }
    Outcome::Ok(format!("{} ready addresses", actual.len()))
}

/// How an export's conditions read, per flavour.
enum Verdict<'a> {
    Invalid(&'a CondFacts),
    Conflict(&'a CondFacts),
    Exported,
    Pending(Option<&'a CondFacts>),
}

fn verdict<'e>(ctx: &Ctx<'_>, e: &'e ExportFacts) -> Verdict<'e> {
    match ctx.profile() {
        None => gke_verdict(e),
        Some(p) => upstream_verdict(p, e),
    }
}

fn gke_verdict(e: &ExportFacts) -> Verdict<'_> {
    let invalid = |c: &&CondFacts| {
        c.status == "False" && matches!(c.reason.as_str(), "NoService" | "InvalidServiceType")
    };
    if let Some(c) = e.condition(gke::CONDITION_EXPORTED).filter(invalid) {
        return Verdict::Invalid(c);
    }
    if let Some(c) = e
        .condition(gke::CONDITION_CONFLICT)
        .filter(|c| c.status == "True")
    {
        return Verdict::Conflict(c);
    }
    match e.condition(gke::CONDITION_EXPORTED) {
        Some(c) if c.status == "True" => Verdict::Exported,
        other => Verdict::Pending(other),
    }
}

/// Condition types that say "invalid" when False, "conflict" when True, "not exported
/// (yet)" when False: the mcs-api names, and those of the untagged mcs-api commits of
/// 2025-06/08 (`Accepted`/`Exported`/`Conflicted`, gke-reality.md §4).
const INVALID_TYPES: [&str; 2] = [upstream::CONDITION_VALID, "Accepted"];
const CONFLICT_TYPES: [&str; 2] = [upstream::CONDITION_CONFLICT, "Conflicted"];
const READY_TYPES: [&str; 2] = [upstream::CONDITION_READY, "Exported"];

/// "No negative condition" (gke-reality.md §4): an invalid or conflicting export is broken
/// whatever its reasons (display text only); it is exported once the profile's ready
/// condition is True, or, for implementations that write none, while nothing is negative.
fn upstream_verdict<'e>(p: &Profile, e: &'e ExportFacts) -> Verdict<'e> {
    let find = |types: &[&str], status: &str| {
        e.conditions
            .iter()
            .find(|c| types.contains(&c.type_.as_str()) && c.status == status)
    };
    if let Some(c) = find(&INVALID_TYPES, "False") {
        return Verdict::Invalid(c);
    }
    if let Some(c) = find(&CONFLICT_TYPES, "True") {
        return Verdict::Conflict(c);
    }
    if let Some(c) = find(&READY_TYPES, "False") {
        return Verdict::Pending(Some(c));
    }
    let Some(ready) = p.ready_condition else {
        return Verdict::Exported;
    };
    let one = [ready];
    let accepted: &[&str] = match ready {
        upstream::CONDITION_READY => &READY_TYPES,
        _ => &one,
    };
    match find(accepted, "True") {
        Some(_) => Verdict::Exported,
        None => Verdict::Pending(e.condition(ready)),
    }
}

/// The ServiceExport exists and its conditions say it is exported without conflict; first of
/// all, the cluster serves the MCS API at all (GKE installs the CRDs only once MCS is enabled
/// for the membership, gke-reality.md §1.10: without them there is no export to apply).
pub(crate) fn export(c: &ClusterFacts, ctx: &Ctx<'_>) -> Outcome {
    let (ns, svc) = (&ctx.f.namespace, &ctx.f.service);
    if let Some(why) = &c.mcs_missing {
        let (group, crd) = (
            ctx.f.flavour.group(),
            format!("serviceexports.{}", ctx.f.flavour.group()),
        );
        return Outcome::Broken(Finding::user(
            DiagnosisId::McsNotEnabled,
            format!(
                "cluster {} does not serve the MCS API ({group}): MCS is not enabled for it, or \
                 its membership is not reconciled yet",
                c.name
            ),
            vec![ev(
                &c.name,
                format!("CustomResourceDefinition {crd}"),
                "served",
                why.clone(),
            )],
        ));
    }
    let Some(e) = &c.export else {
        if !ctx.any_export && c.service.is_some() {
            return Outcome::Broken(Finding::user(
                DiagnosisId::ExportNotExported,
                format!(
                    "no cluster exports {ns}/{svc}: cluster {} runs the Service but has no ServiceExport",
                    c.name
                ),
                vec![ev(
                    &c.name,
                    export_obj(ctx),
                    "metadata.name",
                    "absent in every cluster".into(),
                )],
            ));
        }
        return Outcome::Skipped("not exported from this cluster".into());
    };
    let field = |cond: &CondFacts| format!("status.conditions[{}]", cond.type_);
    match verdict(ctx, e) {
        Verdict::Exported => Outcome::Ok("exported".into()),
        Verdict::Invalid(cond) => Outcome::Broken(Finding::user(
            DiagnosisId::ExportNotExported,
            format!(
                "the ServiceExport {ns}/{svc} in cluster {} is invalid",
                c.name
            ),
            vec![ev(&c.name, export_obj(ctx), &field(cond), cond.describe())],
        )),
        Verdict::Conflict(cond) => Outcome::Broken(Finding::user(
            DiagnosisId::ExportConflict,
            format!(
                "the exports of {ns}/{svc} disagree (seen on cluster {}'s export)",
                c.name
            ),
            vec![ev(&c.name, export_obj(ctx), &field(cond), cond.describe())],
        )),
        // No condition at all, in an implementation that writes them (its profile has a
        // ready condition), and no heartbeat of the importer to say it is alive: no MCS
        // controller has looked at the export — the importer is not running or does not
        // watch this namespace (every implementation of gke-reality.md §4 with such a
        // condition writes it, or a negative one, on each export it processes). With a live
        // heartbeat the importer runs but skipped this export: `export-not-exported` below.
        Verdict::Pending(None)
            if e.conditions.is_empty()
                && ctx.profile().is_some_and(|p| p.ready_condition.is_some())
                && c.importer.lease.is_none()
                && c.importer
                    .pods
                    .as_deref()
                    .is_none_or(|p| !p.iter().any(|p| p.ready)) =>
        {
            let f = Finding::user(
                DiagnosisId::ImporterDown,
                format!(
                    "no MCS controller has processed the ServiceExport {ns}/{svc} in cluster {}: \
                     the importer is not running or does not watch this namespace",
                    c.name
                ),
                vec![ev(
                    &c.name,
                    export_obj(ctx),
                    "status.conditions",
                    "none".into(),
                )],
            );
            Outcome::Broken(f.owned(Owner::Importer, e.created))
        }
        Verdict::Pending(cond) => {
            let value = cond.map_or_else(|| "no condition yet".to_string(), CondFacts::describe);
            let f = Finding::user(
                DiagnosisId::ExportNotExported,
                format!(
                    "the ServiceExport {ns}/{svc} in cluster {} is not exported yet",
                    c.name
                ),
                vec![ev(&c.name, export_obj(ctx), "status.conditions", value)],
            );
            Outcome::Broken(f.owned(Owner::Importer, e.created))
        }
    }
}
