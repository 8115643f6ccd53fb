//! A fleet: N simulated clusters, each serving the Kubernetes API over plain HTTP on its own
//! loopback address, with bootstrap objects, controllers, and a kubeconfig for clients.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use rand::Rng;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::ops::{self, WriteCtx};

/// Errors starting or describing a fleet.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A cluster name is not a valid DNS-1123 label or is repeated.
    #[error("invalid cluster name {name:?}: {reason}")]
    BadName {
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The listener could not be bound.
    #[error("failed to listen on {addr}")]
    Bind {
        /// Address tried.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Certificates could not be made.
    #[error("failed to set up TLS")]
    Tls(#[from] crate::tls::TlsError),
    /// The kubeconfig could not be written.
    #[error("failed to write kubeconfig {path}")]
    Kubeconfig {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Bootstrap objects could not be created.
    #[error("failed to bootstrap cluster {cluster}: {message}")]
    Bootstrap {
        /// Cluster name.
        cluster: String,
        /// What failed.
        message: String,
    },
}

/// How to start a fleet.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// Cluster names, e.g. `["a", "b"]`.
    pub clusters: Vec<String>,
    /// Events kept per cluster for resuming watches (older versions answer 410).
    pub event_log: usize,
    /// Memory budget of each cluster's event log in bytes (estimated); the oldest events are
    /// compacted beyond it and watches from before them answer 410 Gone.
    pub event_log_bytes: usize,
    /// Preferred API port (the same on every cluster's own address); 0 = any free port.
    pub port: u16,
    /// How fast kubelet and controller timers run (probe periods, back-off, grace periods).
    pub time: crate::timescale::TimeScale,
    /// Serve the Fault API (`faults.sim.mcs-harness.dev`). Off, the fleet behaves like a
    /// real cluster, which has no way to inject faults.
    pub faults: bool,
    /// TTL of the cluster DNS records, seconds (the kubeadm/kind Corefile's `ttl 30` by
    /// default; capped at CoreDNS's 3600).
    pub dns_ttl: u32,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            clusters: vec!["a".into(), "b".into()],
            event_log: 100_000,
            event_log_bytes: crate::store::DEFAULT_LOG_BUDGET,
            port: 0,
            time: crate::timescale::TimeScale::default(),
            faults: true,
            dns_ttl: crate::dns::DEFAULT_TTL,
        }
    }
}

/// A started cluster and what keeps it running.
pub struct RunningCluster {
    /// The cluster state.
    pub cluster: Arc<Cluster>,
    /// Bearer token of its admin user.
    pub token: String,
    tasks: Vec<JoinHandle<()>>,
    _dns: crate::dns::DnsServer,
}

impl RunningCluster {
    /// `https://ADDR` of its API server.
    pub fn url(&self) -> String {
        format!("https://{}", self.cluster.addr)
    }
}

/// A running fleet; dropping it stops every server and controller.
pub struct Fleet {
    clusters: Vec<RunningCluster>,
    pki: crate::tls::Pki,
    net: Arc<crate::net::FleetNet>,
}

/// Picks `n` distinct second octets for cluster address plans, away from the API servers'
/// `127.1.x.x` and the usual `127.0.x.x`.
fn pick_octets(n: usize) -> Vec<u8> {
    let mut rng = rand::rng();
    let mut out: Vec<u8> = Vec::new();
    while out.len() < n {
        let o: u8 = rng.random_range(32..=239);
        if !out.contains(&o) && octet_free(o) {
            out.push(o);
        }
    }
    out
}

/// An octet is free unless its DNS address is taken (another fleet holds it). Without the
/// privilege to bind port 53 the check cannot tell, and the octet is taken as free.
fn octet_free(octet: u8) -> bool {
    let plan = crate::net::AddressPlan::new(octet);
    match std::net::UdpSocket::bind(SocketAddr::new(IpAddr::V4(plan.dns_ip()), 53)) {
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::AddrInUse,
    }
}

