//! `clusterset.local` records for CoreDNS's `hosts` plugin (GKE flavour on kind and k3s):
//! one line `IP NAME.NAMESPACE.svc.clusterset.local` per ClusterSetIP of every ServiceImport,
//! kept between two marker comments in the Corefile of the `coredns` ConfigMap, which
//! CoreDNS's `reload` plugin re-reads (GKE answers these names from Cloud DNS; kind has no
//! such thing, so the importer writes them).
//!
//! Pure functions; the controller that writes them is `controller::dns`.

use std::collections::BTreeSet;
use std::net::IpAddr;

/// Marker comment opening the records (Corefile comments are ignored by CoreDNS).
pub const RECORDS_BEGIN: &str = "# mcs-harness records begin";
/// Marker comment closing the records.
pub const RECORDS_END: &str = "# mcs-harness records end";
/// The zone the records live in.
pub const ZONE: &str = "clusterset.local";

/// Errors of [`replace_records`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordsError {
    /// The Corefile lacks the marker lines (the CoreDNS setup did not run).
    #[error(
        "the Corefile has no `{RECORDS_BEGIN}` … `{RECORDS_END}` block: run `mcs-harness kind up` \
         (or its setup) on this cluster first"
    )]
    NoMarkers,
}

/// One `hosts` line: `IP FQDN`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// A ClusterSetIP.
    pub ip: IpAddr,
}

impl Record {
    /// `NAME.NAMESPACE.svc.clusterset.local`.
    pub fn fqdn(&self) -> String {
        format!("{}.{}.svc.{ZONE}", self.name, self.namespace)
    }

    /// The `hosts` plugin line.
    pub fn line(&self) -> String {
        format!("{} {}", self.ip, self.fqdn())
    }
}

/// Records of a ServiceImport's `spec.ips` (entries that are not IPs are skipped), sorted
/// and deduplicated over all imports given as `(namespace, name, ips)`.
pub fn records(imports: impl IntoIterator<Item = (String, String, Vec<String>)>) -> Vec<Record> {
    let mut out = BTreeSet::new();
    for (namespace, name, ips) in imports {
        for ip in ips.iter().filter_map(|s| s.parse::<IpAddr>().ok()) {
            out.insert(Record {
                namespace: namespace.clone(),
                name: name.clone(),
                ip,
            });
        }
    }
    out.into_iter().collect()
}

/// `corefile` with the lines between the markers replaced by `records` (indented like the
/// opening marker); `Ok(None)` when they are already exactly these.
pub fn replace_records(corefile: &str, records: &[Record]) -> Result<Option<String>, RecordsError> {
    let lines: Vec<&str> = corefile.split_inclusive('\n').collect();
    let begin = lines
        .iter()
        .position(|l| l.trim() == RECORDS_BEGIN)
        .ok_or(RecordsError::NoMarkers)?;
    let end = lines[begin + 1..]
        .iter()
        .position(|l| l.trim() == RECORDS_END)
        .map(|i| begin + 1 + i)
        .ok_or(RecordsError::NoMarkers)?;
    let indent: String = lines[begin]
        .chars()
        .take_while(|c| c.is_whitespace() && *c != '\n')
        .collect();
    let wanted: Vec<String> = records
        .iter()
        .map(|r| format!("{indent}{}\n", r.line()))
        .collect();
    let current = &lines[begin + 1..end];
    if current.len() == wanted.len() && current.iter().zip(&wanted).all(|(a, b)| *a == b) {
        return Ok(None);
    }
    let mut out = String::with_capacity(corefile.len() + wanted.len() * 64);
    lines[..=begin].iter().for_each(|l| out.push_str(l));
    wanted.iter().for_each(|l| out.push_str(l));
    lines[end..].iter().for_each(|l| out.push_str(l));
    Ok(Some(out))
}

/// The records currently between the markers (lines that do not parse are skipped).
pub fn current_records(corefile: &str) -> Vec<Record> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in corefile.lines().map(str::trim) {
        match line {
            RECORDS_BEGIN => inside = true,
            RECORDS_END => inside = false,
            _ if inside => {
                let mut parts = line.split_whitespace();
                let (Some(ip), Some(fqdn)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let Ok(ip) = ip.parse() else { continue };
                let Some(rest) = fqdn.strip_suffix(&format!(".svc.{ZONE}")) else {
                    continue;
                };
                if let Some((name, namespace)) = rest.split_once('.') {
                    out.push(Record {
                        namespace: namespace.into(),
                        name: name.into(),
                        ip,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "clusterset.local:53 {\n    errors\n    hosts /etc/hosts clusterset.local {\n        \
                         # mcs-harness records begin\n        # mcs-harness records end\n        ttl 5\n    }\n    reload\n}\n";

    fn rec(ns: &str, name: &str, ip: &str) -> Record {
        Record {
            namespace: ns.into(),
            name: name.into(),
            ip: ip.parse().unwrap(),
        }
    }

    #[test]
    fn records_are_sorted_deduplicated_and_skip_non_ips() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = records([
            (
                "ns".into(),
                "web".into(),
                strings(&["10.2.0.9", "not-an-ip"]),
            ),
            (
                "ns".into(),
                "api".into(),
                strings(&["10.1.0.5", "10.1.0.5"]),
            ),
        ]);
        assert_eq!(
            got,
            vec![rec("ns", "api", "10.1.0.5"), rec("ns", "web", "10.2.0.9")]
        );
        assert_eq!(got[0].line(), "10.1.0.5 api.ns.svc.clusterset.local");
    }

    #[test]
    fn replace_writes_indented_lines_and_is_idempotent() {
        let recs = vec![rec("demo", "whereami", "10.110.0.7")];
        let once = replace_records(BLOCK, &recs).unwrap().unwrap();
        assert!(once.contains(
            "        # mcs-harness records begin\n        10.110.0.7 whereami.demo.svc.clusterset.local\n        # mcs-harness records end\n"
        ));
        assert_eq!(replace_records(&once, &recs).unwrap(), None);
        assert_eq!(current_records(&once), recs);
        // Removing every record restores the empty block.
        assert_eq!(replace_records(&once, &[]).unwrap().unwrap(), BLOCK);
    }

    #[test]
    fn missing_markers_are_an_error() {
        assert_eq!(
            replace_records(".:53 {\n}\n", &[]),
            Err(RecordsError::NoMarkers)
        );
        let only_begin = "    # mcs-harness records begin\n";
        assert_eq!(
            replace_records(only_begin, &[]),
            Err(RecordsError::NoMarkers)
        );
    }
}
