//! The k3s provider (cargo feature `k3s`): real single-node Kubernetes clusters, each a
//! privileged `rancher/k3s` container started with [testcontainers], all on one Docker
//! network, with routes between their pod CIDRs so that a pod in one cluster reaches pods
//! in the others (what MCS endpoints need).
//!
//! [`start`] only starts and connects the clusters; [`crate::local::prepare`] then installs
//! the MCS pieces (CRDs, CoreDNS stanza) and starts the importer, as for kind.
//!
//! - [`plan`]: the pure parts (names, CIDRs, server arguments, routes, kubeconfig rewrite)
//! - Docker: [`docker_available`] says whether a daemon answers (and if not, why); the
//!   containers are removed when the [`K3sFleet`] is dropped (inside the Tokio runtime).
//!   They carry the label `mcs-harness.dev/provider=k3s`, so leftovers of a killed run are
//!   found with `docker ps -a --filter label=mcs-harness.dev/provider=k3s`; to keep them for
//!   debugging, set `TESTCONTAINERS_COMMAND=keep`.

pub mod plan;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::{Api, ListParams};
use kube::config::Kubeconfig;
use testcontainers::core::{CmdWaitFor, ExecCommand};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, Image as _, ImageExt, TestcontainersError};
use testcontainers_modules::k3s::{K3s, KUBE_SECURE_PORT};

use crate::fleet::{FleetError, client_for_context};
use crate::local::LocalCluster;

pub use plan::ClusterPlan;

/// Label on every container (value `k3s`).
pub const PROVIDER_LABEL: &str = "mcs-harness.dev/provider";
/// Label carrying the cluster name.
pub const CLUSTER_LABEL: &str = "mcs-harness.dev/cluster";
/// How long a container may take from its start to k3s's "ready" log line (flannel's
/// `Node controller sync successful`); pulling the image is not counted.
pub const START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long k3s may take to write a usable kubeconfig once the container is ready.
pub const KUBECONFIG_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a cluster may take, once its container runs, to have a Ready node, CoreDNS
/// ready and the `default` service account.
pub const READY_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the Docker daemon may take to answer a ping.
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// The image repository (from the testcontainers module).
pub const IMAGE: &str = "rancher/k3s";

/// What to do when no Docker daemon answers (part of [`K3sError::NoDocker`]).
pub const NO_DOCKER_HELP: &str = "the k3s provider runs each cluster in a privileged Docker \
     container: start Docker (e.g. `sudo systemctl start docker`), or point DOCKER_HOST at a \
     daemon that answers; without Docker, run on the embedded fleet (`run` without a \
     provider) or bind real clusters with `--cluster NAME=CONTEXT`";

/// How to start a k3s fleet.
#[derive(Clone, Debug)]
pub struct K3sOptions {
    /// Number of clusters (`k3s-1`, `k3s-2`, …).
    pub clusters: usize,
    /// `rancher/k3s` tag (default: the testcontainers module's, `v1.28.8-k3s1`).
    pub image_tag: Option<String>,
    /// Docker network joining the containers (created when missing, removed with the last
    /// container when testcontainers created it).
    pub network: String,
}

impl Default for K3sOptions {
    fn default() -> Self {
        Self {
            clusters: 2,
            image_tag: None,
            network: "mcs-harness".into(),
        }
    }
}

