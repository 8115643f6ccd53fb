//! Fleet providers: where scenario clusters come from. For now the embedded fleet (mcs-sim
//! clusters plus the simulated importer in-process) and kube clients built from kubeconfig
//! contexts. kind and k3s clusters are found or made in `crate::kind` and `crate::k3s`.

mod embedded;
mod kubeconfig;

pub use embedded::{EmbeddedFleet, EmbeddedOptions, IMPORTER_USER};
pub use kubeconfig::{
    FleetError, IN_CLUSTER, client_for_context, clients_from_kubeconfig, read_kubeconfig,
};
