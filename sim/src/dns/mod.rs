//! The cluster DNS server: one real DNS server per simulated cluster (the `kube-dns` Service's
//! ClusterIP, port 53, UDP and TCP), authoritative for `cluster.local` and `clusterset.local`
//! and answering from the cluster's live object store, as CoreDNS with the `kubernetes` and
//! `multicluster` plugins does.
//!
//! - `records`: reads Services, Endpoints, ServiceImports and EndpointSlices into backends;
//! - `answer`: the pure record logic (name → records, NXDOMAIN/NODATA with an SOA);
//! - `server`: the UDP/TCP loops, message decoding/encoding and the fault modes.
//!
//! There is no recursion: names outside the two zones are REFUSED.

mod answer;
mod records;
mod server;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};

pub use answer::{Answer, TTL, answer};
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

impl DnsMode {
    fn to_u8(self) -> u8 {
        match self {
            DnsMode::Normal => 0,
            DnsMode::ServFail => 1,
            DnsMode::Drop => 2,
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => DnsMode::ServFail,
            2 => DnsMode::Drop,
            _ => DnsMode::Normal,
        }
    }
}

/// The fault switch of one DNS server, read (one atomic load) on every query.
#[derive(Debug, Default)]
pub struct DnsControl {
    mode: AtomicU8,
}

impl DnsControl {
    /// Switches the server to `mode`; takes effect from the next query.
    pub fn set(&self, mode: DnsMode) {
        self.mode.store(mode.to_u8(), Ordering::Relaxed);
    }

    /// The current mode.
    pub fn mode(&self) -> DnsMode {
        DnsMode::from_u8(self.mode.load(Ordering::Relaxed))
    }
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
}