/// Errors of the k3s provider.
#[derive(Debug, thiserror::Error)]
pub enum K3sError {
    /// No Docker daemon answers.
    #[error("{reason}; {NO_DOCKER_HELP}")]
    NoDocker {
        /// What was tried and what failed.
        reason: String,
    },
    /// The options are not usable.
    #[error("invalid k3s options: {0}")]
    Options(String),
    /// A container did not start or did not become ready.
    #[error(
        "failed to start the k3s container of cluster {cluster} ({image}); k3s needs a \
         privileged container, which rootless Docker or Podman may refuse"
    )]
    Start {
        /// Cluster name.
        cluster: String,
        /// Image reference.
        image: String,
        /// Cause.
        #[source]
        source: TestcontainersError,
    },
    /// Docker could not tell something about a running container.
    #[error("failed to {what} of the k3s container of cluster {cluster}")]
    Docker {
        /// Cluster name.
        cluster: String,
        /// What was asked.
        what: String,
        /// Cause.
        #[source]
        source: TestcontainersError,
    },
    /// The kubeconfig k3s wrote could not be read or used.
    #[error("unusable kubeconfig {path} of cluster {cluster}: {message}", path = plan::KUBECONFIG_PATH)]
    Kubeconfig {
        /// Cluster name.
        cluster: String,
        /// What is wrong.
        message: String,
    },
    /// No client could be built from the kubeconfig.
    #[error("failed to build a client for cluster {cluster}")]
    Client {
        /// Cluster name.
        cluster: String,
        /// Cause.
        #[source]
        source: FleetError,
    },
    /// A route between the clusters' pod networks could not be added.
    #[error("`{command}` failed in the container of cluster {cluster}: {message}")]
    Route {
        /// Cluster name.
        cluster: String,
        /// The command.
        command: String,
        /// Exit code and output, or the exec error.
        message: String,
    },
    /// The cluster did not become ready in time.
    #[error(
        "cluster {cluster} was not ready after {}s (still waiting for {waiting}); its \
         container logs tell why",
        timeout.as_secs()
    )]
    NotReady {
        /// Cluster name.
        cluster: String,
        /// What was still missing.
        waiting: String,
        /// The limit.
        timeout: Duration,
    },
}

/// One started cluster (besides its [`LocalCluster`]).
#[derive(Clone, Debug)]
pub struct K3sNode {
    /// Its plan (name, CIDRs).
    pub plan: ClusterPlan,
    /// Docker container id.
    pub container_id: String,
    /// Its IP on the fleet's Docker network.
    pub ip: IpAddr,
    /// The API server address on the Docker host.
    pub server: String,
    /// Admin kubeconfig (cluster, user and context named after the cluster).
    pub kubeconfig: Kubeconfig,
}

/// Running k3s clusters. Dropping it removes the containers (do it inside the Tokio
/// runtime: testcontainers removes them with the runtime's help).
pub struct K3sFleet {
    /// The clusters, `k3s-1` first, ready for [`crate::local::prepare`].
    pub clusters: Vec<LocalCluster>,
    /// Container details per cluster, same order.
    pub nodes: Vec<K3sNode>,
    /// The Docker network.
    pub network: String,
    /// The image used.
    pub image: String,
    containers: Vec<ContainerAsync<K3s>>,
}

impl std::fmt::Debug for K3sFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K3sFleet")
            .field("nodes", &self.nodes)
            .field("network", &self.network)
            .field("image", &self.image)
            .field("containers", &self.containers.len())
            .finish_non_exhaustive()
    }
}

impl K3sFleet {
    /// One line for reports, e.g. `k3s containers k3s-1 (1f2e…, 172.18.0.2), … on network
    /// mcs-harness (rancher/k3s:v1.28.8-k3s1)`.
    pub fn describe(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("{} ({}, {})", n.plan.name, short_id(&n.container_id), n.ip))
            .collect();
        format!(
            "k3s containers {} on network {} ({})",
            nodes.join(", "),
            self.network,
            self.image
        )
    }
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The Docker daemon address testcontainers uses (see [`plan::docker_host`]).
pub fn docker_host() -> String {
    plan::docker_host(|k| std::env::var(k).ok(), |p| p.exists())
}

/// `e` and its sources, joined by `: `.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// Whether a Docker daemon answers a ping where testcontainers looks for one; the error is
/// the reason, e.g. `no Docker daemon answers at unix:///var/run/docker.sock: …`.
pub async fn docker_available() -> Result<(), String> {
    let host = docker_host();
    let fail = |why: String| format!("no Docker daemon answers at {host}: {why}");
    let docker = testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| fail(chain(&e)))?;
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(fail(chain(&e))),
        Err(_) => Err(fail(format!(
            "no answer within {}s",
            PING_TIMEOUT.as_secs()
        ))),
    }
}

