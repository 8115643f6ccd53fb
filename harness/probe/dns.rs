//! DNS probes: `nslookup NAME` in the probe pod, and the parser of its output (busybox 1.36,
//! the older busybox 1.28 format, and bind-tools as in netshoot).
//!
//! busybox queries A and AAAA, prints one block per reply (`Name:\tN` / `Address: IP` per
//! record, `** server can't find N: RCODE` for an error reply), `*** Can't find N: No
//! answer` for queries left unanswered, and `;; connection timed out; no servers could be
//! reached` when nothing answered. A name without a dot is tried with every search domain,
//! so one expansion may fail while another answers (exit code 1 all the same): answers win.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use super::error::Result;
use super::pod::ProbePod;

/// Bound of one `nslookup` run: busybox gives up after 5 s per server (2 s in the sim).
const DNS_LIMIT: Duration = Duration::from_secs(60);

/// The outcome of a DNS lookup from inside a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsResult {
    /// Addresses answered for the name (A and AAAA), sorted.
    Answer(BTreeSet<IpAddr>),
    /// The name does not exist.
    NxDomain,
    /// The lookup failed otherwise (timeout, SERVFAIL, no server): the tool's message.
    Failed(String),
}

impl ProbePod {
    /// Resolves `name` with `nslookup NAME` (busybox, or bind-tools on netshoot: both print
    /// formats [`parse_nslookup`] reads) and parses the answer.
    pub async fn dns(&self, name: &str) -> Result<DnsResult> {
        let out = self.exec_within(&["nslookup", name], DNS_LIMIT).await?;
        Ok(parse_nslookup(
            name,
            &out.stdout,
            &out.stderr,
            out.exit_code,
        ))
    }
}

/// What the output says about the queried name.
#[derive(Default)]
struct Scan {
    addrs: BTreeSet<IpAddr>,
    /// Error replies (`** server can't find`): rcode and the line.
    rcodes: Vec<(String, String)>,
    /// Queries without reply (`*** Can't find N: No answer`).
    unanswered: Option<String>,
    /// `;; connection timed out; no servers could be reached`.
    timed_out: Option<String>,
}

/// Parses `nslookup NAME` output into a [`DnsResult`] for `name`.
///
/// Records are taken for `name` itself, its search-domain expansions (`name.*`) and the
/// targets of CNAMEs of those; the server header (`Server:` / `Address:` up to the first blank
/// line) is skipped. Addresses win over errors; then any error other than NXDOMAIN (SERVFAIL,
/// REFUSED...) makes the result `Failed`; NXDOMAIN everywhere gives `NxDomain`; no reply
/// at all gives `Failed`. A clean reply without records (NODATA) is an empty `Answer`.
pub fn parse_nslookup(name: &str, stdout: &str, stderr: &str, exit_code: i32) -> DnsResult {
    let scan = scan(name, stdout);
    if !scan.addrs.is_empty() {
        return DnsResult::Answer(scan.addrs);
    }
    if let Some((_, line)) = scan.rcodes.iter().find(|(rc, _)| rc != "NXDOMAIN") {
        return DnsResult::Failed(line.clone());
    }
    if !scan.rcodes.is_empty() {
        return DnsResult::NxDomain;
    }
    if let Some(line) = scan.timed_out.or(scan.unanswered) {
        return DnsResult::Failed(line);
    }
    if exit_code == 0 {
        return DnsResult::Answer(BTreeSet::new());
    }
    let text = first_line(stderr)
        .or_else(|| first_line(stdout))
        .unwrap_or_default();
    DnsResult::Failed(format!("nslookup exited with code {exit_code}: {text}"))
}

fn first_line(s: &str) -> Option<String> {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(String::from)
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The names whose records answer the query: the name, its expansions, CNAME targets.
struct Wanted {
    name: String,
    aliases: Vec<String>,
}

impl Wanted {
    fn matches(&self, owner: &str) -> bool {
        let owner = normalize(owner);
        owner == self.name
            || owner
                .strip_prefix(&self.name)
                .is_some_and(|rest| rest.starts_with('.'))
            || self.aliases.contains(&owner)
    }
}

fn scan(name: &str, stdout: &str) -> Scan {
    let mut wanted = Wanted {
        name: normalize(name),
        aliases: Vec::new(),
    };
    let mut out = Scan::default();
    let mut owner: Option<String> = None;
    let mut in_header = false;
    for raw in stdout.lines() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            (owner, in_header) = (None, false);
        } else if line.starts_with("Server:") {
            in_header = true;
        } else if let Some(v) = line.strip_prefix("Name:") {
            owner = Some(v.trim().to_string());
        } else if line.starts_with("Address") {
            let addr = address(line).filter(|_| !in_header);
            let owned = owner.as_deref().is_some_and(|o| wanted.matches(o));
            if let Some(ip) = addr.filter(|_| owned) {
                out.addrs.insert(ip);
            }
        } else if let Some((alias, target)) = line.split_once("\tcanonical name = ") {
            if wanted.matches(alias) {
                wanted.aliases.push(normalize(target));
            }
        } else if let Some(rest) = line.strip_prefix("** server can't find ") {
            if let Some((q, rcode)) = rest.rsplit_once(": ")
                && wanted.matches(q)
            {
                out.rcodes
                    .push((rcode.trim().to_string(), line.trim().to_string()));
            }
        } else if let Some(rest) = line.strip_prefix("*** Can't find ") {
            let q = rest.rsplit_once(": ").map_or(rest, |(q, _)| q);
            if wanted.matches(q) && out.unanswered.is_none() {
                out.unanswered = Some(line.trim().to_string());
            }
        } else if line.contains("no servers could be reached") {
            out.timed_out = Some(line.trim_start_matches(";; ").trim().to_string());
        }
    }
    out
}

/// The address of an `Address: IP` (busybox 1.36, bind) or `Address 1: IP [NAME]`
/// (busybox 1.28) line.
fn address(line: &str) -> Option<IpAddr> {
    let (_, value) = line.split_once(':')?;
    value.split_whitespace().next()?.parse().ok()
}
