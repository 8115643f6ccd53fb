//! `mcs-harness kind up|down`: two kind clusters wired for Multi-Cluster Services.
//!
//! - [`plan`]: the pure plan (commands, kind configs, manifests) for a prefix and flavour,
//!   rendered verbatim by `--dry-run`
//! - [`corefile`]: pure, idempotent edits of the CoreDNS Corefile
//! - [`setup`]: the per-cluster kube API operations (CRDs, RBAC, CoreDNS patch), the same
//!   path for kind clusters and the embedded fleet
//! - [`cmd`]: the command line and the executor
//! - [`provider`]: `run --provider kind` (find or create the clusters, prepare them)

pub mod cmd;
pub mod corefile;
pub mod plan;
pub mod provider;
pub mod setup;

#[cfg(test)]
mod tests;

pub use cmd::{KindAction, KindArgs, KindDown, KindUp};
pub use plan::{Action, ClusterSpec, Plan};
pub use setup::{SetupError, SetupOptions, SetupReport};