/// Starts `opts.clusters` k3s containers on `opts.network`, routes each cluster's pod CIDR
/// to the others, and waits until every cluster is ready (node Ready, CoreDNS ready, the
/// `default` service account exists).
pub async fn start(opts: &K3sOptions) -> Result<K3sFleet, K3sError> {
    let plans = plan::clusters(opts.clusters).map_err(K3sError::Options)?;
    if opts.network.trim().is_empty() {
        return Err(K3sError::Options("the Docker network name is empty".into()));
    }
    docker_available()
        .await
        .map_err(|reason| K3sError::NoDocker { reason })?;
    let tag = opts
        .image_tag
        .clone()
        .unwrap_or_else(|| K3s::default().tag().to_string());
    let image = format!("{IMAGE}:{tag}");
    // join_all, not try_join_all: a start cut short could leave a created container
    // without its guard; this way every started container is owned (and removed on error).
    let started = futures::future::join_all(
        plans
            .iter()
            .map(|p| start_one(p, &opts.network, opts.image_tag.as_deref(), &image)),
    )
    .await;
    let started: Vec<_> = started.into_iter().collect::<Result<_, _>>()?;
    let (containers, nodes): (Vec<_>, Vec<_>) = started.into_iter().unzip();
    let ips: Vec<IpAddr> = nodes.iter().map(|n: &K3sNode| n.ip).collect();
    for r in plan::routes(&plans, &ips) {
        exec_route(&containers[r.on], &plans[r.on].name, &r.argv).await?;
    }
    let mut clusters = Vec::new();
    for n in &nodes {
        let client = client_for_context(&n.kubeconfig, &n.plan.name)
            .await
            .map_err(|source| K3sError::Client {
                cluster: n.plan.name.clone(),
                source,
            })?;
        clusters.push(LocalCluster {
            name: n.plan.name.clone(),
            location: format!(
                "k3s container {} at {}",
                short_id(&n.container_id),
                n.server
            ),
            client,
        });
    }
    futures::future::try_join_all(clusters.iter().map(|c| wait_ready(&c.name, &c.client))).await?;
    Ok(K3sFleet {
        clusters,
        nodes,
        network: opts.network.clone(),
        image,
        containers,
    })
}

async fn start_one(
    p: &ClusterPlan,
    network: &str,
    tag: Option<&str>,
    image: &str,
) -> Result<(ContainerAsync<K3s>, K3sNode), K3sError> {
    let docker_err = |what: &str| {
        let (cluster, what) = (p.name.clone(), what.to_string());
        move |source| K3sError::Docker {
            cluster,
            what,
            source,
        }
    };
    let mut req = K3s::default()
        .with_cmd(plan::server_args(p))
        .with_network(network)
        .with_privileged(true)
        .with_userns_mode("host")
        .with_label(PROVIDER_LABEL, "k3s")
        .with_label(CLUSTER_LABEL, p.name.clone())
        .with_startup_timeout(START_TIMEOUT);
    if let Some(t) = tag {
        req = req.with_tag(t);
    }
    tracing::info!(cluster = %p.name, %image, %network, "starting k3s container");
    let container = req.start().await.map_err(|source| K3sError::Start {
        cluster: p.name.clone(),
        image: image.to_string(),
        source,
    })?;
    let ip = container
        .get_bridge_ip_address()
        .await
        .map_err(docker_err(&format!("read the IP on network {network}")))?;
    let port = container
        .get_host_port_ipv4(KUBE_SECURE_PORT)
        .await
        .map_err(docker_err("read the published API port"))?;
    let host = container
        .get_host()
        .await
        .map_err(docker_err("read the Docker host"))?;
    let server = plan::server_url(&host.to_string(), port);
    let kubeconfig = read_kubeconfig(&container, &p.name, &server).await?;
    tracing::info!(cluster = %p.name, id = %short_id(container.id()), %ip, %server, "k3s container started");
    let node = K3sNode {
        plan: p.clone(),
        container_id: container.id().to_string(),
        ip,
        server,
        kubeconfig,
    };
    Ok((container, node))
}

