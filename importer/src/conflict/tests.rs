//! Unit tests of the conflict resolver: both rule sets, on hand-built exports.

use super::*;
use crate::types::conditions::{gke_conditions, upstream_conditions};
use k8s_openapi::jiff::Timestamp;

fn at(second: i64) -> Option<Time> {
    Timestamp::from_second(second).ok().map(Time)
}

fn svc(ports: &[(&str, i32)]) -> ServiceShape {
    let ports = ports
        .iter()
        .map(|(name, port)| ServicePort::new(*port, "TCP").named(name));
    ServiceShape {
        service_type: "ClusterIP".to_string(),
        headless: false,
        ports: ports.collect(),
        session_affinity: "None".to_string(),
        session_affinity_config: None,
        ip_families: Vec::new(),
        internal_traffic_policy: None,
        traffic_distribution: None,
    }
}

fn export(cluster: &str, created: Option<Time>, service: Option<ServiceShape>) -> Export {
    Export {
        cluster: cluster.to_string(),
        created,
        service,
        exported: ExportedMetadata::default(),
    }
}

fn reasons(resolution: &Resolution, cluster: &str) -> Vec<ConflictReason> {
    match &resolution.states[cluster] {
        ExportState::Exported { conflicts } => conflicts.iter().map(|c| c.reason).collect(),
        other => panic!("{cluster} not exported: {other:?}"),
    }
}

#[test]
fn from_service_reads_defaults_and_headless() {
    let service: core::Service = serde_json::from_value(serde_json::json!({
        "spec": {"clusterIP": "None", "ports": [{"port": 80, "targetPort": 8080}]}
    }))
    .unwrap();
    let shape = ServiceShape::from_service(&service);
    assert_eq!(
        (shape.service_type.as_str(), shape.headless),
        ("ClusterIP", true)
    );
    assert_eq!(shape.ports, vec![ServicePort::new(80, "TCP")]);
    assert_eq!(shape.session_affinity, "None");
    assert_eq!(shape.import_type(), ServiceImportType::Headless);
}

#[test]
fn oldest_export_wins_then_cluster_name() {
    let mut headless = svc(&[("http", 80)]);
    headless.headless = true;
    let exports = [
        export("b", at(100), Some(svc(&[("http", 80)]))),
        export("a", at(100), Some(headless)),
        export("c", None, Some(svc(&[("http", 80)]))),
    ];
    let resolution = resolve(&exports);
    assert_eq!(resolution.winner.as_deref(), Some("a"));
    let import = resolution.import.as_ref().unwrap();
    assert_eq!(import.import_type, ServiceImportType::Headless);
    assert_eq!(resolution.clusters, ["a", "b", "c"]);
    assert_eq!(reasons(&resolution, "b"), [ConflictReason::Type]);
    assert_eq!(
        reasons(&resolution, "a"),
        [ConflictReason::Type],
        "raised on every export"
    );
}

#[test]
fn agreeing_exports_merge_ports_without_conflict() {
    let exports = [
        export("c2", at(200), Some(svc(&[("http", 80), ("metrics", 9090)]))),
        export("c1", at(100), Some(svc(&[("http", 80)]))),
    ];
    let resolution = resolve(&exports);
    let import = resolution.import.unwrap();
    let names: Vec<_> = import
        .ports
        .iter()
        .map(|p| p.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["http", "metrics"]);
    assert_eq!(
        resolution.states["c1"],
        ExportState::Exported { conflicts: vec![] }
    );
}

