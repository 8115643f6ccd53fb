//! Command-line interface definitions (clap). Usage errors exit with code 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// End-to-end test harness for Kubernetes Multi-Cluster Services.
#[derive(Debug, Parser)]
#[command(name = "mcs-harness", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The embedded fleet: simulated clusters speaking the Kubernetes API on loopback.
    Sim {
        /// Sim action.
        #[command(subcommand)]
        action: SimAction,
    },
}

/// `sim` subcommands.
#[derive(Debug, Subcommand)]
pub enum SimAction {
    /// Start a fleet, write a kubeconfig (one context per cluster), serve until Ctrl-C.
    Up(SimUp),
}

/// Options of `sim up`.
#[derive(Debug, Args)]
pub struct SimUp {
    /// Cluster names, comma-separated (each a DNS-1123 label).
    #[arg(long, value_delimiter = ',', default_value = "a,b")]
    pub clusters: Vec<String>,
    /// Where to write the kubeconfig.
    #[arg(long, default_value = "mcs-sim.kubeconfig")]
    pub kubeconfig: PathBuf,
    /// API port on every cluster's address (falls back to a free port when taken).
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
}
