//! `mcs-harness sim up`: runs an embedded fleet in the foreground until SIGINT/SIGTERM.

use std::io::Write;

use mcs_sim::{Fleet, FleetConfig, FleetError};

use crate::cli::SimUp;

/// Errors of the `sim` command.
#[derive(Debug, thiserror::Error)]
pub enum SimCmdError {
    /// The fleet could not start.
    #[error("failed to start the embedded fleet")]
    Start(#[source] FleetError),
    /// Waiting for signals failed.
    #[error("failed to install signal handlers")]
    Signal(#[source] std::io::Error),
}

/// Starts the fleet, prints one line per cluster, waits for SIGINT/SIGTERM.
pub async fn up(opts: &SimUp, out: &mut dyn Write) -> Result<(), SimCmdError> {
    let cfg = FleetConfig {
        clusters: opts.clusters.clone(),
        port: opts.port,
        ..Default::default()
    };
    let mut fleet = Fleet::start(&cfg).await.map_err(SimCmdError::Start)?;
    fleet
        .write_kubeconfig(&opts.kubeconfig)
        .map_err(SimCmdError::Start)?;
    for c in fleet.clusters() {
        let _ = writeln!(
            out,
            "cluster {:<12} {}  (context {})",
            c.cluster.name,
            c.url(),
            c.cluster.name
        );
    }
    let _ = writeln!(
        out,
        "kubeconfig: {}  (export KUBECONFIG={})",
        opts.kubeconfig.display(),
        opts.kubeconfig.display()
    );
    let _ = writeln!(out, "serving; press Ctrl-C to stop");
    let _ = out.flush();
    wait_for_signal().await.map_err(SimCmdError::Signal)?;
    fleet.shutdown();
    let _ = writeln!(out, "stopped");
    Ok(())
}

async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
