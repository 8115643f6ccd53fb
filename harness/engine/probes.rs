//! `expectDns` and `expectHttp`: assertions evaluated from inside a probe pod of a cluster
//! (the only way to see `clusterset.local` as a workload does). Wrong answers are
//! re-probed until the step's timeout (propagation takes time); exec transport errors are
//! retried by the probe itself. Each probe is one observation of a [`Polled`] source;
//! the verdicts are pure and `hold` is the wait's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use super::context::Ctx;
use super::error::StepError;
use super::mcs::{first_difference, get_dyn, ready_pod_ips, ready_pods};
use super::op::{DnsExpect, DnsOp, HttpOp};
pub(super) use super::op::{host_of, service_of};
use super::sync::lock;
use super::wait::{Check, CheckError, Observed, Poll, Polled, WaitSpec, until};
use crate::event::Milestone;
use crate::probe::{DnsResult, HttpResult};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;

/// Runs an `expectDns` step: probes (at a growing pace) until the answer is the expected
/// one; `dnsCorrect` is the start time of the first correct probe (a probe time). SRV
/// queries (`type: SRV`) are `net::expect_srv`'s.
pub(super) async fn expect_dns(
    ctx: &Ctx,
    index: usize,
    a: &DnsOp,
    timeout: Duration,
) -> Result<(), StepError> {
    let (from, name) = (a.from.as_str(), a.name.as_str());
    let probe = ctx.probe(from).await?;
    dns_until(ctx, index, a, "DNS answer for", timeout, || async {
        let want = expected_dns(ctx, from, name, &a.answer).await?;
        let got = match a.record_type {
            Some(t) => probe.dns_typed(name, t.name()).await,
            None => probe.dns(name).await,
        }
        .map_err(|e| CheckError::fatal(format!("probe in {from}: {e}")))?;
        let seen = match (&a.answer, &got) {
            (DnsExpect::Count { .. }, DnsResult::Answer(ips)) => format!("{} record(s)", ips.len()),
            _ => dns_text(&got),
        };
        Ok((format!("answer: {want}"), format!("answer: {seen}")))
    })
    .await
}

/// The wait of a DNS step (`what NAME from CLUSTER`, polled as probes are) over `probe`'s
/// (expected, seen) texts: satisfied when they are equal, and the first such probe is the
/// `dnsCorrect` milestone of `from` (a probe time).
pub(super) async fn dns_until<F, Fut>(
    ctx: &Ctx,
    index: usize,
    a: &DnsOp,
    what: &str,
    timeout: Duration,
    probe: F,
) -> Result<(), StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(String, String), CheckError>>,
{
    let from = a.from.as_str();
    let spec = WaitSpec {
        index,
        what: format!("{what} {} from {from}", a.name),
        timeout,
        hold: 1,
    };
    let mut source = Polled::new(Poll::PROBE, probe);
    let verdict = |(expected, seen): &(String, String)| {
        Ok(Check::compare(
            first_difference(expected, seen),
            expected.clone(),
            seen.clone(),
        ))
    };
    let seen = |o: &Observed<(String, String)>| {
        if o.state.0 == o.state.1 {
            ctx.milestones
                .reach_at(Milestone::DnsCorrect, Some(from), o.at);
        }
    };
    until(ctx.wait_env(), spec, &mut source, verdict, seen)
        .await
        .map(drop)
}

fn dns_text(r: &DnsResult) -> String {
    match r {
        DnsResult::Answer(ips) => {
            let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
            format!("[{}]", list.join(", "))
        }
        DnsResult::NxDomain => "NXDOMAIN".to_string(),
        DnsResult::Failed(m) => format!("lookup failed: {m}"),
    }
}

