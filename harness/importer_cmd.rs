//! `mcs-harness importer`: the simulated importer against clusters named by kubeconfig
//! contexts (kind), until SIGINT/SIGTERM.

use std::io::Write;

use mcs_importer::{ClusterConn, Importer, ImporterConfig};

use crate::cli::ImporterArgs;
use crate::fleet::{FleetError, clients_from_kubeconfig};

/// Errors of the `importer` command.
#[derive(Debug, thiserror::Error)]
pub enum ImporterCmdError {
    /// Clients could not be built.
    #[error("failed to connect to the clusters")]
    Clients(#[source] FleetError),
    /// CRDs could not be installed.
    #[error("failed to install the MCS CRDs into cluster {cluster}")]
    Install {
        /// Cluster (context) name.
        cluster: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// Waiting for signals failed.
    #[error("failed to install signal handlers")]
    Signal(#[source] std::io::Error),
}

/// Runs the importer until a signal.
pub async fn run(args: &ImporterArgs, out: &mut dyn Write) -> Result<(), ImporterCmdError> {
    let clients = clients_from_kubeconfig(args.kubeconfig.as_deref(), &args.contexts)
        .await
        .map_err(ImporterCmdError::Clients)?;
    if args.install_crds {
        for (name, client) in &clients {
            mcs_importer::install_crds(client, args.flavour)
                .await
                .map_err(|source| ImporterCmdError::Install {
                    cluster: name.clone(),
                    source,
                })?;
        }
    }
    let conns = clients
        .into_iter()
        .map(|(name, client)| ClusterConn { name, client })
        .collect();
    let cfg = ImporterConfig {
        flavour: args.flavour,
        propagation_delay: args.propagation_delay,
        dns_records: args
            .coredns_records
            .then(mcs_importer::DnsRecordsTarget::default),
        ..Default::default()
    };
    let importer = Importer::start(cfg, conns).await;
    let _ = writeln!(
        out,
        "importer running ({} flavour) for clusters {}; press Ctrl-C to stop",
        args.flavour,
        importer.clusters().await.join(", ")
    );
    let _ = out.flush();
    crate::sim_cmd::wait_for_signal()
        .await
        .map_err(ImporterCmdError::Signal)?;
    drop(importer);
    let _ = writeln!(out, "stopped");
    Ok(())
}
