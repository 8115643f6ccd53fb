//! A signal watchdog: SIGINT/SIGTERM end the process even when the async runtime that
//! should handle them is stuck (every worker busy), as a fleet once was when an object made
//! a controller spin. It runs on its own OS thread with its own single-threaded runtime;
//! when a signal arrives it gives the normal shutdown `grace` to finish, then exits with
//! the shell's code for the signal (130 for SIGINT, 143 for SIGTERM).

use std::time::Duration;

/// Starts the watchdog thread (once per process); returns once its signal handlers are
/// installed (or after a second if they could not be).
pub fn start(grace: Duration) {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("signal-watchdog".into())
            .spawn(move || watch(grace, ready_tx));
        match spawned {
            Ok(_) => {
                let _ = ready_rx.recv_timeout(Duration::from_secs(1));
            }
            Err(e) => tracing::warn!("signal watchdog not started: {e}"),
        }
    });
}

fn watch(grace: Duration, ready: std::sync::mpsc::Sender<()>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        let _ = ready.send(());
        let (name, code) = tokio::select! {
            _ = term.recv() => ("SIGTERM", 143),
            _ = int.recv() => ("SIGINT", 130),
        };
        tokio::time::sleep(grace).await;
        eprintln!(
            "error: still running {}s after {name}: exiting without a clean shutdown",
            grace.as_secs()
        );
        std::process::exit(code);
    });
}
