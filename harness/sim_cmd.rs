//! `mcs-harness sim up`: runs an embedded fleet (and, by default, the simulated importer)
//! in the foreground until SIGINT/SIGTERM.

use std::io::Write;

use crate::cli::SimUp;
use crate::fleet::{EmbeddedFleet, EmbeddedOptions, FleetError};

/// Errors of the `sim` command.
#[derive(Debug, thiserror::Error)]
pub enum SimCmdError {
    /// The fleet could not start.
    #[error("failed to start the embedded fleet")]
    Start(#[source] FleetError),
    /// The kubeconfig could not be written.
    #[error("failed to write the kubeconfig")]
    Kubeconfig(#[source] mcs_sim::FleetError),
    /// Waiting for signals failed.
    #[error("failed to install signal handlers")]
    Signal(#[source] std::io::Error),
}

/// Starts the fleet, prints one line per cluster, waits for SIGINT/SIGTERM.
pub async fn up(opts: &SimUp, out: &mut dyn Write) -> Result<(), SimCmdError> {
    let eo = EmbeddedOptions {
        clusters: opts.clusters.clone(),
        port: opts.port,
        importer: !opts.no_importer,
        flavour: opts.flavour,
        propagation_delay: opts.propagation_delay,
        faults: !opts.no_faults,
        dns_ttl: opts.dns_ttl,
        gke: mcs_importer::GkeFleet {
            project_number: opts.gke_project_number.clone(),
            location: opts.gke_location.clone(),
            ..Default::default()
        },
    };
    // SIGINT/SIGTERM end the process within 10 s even if the fleet's runtime is stuck.
    mcs_sim::watchdog::start(std::time::Duration::from_secs(10));
    let mut fleet = EmbeddedFleet::start(&eo)
        .await
        .map_err(SimCmdError::Start)?;
    fleet
        .fleet
        .write_kubeconfig(&opts.kubeconfig)
        .map_err(SimCmdError::Kubeconfig)?;
    for c in fleet.fleet.clusters() {
        let _ = writeln!(
            out,
            "cluster {:<12} {}  (context {})",
            c.cluster.name,
            c.url(),
            c.cluster.name
        );
    }
    let importer = match &fleet.importer {
        Some(_) if eo.flavour == mcs_importer::Flavour::Gke => format!(
            "importer: Gke flavour, propagation delay {:?}, memberships projects/{}/locations/{}/memberships/<cluster>",
            eo.propagation_delay, eo.gke.project_number, eo.gke.location
        ),
        Some(_) => format!(
            "importer: {} flavour, propagation delay {}",
            eo.flavour,
            crate::duration::human(eo.propagation_delay)
        ),
        None => "importer: not running (--no-importer)".to_string(),
    };
    let _ = writeln!(out, "{importer}");
    if opts.no_faults {
        let _ = writeln!(out, "faults: not served (--no-faults)");
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
    fleet.importer.take();
    fleet.fleet.shutdown();
    let _ = writeln!(out, "stopped");
    Ok(())
}

/// Waits for SIGINT or SIGTERM.
pub async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
