//! The network assertions of issue 17 (KEP-1645 conformance): `expectDns` with
//! `type: SRV`, its record-count and per-pod answers, the local Service's ClusterIP
//! (`cluster-ip`), and `expectConnect` (a TCP/UDP exchange with `nc` from a probe pod,
//! attributed to clusters by the pod IP the reply names — the upstream suite's hello pods
//! answer `pod ip <IP>`). Like `probes`, each probe is one observation of a
//! [`Polled`] source and the verdicts are pure; `hold` is the wait's.

use std::collections::BTreeMap;
use std::time::Duration;

use super::context::Ctx;
use super::error::StepError;
use super::mcs::first_difference;
use super::op::{ConnectOp, DnsExpect, DnsOp};
use super::probes::{backends, dns_until, service_of};
use super::wait::{Check, CheckError, Poll, Polled, WaitSpec, until};
use crate::probe::{SrvRecord, SrvResult};

/// `expectDns` with `type: SRV`: the records, compared as a sorted list of `port target`
/// (or their number and port), re-probed until the timeout.
pub(super) async fn expect_srv(
    ctx: &Ctx,
    index: usize,
    a: &DnsOp,
    timeout: Duration,
) -> Result<(), StepError> {
    let (from, name) = (a.from.as_str(), a.name.as_str());
    let want = expected_srv(&a.answer);
    let probe = ctx.probe(from).await?;
    dns_until(ctx, index, a, "SRV records of", timeout, || async {
        let got = probe
            .srv(name)
            .await
            .map_err(|e| CheckError::fatal(format!("probe in {from}: {e}")))?;
        Ok((want.text(), srv_text(&got, &want)))
    })
    .await
}

/// What an SRV step expects.
enum SrvWant {
    NxDomain,
    Exactly(Vec<SrvRecord>),
    Count(usize, Option<u16>),
}

impl SrvWant {
    fn text(&self) -> String {
        match self {
            SrvWant::NxDomain => "answer: NXDOMAIN".to_string(),
            SrvWant::Exactly(r) => format!("records: {}", records(r)),
            SrvWant::Count(n, port) => count_text(*n, *port),
        }
    }
}

fn count_text(n: usize, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("records: {n}\nports: all {p}"),
        None => format!("records: {n}"),
    }
}

fn records(r: &[SrvRecord]) -> String {
    let mut list: Vec<String> = r
        .iter()
        .map(|r| format!("{} {}", r.port, r.target))
        .collect();
    list.sort();
    format!("[{}]", list.join(", "))
}

fn expected_srv(want: &DnsExpect) -> SrvWant {
    match want {
        DnsExpect::Srv(records) => SrvWant::Exactly(records.clone()),
        DnsExpect::Count { count, port } => SrvWant::Count(*count, *port),
        // Validation lets only nxdomain through besides the two above.
        _ => SrvWant::NxDomain,
    }
}

/// The seen SRV answer in the shape of `want`'s text.
fn srv_text(got: &SrvResult, want: &SrvWant) -> String {
    let recs = match got {
        SrvResult::Answer(r) => r,
        SrvResult::NxDomain => return "answer: NXDOMAIN".to_string(),
        SrvResult::Failed(m) => return format!("answer: lookup failed: {m}"),
    };
    match want {
        SrvWant::NxDomain | SrvWant::Exactly(_) => format!("records: {}", records(recs)),
        SrvWant::Count(n, port) => {
            // The listing is shown only when the number is wrong (it is not compared).
            let mut text = match recs.len() == *n {
                true => format!("records: {n}"),
                false => format!("records: {} {}", recs.len(), records(recs)),
            };
            if let Some(p) = port {
                let others: Vec<String> = recs
                    .iter()
                    .filter(|r| r.port != *p)
                    .map(|r| format!("{} {}", r.port, r.target))
                    .collect();
                text += &match others.is_empty() {
                    true => format!("\nports: all {p}"),
                    false => format!("\nports: others in [{}]", others.join(", ")),
                };
            }
            text
        }
    }
}

