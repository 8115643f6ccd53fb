//! Which Kubernetes API errors are worth retrying — one rule for the engine, the probes and
//! the doctor, each of which retries with `backon` at its own pace.

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
