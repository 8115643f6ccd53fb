//! Address plan of one simulated cluster, all inside 127.0.0.0/8: the cluster gets a second
//! octet `C`; pods live in `127.C.0.0/17`, Service ClusterIPs in `127.C.128.0/17`, and the
//! cluster DNS (kube-dns) is `127.C.128.10`. Which cluster owns an address is read off `C`.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Mutex;

/// Host numbers per /24 used (1..=250).
const PER_BLOCK: u32 = 250;
/// /24 blocks per range (a /17).
const BLOCKS: u32 = 128;
/// Service index of kube-dns (`127.C.128.10`), and of the `kubernetes` Service (`.1`).
pub const DNS_INDEX: u32 = 9;
/// Service index of the `kubernetes` Service.
pub const API_INDEX: u32 = 0;

/// Errors of address allocation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// Every address of the range is in use.
    #[error("the {range} range {cidr} is full")]
    Exhausted {
        /// `pod` or `service`.
        range: &'static str,
        /// The CIDR.
        cidr: String,
    },
    /// A requested address is outside the range or taken.
    #[error("{ip} is not available in the service range {cidr}: {reason}")]
    Unavailable {
        /// The address.
        ip: Ipv4Addr,
        /// The range.
        cidr: String,
        /// Why.
        reason: &'static str,
    },
}

/// The cluster's address plan and allocators.
pub struct AddressPlan {
    octet: u8,
    pods: Mutex<Pool>,
    services: Mutex<Pool>,
}

#[derive(Default)]
struct Pool {
    next: u32,
    used: BTreeSet<u32>,
}

impl Pool {
    fn take(&mut self) -> Option<u32> {
        let total = PER_BLOCK * BLOCKS;
        for i in 0..total {
            let n = (self.next + i) % total;
            if self.used.insert(n) {
                self.next = (n + 1) % total;
                return Some(n);
            }
        }
        None
    }
}

fn host(octet: u8, base_block: u32, n: u32) -> Ipv4Addr {
    Ipv4Addr::new(
        127,
        octet,
        (base_block + n / PER_BLOCK) as u8,
        (n % PER_BLOCK + 1) as u8,
    )
}

impl AddressPlan {
    /// The plan for second octet `octet`. The kube-dns and `kubernetes` Service addresses
    /// are claimed by the fleet's bootstrap before anything else allocates.
    pub fn new(octet: u8) -> Self {
        Self {
            octet,
            pods: Mutex::new(Pool::default()),
            services: Mutex::new(Pool::default()),
        }
    }

    /// The cluster's second octet.
    pub fn octet(&self) -> u8 {
        self.octet
    }

    /// Pod CIDR, e.g. `127.42.0.0/17`.
    pub fn pod_cidr(&self) -> String {
        format!("127.{}.0.0/17", self.octet)
    }

    /// Service CIDR, e.g. `127.42.128.0/17`.
    pub fn service_cidr(&self) -> String {
        format!("127.{}.128.0/17", self.octet)
    }

    /// The kube-dns ClusterIP (also where the DNS server listens).
    pub fn dns_ip(&self) -> Ipv4Addr {
        host(self.octet, BLOCKS, DNS_INDEX)
    }

    /// The `kubernetes` Service ClusterIP.
    pub fn api_service_ip(&self) -> Ipv4Addr {
        host(self.octet, BLOCKS, API_INDEX)
    }

    /// Whether `ip` belongs to this cluster (pod or service range).
    pub fn owns(&self, ip: Ipv4Addr) -> bool {
        let o = ip.octets();
        o[0] == 127 && o[1] == self.octet
    }

    /// Whether `ip` is in this cluster's service range.
    pub fn is_service_ip(&self, ip: Ipv4Addr) -> bool {
        self.owns(ip) && u32::from(ip.octets()[2]) >= BLOCKS
    }

    fn lock(m: &Mutex<Pool>) -> std::sync::MutexGuard<'_, Pool> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A free pod IP.
    pub fn allocate_pod_ip(&self) -> Result<Ipv4Addr, PlanError> {
        let n = Self::lock(&self.pods)
            .take()
            .ok_or_else(|| PlanError::Exhausted {
                range: "pod",
                cidr: self.pod_cidr(),
            })?;
        Ok(host(self.octet, 0, n))
    }

