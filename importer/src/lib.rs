//! `mcs-importer`: the simulated MCS importer. It plays GKE's `gke-mcs-importer` (and the
//! upstream MCS controllers) for clusters that have no Google control plane — kind and the
//! embedded fleet — so the same scenarios run everywhere (DESIGN §4, §6).
//!
//! `types` are the CRDs (generated from Rust types, fixtures in `fixtures/crds/`);
//! `naming`, `ports`, `conflict`, `slices`, `dns` are pure helpers; `controller` is the
//! watch-driven reconciler; `install` puts the CRDs into a cluster.

pub mod conflict;
pub mod controller;
pub mod dns;
pub mod flavour;
pub mod install;
pub mod naming;
pub mod ports;
pub mod slices;
pub mod transient;
pub mod types;

pub use controller::{ClusterConn, DnsRecordsTarget, Flavour, GkeFleet, Importer, ImporterConfig};
pub use install::install_crds;
pub use transient::transient;
