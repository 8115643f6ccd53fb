//! The pure parts of the k3s provider: cluster names and CIDRs, the k3s server arguments,
//! the cross-cluster pod routes, the Docker host testcontainers talks to (for messages) and
//! the rewrite of the kubeconfig k3s writes inside its container.

use std::net::IpAddr;
use std::path::Path;

use kube::config::Kubeconfig;

/// Most clusters one fleet can have (their CIDRs are `10.31.0.0/16` … `10.80.0.0/16`).
pub const MAX_CLUSTERS: usize = 50;
/// Where k3s writes its admin kubeconfig inside the container.
pub const KUBECONFIG_PATH: &str = "/etc/rancher/k3s/k3s.yaml";
/// The bundled k3s components the harness does not need (lighter, fewer image pulls).
pub const DISABLED: &str = "traefik,metrics-server,servicelb";
/// The address testcontainers uses when nothing else is configured.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// One k3s cluster of a fleet: its name and networks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterPlan {
    /// 1-based number.
    pub n: usize,
    /// Name (`k3s-<n>`): the importer's cluster name and the k3s node name.
    pub name: String,
    /// Pod CIDR (`--cluster-cidr`), `10.<30+n>.0.0/16`.
    pub pod_cidr: String,
    /// Service CIDR (`--service-cidr`), `10.<130+n>.0.0/16`.
    pub service_cidr: String,
    /// The cluster DNS Service IP (`--cluster-dns`), `.10` of the service CIDR.
    pub cluster_dns: String,
}

/// The plan of cluster number `n` (1-based, at most [`MAX_CLUSTERS`]).
pub fn cluster(n: usize) -> ClusterPlan {
    ClusterPlan {
        n,
        name: format!("k3s-{n}"),
        pod_cidr: format!("10.{}.0.0/16", 30 + n),
        service_cidr: format!("10.{}.0.0/16", 130 + n),
        cluster_dns: format!("10.{}.0.10", 130 + n),
    }
}

/// The plans of clusters `1..=count`, or why `count` is not allowed.
pub fn clusters(count: usize) -> Result<Vec<ClusterPlan>, String> {
    if count == 0 || count > MAX_CLUSTERS {
        return Err(format!(
            "the k3s provider starts 1 to {MAX_CLUSTERS} clusters, not {count}"
        ));
    }
    Ok((1..=count).map(cluster).collect())
}

/// The container command: `k3s server` with the cluster's CIDRs, its node name, the
/// `native` snapshotter (overlayfs inside Docker's overlayfs often fails; the
/// testcontainers module's default) and the unneeded components disabled.
pub fn server_args(c: &ClusterPlan) -> Vec<String> {
    vec![
        "server".into(),
        "--snapshotter=native".into(),
        format!("--node-name={}", c.name),
        format!("--cluster-cidr={}", c.pod_cidr),
        format!("--service-cidr={}", c.service_cidr),
        format!("--cluster-dns={}", c.cluster_dns),
        format!("--disable={DISABLED}"),
    ]
}

/// A command to run in a cluster's container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Index (0-based) of the cluster whose container runs it.
    pub on: usize,
    /// Program and arguments.
    pub argv: Vec<String>,
}

/// `ip route replace CIDR via GATEWAY` (idempotent, unlike `ip route add`).
pub fn route_argv(cidr: &str, via: IpAddr) -> Vec<String> {
    let args = ["ip", "route", "replace", cidr, "via", &via.to_string()];
    args.iter().map(|s| s.to_string()).collect()
}

/// Per container, a route to every other cluster's pod CIDR through that cluster's
/// container IP on the shared Docker network (`ips[i]` belongs to `clusters[i]`).
pub fn routes(clusters: &[ClusterPlan], ips: &[IpAddr]) -> Vec<Route> {
    let mut out = Vec::new();
    for on in 0..clusters.len().min(ips.len()) {
        for (other, (c, ip)) in clusters.iter().zip(ips).enumerate() {
            if other != on {
                out.push(Route {
                    on,
                    argv: route_argv(&c.pod_cidr, *ip),
                });
            }
        }
    }
    out
}

