//! Typed DNS probes (issue 17): `nslookup -type=A|AAAA NAME` (parsed like the untyped
//! lookup) and `nslookup -type=SRV NAME`, whose records busybox and bind-tools print as
//! `OWNER\tservice = PRIORITY WEIGHT PORT TARGET` (bind with a trailing dot on TARGET).

use super::dns::{DnsResult, parse_nslookup};
use super::error::Result;
use super::pod::ProbePod;

/// Bound of one `nslookup` run (as for the untyped lookup).
const DNS_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// One SRV record as the tool printed it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SrvRecord {
    /// The record's port.
    pub port: u16,
    /// The target name, lowercase, without a trailing dot.
    pub target: String,
}

/// The outcome of an SRV lookup from inside a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrvResult {
    /// The records answered (possibly none: NODATA), in the order printed.
    Answer(Vec<SrvRecord>),
    /// The name does not exist.
    NxDomain,
    /// The lookup failed otherwise: the tool's message.
    Failed(String),
}

impl ProbePod {
    /// Resolves `name` with `nslookup -type=TYPE NAME` (`A` or `AAAA`).
    pub async fn dns_typed(&self, name: &str, record_type: &str) -> Result<DnsResult> {
        let t = format!("-type={record_type}");
        let out = self.exec_within(&["nslookup", &t, name], DNS_LIMIT).await?;
        Ok(parse_nslookup(
            name,
            &out.stdout,
            &out.stderr,
            out.exit_code,
        ))
    }

    /// Resolves `name` with `nslookup -type=SRV NAME` and parses the SRV records.
    pub async fn srv(&self, name: &str) -> Result<SrvResult> {
        let out = self
            .exec_within(&["nslookup", "-type=SRV", name], DNS_LIMIT)
            .await?;
        Ok(parse_srv(&out.stdout, &out.stderr, out.exit_code))
    }
}

/// Parses `nslookup -type=SRV` output: every `service = P W PORT TARGET` line is a record;
/// without records, `** server can't find …: NXDOMAIN` is [`SrvResult::NxDomain`], another
/// error line (or a non-zero exit) is [`SrvResult::Failed`], a clean exit is an empty answer.
pub fn parse_srv(stdout: &str, stderr: &str, exit_code: i32) -> SrvResult {
    let records: Vec<SrvRecord> = stdout.lines().filter_map(srv_line).collect();
    if !records.is_empty() {
        return SrvResult::Answer(records);
    }
    let errors: Vec<&str> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("** server can't find") || l.starts_with("*** Can't find"))
        .collect();
    if !errors.is_empty() && errors.iter().all(|l| l.ends_with("NXDOMAIN")) {
        return SrvResult::NxDomain;
    }
    if let Some(line) = errors.first() {
        // `*** Can't find N: No answer` is NODATA: the name exists without SRV records.
        if line.ends_with("No answer") && exit_code == 0 {
            return SrvResult::Answer(Vec::new());
        }
        return SrvResult::Failed((*line).to_string());
    }
    if let Some(l) = stdout
        .lines()
        .find(|l| l.contains("no servers could be reached"))
    {
        return SrvResult::Failed(l.trim_start_matches(";; ").trim().to_string());
    }
    if exit_code == 0 {
        return SrvResult::Answer(Vec::new());
    }
    let text = stderr.lines().map(str::trim).find(|l| !l.is_empty());
    SrvResult::Failed(format!(
        "nslookup exited with code {exit_code}: {}",
        text.unwrap_or_default()
    ))
}

fn srv_line(line: &str) -> Option<SrvRecord> {
    let (_, rest) = line.split_once("service = ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let [_priority, _weight, port, target] = fields.as_slice() else {
        return None;
    };
    Some(SrvRecord {
        port: port.parse().ok()?,
        target: target.trim_end_matches('.').to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busybox_and_bind_srv_records() {
        let busybox = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n\
            hello.ns.svc.clusterset.local\tservice = 0 100 42 hello.ns.svc.clusterset.local\n\n";
        assert_eq!(
            parse_srv(busybox, "", 0),
            SrvResult::Answer(vec![SrvRecord {
                port: 42,
                target: "hello.ns.svc.clusterset.local".into()
            }])
        );
        let bind = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n\
            h.ns.svc.clusterset.local\tservice = 0 50 42 A-1.a.h.ns.svc.clusterset.local.\n\
            h.ns.svc.clusterset.local\tservice = 0 50 42 a-2.a.h.ns.svc.clusterset.local.\n";
        let SrvResult::Answer(r) = parse_srv(bind, "", 0) else {
            panic!("no answer");
        };
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].target, "a-1.a.h.ns.svc.clusterset.local");
    }

    #[test]
    fn errors_and_nodata() {
        let nx = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n\
            ** server can't find x.ns.svc.clusterset.local: NXDOMAIN\n\n";
        assert_eq!(parse_srv(nx, "", 1), SrvResult::NxDomain);
        let sf = "** server can't find x: SERVFAIL\n";
        assert!(matches!(parse_srv(sf, "", 1), SrvResult::Failed(m) if m.contains("SERVFAIL")));
        let nodata = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n";
        assert_eq!(parse_srv(nodata, "", 0), SrvResult::Answer(Vec::new()));
        let timeout = ";; connection timed out; no servers could be reached\n";
        assert!(matches!(parse_srv(timeout, "", 1), SrvResult::Failed(_)));
    }
}
