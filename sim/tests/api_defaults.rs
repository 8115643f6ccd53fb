//! What a cluster fills in as kube-apiserver and kube-controller-manager do: the `default`
//! ServiceAccount of each namespace, node ports of NodePort/LoadBalancer Services, Node
//! capacity and allocatable.

mod common;

use k8s_openapi::api::core::v1::{Namespace, Node, Service, ServiceAccount};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

fn svc(name: &str, ty: &str, node_port: Option<i64>) -> Service {
    let mut port = json!({"port": 80});
    if let Some(n) = node_port {
        port["nodePort"] = json!(n);
    }
    serde_json::from_value(json!({"metadata": {"name": name},
        "spec": {"type": ty, "selector": {"app": "x"}, "ports": [port]}}))
    .unwrap()
}

#[tokio::test]
async fn every_namespace_gets_a_default_service_account() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let ns: Api<Namespace> = Api::all(c.clone());
    ns.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "fresh"}})).unwrap(),
    )
    .await
    .unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(c.clone(), "fresh");
    common::eventually(10, "the default ServiceAccount", || {
        let sas = sas.clone();
        async move { sas.get_opt("default").await.ok().flatten() }
    })
    .await;
    // Deleted, it comes back.
    sas.delete("default", &DeleteParams::default())
        .await
        .unwrap();
    common::eventually(10, "the default ServiceAccount again", || {
        let sas = sas.clone();
        async move { sas.get_opt("default").await.ok().flatten() }
    })
    .await;
    let kube_system: Api<ServiceAccount> = Api::namespaced(c, "kube-system");
    assert!(kube_system.get_opt("default").await.unwrap().is_some());
}

#[tokio::test]
async fn node_port_services_get_node_ports_in_range() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let api: Api<Service> = Api::namespaced(c.clone(), "default");
    let np = api
        .create(&PostParams::default(), &svc("np", "NodePort", None))
        .await
        .unwrap();
    let port = np.spec.unwrap().ports.unwrap()[0].node_port.unwrap();
    assert!((30000..=32767).contains(&port), "{port}");
    let lb = api
        .create(
            &PostParams::default(),
            &svc("lb", "LoadBalancer", Some(30080)),
        )
        .await
        .unwrap();
    assert_eq!(lb.spec.unwrap().ports.unwrap()[0].node_port, Some(30080));
    let ip = api
        .create(&PostParams::default(), &svc("ip", "ClusterIP", None))
        .await
        .unwrap();
    assert_eq!(ip.spec.unwrap().ports.unwrap()[0].node_port, None);
    for (name, n, detail) in [
        ("dup", 30080, "provided port is already allocated"),
        (
            "low",
            80,
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
        ),
    ] {
        let e = api
            .create(&PostParams::default(), &svc(name, "NodePort", Some(n)))
            .await
            .unwrap_err();
        match e {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 422);
                assert_eq!(
                    s.message,
                    format!(
                        "Service \"{name}\" is invalid: spec.ports[0].nodePort: Invalid value: {n}: {detail}"
                    )
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(api.get_opt(name).await.unwrap().is_none());
    }
    // An update that omits the node port keeps it.
    let mut again = api.get("np").await.unwrap();
    if let Some(p) = again.spec.as_mut().and_then(|s| s.ports.as_mut()) {
        p[0].node_port = None;
    }
    let kept = api
        .replace("np", &PostParams::default(), &again)
        .await
        .unwrap();
    assert_eq!(kept.spec.unwrap().ports.unwrap()[0].node_port, Some(port));
}

#[tokio::test]
async fn the_node_reports_capacity_and_allocatable() {
    let fleet = common::fleet().await;
    let c = common::client(&fleet, "a").await;
    let nodes: Api<Node> = Api::all(c);
    let node = nodes.get("a-node").await.unwrap();
    let status = node.status.unwrap();
    let cap = status.capacity.unwrap();
    assert_eq!(cap["pods"].0, "110");
    assert_eq!(status.allocatable.unwrap()["cpu"].0, "8");
}
