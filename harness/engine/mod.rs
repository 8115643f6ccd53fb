//! The engine: runs validated scenarios against bound clusters (DESIGN §3, §7).
//!
//! - `run` — the run loop: scenarios concurrently (`--jobs`), one Event stream, cancellation.
//! - `scenario` — one scenario: namespace per run, steps in order, guaranteed cleanup.
//! - `op` — bound operations (what `Scenario::bind` produces and the engine executes).
//! - `steps` — what each step kind does (apply, export, fault, ...).
//! - `objects` — manifests, discovery, server-side apply with the run label, deletes.
//! - `wait` — waits as data: a source of observations, a pure verdict, timeout, hold.
//! - `observe` — watch-backed sources: reflector stores, snapshots on change or resync.
//! - `mcs` — the MCS assertions (`expectImport`): import, derived Service, endpoint IP set.
//! - `probes` — `expectDns` / `expectHttp` through probe pods.
//! - `background` — `startProbe` / `stopProbe`: probes during later steps, error budgets.
//! - `cleanup` — deletes what the run created and waits for namespaces to disappear.
//! - `events` — the sink the engine emits [`crate::event::Event`]s into.
//! - the running scenario's state, each a small leaf type composed by `context`:
//!   `identity` (name, namespace, run id, flavour), `ledger` (what cleanup deletes),
//!   `milestones` (the recorder), `pool` (probe pods), `clusters` (handles, discovery),
//!   `sampler` (background probe tasks), `config` (run-wide options).
//!
//! The engine never parses YAML scenarios (that is `scenario`) and never formats output
//! (that is `report`).

mod background;
mod cleanup;
mod clusters;
mod config;
mod context;
mod diagnose;
mod error;
mod events;
mod identity;
mod ledger;
mod mcs;
mod milestones;
mod net;
mod objects;
mod observe;
pub mod op;
mod pool;
mod probes;
mod run;
mod sampler;
mod scenario;
mod steps;
mod sync;
mod verdict;
mod wait;

#[cfg(test)]
mod tests;

pub use config::RunConfig;
pub use error::{EngineError, Result};
pub use events::EventSink;
pub use run::{ClusterHandle, Planned, RunIntro, RunSummary, run};

/// Label put on every object the harness creates; its value is the run id.
pub const RUN_LABEL: &str = crate::probe::RUN_LABEL;

/// Field manager of the harness's server-side applies.
pub const FIELD_MANAGER: &str = "mcs-harness";

/// Namespaces the harness refuses to touch unless `--allow-namespace` names them.
pub use crate::scenario::PROTECTED_NAMESPACES;

/// A new run id: 8 lowercase base-36 characters from the clock, the pid and a counter.
pub fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64 finaliser: spreads the bits so ids of close runs differ everywhere.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..8)
        .map(|i| alphabet[((x >> (i * 6)) % 36) as usize] as char)
        .collect()
}