#[test]
fn port_and_affinity_conflicts_keep_the_oldest_values() {
    let mut sticky = svc(&[("web", 80)]);
    sticky.session_affinity = "ClientIP".to_string();
    sticky.session_affinity_config = Some(SessionAffinityConfig {
        client_ip: Some(core::ClientIPConfig {
            timeout_seconds: Some(60),
        }),
    });
    let exports = [
        export("old", at(1), Some(svc(&[("http", 80)]))),
        export("new", at(2), Some(sticky)),
    ];
    let resolution = resolve(&exports);
    let import = resolution.import.clone().unwrap();
    assert_eq!(
        (
            import.session_affinity.as_str(),
            import.session_affinity_config
        ),
        ("None", None)
    );
    assert_eq!(
        import.ports,
        vec![ServicePort::new(80, "TCP").named("http")]
    );
    let expected = [
        ConflictReason::Port,
        ConflictReason::SessionAffinity,
        ConflictReason::SessionAffinityConfig,
    ];
    assert_eq!(reasons(&resolution, "old"), expected);
    let upstream = upstream_conditions(&resolution.states["new"]);
    assert_eq!(
        upstream[2].reason,
        "PortConflict,SessionAffinityConflict,SessionAffinityConfigConflict"
    );
    assert!(
        upstream[2]
            .message
            .contains(r#"Using "None" from oldest service export in cluster "old""#)
    );
    assert_eq!(resolution.port_conflicts.len(), 1);
}

#[test]
fn missing_and_external_name_services_are_invalid() {
    let mut external = svc(&[]);
    external.service_type = "ExternalName".to_string();
    let exports = [
        export("gone", at(1), None),
        export("ext", at(2), Some(external)),
    ];
    let resolution = resolve(&exports);
    assert_eq!((resolution.import, resolution.winner), (None, None));
    let gone = upstream_conditions(&resolution.states["gone"]);
    assert_eq!(
        (gone[0].type_, gone[0].status, gone[0].reason.as_str()),
        ("Valid", false, "NoService")
    );
    assert_eq!(
        (gone[1].type_, gone[1].reason.as_str()),
        ("Ready", "Pending")
    );
    let ext = gke_conditions(&resolution.states["ext"]);
    assert_eq!(
        (ext[1].type_, ext[1].status, ext[1].reason.as_str()),
        ("Exported", false, "InvalidServiceType")
    );
}

#[test]
fn mcs_api_rules_flag_port_sets_that_merge() {
    let mut sctp = ServicePort::new(142, "SCTP").named("stcp");
    sctp.app_protocol = None;
    let mut b = svc(&[("tcp", 42)]);
    b.ports.push(sctp);
    let exports = [
        export("a", at(1), Some(svc(&[("tcp", 42)]))),
        export("b", at(2), Some(b)),
    ];
    let gke = resolve(&exports);
    assert_eq!(reasons(&gke, "a"), [], "GKE: ports that merge agree");
    let upstream = resolve_with(&exports, Rules::McsApi);
    assert_eq!(upstream.import.as_ref().unwrap().ports.len(), 2, "union");
    for cluster in ["a", "b"] {
        assert_eq!(reasons(&upstream, cluster), [ConflictReason::Port]);
    }
    let conds = upstream_conditions(&upstream.states["a"]);
    assert_eq!(
        (conds[2].status, conds[2].reason.as_str()),
        (true, "PortConflict")
    );
    assert!(
        conds[2].message.contains(r#"1/2 clusters disagree ("b")"#),
        "{}",
        conds[2].message
    );
    let reordered = [
        export("a", at(1), Some(svc(&[("tcp", 42), ("udp", 43)]))),
        export("b", at(2), Some(svc(&[("udp", 43), ("tcp", 42)]))),
    ];
    let same = resolve_with(&reordered, Rules::McsApi);
    assert_eq!(reasons(&same, "b"), [], "order does not matter");
}

#[test]
fn mcs_api_rules_oldest_exported_metadata_wins() {
    let meta = |k: &str| ExportedMetadata {
        labels: BTreeMap::from([(k.to_string(), "true".to_string())]),
        annotations: BTreeMap::from([(format!("{k}-a"), "true".to_string())]),
    };
    let mut a = export("a", at(1), Some(svc(&[("tcp", 42)])));
    a.exported = meta("dummy-label");
    let mut b = export("b", at(2), Some(svc(&[("tcp", 42)])));
    b.exported = meta("dummy-label2");
    let res = resolve_with(&[b.clone(), a.clone()], Rules::McsApi);
    assert_eq!(res.import.as_ref().unwrap().exported, meta("dummy-label"));
    let expected = [ConflictReason::Annotations, ConflictReason::Labels];
    assert_eq!(reasons(&res, "a"), expected);
    assert_eq!(reasons(&res, "b"), expected);
    let conds = upstream_conditions(&res.states["b"]);
    assert_eq!(conds[2].reason, "AnnotationsConflict,LabelsConflict");
    assert_eq!(reasons(&resolve(&[a, b]), "a"), [], "GKE ignores them");
}

#[test]
fn mcs_api_rules_traffic_policy_defaults_to_cluster() {
    let mut explicit = svc(&[("tcp", 42)]);
    explicit.internal_traffic_policy = Some("Cluster".to_string());
    let mut local = svc(&[("tcp", 42)]);
    local.internal_traffic_policy = Some("Local".to_string());
    local.traffic_distribution = Some("PreferClose".to_string());
    let agree = [
        export("a", at(1), Some(svc(&[("tcp", 42)]))),
        export("b", at(2), Some(explicit)),
    ];
    assert_eq!(reasons(&resolve_with(&agree, Rules::McsApi), "a"), []);
    let differ = [
        export("a", at(1), Some(svc(&[("tcp", 42)]))),
        export("b", at(2), Some(local)),
    ];
    let res = resolve_with(&differ, Rules::McsApi);
    let expected = [
        ConflictReason::InternalTrafficPolicy,
        ConflictReason::TrafficDistribution,
    ];
    assert_eq!(reasons(&res, "b"), expected);
    assert_eq!(
        res.import.unwrap().internal_traffic_policy,
        None,
        "oldest's"
    );
}
