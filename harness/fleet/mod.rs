//! Fleet providers: where a run's clusters come from, and what the run does to them before
//! and after its scenarios.
//!
//! - `provider` — the [`Provider`] trait, [`Binding`]s, and [`SharedProvider`] (contexts,
//!   kind, k3s: every scenario uses the same clusters);
//! - `embedded_provider` — [`EmbeddedProvider`]: a fleet of its own per scenario;
//! - `open` — builds the provider the command line asks for and runs preflight on it;
//! - `registry` — [`ClusterRegistry`]: logical name ([`ClusterName`]) → client and identity;
//! - `capabilities` — [`Capabilities`] and whether a scenario's requirements are met;
//! - `preflight` — reachability, credentials, version, MCS APIs, permissions;
//! - `liveness` — the run's Lease in every shared cluster;
//! - `gc` — removes what dead runs left behind;
//! - `embedded` — the embedded fleet itself (mcs-sim clusters plus the importer);
//! - `kubeconfig` — kube clients from kubeconfig contexts.

mod capabilities;
mod cluster_name;
mod embedded;
mod embedded_provider;
pub mod gc;
mod kubeconfig;
pub mod liveness;
mod open;
pub mod preflight;
mod provider;
mod registry;

pub use capabilities::Capabilities;
pub use cluster_name::{ClusterName, ClusterNameError, is_label as is_dns_label};
pub use embedded::{EmbeddedFleet, EmbeddedOptions, IMPORTER_USER};
pub use embedded_provider::{EMBEDDED_LOCATION, EmbeddedProvider, shared};
pub use kubeconfig::{
    FleetError, IN_CLUSTER, client_for_context, clients_from_kubeconfig, connect,
    handles_from_kubeconfig, read_kubeconfig,
};
pub use open::{OpenError, ProviderKind, ProviderOptions, open};
pub use preflight::{PreflightReport, preflight};
pub use provider::{BindBy, Binding, BoxFuture, Keep, Provider, ProviderError, SharedProvider};
pub use registry::{ClusterHandle, ClusterRegistry};
