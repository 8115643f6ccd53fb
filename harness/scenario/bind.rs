//! Binding: a validated [`Scenario`] plus the run's namespace and run id become the
//! engine's [`Operation`]s. Templates are rendered for each step's cluster, fixture text
//! (read once, by validation) is parsed into objects, defaults and timeouts are resolved.
//! After this the engine sees no YAML model type and no "filled in by validation" option.

use std::time::Duration;

use super::model::{DnsAnswer, ManifestAction, PatchType, SpannedStr};
use super::template::{Vars, render};
use super::{Action, Expr, Scenario, Step};
use crate::engine::op::{
    BindError, ConnectOp, DnsExpect, DnsOp, FaultOp, FaultRef, HttpOp, ImportOp, Objects, Op,
    Operation, PatchBody, PatchOp, ProbeTarget, ScaleOp, ServiceRef, StartProbeOp, StopProbeOp,
    WaitOp, host_of, parse_manifests, service_of,
};

/// Default time between background probe rounds.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(200);

/// What binding needs from the run: the values of `{{ namespace }}` and `{{ run_id }}`
/// (`{{ cluster }}` is each step's own cluster).
#[derive(Debug, Clone)]
pub struct BindVars {
    /// The scenario's namespace in this run.
    pub namespace: String,
    /// The run id.
    pub run_id: String,
}

impl BindVars {
    fn vars(&self, cluster: &str) -> Vars {
        Vars {
            namespace: self.namespace.clone(),
            cluster: cluster.to_string(),
            run_id: self.run_id.clone(),
        }
    }
}

impl Scenario {
    /// Binds every step, in order.
    pub fn bind(&self, vars: &BindVars) -> Vec<Operation> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| s.bind(i, self, vars))
            .collect()
    }
}

impl Step {
    /// This step as an operation (step `index` of `scenario`, with the run's values).
    pub fn bind(&self, index: usize, scenario: &Scenario, vars: &BindVars) -> Operation {
        let t = &scenario.timeouts;
        Operation {
            index,
            kind: self.kind(),
            shown: shown(self, scenario, vars),
            location: format!("{}:{}:{}", scenario.origin, self.line, self.column),
            timeout: self.effective_timeout(t).min(t.step),
            service: match &self.action {
                // A stopProbe is about its startProbe's Service.
                Action::StopProbe(stop) => scenario.steps.iter().find_map(|o| match &o.action {
                    Action::StartProbe(p) if p.name.value == stop.name.value => service_of_step(o),
                    _ => None,
                }),
                _ => service_of_step(self),
            },
            op: op(self, index, scenario, vars),
        }
    }
}

fn text(t: &SpannedStr, vars: &BindVars, cluster: &str) -> Result<String, BindError> {
    render(&t.value, &vars.vars(cluster)).map_err(|e| BindError(e.to_string()))
}

