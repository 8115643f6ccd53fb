//! ServiceImport ports: conversion from core/v1 `ServicePort`s (typed or JSON), the union of
//! the exporting clusters' ports with KEP-1645 `PortConflict` detection, and the derived
//! Service's ports (mcs-api `servicePorts`).
//!
//! Merge rule: clusters are visited oldest export first; a port identical to one already
//! taken is shared; a port that would give the import two ports with the same name
//! (unnamed counts as the name "") or the same (port, protocol) is dropped and reported,
//! because the derived Service could not hold both.

use k8s_openapi::api::core::v1 as core;

use crate::types::common::{DEFAULT_PROTOCOL, ServicePort};

/// Errors converting a port.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The JSON value is not a core/v1 ServicePort.
    #[error("failed to parse core/v1 ServicePort from JSON")]
    Json(#[source] serde_json::Error),
    /// The port number is outside 1..=65535.
    #[error("port {port} is out of range 1-65535")]
    OutOfRange {
        /// The offending port number.
        port: i32,
    },
    /// The protocol is not TCP, UDP or SCTP.
    #[error("protocol {protocol:?} is not one of TCP, UDP, SCTP")]
    Protocol {
        /// The offending protocol.
        protocol: String,
    },
}

/// Result alias for port conversion.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The ServiceImport port for a core/v1 Service port (protocol defaults to TCP; the
/// `targetPort`/`nodePort` stay behind: endpoints carry the target ports).
pub fn from_core(port: &core::ServicePort) -> ServicePort {
    ServicePort {
        name: port.name.clone().filter(|name| !name.is_empty()),
        protocol: port
            .protocol
            .clone()
            .unwrap_or_else(|| DEFAULT_PROTOCOL.to_string()),
        port: port.port,
        app_protocol: port.app_protocol.clone(),
    }
}

/// Like [`from_core`] for a JSON (e.g. dynamic object) `spec.ports[]` entry, validated.
pub fn from_json(value: &serde_json::Value) -> Result<ServicePort> {
    let core: core::ServicePort = serde_json::from_value(value.clone()).map_err(Error::Json)?;
    let port = from_core(&core);
    validate(&port)?;
    Ok(port)
}

/// Checks the port number range and the protocol.
pub fn validate(port: &ServicePort) -> Result<()> {
    if !(1..=65535).contains(&port.port) {
        return Err(Error::OutOfRange { port: port.port });
    }
    if !matches!(port.protocol.as_str(), "TCP" | "UDP" | "SCTP") {
        let protocol = port.protocol.clone();
        return Err(Error::Protocol { protocol });
    }
    Ok(())
}

/// The derived Service's port for an import port (mcs-api `servicePorts`): same name,
/// protocol, port and appProtocol; no selector, so no target port is needed.
pub fn to_core(port: &ServicePort) -> core::ServicePort {
    core::ServicePort {
        name: port.name.clone(),
        protocol: Some(port.protocol.clone()),
        port: port.port,
        app_protocol: port.app_protocol.clone(),
        ..Default::default()
    }
}

/// [`to_core`] for every port, in order.
pub fn service_ports(ports: &[ServicePort]) -> Vec<core::ServicePort> {
    ports.iter().map(to_core).collect()
}

/// One exporting cluster's Service ports, as input to [`merge_ports`].
#[derive(Clone, Copy, Debug)]
pub struct ClusterPorts<'a> {
    /// The exporting cluster.
    pub cluster: &'a str,
    /// Its Service's ports, in Service order.
    pub ports: &'a [ServicePort],
}

/// How a dropped port collides with the port that was kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortConflictKind {
    /// Same (port, protocol) under a different name.
    NameMismatch,
    /// Same name, port and protocol, different appProtocol.
    AppProtocolMismatch,
    /// The name (or "unnamed") is already used by a different (port, protocol).
    DuplicateName,
}

/// A port of `cluster` left out of the import because it collides with `kept`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConflict {
    /// The cluster whose port was dropped.
    pub cluster: String,
    /// The dropped port.
    pub port: ServicePort,
    /// The cluster whose port won (exported earlier).
    pub kept_from: String,
    /// The port in the import that it collides with.
    pub kept: ServicePort,
    /// What collides.
    pub kind: PortConflictKind,
}

