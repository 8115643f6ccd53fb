//! Which Kubernetes API errors are worth retrying — one rule for the engine, the probes, the
//! doctor and the importer (it lives in `mcs_importer::transient`), each of which retries
//! with `backon` at its own pace — and the default pace.

use std::time::Duration;

use backon::ExponentialBuilder;

/// Backoff for transient API errors: 20 ms doubling to 1 s, 8 attempts (~4 s in all). Waits
/// that have a deadline keep retrying past this until the deadline.
pub fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_secs(1))
        .with_max_times(8)
        .with_jitter()
}

/// Whether a kube error is worth retrying: the rule shared with the importer (5xx, 429,
/// broken connections; never 409 or other answers), documented case by case in
/// [`mcs_importer::transient`].
pub use mcs_importer::transient::transient;