fn op(step: &Step, index: usize, scenario: &Scenario, vars: &BindVars) -> Result<Op, BindError> {
    Ok(match &step.action {
        Action::Apply(m) => Op::Apply(objects(m, vars)?),
        Action::Delete(m) => Op::Delete(objects(m, vars)?),
        Action::Patch(p) => {
            let cluster = p.cluster.value.clone();
            let body = match p.patch_type {
                PatchType::Merge => PatchBody::Merge(p.patch.value.clone()),
                PatchType::Strategic => PatchBody::Strategic(p.patch.value.clone()),
                PatchType::Json => PatchBody::Json(
                    serde_json::from_value(p.patch.value.clone())
                        .map_err(|e| BindError(format!("invalid JSON patch: {e}")))?,
                ),
            };
            Op::Patch(PatchOp {
                name: text(&p.name, vars, &cluster)?,
                cluster,
                api_version: p.api_version.clone(),
                kind: p.kind.clone(),
                body,
            })
        }
        Action::Scale(s) => Op::Scale(ScaleOp {
            cluster: s.cluster.value.clone(),
            deployment: s.deployment.clone(),
            replicas: s.replicas.value,
        }),
        Action::Export(s) => Op::Export(ServiceRef {
            cluster: s.cluster.value.clone(),
            service: s.service.clone(),
        }),
        Action::Unexport(s) => Op::Unexport(ServiceRef {
            cluster: s.cluster.value.clone(),
            service: s.service.clone(),
        }),
        Action::Wait(w) => {
            let cluster = w.cluster.value.clone();
            // Validation parsed it; parsing again here only for a Step built by hand.
            let expr = match &w.expr {
                Some(e) => e.clone(),
                None => Expr::parse(&w.condition.value).map_err(BindError)?,
            };
            Op::Wait(WaitOp {
                name: text(&w.name, vars, &cluster)?,
                cluster,
                api_version: w.api_version.clone(),
                kind: w.kind.clone(),
                expr,
                hold: w.hold.unwrap_or(1).max(1),
            })
        }
        Action::ExpectImport(a) => Op::ExpectImport(ImportOp {
            cluster: a.cluster.value.clone(),
            service: a.service.clone(),
            present: a.present,
            endpoints_from: a
                .endpoints_from
                .as_ref()
                .map(|v| v.iter().map(|c| c.value.clone()).collect()),
            derived_service: a.derived_service,
            conditions: a.conditions.clone(),
        }),
        Action::ExpectDns(a) => {
            let from = a.from.value.clone();
            let render_from =
                |t: &str| render(t, &vars.vars(&from)).map_err(|e| BindError(e.to_string()));
            Op::ExpectDns(DnsOp {
                name: text(&a.name, vars, &from)?,
                record_type: a.record_type,
                answer: match &a.answer.value {
                    DnsAnswer::Keyword(k) if k == "nxdomain" => DnsExpect::NxDomain,
                    DnsAnswer::Keyword(k) if k == "cluster-ip" => DnsExpect::ClusterIp,
                    DnsAnswer::Keyword(_) => DnsExpect::ImportIp,
                    DnsAnswer::Ips(ips) => DnsExpect::Ips(ips.clone()),
                    DnsAnswer::PodsOf { pods_of } => DnsExpect::PodsOf(pods_of.clone()),
                    DnsAnswer::Pod { pod, cluster } => DnsExpect::Pod {
                        pod: render_from(pod)?,
                        cluster: cluster.clone(),
                    },
                    DnsAnswer::Srv { srv } => DnsExpect::Srv(
                        srv.iter()
                            .map(|r| {
                                Ok(crate::probe::SrvRecord {
                                    port: r.port,
                                    target: render_from(&r.target)?
                                        .trim_end_matches('.')
                                        .to_ascii_lowercase(),
                                })
                            })
                            .collect::<Result<_, BindError>>()?,
                    ),
                    DnsAnswer::Count { count, port } => DnsExpect::Count {
                        count: *count,
                        port: *port,
                    },
                },
                from,
            })
        }
        Action::ExpectHttp(a) => {
            let from = a.from.value.clone();
            Op::ExpectHttp(HttpOp {
                url: text(&a.url, vars, &from)?,
                from,
                status: a.status,
                served_by: a
                    .served_by
                    .as_ref()
                    .map(|v| v.iter().map(|c| c.value.clone()).collect()),
                every_backend: a.every_backend,
                hold: a.hold.unwrap_or(1).max(1),
            })
        }
        Action::ExpectConnect(a) => {
            let from = a.from.value.clone();
            Op::ExpectConnect(ConnectOp {
                host: text(&a.host, vars, &from)?,
                port: a.port,
                udp: a.protocol == super::Protocol::UDP,
                send: match &a.send {
                    Some(s) => text(s, vars, &from)?,
                    None => "hi".to_string(),
                },
                contains: a.contains.clone(),
                reachable: a.reachable,
                served_by: a
                    .served_by
                    .as_ref()
                    .map(|v| v.iter().map(|c| c.value.clone()).collect()),
                hold: a.hold.unwrap_or(1).max(1),
                wait_seconds: a.wait_seconds.unwrap_or(2),
                from,
            })
        }
        Action::Fault(f) => Op::Fault(FaultOp {
            cluster: f.cluster.value.clone(),
            name: f.name.clone(),
            spec: f.spec.clone(),
        }),
        Action::ClearFault(f) => Op::ClearFault(FaultRef {
            cluster: f.cluster.value.clone(),
            name: f.name.clone(),
        }),
        Action::Sleep(d) => Op::Sleep(*d),
        Action::ExpectFailure { step, diagnosis } => Op::ExpectFailure {
            inner: Box::new(step.bind(index, scenario, vars)),
            diagnosis: diagnosis.clone(),
        },
        Action::StartProbe(p) => Op::StartProbe(StartProbeOp {
            name: p.name.value.clone(),
            from: p
                .from
                .iter()
                .map(|c| {
                    let cluster = c.value.clone();
                    let t = |t: &Option<SpannedStr>| {
                        t.as_ref().map(|t| text(t, vars, &cluster)).transpose()
                    };
                    Ok(ProbeTarget {
                        dns: t(&p.dns)?,
                        url: t(&p.url)?,
                        cluster: cluster.clone(),
                    })
                })
                .collect::<Result<_, BindError>>()?,
            status: p.status,
            interval: p.period.unwrap_or(DEFAULT_PROBE_INTERVAL),
        }),
        Action::StopProbe(p) => Op::StopProbe(StopProbeOp {
            name: p.name.value.clone(),
            max_failed: p.max_failed.unwrap_or(0),
            max_outage: p.outage,
            allowed_clusters: p
                .allowed_clusters
                .as_ref()
                .map(|v| v.iter().map(|c| c.value.clone()).collect()),
        }),
    })
}

