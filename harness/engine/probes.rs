//! `expectDns` and `expectHttp`: assertions evaluated from inside a probe pod of a cluster
//! (the only way to see `clusterset.local` as a workload does). Wrong answers are
//! re-probed until the step's timeout (propagation takes time); exec transport errors are
//! retried by the probe itself.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use super::context::Ctx;
use super::mcs::{first_difference, get_dyn, ready_pod_ips, ready_pods};
use super::op::{DnsExpect, DnsOp, HttpOp};
pub(super) use super::op::{host_of, service_of};
use super::sync::lock;
use super::wait::{Check, CheckError, Poll, WaitSpec, until};
use crate::event::{Failure, Milestone};
use crate::probe::{DnsResult, HttpResult};

/// Runs an `expectDns` step.
pub(super) async fn expect_dns(
    ctx: &Ctx,
    index: usize,
    a: &DnsOp,
    timeout: Duration,
) -> Result<(), Failure> {
    let (from, name) = (a.from.as_str(), a.name.as_str());
    let probe = ctx.probe(from).await?;
    let spec = WaitSpec {
        index,
        what: format!("DNS answer for {name} from {from}"),
        timeout,
        hold: 1,
        poll: Poll::PROBE,
    };
    let check = || async {
        let want = expected_dns(ctx, from, name, &a.answer).await?;
        let got = probe
            .dns(name)
            .await
            .map_err(|e| CheckError::fatal(format!("probe in {from}: {e}")))?;
        let (expected, seen) = (
            format!("answer: {want}"),
            format!("answer: {}", dns_text(&got)),
        );
        if expected == seen {
            ctx.milestones.reach(Milestone::DnsCorrect, Some(from));
        }
        Ok(Check::compare(
            first_difference(&expected, &seen),
            expected,
            seen,
        ))
    };
    until(ctx.wait_env(), spec, Vec::new(), check)
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
    })
}

/// What `expectHttp` has seen so far.
#[derive(Default)]
struct HttpState {
    consecutive: u32,
    hits: BTreeSet<String>,
}

/// Runs an `expectHttp` step.
pub(super) async fn expect_http(
    ctx: &Ctx,
    index: usize,
    a: &HttpOp,
    timeout: Duration,
) -> Result<(), Failure> {
    let (from, url) = (a.from.as_str(), a.url.as_str());
    let service = service_of(host_of(url)).map(|(s, _)| s);
    let probe = ctx.probe(from).await?;
    let spec = WaitSpec {
        index,
        what: format!("HTTP {url} from {from}"),
        timeout,
        hold: 1,
        poll: Poll::Fixed(Duration::from_millis(100)),
    };
    let state = Mutex::new(HttpState::default());
    let per_request = timeout.min(Duration::from_secs(5));
    let check = || async {
        let r = probe
            .http(url, per_request)
            .await
            .map_err(|e| CheckError::fatal(format!("probe in {from}: {e}")))?;
        let backends = match &service {
            Some(s) => backends(ctx, s).await?,
            None => BTreeMap::new(),
        };
        Ok(judge_http(ctx, a, &r, &backends, &state))
    };
    until(ctx.wait_env(), spec, Vec::new(), check)
        .await
        .map(drop)
}

/// Ready backend pods of `service` in every cluster: pod IP → (cluster, pod name).
async fn backends(
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

/// Folds one response into the state and compares with the expectation. Answers are
/// attributed to clusters by the backend's pod IP (whereami on kind/GKE may not know its
/// cluster name).
fn judge_http(
    ctx: &Ctx,
    a: &HttpOp,
    r: &HttpResult,
    backends: &BTreeMap<String, (String, String)>,
    state: &Mutex<HttpState>,
) -> Check {
    let from = a.from.as_str();
    let allowed: Option<BTreeSet<&str>> = a
        .served_by
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());
    let backend = r
        .backend
        .as_ref()
        .and_then(|b| b.pod_ip.as_ref())
        .and_then(|ip| backends.get(ip));
    let served = backend.map(|(c, _)| c.as_str());
    let status_ok = r.status == Some(a.status);
    let cluster_ok = match (&allowed, served) {
        (None, _) => true,
        (Some(set), Some(c)) => set.contains(c),
        (Some(_), None) => false,
    };
    if r.status == Some(200) {
        ctx.milestones.reach(Milestone::FirstHttp200, Some(from));
    }
    let mut st = lock(state);
    if status_ok && cluster_ok {
        st.consecutive += 1;
        if let Some((_, pod)) = backend {
            st.hits.insert(pod.clone());
        }
    } else {
        st.consecutive = 0;
    }
    let hold = a.hold;
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
        let want: BTreeSet<&String> = backends
            .values()
            .filter(|(c, _)| allowed.as_ref().is_none_or(|s| s.contains(c.as_str())))
            .map(|(_, p)| p)
            .collect();
        let got: Vec<&String> = st.hits.iter().filter(|p| want.contains(p)).collect();
        let want: Vec<&String> = want.into_iter().collect();
        let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        expected.push(format!("backends hit: [{}]", join(&want)));
        seen.push(format!("backends hit: [{}]", join(&got)));
    }
    expected.push(format!("consecutive successes: {hold}"));
    seen.push(format!(
        "consecutive successes: {}",
        st.consecutive.min(hold)
    ));
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
        assert_eq!(
            host_of("http://a.b.svc.clusterset.local:8080/x?y"),
            "a.b.svc.clusterset.local"
        );
        assert_eq!(host_of("http://a.b/"), "a.b");
        assert_eq!(host_of("a.b"), "a.b");
    }
}