/// The Docker daemon address testcontainers connects to, for messages: `DOCKER_HOST`, else
/// the first existing socket of `/var/run/docker.sock`, `$XDG_RUNTIME_DIR/.docker/run/`,
/// `$HOME/.docker/run/`, `$HOME/.docker/desktop/` (the order testcontainers uses), else
/// [`DEFAULT_DOCKER_HOST`].
pub fn docker_host(env: impl Fn(&str) -> Option<String>, exists: impl Fn(&Path) -> bool) -> String {
    if let Some(h) = env("DOCKER_HOST").filter(|h| !h.trim().is_empty()) {
        return h;
    }
    let mut candidates = vec!["/var/run/docker.sock".to_string()];
    if let Some(dir) = env("XDG_RUNTIME_DIR") {
        candidates.push(format!("{dir}/.docker/run/docker.sock"));
    }
    if let Some(home) = env("HOME") {
        candidates.push(format!("{home}/.docker/run/docker.sock"));
        candidates.push(format!("{home}/.docker/desktop/docker.sock"));
    }
    candidates
        .into_iter()
        .find(|p| exists(Path::new(p)))
        .map(|p| format!("unix://{p}"))
        .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string())
}

/// The host part of an `https://HOST:PORT` URL, without IPv6 brackets.
fn url_host(server: &str) -> Option<&str> {
    let rest = server.split_once("://").map_or(server, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some(host)
}

/// The API server address on the Docker host: `host` as testcontainers reports it
/// (`localhost` becomes `127.0.0.1`: the port is published on IPv4) and the published port.
pub fn server_url(host: &str, port: u16) -> String {
    match host {
        "localhost" => format!("https://127.0.0.1:{port}"),
        h if h.contains(':') && !h.starts_with('[') => format!("https://[{h}]:{port}"),
        h => format!("https://{h}:{port}"),
    }
}

/// The kubeconfig k3s wrote (`text`, one cluster/user/context named `default`, server
/// `https://127.0.0.1:6443`), renamed to `name` and pointing at `server` (see
/// [`server_url`]). When the new host differs from the one k3s wrote, that one becomes the
/// `tls-server-name`: k3s's serving certificate is valid for it, not for the Docker host.
pub fn rewrite_kubeconfig(text: &str, name: &str, server: &str) -> Result<Kubeconfig, String> {
    let mut kc = Kubeconfig::from_yaml(text).map_err(|e| format!("not a kubeconfig: {e}"))?;
    if kc.clusters.len() != 1 || kc.contexts.len() != 1 || kc.auth_infos.len() != 1 {
        return Err(format!(
            "expected one cluster, context and user, found {}, {} and {}",
            kc.clusters.len(),
            kc.contexts.len(),
            kc.auth_infos.len()
        ));
    }
    let new_host = url_host(server).map(str::to_string);
    for c in &mut kc.clusters {
        c.name = name.to_string();
        let cluster = c
            .cluster
            .as_mut()
            .ok_or_else(|| format!("cluster {name:?} has no `cluster` entry"))?;
        let old_host = cluster
            .server
            .as_deref()
            .and_then(url_host)
            .map(str::to_string);
        if cluster.tls_server_name.is_none() && old_host.is_some() && old_host != new_host {
            cluster.tls_server_name = old_host;
        }
        cluster.server = Some(server.to_string());
    }
    for u in &mut kc.auth_infos {
        u.name = name.to_string();
    }
    for c in &mut kc.contexts {
        c.name = name.to_string();
        let ctx = c
            .context
            .as_mut()
            .ok_or_else(|| format!("context {name:?} has no `context` entry"))?;
        ctx.cluster = name.to_string();
        ctx.user = Some(name.to_string());
    }
    kc.current_context = Some(name.to_string());
    Ok(kc)
}