/// Starts the cluster DNS on kube-dns' ClusterIP, port 53 (another port when not allowed).
async fn start_dns(cluster: &Arc<Cluster>) -> Result<crate::dns::DnsServer, FleetError> {
    let ip = IpAddr::V4(cluster.plan.dns_ip());
    let control = cluster.dns.clone();
    match crate::dns::DnsServer::start(cluster.clone(), SocketAddr::new(ip, 53), control.clone())
        .await
    {
        Ok(s) => Ok(s),
        Err(_) => crate::dns::DnsServer::start(cluster.clone(), SocketAddr::new(ip, 0), control)
            .await
            .map_err(|e| FleetError::Bootstrap {
                cluster: cluster.name.clone(),
                message: format!("dns: {e}"),
            }),
    }
}

/// The loopback address of cluster number `index` (0-based): `127.1.<index+1>.1`.
pub fn api_ip(index: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (index % 250 + 1) as u8, 1)
}

fn random_token() -> String {
    let mut rng = rand::rng();
    (0..32)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}

fn check_names(names: &[String]) -> Result<(), FleetError> {
    for (i, n) in names.iter().enumerate() {
        if let Err(reason) = crate::validate::is_dns1123_label(n) {
            return Err(FleetError::BadName {
                name: n.clone(),
                reason,
            });
        }
        if names[..i].contains(n) {
            return Err(FleetError::BadName {
                name: n.clone(),
                reason: "listed twice".into(),
            });
        }
    }
    Ok(())
}

async fn bind(ip: Ipv4Addr, port: u16) -> Result<tokio::net::TcpListener, FleetError> {
    let addr = SocketAddr::new(IpAddr::V4(ip), port);
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(_) if port != 0 => {
            let any = SocketAddr::new(IpAddr::V4(ip), 0);
            tokio::net::TcpListener::bind(any)
                .await
                .map_err(|source| FleetError::Bind { addr: any, source })
        }
        Err(source) => Err(FleetError::Bind { addr, source }),
    }
}