/// The manifest's objects: the fixture's text (read by validation) or the inline
/// manifest, rendered for the step's cluster and parsed.
fn objects(m: &ManifestAction, vars: &BindVars) -> Result<Objects, BindError> {
    let cluster = m.cluster.value.clone();
    let (what, raw) = match (&m.resolved_file, &m.fixture_text, &m.manifest) {
        (Some(path), Some(text), _) => (path.display().to_string(), text.clone()),
        (Some(path), None, _) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .map_err(|e| BindError(format!("cannot read fixture {}: {e}", path.display())))?,
        ),
        (None, _, Some(inline)) => ("inline manifest".to_string(), inline.value.clone()),
        (None, _, None) => return Err(BindError("step has no manifest".into())),
    };
    let text = render(&raw, &vars.vars(&cluster)).map_err(|e| BindError(format!("{what}: {e}")))?;
    let objects = parse_manifests(&text, &what)?;
    Ok(Objects {
        cluster,
        what,
        objects,
    })
}

/// A readable one-line name for a step without `name`.
pub fn describe(step: &Step) -> String {
    if let Some(n) = &step.name {
        return n.clone();
    }
    match &step.action {
        Action::Apply(m) | Action::Delete(m) => {
            let src = m
                .file
                .as_ref()
                .map(|f| f.value.clone())
                .unwrap_or_else(|| "inline manifest".into());
            let verb = if matches!(step.action, Action::Apply(_)) {
                "to"
            } else {
                "from"
            };
            format!("{} {src} {verb} {}", step.kind(), m.cluster.value)
        }
        Action::Patch(p) => format!("patch {} {} in {}", p.kind, p.name.value, p.cluster.value),
        Action::Scale(s) => format!(
            "scale {} to {} in {}",
            s.deployment, s.replicas.value, s.cluster.value
        ),
        Action::Export(s) | Action::Unexport(s) => {
            format!("{} {} in {}", step.kind(), s.service, s.cluster.value)
        }
        Action::Wait(w) => format!(
            "wait {} {} in {}: {}",
            w.kind, w.name.value, w.cluster.value, w.condition.value
        ),
        Action::ExpectImport(a) => {
            let what = if a.present { "present" } else { "absent" };
            format!("expectImport {} {what} in {}", a.service, a.cluster.value)
        }
        Action::ExpectDns(a) => format!("expectDns {} from {}", a.name.value, a.from.value),
        Action::ExpectHttp(a) => format!("expectHttp {} from {}", a.url.value, a.from.value),
        Action::ExpectConnect(a) => format!(
            "expectConnect {}:{} from {}",
            a.host.value, a.port, a.from.value
        ),
        Action::Fault(f) => format!("fault {} in {}", f.name, f.cluster.value),
        Action::ClearFault(f) => format!("clearFault {} in {}", f.name, f.cluster.value),
        Action::Sleep(d) => format!("sleep {}", crate::duration::human(*d)),
        Action::ExpectFailure { step, diagnosis } => {
            format!("expectFailure ({}) → {diagnosis}", describe(step))
        }
        Action::StartProbe(p) => {
            let from: Vec<&str> = p.from.iter().map(|c| c.value.as_str()).collect();
            format!("startProbe {} from {}", p.name.value, from.join(", "))
        }
        Action::StopProbe(p) => format!("stopProbe {}", p.name.value),
    }
}

