//! `mcs-harness`: an end-to-end test harness for Kubernetes Multi-Cluster Services.
//!
//! This library holds the command-line interface and the pieces the binary composes; the
//! embedded fleet lives in the `mcs-sim` crate and the simulated importer in `mcs-importer`.

pub mod cli;
pub mod compare;
pub mod conformance;
pub mod doctor;
pub mod doctor_cmd;
pub mod duration;
pub mod engine;
pub mod event;
pub mod fleet;
pub mod gc_cmd;
pub mod importer_cmd;
#[cfg(feature = "k3s")]
pub mod k3s;
pub mod kind;
pub mod local;
pub mod output;
pub mod plugin;
pub mod probe;
pub mod protected;
pub mod report;
pub mod report_cmd;
pub mod retry;
pub mod run_cmd;
pub mod run_list;
pub mod scenario;
pub mod select;
pub mod sim_cmd;
