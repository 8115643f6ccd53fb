//! Unit tests of the pure parts of the k3s provider (no Docker needed).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use super::plan::{self, ClusterPlan};
use super::*;

/// The kubeconfig k3s writes (test CA and client certificate).
const K3S_YAML: &str = include_str!("../../fixtures/k3s/k3s.yaml");

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn cluster_plans_have_distinct_cidrs() {
    let plans = plan::clusters(3).unwrap();
    assert_eq!(
        plans[0],
        ClusterPlan {
            n: 1,
            name: "k3s-1".into(),
            pod_cidr: "10.31.0.0/16".into(),
            service_cidr: "10.131.0.0/16".into(),
            cluster_dns: "10.131.0.10".into(),
        }
    );
    assert_eq!(plans[1].pod_cidr, "10.32.0.0/16");
    assert_eq!(plans[1].service_cidr, "10.132.0.0/16");
    let mut cidrs: Vec<&str> = plans
        .iter()
        .flat_map(|p| [p.pod_cidr.as_str(), p.service_cidr.as_str()])
        .collect();
    cidrs.sort();
    cidrs.dedup();
    assert_eq!(cidrs.len(), 6);
    // None of kind's (10.10/10.20/10.110/10.120), so the two providers are told apart.
    let last = plan::clusters(plan::MAX_CLUSTERS).unwrap();
    for p in &last {
        for taken in ["10.10.", "10.20.", "10.110.", "10.120."] {
            assert!(!p.pod_cidr.starts_with(taken), "{p:?}");
            assert!(!p.service_cidr.starts_with(taken), "{p:?}");
        }
    }
    assert_eq!(last[plan::MAX_CLUSTERS - 1].pod_cidr, "10.80.0.0/16");
    assert_eq!(last[plan::MAX_CLUSTERS - 1].service_cidr, "10.180.0.0/16");
}

#[test]
fn cluster_count_is_checked() {
    assert!(plan::clusters(0).unwrap_err().contains("not 0"));
    let err = plan::clusters(plan::MAX_CLUSTERS + 1).unwrap_err();
    assert!(err.contains("1 to 50"), "{err}");
}

#[test]
fn server_args_of_cluster_2() {
    let args = plan::server_args(&plan::cluster(2));
    assert_eq!(
        args,
        [
            "server",
            "--snapshotter=native",
            "--node-name=k3s-2",
            "--cluster-cidr=10.32.0.0/16",
            "--service-cidr=10.132.0.0/16",
            "--cluster-dns=10.132.0.10",
            "--disable=traefik,metrics-server,servicelb",
        ]
    );
}

#[test]
fn routes_go_to_every_other_pod_cidr_via_its_container() {
    let plans = plan::clusters(2).unwrap();
    let ips = [ip("172.18.0.2"), ip("172.18.0.3")];
    let routes = plan::routes(&plans, &ips);
    assert_eq!(
        routes,
        [
            plan::Route {
                on: 0,
                argv: [
                    "ip",
                    "route",
                    "replace",
                    "10.32.0.0/16",
                    "via",
                    "172.18.0.3"
                ]
                .map(String::from)
                .to_vec(),
            },
            plan::Route {
                on: 1,
                argv: [
                    "ip",
                    "route",
                    "replace",
                    "10.31.0.0/16",
                    "via",
                    "172.18.0.2"
                ]
                .map(String::from)
                .to_vec(),
            },
        ]
    );
    let three = plan::clusters(3).unwrap();
    let ips3 = [ip("172.18.0.2"), ip("172.18.0.3"), ip("172.18.0.4")];
    let routes = plan::routes(&three, &ips3);
    assert_eq!(routes.len(), 6);
    assert!(routes.iter().all(|r| {
        let own = &three[r.on].pod_cidr;
        r.argv[3] != *own && r.argv[5] != ips3[r.on].to_string()
    }));
    assert!(plan::routes(&plans[..1], &ips[..1]).is_empty());
}

#[test]
fn server_url_uses_ipv4_loopback_for_localhost() {
    assert_eq!(
        plan::server_url("localhost", 32768),
        "https://127.0.0.1:32768"
    );
    assert_eq!(
        plan::server_url("172.17.0.1", 40001),
        "https://172.17.0.1:40001"
    );
    assert_eq!(
        plan::server_url("docker.example", 40001),
        "https://docker.example:40001"
    );
    assert_eq!(plan::server_url("::1", 5), "https://[::1]:5");
    assert_eq!(plan::server_url("[::1]", 5), "https://[::1]:5");
}

