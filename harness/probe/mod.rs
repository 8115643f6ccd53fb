//! DNS and HTTP probes executed *inside* a probe pod of a cluster, through `pods/exec`: the
//! only way to see `clusterset.local` names and Service VIPs exactly as a workload does.
//!
//! [`ProbePod::ensure`] creates (or reuses) one long-lived pod per cluster and run;
//! [`ProbePod::dns`] runs `nslookup` in it and [`ProbePod::http`] runs busybox `wget` (or
//! `curl` on curl/netshoot images). The outputs are parsed by pure functions
//! ([`parse_nslookup`], [`parse_wget`], [`parse_curl`], [`parse_backend`]) that follow the
//! formats of busybox 1.36, bind-tools and curl 8, so they work the same on GKE, kind and the
//! embedded fleet.
//!
//! Layout: `error` ([`ProbeError`]), `pod` (creating the pod and waiting for it), `exec`
//! (running a command, retrying transport failures only), `dns` and `http` (the probes and
//! their parsers), `srv` (typed lookups: `-type=A|AAAA|SRV`) and `nc` (TCP/UDP exchanges); `tests` holds the parsers' unit tests, `live_tests` runs everything
//! against an embedded fleet.

mod dns;
mod error;
mod exec;
mod http;
mod nc;
mod pod;
mod srv;

#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod tests;

pub use dns::{DnsResult, parse_nslookup};
pub use error::{PodRef, ProbeError, Result};
pub use exec::ExecOutput;
pub use http::{Backend, HttpResult, parse_backend, parse_curl, parse_wget};
pub use nc::NcResult;
pub use pod::ProbePod;
pub use srv::{SrvRecord, SrvResult, parse_srv};

/// The image of probe pods unless a scenario chooses another one.
pub const DEFAULT_PROBE_IMAGE: &str = "busybox:1.36";

/// Name of the probe pod (one per namespace).
pub const PROBE_POD: &str = "mcs-probe";

/// Label key put on the probe pod, with the run id as value (for garbage collection).
pub const RUN_LABEL: &str = "mcs-harness.dev/run-id";