impl Fleet {
    /// Starts every cluster of `cfg` and waits until each serves.
    pub async fn start(cfg: &FleetConfig) -> Result<Fleet, FleetError> {
        check_names(&cfg.clusters)?;
        let pki = crate::tls::Pki::new()?;
        let net = Arc::new(crate::net::FleetNet::default());
        let octets = pick_octets(cfg.clusters.len());
        let mut clusters = Vec::new();
        for (i, name) in cfg.clusters.iter().enumerate() {
            let listener = bind(api_ip(i), cfg.port).await?;
            let addr = listener.local_addr().map_err(|source| FleetError::Bind {
                addr: SocketAddr::new(IpAddr::V4(api_ip(i)), cfg.port),
                source,
            })?;
            let plan = crate::net::AddressPlan::new(octets[i]);
            let mut c = Cluster::with_network(name, addr, cfg.event_log, plan, net.clone());
            c.store = crate::store::Store::with_budget(cfg.event_log, cfg.event_log_bytes);
            c.time = cfg.time;
            c.faults = cfg.faults;
            c.dns.set_ttl(cfg.dns_ttl);
            let cluster = Arc::new(c);
            net.register(&cluster);
            let token = random_token();
            cluster.auth.add_token(&token, "admin");
            bootstrap(&cluster)?;
            let dns = start_dns(&cluster).await?;
            cluster.set_dns_addr(dns.addr());
            let mut tasks = crate::controllers::start(cluster.clone());
            let app = crate::api::router(cluster.clone());
            let tls = crate::tls::TlsListener::new(listener, pki.server_config(addr.ip())?)
                .map_err(|source| FleetError::Bind { addr, source })?;
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(tls, app).await;
            }));
            clusters.push(RunningCluster {
                cluster,
                token,
                tasks,
                _dns: dns,
            });
        }
        Ok(Fleet { clusters, pki, net })
    }

    /// The fleet network (routing, partitions), shared by all clusters.
    pub fn net(&self) -> &Arc<crate::net::FleetNet> {
        &self.net
    }

    /// The fleet CA certificate (PEM) that signed every API server's certificate.
    pub fn ca_pem(&self) -> &str {
        self.pki.ca_pem()
    }

    /// The running clusters, in configuration order.
    pub fn clusters(&self) -> &[RunningCluster] {
        &self.clusters
    }

    /// One cluster by name.
    pub fn cluster(&self, name: &str) -> Option<&RunningCluster> {
        self.clusters.iter().find(|c| c.cluster.name == name)
    }

    /// A kubeconfig with one context per cluster (context name = cluster name); the first
    /// cluster is the current context.
    pub fn kubeconfig(&self) -> Value {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(self.pki.ca_pem());
        let clusters: Vec<Value> = self
            .clusters
            .iter()
            .map(|c| json!({"name": c.cluster.name, "cluster": {"server": c.url(), "certificate-authority-data": ca}}))
            .collect();
        let users: Vec<Value> = self.clusters.iter().map(|c| json!({"name": format!("{}-admin", c.cluster.name), "user": {"token": c.token}})).collect();
        let contexts: Vec<Value> = self
            .clusters
            .iter()
            .map(|c| json!({"name": c.cluster.name, "context": {"cluster": c.cluster.name, "user": format!("{}-admin", c.cluster.name)}}))
            .collect();
        let current = self
            .clusters
            .first()
            .map(|c| c.cluster.name.clone())
            .unwrap_or_default();
        json!({"apiVersion": "v1", "kind": "Config", "clusters": clusters, "users": users, "contexts": contexts, "current-context": current, "preferences": {}})
    }

    /// A kubeconfig for another identity: `user` gets one bearer token, valid in every
    /// cluster of the fleet (e.g. the importer's service account, so faults can target it).
    pub fn kubeconfig_for(&self, user: &str) -> Value {
        let token = random_token();
        let mut kc = self.kubeconfig();
        for c in &self.clusters {
            c.cluster.auth.add_token(&token, user);
        }
        let ctx_user = |name: &str| format!("{name}-{}", user.replace(':', "-"));
        if let Some(users) = kc["users"].as_array_mut() {
            *users = self
                .clusters
                .iter()
                .map(|c| json!({"name": ctx_user(&c.cluster.name), "user": {"token": token}}))
                .collect();
        }
        if let Some(ctxs) = kc["contexts"].as_array_mut() {
            for ctx in ctxs {
                let name = ctx["name"].as_str().unwrap_or("").to_string();
                ctx["context"]["user"] = json!(ctx_user(&name));
            }
        }
        kc
    }

    /// Writes the kubeconfig as YAML to `path` (mode 0600: it holds tokens).
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), FleetError> {
        let err = |source| FleetError::Kubeconfig {
            path: path.display().to_string(),
            source,
        };
        let yaml = serde_saphyr::to_string(&self.kubeconfig())
            .map_err(|e| err(std::io::Error::other(e.to_string())))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        std::fs::write(path, yaml).map_err(err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
        }
        Ok(())
    }

    /// Stops every server and controller.
    pub fn shutdown(&mut self) {
        for c in &mut self.clusters {
            for t in c.tasks.drain(..) {
                t.abort();
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The namespaces every cluster starts with.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

fn bootstrap(cluster: &Cluster) -> Result<(), FleetError> {
    let fail = |message: String| FleetError::Bootstrap {
        cluster: cluster.name.clone(),
        message,
    };
    let create =
        |group: &str, plural: &str, obj: Value, ns: Option<&str>| -> Result<(), FleetError> {
            let def = cluster
                .builtin(group, plural)
                .ok_or_else(|| fail(format!("{plural} not served")))?;
            let ctx = WriteCtx::controller(cluster, &def, "mcs-sim");
            ops::create(&ctx, obj, ns)
                .map(|_| ())
                .map_err(|e| fail(format!("{plural}: {e}")))
        };
    for ns in SYSTEM_NAMESPACES {
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}});
        create("", "namespaces", obj, None)?;
    }
    for (kind, plural, obj) in rbac_bootstrap() {
        create("rbac.authorization.k8s.io", plural, obj, None)
            .map_err(|e| fail(format!("{kind}: {e}")))?;
    }
    let node = node(cluster);
    create("", "nodes", node.clone(), None)?;
    if cluster.faults {
        let fault_crd = crate::faults::crd();
        let storage = crate::store::ResKey::new(crate::faults::GROUP, "faults");
        cluster
            .registry
            .set_custom(&storage, crate::registry::defs_from_crd(&fault_crd));
        create(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            fault_crd,
            None,
        )?;
    }
    let key = crate::store::ObjKey::new("", &cluster.node_name());
    crate::controllers::write_status(
        cluster,
        &crate::store::ResKey::new("", "nodes"),
        &key,
        "kubelet",
        node["status"].clone(),
    );
    let plan = &cluster.plan;
    let api = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": plan.api_service_ip().to_string(), "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": cluster.addr.port()}]}});
    create("", "services", api, Some("default"))?;
    let api_ep = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "kubernetes"},
        "subsets": [{"addresses": [{"ip": cluster.addr.ip().to_string()}], "ports": [{"name": "https", "port": cluster.addr.port(), "protocol": "TCP"}]}]});
    create("", "endpoints", api_ep, Some("default"))?;
    let dns = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
        "spec": {"clusterIP": plan.dns_ip().to_string(), "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}});
    create("", "services", dns, Some("kube-system"))?;
    Ok(())
}