    /// A free Service IP.
    pub fn allocate_service_ip(&self) -> Result<Ipv4Addr, PlanError> {
        let n = Self::lock(&self.services)
            .take()
            .ok_or_else(|| PlanError::Exhausted {
                range: "service",
                cidr: self.service_cidr(),
            })?;
        Ok(host(self.octet, BLOCKS, n))
    }

    fn index(&self, ip: Ipv4Addr, base: u32) -> Option<u32> {
        let o = ip.octets();
        let block = u32::from(o[2]).checked_sub(base)?;
        let last = u32::from(o[3]);
        (self.owns(ip) && block < BLOCKS && (1..=PER_BLOCK).contains(&last))
            .then(|| block * PER_BLOCK + last - 1)
    }

    /// Claims a specific Service IP (a user-set `spec.clusterIP`).
    pub fn claim_service_ip(&self, ip: Ipv4Addr) -> Result<(), PlanError> {
        let unavailable = |reason| PlanError::Unavailable {
            ip,
            cidr: self.service_cidr(),
            reason,
        };
        let n = self
            .index(ip, BLOCKS)
            .ok_or_else(|| unavailable("outside the range"))?;
        if Self::lock(&self.services).used.insert(n) {
            Ok(())
        } else {
            Err(unavailable("already allocated"))
        }
    }

    /// Returns a pod IP to the pool.
    pub fn release_pod_ip(&self, ip: Ipv4Addr) {
        if let Some(n) = self.index(ip, 0) {
            Self::lock(&self.pods).used.remove(&n);
        }
    }

    /// Returns a Service IP to the pool (the reserved ones stay reserved).
    pub fn release_service_ip(&self, ip: Ipv4Addr) {
        if let Some(n) = self
            .index(ip, BLOCKS)
            .filter(|n| *n != DNS_INDEX && *n != API_INDEX)
        {
            Self::lock(&self.services).used.remove(&n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_reservations() {
        let p = AddressPlan::new(42);
        assert_eq!(p.dns_ip(), Ipv4Addr::new(127, 42, 128, 10));
        assert_eq!(p.api_service_ip(), Ipv4Addr::new(127, 42, 128, 1));
        assert_eq!(p.allocate_pod_ip().unwrap(), Ipv4Addr::new(127, 42, 0, 1));
        assert_eq!(p.allocate_pod_ip().unwrap(), Ipv4Addr::new(127, 42, 0, 2));
        p.claim_service_ip(p.api_service_ip()).unwrap();
        p.claim_service_ip(p.dns_ip()).unwrap();
        let s = p.allocate_service_ip().unwrap();
        assert_eq!(s, Ipv4Addr::new(127, 42, 128, 2));
        assert!(p.is_service_ip(s) && !p.is_service_ip(Ipv4Addr::new(127, 42, 0, 1)));
        assert!(p.claim_service_ip(p.dns_ip()).is_err(), "claimed twice");
        assert!(p.claim_service_ip(Ipv4Addr::new(127, 43, 128, 5)).is_err());
        p.claim_service_ip(Ipv4Addr::new(127, 42, 130, 7)).unwrap();
        p.release_service_ip(s);
        p.release_pod_ip(Ipv4Addr::new(127, 42, 0, 1));
        assert!(!p.owns(Ipv4Addr::new(127, 1, 1, 1)));
    }

    #[test]
    fn pool_wraps_and_reuses_released_addresses() {
        let p = AddressPlan::new(7);
        let ips: Vec<_> = (0..300).map(|_| p.allocate_pod_ip().unwrap()).collect();
        assert_eq!(ips[250], Ipv4Addr::new(127, 7, 1, 1));
        p.release_pod_ip(ips[3]);
        // Allocation continues forward, then wraps to reuse freed addresses.
        assert_eq!(p.allocate_pod_ip().unwrap(), Ipv4Addr::new(127, 7, 1, 51));
    }
}
