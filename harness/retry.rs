//! Which Kubernetes API errors are worth retrying — one rule for the engine, the probes and
//! the doctor, each of which retries with `backon` at its own pace — and the default pace.

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

/// Whether a kube error is worth retrying: the server was unavailable or overloaded (5xx,
/// 429), or the connection failed (refused, reset, upgrade not completed, stream broken).
/// Other API errors (403, 404, 409, 422, …) are answers and are not retried.
pub fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => status.code >= 500 || status.code == 429,
        kube::Error::HyperError(_)
        | kube::Error::Service(_)
        | kube::Error::UpgradeConnection(_)
        | kube::Error::ReadEvents(_) => true,
        _ => false,
    }
}