#[test]
fn kubeconfig_is_renamed_and_points_at_the_published_port() {
    let kc = plan::rewrite_kubeconfig(K3S_YAML, "k3s-1", "https://127.0.0.1:32768").unwrap();
    assert_eq!(kc.current_context.as_deref(), Some("k3s-1"));
    assert_eq!(kc.clusters[0].name, "k3s-1");
    let cluster = kc.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:32768"));
    // Same host as k3s wrote: the certificate matches, no override.
    assert_eq!(cluster.tls_server_name, None);
    assert!(cluster.certificate_authority_data.is_some());
    assert_eq!(kc.auth_infos[0].name, "k3s-1");
    let ctx = kc.contexts[0].context.as_ref().unwrap();
    assert_eq!(kc.contexts[0].name, "k3s-1");
    assert_eq!(ctx.cluster, "k3s-1");
    assert_eq!(ctx.user.as_deref(), Some("k3s-1"));
}

#[test]
fn kubeconfig_for_a_remote_docker_host_keeps_verifying_the_name_k3s_wrote() {
    let kc = plan::rewrite_kubeconfig(K3S_YAML, "k3s-2", "https://172.17.0.1:40001").unwrap();
    let cluster = kc.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(cluster.server.as_deref(), Some("https://172.17.0.1:40001"));
    assert_eq!(cluster.tls_server_name.as_deref(), Some("127.0.0.1"));
}

#[test]
fn kubeconfig_errors() {
    let err = plan::rewrite_kubeconfig("clusters: 3", "k3s-1", "https://h:1").unwrap_err();
    assert!(err.starts_with("not a kubeconfig"), "{err}");
    let empty = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";
    let err = plan::rewrite_kubeconfig(empty, "k3s-1", "https://h:1").unwrap_err();
    assert_eq!(
        err,
        "expected one cluster, context and user, found 0, 0 and 0"
    );
}

/// The rewritten kubeconfig yields a client (EC client key as k3s makes them, rustls, and a
/// `tls-server-name` that is an IP address) without contacting any server.
#[tokio::test]
async fn rewritten_kubeconfig_builds_a_client() {
    for server in ["https://127.0.0.1:32768", "https://172.17.0.1:40001"] {
        let kc = plan::rewrite_kubeconfig(K3S_YAML, "k3s-1", server).unwrap();
        client_for_context(&kc, "k3s-1").await.unwrap();
    }
}

#[test]
fn docker_host_follows_testcontainers_order() {
    let env = |vars: &[(&str, &str)]| {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    };
    let none = |_: &Path| false;
    assert_eq!(
        plan::docker_host(env(&[("DOCKER_HOST", "tcp://dind:2375")]), |_| true),
        "tcp://dind:2375"
    );
    assert_eq!(
        plan::docker_host(env(&[("HOME", "/home/u")]), none),
        "unix:///var/run/docker.sock"
    );
    assert_eq!(
        plan::docker_host(env(&[("HOME", "/home/u")]), |p: &Path| p
            == Path::new("/home/u/.docker/desktop/docker.sock")),
        "unix:///home/u/.docker/desktop/docker.sock"
    );
    assert_eq!(
        plan::docker_host(
            env(&[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/1")]),
            |p: &Path| p.starts_with("/run/user/1") || p.starts_with("/home/u")
        ),
        "unix:///run/user/1/.docker/run/docker.sock"
    );
}

#[test]
fn no_docker_error_says_what_to_do() {
    let e = K3sError::NoDocker {
        reason: "no Docker daemon answers at unix:///var/run/docker.sock: connection refused"
            .into(),
    };
    let text = e.to_string();
    assert!(text.starts_with("no Docker daemon answers at unix:///var/run/docker.sock"));
    assert!(text.contains("start Docker"), "{text}");
    assert!(text.contains("DOCKER_HOST"), "{text}");
    assert!(text.contains("--cluster NAME=CONTEXT"), "{text}");
}

#[test]
fn default_options() {
    let o = K3sOptions::default();
    assert_eq!(o.clusters, 2);
    assert_eq!(o.image_tag, None);
    assert_eq!(o.network, "mcs-harness");
}

#[tokio::test]
async fn options_are_checked_before_docker_is_asked() {
    let opts = K3sOptions {
        clusters: 0,
        ..K3sOptions::default()
    };
    let err = start(&opts).await.unwrap_err();
    assert!(matches!(err, K3sError::Options(_)), "{err}");
    let opts = K3sOptions {
        network: " ".into(),
        ..K3sOptions::default()
    };
    let err = start(&opts).await.unwrap_err();
    assert!(err.to_string().contains("network name is empty"), "{err}");
}