/// One `expectConnect` observation: the reply, nc's stderr, and the ready backends
/// (pod IP → (cluster, pod)) when `servedBy` is asked.
struct ConnectSeen {
    reply: String,
    stderr: String,
    backends: BTreeMap<String, (String, String)>,
}

/// Runs an `expectConnect` step: exchanges (every 100 ms) until `hold` consecutive
/// replies are as expected.
pub(super) async fn expect_connect(
    ctx: &Ctx,
    index: usize,
    a: &ConnectOp,
    timeout: Duration,
) -> Result<(), StepError> {
    let (from, host) = (a.from.as_str(), a.host.as_str());
    let service = service_of(host).map(|(s, _)| s);
    let probe = ctx.probe(from).await?;
    let proto = if a.udp { "UDP" } else { "TCP" };
    let spec = WaitSpec {
        index,
        what: format!("{proto} {host}:{} from {from}", a.port),
        timeout,
        hold: a.hold,
    };
    let mut source = Polled::new(Poll::fixed(Duration::from_millis(100)), || async {
        let r = probe
            .nc(host, a.port, a.udp, &a.send, a.wait_seconds)
            .await
            .map_err(|e| CheckError::fatal(format!("probe in {from}: {e}")))?;
        let backends = match (&service, &a.served_by) {
            (Some(s), Some(_)) => backends(ctx, s).await?,
            _ => BTreeMap::new(),
        };
        Ok(ConnectSeen {
            reply: r.reply,
            stderr: r.stderr,
            backends,
        })
    });
    until(ctx.wait_env(), spec, &mut source, |s| judge(a, s), |_| {})
        .await
        .map(drop)
}

/// Compares one reply with the expectation. With `reachable: false` a reply containing the
/// text fails the step at once (the upstream suite's `Expect` in a loop).
fn judge(a: &ConnectOp, s: &ConnectSeen) -> Result<Check, CheckError> {
    let reply = s.reply.as_str();
    let shown = match reply.trim() {
        "" => format!("no reply ({})", s.stderr.trim()),
        r => format!("reply {r:?}"),
    };
    let contains = match &a.contains {
        Some(t) => reply.contains(t.as_str()),
        None => !reply.trim().is_empty(),
    };
    let what = a.contains.as_ref().map_or("any reply".to_string(), |t| {
        format!("a reply containing {t:?}")
    });
    if !a.reachable {
        if contains {
            return Err(CheckError::fatal(format!(
                "expected no {what}, got {shown}"
            )));
        }
        return Ok(Check::compare(
            "unreachable, as expected",
            format!("no {what}"),
            format!("no {what}"),
        ));
    }
    let mut expected = vec![what.clone()];
    let mut seen = vec![match contains {
        true => what,
        false => shown.clone(),
    }];
    if let Some(allowed) = &a.served_by {
        let named = s.backends.iter().find(|(ip, _)| names_ip(reply, ip));
        let line = format!("served by one of: [{}]", allowed.join(", "));
        expected.push(line.clone());
        seen.push(match named {
            Some((_, (c, _))) if allowed.contains(c) => line,
            Some((ip, (c, pod))) => format!("served by: {c} (pod {pod}, {ip})"),
            None => format!("served by: no known backend named in {shown}"),
        });
    }
    let (expected, seen) = (expected.join("\n"), seen.join("\n"));
    Ok(Check::compare(
        first_difference(&expected, &seen),
        expected,
        seen,
    ))
}

/// Whether `reply` names `ip` as a whole token (so 10.0.0.1 is not found in 10.0.0.12).
fn names_ip(reply: &str, ip: &str) -> bool {
    reply
        .split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .any(|t| t == ip)
}

#[cfg(test)]
mod tests {
    use super::names_ip;

    #[test]
    fn ips_are_whole_tokens() {
        assert!(names_ip("pod ip 10.0.0.1\r\n", "10.0.0.1"));
        assert!(!names_ip("pod ip 10.0.0.12\n", "10.0.0.1"));
        assert!(names_ip("pod ip fd00::1", "fd00::1"));
    }
}
