//! Applies Fault objects of one cluster: installs their effect when created or changed,
//! removes it when deleted, and reports `status.active`, `status.effect`, `status.message`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::FaultSpec;
use crate::api::DenyRule;
use crate::cluster::Cluster;
use crate::controllers::{Controller, write_status};
use crate::dns::DnsMode;
use crate::net::Partition;
use crate::store::{EventType, Meta, ObjKey, ResKey, StoreEvent};

/// The fault controller of one cluster.
#[derive(Default)]
pub struct FaultController {
    /// DNS faults in force, by Fault name.
    dns: BTreeMap<String, String>,
}

fn faults() -> ResKey {
    ResKey::new(super::GROUP, "faults")
}

impl Controller for FaultController {
    fn on_event(&mut self, cluster: &Cluster, ev: &StoreEvent) {
        if ev.res != faults() {
            return;
        }
        let name = Meta(&ev.object).name().to_string();
        self.remove(cluster, &name);
        if ev.kind != EventType::Deleted && !Meta(&ev.object).deleting() {
            self.apply(cluster, &name, &ev.object);
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        for f in cluster
            .store
            .list(&faults(), None, None, 0, &|_| true)
            .items
        {
            let name = Meta(&f).name().to_string();
            self.remove(cluster, &name);
            self.apply(cluster, &name, &f);
        }
    }
}

impl FaultController {
    fn remove(&mut self, cluster: &Cluster, name: &str) {
        cluster.net.remove_partitions(&owner(cluster, name));
        cluster.auth.remove_rules(&owner(cluster, name));
        cluster.api_faults.remove(name);
        if self.dns.remove(name).is_some() {
            self.set_dns(cluster);
        }
    }

    fn set_dns(&self, cluster: &Cluster) {
        let mode = match self.dns.values().last().map(String::as_str) {
            Some("Drop") => DnsMode::Drop,
            Some(_) => DnsMode::ServFail,
            None => DnsMode::Normal,
        };
        cluster.dns.set(mode);
    }

    fn apply(&mut self, cluster: &Cluster, name: &str, obj: &Value) {
        let status = match FaultSpec::parse(&obj["spec"]) {
            Ok(spec) => {
                self.install(cluster, name, &spec);
                json!({"active": true, "effect": spec.describe(), "message": format!("in effect in cluster {}", cluster.name)})
            }
            Err(msg) => json!({"active": false, "effect": "", "message": msg}),
        };
        write_status(
            cluster,
            &faults(),
            &ObjKey::new("", name),
            "fault-controller",
            status,
        );
    }

    fn install(&mut self, cluster: &Cluster, name: &str, spec: &FaultSpec) {
        match spec {
            FaultSpec::Partition { peers } => cluster.net.add_partition(Partition {
                owner: owner(cluster, name),
                cluster: cluster.name.clone(),
                peers: peers.clone(),
            }),
            FaultSpec::Dns { mode } => {
                self.dns.insert(name.to_string(), mode.clone());
                self.set_dns(cluster);
            }
            FaultSpec::ApiErrors {
                rate,
                codes,
                latency_ms,
                watch_drop_seconds,
            } => {
                cluster
                    .api_faults
                    .set(name, *rate, codes.clone(), *latency_ms, *watch_drop_seconds)
            }
            FaultSpec::Deny {
                user,
                verbs,
                resources,
                namespaces,
            } => cluster.auth.add_rule(DenyRule {
                owner: owner(cluster, name),
                user: user.clone(),
                verbs: if verbs.is_empty() {
                    vec!["*".into()]
                } else {
                    verbs.clone()
                },
                resources: if resources.is_empty() {
                    vec!["*".into()]
                } else {
                    resources.clone()
                },
                namespaces: namespaces.clone(),
            }),
        }
    }
}

/// Partitions live on the fleet network: their owner names the cluster too.
fn owner(cluster: &Cluster, name: &str) -> String {
    format!("fault/{}/{name}", cluster.name)
}
