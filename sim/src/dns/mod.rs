//! The cluster DNS server: one real DNS server per simulated cluster (the `kube-dns` Service's
//! ClusterIP, port 53, UDP and TCP), authoritative for `cluster.local` and `clusterset.local`
//! and answering from the cluster's live object store, as CoreDNS with the `kubernetes` and
//! `multicluster` plugins does.
//!
//! - `records`: reads Services, Endpoints, ServiceImports and EndpointSlices;
//! - `services`: CoreDNS's service lookup and A/SRV record building (weights, de-duplication);
//! - `reverse`: PTR records for Service ClusterIPs and endpoint IPs;
//! - `answer`: the pure record logic (name → records, NXDOMAIN/NODATA with an SOA);
//! - `wire`: what CoreDNS does to a reply on its way out (`loadbalance` shuffling, truncation);
//! - `server`: the UDP/TCP loops, message decoding/encoding and the fault modes.
//!
//! There is no recursion and no upstream: names outside the zones get SERVFAIL, as from a
//! CoreDNS whose `forward` has nobody to ask (see `answer`).

mod answer;
mod records;
mod reverse;
mod server;
mod services;
mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// TTL of the records served unless configured: the `ttl 30` of the kubeadm and kind
/// Corefiles (CoreDNS's own default is 5).
pub const DEFAULT_TTL: u32 = 30;
/// The largest TTL CoreDNS's `kubernetes` plugin accepts (`ttl` option: 0 to 3600).
pub const MAX_TTL: u32 = 3600;

pub use answer::{Answer, answer};
pub use hickory_proto::op::ResponseCode;
pub use hickory_proto::rr::{RData, Record, RecordType};
pub use server::DnsServer;

/// Errors of the DNS server.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The UDP or TCP socket could not be bound.
    #[error("failed to bind dns server on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// The bound socket's local address could not be read.
    #[error("failed to read the local address of the dns socket")]
    LocalAddr(#[source] std::io::Error),
}

/// How the server treats queries (a fault injected by a scenario, or normal service).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsMode {
    /// Answer from the store.
    #[default]
    Normal,
    /// Answer every query with SERVFAIL.
    ServFail,
    /// Answer nothing: clients time out.
    Drop,
}

/// The switches of one DNS server, read on every query: the record TTL, and the modes
/// faults put in force, each for the whole cluster or only for names in some namespaces.
#[derive(Debug)]
pub struct DnsControl {
    /// Fast path: whether any rule is in force.
    any: AtomicBool,
    rules: std::sync::RwLock<Vec<(DnsMode, Vec<String>)>>,
    ttl: AtomicU32,
}

impl Default for DnsControl {
    fn default() -> Self {
        Self {
            any: AtomicBool::new(false),
            rules: std::sync::RwLock::default(),
            ttl: AtomicU32::new(DEFAULT_TTL),
        }
    }
}

impl DnsControl {
    /// The TTL of the records served.
    pub fn ttl(&self) -> u32 {
        self.ttl.load(Ordering::Relaxed)
    }

    /// Sets the TTL of the records served (capped at [`MAX_TTL`]); from the next query.
    pub fn set_ttl(&self, ttl: u32) {
        self.ttl.store(ttl.min(MAX_TTL), Ordering::Relaxed);
    }

    /// Switches the whole server to `mode`; takes effect from the next query.
    pub fn set(&self, mode: DnsMode) {
        let rules = match mode {
            DnsMode::Normal => Vec::new(),
            m => vec![(m, Vec::new())],
        };
        self.set_rules(rules);
    }

    /// Replaces the rules: each a mode and the namespaces it is limited to (empty: every
    /// name). The last matching rule wins.
    pub fn set_rules(&self, rules: Vec<(DnsMode, Vec<String>)>) {
        let rules: Vec<_> = rules
            .into_iter()
            .filter(|(m, _)| *m != DnsMode::Normal)
            .collect();
        self.any.store(!rules.is_empty(), Ordering::Relaxed);
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = rules;
    }

    /// The mode for names outside any namespace (cluster-wide rules only).
    pub fn mode(&self) -> DnsMode {
        self.mode_for("")
    }

    /// The mode for a query of `name`.
    pub fn mode_for(&self, name: &str) -> DnsMode {
        if !self.any.load(Ordering::Relaxed) {
            return DnsMode::Normal;
        }
        let ns = namespace_of(name);
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner());
        rules
            .iter()
            .rev()
            .find(|(_, scope)| scope.is_empty() || ns.is_some_and(|n| scope.iter().any(|s| s == n)))
            .map_or(DnsMode::Normal, |(m, _)| *m)
    }
}

/// The namespace a cluster DNS name is about: the label before the first `svc` or `pod`
/// label (`whereami.NS.svc.clusterset.local`, `host.svc.NS.svc…`, `1-2-3-4.NS.pod…`).
fn namespace_of(name: &str) -> Option<&str> {
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    let at = labels
        .iter()
        .position(|l| l.eq_ignore_ascii_case("svc") || l.eq_ignore_ascii_case("pod"))?;
    at.checked_sub(1).map(|i| labels[i])
}

#[cfg(test)]
mod answer_tests;
#[cfg(test)]
mod server_tests;

#[cfg(test)]
mod control_tests {
    use super::*;

    #[test]
    fn control_defaults_to_normal_and_switches() {
        let c = DnsControl::default();
        assert_eq!(c.mode(), DnsMode::Normal);
        c.set(DnsMode::Drop);
        assert_eq!(c.mode(), DnsMode::Drop);
        c.set(DnsMode::ServFail);
        assert_eq!(c.mode(), DnsMode::ServFail);
        c.set(DnsMode::Normal);
        assert_eq!(c.mode(), DnsMode::Normal);
    }

    #[test]
    fn scoped_rules_apply_to_names_of_their_namespaces() {
        let c = DnsControl::default();
        c.set_rules(vec![(DnsMode::ServFail, vec!["mine".into()])]);
        assert_eq!(
            c.mode_for("web.mine.svc.clusterset.local."),
            DnsMode::ServFail
        );
        assert_eq!(
            c.mode_for("web.mine.svc.clusterset.local.mine.svc.cluster.local"),
            DnsMode::ServFail
        );
        assert_eq!(c.mode_for("web.theirs.svc.cluster.local"), DnsMode::Normal);
        assert_eq!(c.mode_for("example.com"), DnsMode::Normal);
        assert_eq!(c.mode(), DnsMode::Normal);
        c.set_rules(vec![
            (DnsMode::ServFail, vec!["mine".into()]),
            (DnsMode::Drop, vec![]),
        ]);
        assert_eq!(c.mode_for("web.theirs.svc.cluster.local"), DnsMode::Drop);
    }
}
