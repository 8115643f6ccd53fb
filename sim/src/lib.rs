//! `mcs-sim`: an embedded Kubernetes fleet. Each simulated cluster is an API server on its
//! own loopback address that speaks the real Kubernetes HTTP API (HTTPS with a fleet CA,
//! bearer tokens), so `kube::Client` and kubectl talk to it exactly as they talk to GKE or kind.
//!
//! Layers: `store` (objects, versions, events) → `ops` (lifecycle rules) → `api` (HTTP);
//! `controllers` keep cluster-side behaviour (CRDs, namespaces, garbage collection);
//! `fleet` starts clusters and writes the kubeconfig.

pub mod api;
pub mod cluster;
pub mod controllers;
pub mod convert;
pub mod dns;
pub mod events;
pub mod exec;
pub mod faults;
pub mod fleet;
pub mod kubelet;
pub mod net;
pub mod ops;
pub mod patch;
pub mod protobuf;
pub mod registry;
pub mod schema;
pub mod selector;
pub mod store;
pub mod table;
pub mod timescale;
pub mod tls;
pub mod validate;
pub mod validate_workloads;
pub mod watchdog;

pub use cluster::Cluster;
pub use fleet::{Fleet, FleetConfig, FleetError, RunningCluster};
