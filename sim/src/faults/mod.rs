//! Faults: cluster-scoped `Fault` objects (`sim.mcs-harness.dev/v1alpha1`) that break a
//! simulated cluster on purpose, applied with kubectl or by a scenario, effective at once and
//! undone on delete. Exactly one of:
//! - `partition: {peers: [b]}` — no traffic between this cluster's pods and the peers' pods;
//! - `dns: {mode: ServFail|Drop}` — the cluster DNS fails or stays silent;
//! - `apiErrors: {rate, codes, latencyMs, watchDropSeconds}` — API requests fail at random,
//!   are slowed down, and watches are cut every N seconds;
//! - `deny: {user, verbs, resources, namespaces}` — 403 for an identity (e.g. the importer
//!   reading endpoints).
//!
//! An optional `scope: {namespaces: [..]}` limits the fault to those namespaces (see
//! [`Scope`]), so test runs sharing a fleet only break their own namespaces.

mod api_errors;
mod controller;
mod spec;

pub use api_errors::{ApiFaults, Injected, Rule as ApiErrorRule};
pub use controller::FaultController;
pub use spec::{FaultSpec, Scope, crd};

/// API group of Fault objects.
pub const GROUP: &str = "sim.mcs-harness.dev";
