//! Shared helpers of the sim's black-box tests: start a fleet, build kube clients for it
//! from the kubeconfig it writes, wait for conditions with a deadline.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use mcs_sim::{Fleet, FleetConfig};

/// Starts a fleet of clusters `a` and `b`.
pub async fn fleet() -> Fleet {
    fleet_with(FleetConfig::default()).await
}

/// Starts a fleet from a config.
pub async fn fleet_with(cfg: FleetConfig) -> Fleet {
    Fleet::start(&cfg).await.expect("fleet starts")
}

/// A kube client for context `name` of the fleet's kubeconfig.
pub async fn client(fleet: &Fleet, name: &str) -> Client {
    let kc: Kubeconfig = serde_json::from_value(fleet.kubeconfig()).expect("kubeconfig parses");
    let opts = KubeConfigOptions {
        context: Some(name.to_string()),
        ..Default::default()
    };
    let cfg = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .expect("config");
    Client::try_from(cfg).expect("client")
}

/// Polls `f` until it returns Some, or panics after `secs` seconds with `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until cluster `name`'s controllers are idle: no new resourceVersion across several
/// consecutive checks (bootstrap controllers write right after start).
pub async fn settled(fleet: &Fleet, name: &str) {
    let store = &fleet.cluster(name).expect("cluster").cluster.store;
    let mut last = store.current_rv();
    let mut stable = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stable < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cluster {name} did not settle"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        let rv = store.current_rv();
        stable = if rv == last { stable + 1 } else { 0 };
        last = rv;
    }
}