impl std::fmt::Display for PortConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (mine, kept) = (describe(&self.port), describe(&self.kept));
        let (cluster, kept_from) = (&self.cluster, &self.kept_from);
        let what = match self.kind {
            PortConflictKind::NameMismatch => "names differ",
            PortConflictKind::AppProtocolMismatch => "appProtocols differ",
            PortConflictKind::DuplicateName => "same name, different port",
        };
        write!(
            f,
            "port {mine} of cluster {cluster:?} conflicts with {kept} of cluster {kept_from:?} ({what})"
        )
    }
}

/// The merged ports and what had to be left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergedPorts {
    /// Union of the clusters' ports, in order of first appearance.
    pub ports: Vec<ServicePort>,
    /// Dropped ports, in the order they were met.
    pub conflicts: Vec<PortConflict>,
}

/// Merges the clusters' ports, `clusters` ordered oldest export first (that order decides
/// which side of a conflict is kept).
pub fn merge_ports(clusters: &[ClusterPorts<'_>]) -> MergedPorts {
    let mut merged = MergedPorts::default();
    let mut owners: Vec<&str> = Vec::new();
    for source in clusters {
        for port in source.ports {
            if merged.ports.contains(port) {
                continue;
            }
            let clash = merged.ports.iter().zip(&owners).find_map(|(kept, owner)| {
                conflict_kind(port, kept).map(|kind| (kept, *owner, kind))
            });
            match clash {
                Some((kept, owner, kind)) => merged.conflicts.push(PortConflict {
                    cluster: source.cluster.to_string(),
                    port: port.clone(),
                    kept_from: owner.to_string(),
                    kept: kept.clone(),
                    kind,
                }),
                None => {
                    merged.ports.push(port.clone());
                    owners.push(source.cluster);
                }
            }
        }
    }
    merged
}

/// Why `port` cannot sit beside `kept` in one Service (`None`: it can).
fn conflict_kind(port: &ServicePort, kept: &ServicePort) -> Option<PortConflictKind> {
    let same_port = port.port == kept.port && port.protocol == kept.protocol;
    let same_name =
        port.name.as_deref().unwrap_or_default() == kept.name.as_deref().unwrap_or_default();
    match (same_port, same_name) {
        (true, false) => Some(PortConflictKind::NameMismatch),
        (true, true) if port.app_protocol != kept.app_protocol => {
            Some(PortConflictKind::AppProtocolMismatch)
        }
        (false, true) => Some(PortConflictKind::DuplicateName),
        _ => None,
    }
}

/// `"http" 80/TCP` or `80/TCP` (unnamed), plus ` (appProtocol x)` when set.
fn describe(port: &ServicePort) -> String {
    let name = port
        .name
        .as_deref()
        .map(|n| format!("{n:?} "))
        .unwrap_or_default();
    let app = port
        .app_protocol
        .as_deref()
        .map(|a| format!(" (appProtocol {a})"))
        .unwrap_or_default();
    format!("{name}{}/{}{app}", port.port, port.protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: Option<&str>, number: i32, protocol: &str) -> ServicePort {
        let p = ServicePort::new(number, protocol);
        match name {
            Some(name) => p.named(name),
            None => p,
        }
    }

    fn merge(clusters: &[(&str, Vec<ServicePort>)]) -> MergedPorts {
        let inputs: Vec<ClusterPorts<'_>> = clusters
            .iter()
            .map(|(cluster, ports)| ClusterPorts { cluster, ports })
            .collect();
        merge_ports(&inputs)
    }

    #[test]
    fn core_port_defaults_protocol_and_drops_target_port() {
        let core = core::ServicePort {
            port: 80,
            target_port: Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8080)),
            ..Default::default()
        };
        assert_eq!(from_core(&core), ServicePort::new(80, "TCP"));
    }

    #[test]
    fn json_port_round_trips_name_and_app_protocol() {
        let value = serde_json::json!({
            "name": "grpc", "port": 9090, "protocol": "TCP",
            "appProtocol": "kubernetes.io/h2c", "targetPort": "grpc"
        });
        let mut expected = port(Some("grpc"), 9090, "TCP");
        expected.app_protocol = Some("kubernetes.io/h2c".to_string());
        assert_eq!(from_json(&value).unwrap(), expected);
    }

    #[test]
    fn json_port_errors() {
        let bad_type = from_json(&serde_json::json!({"port": "eighty"}));
        assert!(matches!(bad_type, Err(Error::Json(_))));
        let range = from_json(&serde_json::json!({"port": 70000}));
        assert!(matches!(range, Err(Error::OutOfRange { port: 70000 })));
        let protocol = from_json(&serde_json::json!({"port": 53, "protocol": "ICMP"}));
        assert!(matches!(protocol, Err(Error::Protocol { .. })));
    }

    #[test]
    fn to_core_keeps_import_fields() {
        let core = to_core(&port(Some("http"), 80, "TCP"));
        assert_eq!(core.name.as_deref(), Some("http"));
        assert_eq!(core.protocol.as_deref(), Some("TCP"));
        assert_eq!(
            (core.port, core.target_port, core.node_port),
            (80, None, None)
        );
        assert_eq!(service_ports(&[port(None, 1, "UDP")]).len(), 1);
    }

    #[test]
    fn identical_ports_are_shared() {
        let p = vec![port(Some("http"), 80, "TCP")];
        let merged = merge(&[("c1", p.clone()), ("c2", p.clone())]);
        assert_eq!(
            merged,
            MergedPorts {
                ports: p,
                conflicts: vec![]
            }
        );
    }

    #[test]
    fn distinct_ports_are_unioned_in_order() {
        let merged = merge(&[
            ("c1", vec![port(Some("http"), 80, "TCP")]),
            (
                "c2",
                vec![port(Some("dns"), 53, "UDP"), port(Some("http"), 80, "TCP")],
            ),
        ]);
        let expected = vec![port(Some("http"), 80, "TCP"), port(Some("dns"), 53, "UDP")];
        assert_eq!(merged.ports, expected);
        assert!(merged.conflicts.is_empty());
    }

    #[test]
    fn same_number_other_protocol_is_not_a_conflict() {
        let merged = merge(&[
            ("c1", vec![port(Some("dns-udp"), 53, "UDP")]),
            ("c2", vec![port(Some("dns-tcp"), 53, "TCP")]),
        ]);
        assert_eq!(merged.ports.len(), 2);
        assert!(merged.conflicts.is_empty());
    }

    #[test]
    fn renamed_port_conflicts_and_oldest_wins() {
        let merged = merge(&[
            ("old", vec![port(Some("http"), 80, "TCP")]),
            ("new", vec![port(Some("web"), 80, "TCP")]),
        ]);
        assert_eq!(merged.ports, vec![port(Some("http"), 80, "TCP")]);
        let conflict = &merged.conflicts[0];
        assert_eq!(
            (conflict.cluster.as_str(), conflict.kept_from.as_str()),
            ("new", "old")
        );
        assert_eq!(conflict.kind, PortConflictKind::NameMismatch);
        assert_eq!(
            conflict.to_string(),
            r#"port "web" 80/TCP of cluster "new" conflicts with "http" 80/TCP of cluster "old" (names differ)"#
        );
    }

    #[test]
    fn reused_name_and_unnamed_ports_conflict() {
        let named = merge(&[
            ("c1", vec![port(Some("http"), 80, "TCP")]),
            ("c2", vec![port(Some("http"), 8080, "TCP")]),
        ]);
        assert_eq!(named.conflicts[0].kind, PortConflictKind::DuplicateName);
        let unnamed = merge(&[
            ("c1", vec![port(None, 80, "TCP")]),
            ("c2", vec![port(None, 81, "TCP")]),
        ]);
        assert_eq!(unnamed.ports, vec![port(None, 80, "TCP")]);
        assert_eq!(unnamed.conflicts[0].kind, PortConflictKind::DuplicateName);
    }

    #[test]
    fn app_protocol_mismatch_conflicts() {
        let mut h2c = port(Some("grpc"), 9090, "TCP");
        h2c.app_protocol = Some("kubernetes.io/h2c".to_string());
        let merged = merge(&[
            ("c1", vec![port(Some("grpc"), 9090, "TCP")]),
            ("c2", vec![h2c]),
        ]);
        assert_eq!(merged.ports.len(), 1);
        assert_eq!(
            merged.conflicts[0].kind,
            PortConflictKind::AppProtocolMismatch
        );
        assert!(
            merged.conflicts[0]
                .to_string()
                .contains("(appProtocol kubernetes.io/h2c)")
        );
    }
}