/// The expected answer as text comparable with [`dns_text`].
async fn expected_dns(
    ctx: &Ctx,
    from: &str,
    name: &str,
    want: &DnsExpect,
) -> Result<String, CheckError> {
    let set = |ips: BTreeSet<String>| {
        let mut parsed: Vec<std::net::IpAddr> = ips.iter().filter_map(|i| i.parse().ok()).collect();
        parsed.sort();
        let list: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        format!("[{}]", list.join(", "))
    };
    let service = || {
        service_of(name).map(|(s, _)| s).ok_or_else(|| {
            CheckError::fatal(format!("cannot tell the Service from DNS name {name:?}"))
        })
    };
    Ok(match want {
        DnsExpect::NxDomain => "NXDOMAIN".to_string(),
        DnsExpect::ImportIp => {
            let s = service()?;
            match get_dyn(ctx, from, "ServiceImport", &s).await? {
                Some(imp) => set(imp.data["spec"]["ips"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()),
                None => format!("the ServiceImport's IPs (no ServiceImport {s} in {from})"),
            }
        }
        DnsExpect::Ips(ips) => set(ips.iter().cloned().collect()),
        DnsExpect::PodsOf(pods_of) => {
            let s = service()?;
            let mut ips = BTreeSet::new();
            for c in pods_of {
                ips.extend(ready_pod_ips(ctx, c, &s).await?);
            }
            set(ips)
        }
        DnsExpect::ClusterIp => set(service_cluster_ips(ctx, from, name)
            .await?
            .into_iter()
            .collect()),
        DnsExpect::Pod { pod, cluster } => {
            set(pod_ips(ctx, pod, cluster).await?.into_iter().collect())
        }
        DnsExpect::Count { count, .. } => format!("{count} record(s)"),
        // Validation allows SRV records only with `type: SRV`, which `net` handles.
        DnsExpect::Srv(_) => "SRV records (use type: SRV)".to_string(),
    })
}

/// The answer of `cluster-ip`: the `from` cluster's own Service (the first label of
/// `name`), its `spec.clusterIPs`.
pub(super) async fn service_cluster_ips(
    ctx: &Ctx,
    from: &str,
    name: &str,
) -> Result<Vec<String>, CheckError> {
    let (service, _) = service_of(name).ok_or_else(|| {
        CheckError::fatal(format!("cannot tell the Service from DNS name {name:?}"))
    })?;
    let client = ctx
        .clusters
        .client(from)
        .map_err(|e| CheckError::fatal(e.to_string()))?;
    let svc = Api::<Service>::namespaced(client, &ctx.id.namespace)
        .get_opt(&service)
        .await
        .map_err(|e| CheckError::api(&format!("get Service {service} in {from}"), &e))?;
    let spec = svc.and_then(|s| s.spec);
    Ok(spec
        .and_then(|s| s.cluster_ips.or(s.cluster_ip.map(|ip| vec![ip])))
        .unwrap_or_default()
        .into_iter()
        .filter(|ip| ip != "None")
        .collect())
}

/// The answer of `{pod: NAME, cluster: C}`: the pod's `status.podIPs`.
pub(super) async fn pod_ips(
    ctx: &Ctx,
    pod: &str,
    cluster: &str,
) -> Result<Vec<String>, CheckError> {
    let client = ctx
        .clusters
        .client(cluster)
        .map_err(|e| CheckError::fatal(e.to_string()))?;
    let p = Api::<Pod>::namespaced(client, &ctx.id.namespace)
        .get_opt(pod)
        .await
        .map_err(|e| CheckError::api(&format!("get Pod {pod} in {cluster}"), &e))?;
    let status = p.and_then(|p| p.status);
    Ok(status
        .map(|s| match s.pod_ips {
            Some(ips) => ips.into_iter().map(|i| i.ip).collect(),
            None => s.pod_ip.into_iter().collect(),
        })
        .unwrap_or_default())
}

/// One `expectHttp` observation: the response, the ready backends (pod IP → (cluster,
/// pod)) and the backend pods that gave a good answer so far.
struct HttpSeen {
    response: HttpResult,
    backends: BTreeMap<String, (String, String)>,
    hits: BTreeSet<String>,
}

/// Runs an `expectHttp` step: requests (every 100 ms) until `hold` consecutive answers
/// are as expected; `firstHttp200` is the start time of the first 200 (a probe time).
pub(super) async fn expect_http(
    ctx: &Ctx,
    index: usize,
    a: &HttpOp,
    timeout: Duration,
) -> Result<(), StepError> {
    let (from, url) = (a.from.as_str(), a.url.as_str());
    let service = service_of(host_of(url)).map(|(s, _)| s);
    let probe = ctx.probe(from).await?;
    let spec = WaitSpec {
        index,
        what: format!("HTTP {url} from {from}"),
        timeout,
        hold: a.hold,
    };
    let hits = Mutex::new(BTreeSet::new());
    let per_request = timeout.min(Duration::from_secs(5));
    let mut source = Polled::new(Poll::fixed(Duration::from_millis(100)), || async {
        let response = probe
            .http(url, per_request)
            .await
            .map_err(|e| CheckError::fatal(format!("probe in {from}: {e}")))?;
        let backends = match &service {
            Some(s) => backends(ctx, s).await?,
            None => BTreeMap::new(),
        };
        let mut hits = lock(&hits);
        if let Some((_, pod)) = good_backend(a, &response, &backends) {
            hits.insert(pod.clone());
        }
        Ok(HttpSeen {
            response,
            backends,
            hits: hits.clone(),
        })
    });
    let seen = |o: &Observed<HttpSeen>| {
        if o.state.response.status == Some(200) {
            ctx.milestones
                .reach_at(Milestone::FirstHttp200, Some(from), o.at);
        }
    };
    until(
        ctx.wait_env(),
        spec,
        &mut source,
        |s| Ok(judge_http(a, s)),
        seen,
    )
    .await
    .map(drop)
}

/// Ready backend pods of `service` in every cluster: pod IP → (cluster, pod name).
pub(super) async fn backends(
    ctx: &Ctx,
    service: &str,
) -> Result<BTreeMap<String, (String, String)>, CheckError> {
    let mut out = BTreeMap::new();
    for cluster in ctx.clusters.names() {
        for (pod, ip) in ready_pods(ctx, cluster, service).await? {
            out.insert(ip, (cluster.clone(), pod));
        }
    }
    Ok(out)
}

/// The clusters allowed to serve, when limited.
fn allowed(a: &HttpOp) -> Option<BTreeSet<&str>> {
    a.served_by
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect())
}

