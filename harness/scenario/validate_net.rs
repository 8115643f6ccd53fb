//! Validation of the network assertions of issue 17: `expectDns` record types and their
//! answers, and `expectConnect`. A child of `validate`, so it shares its [`Ctx`].

use serde_saphyr::Spanned;

use super::Ctx;
use crate::scenario::ScenarioError;
use crate::scenario::model::{DnsAnswer, ExpectDnsAction};
use crate::scenario::model_net::{DnsType, ExpectConnectAction};

/// `expectDns`: the answer fits the record type; IPs parse; clusters are declared.
pub(super) fn expect_dns(ctx: &Ctx, d: &ExpectDnsAction) -> Result<(), ScenarioError> {
    ctx.cluster(&d.from)?;
    ctx.template(&d.name)?;
    let a = &d.answer;
    let srv = d.record_type == Some(DnsType::SRV);
    let err = |m: String| Err(ctx.err(&a.referenced, m));
    match &a.value {
        DnsAnswer::Keyword(k) if k == "nxdomain" => Ok(()),
        DnsAnswer::Keyword(k) if srv => err(format!(
            "answer {k:?} does not fit `type: SRV`: use {{srv: [{{port, target}}, ...]}}, {{count: N}} or nxdomain"
        )),
        DnsAnswer::Keyword(k) if k == "import-ip" || k == "cluster-ip" => Ok(()),
        DnsAnswer::Keyword(k) => err(format!(
            "unknown DNS answer {k:?}: use import-ip, cluster-ip, nxdomain, a list of IPs, {{podsOf: [cluster...]}}, {{pod: NAME, cluster: C}} or {{count: N}}"
        )),
        DnsAnswer::Ips(_) | DnsAnswer::PodsOf { .. } | DnsAnswer::Pod { .. } if srv => err(
            "addresses do not fit `type: SRV`: use {srv: [{port, target}, ...]} or {count: N}"
                .into(),
        ),
        DnsAnswer::Ips(ips) => match ips
            .iter()
            .find(|ip| ip.parse::<std::net::IpAddr>().is_err())
        {
            Some(ip) => err(format!("{ip:?} is not an IP address")),
            None => Ok(()),
        },
        DnsAnswer::PodsOf { pods_of } => declared(ctx, a, pods_of.iter()),
        DnsAnswer::Pod { cluster, .. } => declared(ctx, a, std::iter::once(cluster)),
        DnsAnswer::Srv { .. } if !srv => {
            err("an `srv:` answer needs `type: SRV` on the step".into())
        }
        DnsAnswer::Srv { srv } => {
            for r in srv {
                let t = Spanned::new(r.target.clone(), a.referenced, a.defined);
                ctx.template(&t)?;
            }
            Ok(())
        }
        DnsAnswer::Count { port: Some(_), .. } if !srv => {
            err("`port` in a count answer needs `type: SRV`".into())
        }
        DnsAnswer::Count { .. } => Ok(()),
    }
}

fn declared<'a>(
    ctx: &Ctx,
    a: &Spanned<DnsAnswer>,
    mut clusters: impl Iterator<Item = &'a String>,
) -> Result<(), ScenarioError> {
    match clusters.find(|c| !ctx.clusters.contains(c)) {
        Some(c) => Err(ctx.err(
            &a.referenced,
            format!(
                "cluster {c:?} is not declared in clusters: [{}]",
                ctx.clusters.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// `expectConnect`: clusters declared, host templated, `send` safe for `echo`, hold ≥ 1.
pub(super) fn expect_connect(ctx: &Ctx, c: &ExpectConnectAction) -> Result<(), ScenarioError> {
    ctx.cluster(&c.from)?;
    ctx.template(&c.host)?;
    ctx.clusters_all(c.served_by.as_ref())?;
    if let Some(s) = &c.send {
        let ok = |ch: char| ch.is_ascii_alphanumeric() || " .-_:".contains(ch);
        if s.value.is_empty() || !s.value.chars().all(ok) {
            return Err(ctx.err(
                &s.referenced,
                format!(
                    "send {:?}: use letters, digits, spaces and .-_: only (it is sent with `echo` through a shell)",
                    s.value
                ),
            ));
        }
    }
    if c.port == 0 {
        return Err(ctx.err(
            &c.host.referenced,
            "port 0 cannot be connected to: use 1-65535",
        ));
    }
    if c.hold == Some(0) {
        return Err(ctx.err(&c.host.referenced, "hold: 0 checks nothing: use 1 or more"));
    }
    if !c.reachable && c.served_by.is_some() {
        return Err(ctx.err(
            &c.host.referenced,
            "servedBy needs `reachable: true`: an unreachable host is served by nobody",
        ));
    }
    Ok(())
}
