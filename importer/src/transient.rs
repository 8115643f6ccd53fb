//! Which Kubernetes API errors are worth retrying: one rule for the importer and the harness
//! (engine waits, probes, doctor reads, `gc`, leases), each of which retries at its own pace.
//!
//! A failed request is *transient* when it says nothing about the object: the server was
//! overloaded or failing, or the request never got an answer. Retrying the same request may
//! succeed. Anything else is the server's answer and retrying it unchanged cannot help.

use kube::client::UpgradeConnectionError;

/// Whether a kube error is worth retrying unchanged.
///
/// Retried (Kubernetes API conventions, "HTTP Status codes"; client-go `rest` retries the
/// same statuses when the server sends `Retry-After`):
/// - `429 TooManyRequests`: API priority and fairness or a max-inflight limit shed the
///   request; "the client should wait and retry".
/// - `5xx`: `500 InternalError` (e.g. etcd unavailable), `503 ServiceUnavailable` (an
///   aggregated API or the server starting), `504` `Timeout`/`ServerTimeout` (the server
///   gave up before finishing).
/// - The connection failed or broke before an answer: hyper errors, the tower service
///   stack (connect refused, TLS handshake, client-side timeouts), a watch stream that
///   broke mid-read (`ReadEvents`), and a websocket upgrade (exec) that did not complete —
///   except a refused upgrade: the server's status decides then (`403` stays an answer).
///
/// Not retried, with the reason:
/// - `409 Conflict`: `AlreadyExists` is an answer, and a `Conflict` (stale
///   `resourceVersion`, or a server-side apply field-manager conflict) needs the caller to
///   re-read or force; resending the same request meets the same conflict. Callers that
///   handle 409 do so themselves (e.g. a Lease create that finds the Lease renews it).
/// - `400`, `401`, `403`, `404`, `410 Gone` (a watch re-lists instead), `422`: answers.
/// - Client-side errors (bad config, auth plugin, decoding a response): not the server's
///   state and retrying cannot change them.
pub fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => retry_status(status.code),
        kube::Error::UpgradeConnection(UpgradeConnectionError::ProtocolSwitch(code)) => {
            retry_status(code.as_u16())
        }
        kube::Error::HyperError(_)
        | kube::Error::Service(_)
        | kube::Error::UpgradeConnection(_)
        | kube::Error::ReadEvents(_) => true,
        _ => false,
    }
}

/// The HTTP statuses that ask the client to come back later: 429 and 5xx.
fn retry_status(code: u16) -> bool {
    code == 429 || (500..600).contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("x", reason)
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn overload_and_server_failures_are_retried() {
        for (code, reason) in [
            (429, "TooManyRequests"),
            (500, "InternalError"),
            (503, "ServiceUnavailable"),
            (504, "Timeout"),
        ] {
            assert!(transient(&api(code, reason)), "{code} {reason}");
        }
    }

    #[test]
    fn answers_are_not_retried() {
        for (code, reason) in [
            (400, "BadRequest"),
            (401, "Unauthorized"),
            (403, "Forbidden"),
            (404, "NotFound"),
            (409, "AlreadyExists"),
            (409, "Conflict"),
            (410, "Expired"),
            (422, "Invalid"),
        ] {
            assert!(!transient(&api(code, reason)), "{code} {reason}");
        }
    }

    #[test]
    fn broken_connections_are_retried_refused_upgrades_are_not() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(transient(&kube::Error::ReadEvents(io())));
        assert!(transient(&kube::Error::Service(Box::new(io()))));
        let upgrade = |e| kube::Error::UpgradeConnection(e);
        assert!(transient(&upgrade(
            UpgradeConnectionError::MissingUpgradeWebSocketHeader
        )));
        assert!(transient(&upgrade(UpgradeConnectionError::ProtocolSwitch(
            http::StatusCode::SERVICE_UNAVAILABLE
        ))));
        assert!(!transient(&upgrade(
            UpgradeConnectionError::ProtocolSwitch(http::StatusCode::FORBIDDEN)
        )));
        assert!(!transient(&kube::Error::TlsRequired));
    }
}