/// The backend (cluster, pod) of a response, attributed by the backend's pod IP (whereami
/// on kind/GKE may not know its cluster name).
fn backend<'a>(
    r: &HttpResult,
    backends: &'a BTreeMap<String, (String, String)>,
) -> Option<&'a (String, String)> {
    r.backend
        .as_ref()
        .and_then(|b| b.pod_ip.as_ref())
        .and_then(|ip| backends.get(ip))
}

/// The backend of a response that is as expected (status and serving cluster).
fn good_backend<'a>(
    a: &HttpOp,
    r: &HttpResult,
    backends: &'a BTreeMap<String, (String, String)>,
) -> Option<&'a (String, String)> {
    let b = backend(r, backends)?;
    let cluster_ok = allowed(a).is_none_or(|set| set.contains(b.0.as_str()));
    (r.status == Some(a.status) && cluster_ok).then_some(b)
}

/// The verdict over one response (and the backends hit so far).
fn judge_http(a: &HttpOp, s: &HttpSeen) -> Check {
    let r = &s.response;
    let allowed = allowed(a);
    let served = backend(r, &s.backends).map(|(c, _)| c.as_str());
    let mut expected = vec![format!("status: {}", a.status)];
    let mut seen = vec![match (r.status, &r.error) {
        (Some(s), _) => format!("status: {s}"),
        (None, Some(e)) => format!("status: none ({e})"),
        (None, None) => "status: none".to_string(),
    }];
    if let Some(set) = &allowed {
        let list: Vec<&str> = set.iter().copied().collect();
        expected.push(format!("served by one of: [{}]", list.join(", ")));
        seen.push(match served {
            Some(c) if set.contains(c) => format!("served by one of: [{}]", list.join(", ")),
            Some(c) => format!("served by: {c}"),
            None => "served by: unknown backend".to_string(),
        });
    }
    if a.every_backend {
        let want: BTreeSet<&String> = s
            .backends
            .values()
            .filter(|(c, _)| allowed.as_ref().is_none_or(|set| set.contains(c.as_str())))
            .map(|(_, p)| p)
            .collect();
        let got: Vec<&String> = s.hits.iter().filter(|p| want.contains(p)).collect();
        let want: Vec<&String> = want.into_iter().collect();
        let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        expected.push(format!("backends hit: [{}]", join(&want)));
        seen.push(format!("backends hit: [{}]", join(&got)));
    }
    let (expected, seen) = (expected.join("\n"), seen.join("\n"));
    Check::compare(first_difference(&expected, &seen), expected, seen)
}

#[cfg(test)]
mod tests {
    use super::{host_of, service_of};

    #[test]
    fn names_and_hosts() {
        assert_eq!(
            service_of("whereami.demo.svc.clusterset.local"),
            Some(("whereami".into(), "demo".into()))
        );
        assert_eq!(service_of("whereami"), None);
        // KEP-1645 per-host and per-endpoint names: the Service is the label before the
        // namespace, not the first one.
        assert_eq!(
            service_of("hello-ss-0.a.hello.ns1.svc.clusterset.local."),
            Some(("hello".into(), "ns1".into()))
        );
        assert_eq!(
            service_of("10-0-0-1.hello.ns1.svc.clusterset.local"),
            Some(("hello".into(), "ns1".into()))
        );
        assert_eq!(
            service_of("whereami.demo.svc.cluster.local"),
            Some(("whereami".into(), "demo".into()))
        );
        assert_eq!(
            host_of("http://a.b.svc.clusterset.local:8080/x?y"),
            "a.b.svc.clusterset.local"
        );
        assert_eq!(host_of("http://a.b/"), "a.b");
        assert_eq!(host_of("a.b"), "a.b");
    }
}
