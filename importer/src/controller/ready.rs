//! The importer's readiness, as GKE shows it: a Deployment `gke-mcs-importer` in namespace
//! `gke-mcs` of every cluster whose pods carry `k8s-app=gke-mcs-importer`
//! (`reference/gke-reality.md` §1.5, a GKE fact). On GKE that pod *is* the importer; here the
//! importer runs in-process, so the pod is a `pause` container (a **simulation choice**)
//! whose readiness probe asks this process over loopback: `GET /readyz/<cluster>` answers
//! 200 while the importer runs and its last request to that cluster (the Lease renewal)
//! succeeded recently, 503 otherwise, and nothing at all once the importer has stopped. The
//! pod is therefore Ready exactly while the importer runs and can reach the cluster.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::Shared;

/// Path prefix of the readiness endpoint (`/readyz/<cluster>`).
pub const READY_PATH: &str = "/readyz/";
/// Name of the Deployment, its container and its pod label value (GKE's).
const NAME: &str = "gke-mcs-importer";
/// The emulated image of the stand-in pod (simulation choice: GKE's image is its own).
const IMAGE: &str = "registry.k8s.io/pause:3.10";

/// When each cluster last answered the importer.
#[derive(Default)]
pub struct Reachability {
    last: Mutex<HashMap<String, Instant>>,
}

impl Reachability {
    /// Records a successful request to `cluster`.
    pub fn ok(&self, cluster: &str) {
        let mut l = self.last.lock().unwrap_or_else(|e| e.into_inner());
        l.insert(cluster.to_string(), Instant::now());
    }

    /// Records a failed request to `cluster`.
    pub fn failed(&self, cluster: &str) {
        let mut l = self.last.lock().unwrap_or_else(|e| e.into_inner());
        l.remove(cluster);
    }

    /// Whether `cluster` answered within `fresh`.
    pub fn reachable(&self, cluster: &str, fresh: Duration) -> bool {
        let l = self.last.lock().unwrap_or_else(|e| e.into_inner());
        l.get(cluster).is_some_and(|t| t.elapsed() <= fresh)
    }
}

/// Binds the readiness endpoint on 127.0.0.1 (any port); `None` when that fails (then no
/// Deployment is written).
pub async fn bind() -> Option<TcpListener> {
    match TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "cannot bind the importer's readiness endpoint");
            None
        }
    }
}

/// Serves `/readyz/<cluster>` forever.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let mut stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // E.g. out of file descriptors: do not spin.
                tracing::debug!(error = %e, "readiness endpoint accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await
            {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let ready = path
                .strip_prefix(READY_PATH)
                .is_some_and(|c| shared.reachability.reachable(c, fresh(&shared)));
            let (status, body) = match ready {
                true => ("200 OK", "ok"),
                false => ("503 Service Unavailable", "not ready"),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

/// How recent the last successful request must be: three renewals.
fn fresh(shared: &Shared) -> Duration {
    (shared.cfg.renew_every * 3).max(Duration::from_secs(3))
}

/// The Deployment `gke-mcs/gke-mcs-importer` for `cluster`, probing `addr`.
pub fn deployment(namespace: &str, cluster: &str, addr: SocketAddr) -> Value {
    let labels = json!({"k8s-app": NAME});
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": namespace, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": NAME, "image": IMAGE,
                    "readinessProbe": {"httpGet": {"host": addr.ip().to_string(), "port": addr.port(),
                        "path": format!("{READY_PATH}{cluster}")},
                        "periodSeconds": 1, "failureThreshold": 1, "successThreshold": 1}}]}}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reachability_expires() {
        let r = Reachability::default();
        assert!(!r.reachable("a", Duration::from_secs(5)));
        r.ok("a");
        assert!(r.reachable("a", Duration::from_secs(5)));
        assert!(!r.reachable("b", Duration::from_secs(5)));
        r.failed("a");
        assert!(!r.reachable("a", Duration::from_secs(5)));
    }

    #[test]
    fn deployment_probes_this_process() {
        let d = deployment("gke-mcs", "a", "127.0.0.1:4242".parse().unwrap());
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz/a");
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], 4242);
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"]["k8s-app"],
            "gke-mcs-importer"
        );
    }
}