/// The bootstrap ClusterRoles and the binding that makes `system:masters` cluster-admin, as
/// kube-apiserver's RBAC post-start hook creates them (fact; rules abridged to the
/// resources this fleet serves: stored for clients that read them, not enforced).
fn rbac_bootstrap() -> Vec<(&'static str, &'static str, Value)> {
    let labels = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    let annotations = json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
    let role = |name: &str, rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels, "annotations": annotations}, "rules": rules})
    };
    let read = json!(["get", "list", "watch"]);
    let write = json!(["create", "delete", "deletecollection", "patch", "update"]);
    let workloads = json!([
        {"apiGroups": [""], "resources": ["pods", "pods/log", "services", "endpoints", "configmaps", "serviceaccounts", "events"], "verbs": read},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets", "statefulsets", "deployments/scale", "replicasets/scale", "statefulsets/scale"], "verbs": read},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": read},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
    ]);
    let mut edit = workloads.as_array().cloned().unwrap_or_default();
    edit.extend(
        workloads
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut r| {
                r["verbs"] = write.clone();
                r
            }),
    );
    edit.push(json!({"apiGroups": [""], "resources": ["pods/exec", "secrets"], "verbs": ["create", "get", "list", "watch", "delete", "patch", "update"]}));
    let mut admin = edit.clone();
    admin.push(json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": ["*"]}));
    vec![
        (
            "ClusterRole cluster-admin",
            "clusterroles",
            role(
                "cluster-admin",
                json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            ),
        ),
        (
            "ClusterRole admin",
            "clusterroles",
            role("admin", Value::Array(admin)),
        ),
        (
            "ClusterRole edit",
            "clusterroles",
            role("edit", Value::Array(edit)),
        ),
        ("ClusterRole view", "clusterroles", role("view", workloads)),
        (
            "ClusterRoleBinding cluster-admin",
            "clusterrolebindings",
            json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "cluster-admin", "labels": labels, "annotations": annotations},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]}),
        ),
    ]
}

fn node(cluster: &Cluster) -> Value {
    let now = crate::store::now_rfc3339();
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": cluster.node_name(), "labels": {
            "kubernetes.io/hostname": cluster.node_name(), "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/zone": cluster.zone(), "mcs-sim/cluster": cluster.name}},
        "spec": {"podCIDR": cluster.plan.pod_cidr(), "podCIDRs": [cluster.plan.pod_cidr()]},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                                    "lastHeartbeatTime": now, "lastTransitionTime": now}],
                   // Simulation choice: a nominal 8-CPU, 16 GiB node; 110 pods is the
                   // kubelet's default maxPods (fact).
                   "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                   "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                   "addresses": [{"type": "InternalIP", "address": cluster.node_ip().to_string()}, {"type": "Hostname", "address": cluster.node_name()}],
                   "nodeInfo": {"kubeletVersion": "v1.33.0-mcs-sim", "kubeProxyVersion": "v1.33.0-mcs-sim", "containerRuntimeVersion": "mcs-sim://1",
                                "operatingSystem": "linux", "architecture": "amd64", "osImage": "mcs-sim", "kernelVersion": "sim"}}})
}