/// [`describe`] with its templates (`{{ namespace }}`, `{{ cluster }}`, `{{ run_id }}`)
/// rendered for the step's cluster, so reports show the names actually used.
fn shown(step: &Step, scenario: &Scenario, vars: &BindVars) -> String {
    let text = describe(step);
    if !text.contains("{{") {
        return text;
    }
    let cluster = primary_cluster(step)
        .or_else(|| scenario.clusters.first().cloned())
        .unwrap_or_default();
    render(&text, &vars.vars(&cluster)).unwrap_or(text)
}

/// The cluster a step acts in or probes from, if it names one.
fn primary_cluster(step: &Step) -> Option<String> {
    let c = match &step.action {
        Action::Apply(m) | Action::Delete(m) => &m.cluster,
        Action::Patch(p) => &p.cluster,
        Action::Scale(s) => &s.cluster,
        Action::Export(s) | Action::Unexport(s) => &s.cluster,
        Action::Wait(w) => &w.cluster,
        Action::ExpectImport(a) => &a.cluster,
        Action::ExpectDns(a) => &a.from,
        Action::ExpectHttp(a) => &a.from,
        Action::ExpectConnect(a) => &a.from,
        Action::Fault(f) => &f.cluster,
        Action::ClearFault(f) => &f.cluster,
        Action::ExpectFailure { step, .. } => return primary_cluster(step),
        Action::StartProbe(p) => p.from.first()?,
        Action::Sleep(_) | Action::StopProbe(_) => return None,
    };
    Some(c.value.clone())
}

/// The Service a step is about (for the doctor), if any.
fn service_of_step(step: &Step) -> Option<String> {
    match &step.action {
        Action::Export(s) | Action::Unexport(s) => Some(s.service.clone()),
        Action::ExpectImport(a) => Some(a.service.clone()),
        Action::ExpectDns(a) => service_of(&a.name.value).map(|(s, _)| s),
        Action::ExpectHttp(a) => service_of(host_of(&a.url.value)).map(|(s, _)| s),
        Action::ExpectConnect(a) => service_of(&a.host.value).map(|(s, _)| s),
        Action::Wait(w)
            if matches!(
                w.kind.as_str(),
                "Service" | "ServiceExport" | "ServiceImport"
            ) =>
        {
            Some(w.name.value.clone())
        }
        Action::ExpectFailure { step, .. } => service_of_step(step),
        Action::StartProbe(p) => p
            .url
            .as_ref()
            .and_then(|u| service_of(host_of(&u.value)))
            .or_else(|| p.dns.as_ref().and_then(|d| service_of(&d.value)))
            .map(|(s, _)| s),
        _ => None,
    }
}