/// The kubeconfig k3s writes, copied out of the container (works for remote daemons too,
/// unlike a bind mount) and rewritten for `server`. k3s writes it shortly after its API
/// server starts, so a missing or incomplete file is read again for up to a minute.
async fn read_kubeconfig(
    container: &ContainerAsync<K3s>,
    cluster: &str,
    server: &str,
) -> Result<Kubeconfig, K3sError> {
    let deadline = Instant::now() + KUBECONFIG_TIMEOUT;
    loop {
        let err = match container
            .copy_file_from(plan::KUBECONFIG_PATH, Vec::new())
            .await
        {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => match plan::rewrite_kubeconfig(&text, cluster, server) {
                    Ok(kc) => return Ok(kc),
                    Err(e) => e,
                },
                Err(e) => format!("not UTF-8: {e}"),
            },
            Err(e) => chain(&e),
        };
        if Instant::now() >= deadline {
            return Err(K3sError::Kubeconfig {
                cluster: cluster.to_string(),
                message: format!("still after {}s: {err}", KUBECONFIG_TIMEOUT.as_secs()),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn exec_route(
    container: &ContainerAsync<K3s>,
    cluster: &str,
    argv: &[String],
) -> Result<(), K3sError> {
    let command = argv.join(" ");
    let err = |message: String| K3sError::Route {
        cluster: cluster.to_string(),
        command: command.clone(),
        message,
    };
    let cmd = ExecCommand::new(argv.to_vec()).with_cmd_ready_condition(CmdWaitFor::exit());
    let mut res = container.exec(cmd).await.map_err(|e| err(chain(&e)))?;
    let code = res.exit_code().await.map_err(|e| err(chain(&e)))?;
    if code == Some(0) {
        tracing::info!(%cluster, %command, "route added");
        return Ok(());
    }
    let stderr = res.stderr_to_vec().await.unwrap_or_default();
    let stdout = res.stdout_to_vec().await.unwrap_or_default();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&stderr),
        String::from_utf8_lossy(&stdout)
    );
    Err(err(format!(
        "exit code {}: {}",
        code.map_or("unknown".to_string(), |c| c.to_string()),
        output.trim()
    )))
}

/// Waits until the cluster has a Ready node, a ready CoreDNS and the `default` service
/// account (namespaces get theirs from the same controller; pods need it).
async fn wait_ready(cluster: &str, client: &kube::Client) -> Result<(), K3sError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let waiting = match missing(client).await {
            Ok(None) => {
                tracing::info!(%cluster, "k3s cluster ready");
                return Ok(());
            }
            Ok(Some(what)) => what,
            Err(e) => format!("the API server ({})", chain(&e)),
        };
        if Instant::now() >= deadline {
            return Err(K3sError::NotReady {
                cluster: cluster.to_string(),
                waiting,
                timeout: READY_TIMEOUT,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// What the cluster still lacks, or None when ready.
async fn missing(client: &kube::Client) -> Result<Option<String>, kube::Error> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let ready = nodes.items.iter().any(|n| {
        let conditions = n.status.as_ref().and_then(|s| s.conditions.as_ref());
        conditions
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    });
    if !ready {
        return Ok(Some("a Ready node".into()));
    }
    let coredns = Api::<Deployment>::namespaced(client.clone(), "kube-system")
        .get_opt("coredns")
        .await?;
    let replicas = coredns
        .as_ref()
        .and_then(|d| d.status.as_ref())
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    if replicas < 1 {
        return Ok(Some(
            "a ready CoreDNS (Deployment kube-system/coredns)".into(),
        ));
    }
    let sa = Api::<ServiceAccount>::namespaced(client.clone(), "default")
        .get_opt("default")
        .await?;
    if sa.is_none() {
        return Ok(Some("the service account default/default".into()));
    }
    Ok(None)
}
