//! Applies Fault objects of one cluster: installs their effect when created or changed,
//! removes it when deleted, and reports `status.active`, `status.effect`, `status.message`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{FaultSpec, Scope};
use crate::api::DenyRule;
use crate::cluster::Cluster;
use crate::controllers::{Controller, write_status};
use crate::dns::DnsMode;
use crate::net::Partition;
use crate::store::{EventType, Meta, ObjKey, ResKey, StoreEvent};

/// The fault controller of one cluster.
#[derive(Default)]
pub struct FaultController {
    /// DNS faults in force, by Fault name: mode and scope.
    dns: BTreeMap<String, (String, Scope)>,
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
        let rules = self
            .dns
            .values()
            .map(|(mode, scope)| {
                let mode = match mode.as_str() {
                    "Drop" => DnsMode::Drop,
                    _ => DnsMode::ServFail,
                };
                (mode, scope.namespaces.clone())
            })
            .collect();
        cluster.dns.set_rules(rules);
    }

    fn apply(&mut self, cluster: &Cluster, name: &str, obj: &Value) {
        let parsed = FaultSpec::parse(&obj["spec"])
            .and_then(|spec| Scope::parse(&obj["spec"]).map(|scope| (spec, scope)));
        let status = match parsed {
            Ok((spec, scope)) => {
                self.install(cluster, name, &spec, &scope);
                let effect = format!("{}{}", spec.describe(), scope.describe());
                json!({"active": true, "effect": effect, "message": format!("in effect in cluster {}", cluster.name)})
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

    fn install(&mut self, cluster: &Cluster, name: &str, spec: &FaultSpec, scope: &Scope) {
        match spec {
            FaultSpec::Partition { peers } => cluster.net.add_partition(Partition {
                owner: owner(cluster, name),
                cluster: cluster.name.clone(),
                peers: peers.clone(),
                namespaces: scope.namespaces.clone(),
            }),
            FaultSpec::Dns { mode } => {
                self.dns
                    .insert(name.to_string(), (mode.clone(), scope.clone()));
                self.set_dns(cluster);
            }
            FaultSpec::ApiErrors {
                rate,
                codes,
                latency_ms,
                watch_drop_seconds,
            } => cluster.api_faults.set(
                name,
                super::api_errors::Rule::new(
                    *rate,
                    codes.clone(),
                    *latency_ms,
                    *watch_drop_seconds,
                )
                .scoped(scope.namespaces.clone()),
            ),
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
                namespaces: scoped_namespaces(namespaces, scope),
            }),
        }
    }
}

/// The namespaces a deny rule covers: its own, limited to the scope's. A rule whose
/// namespaces all lie outside the scope covers nothing, which an unmatchable name expresses.
fn scoped_namespaces(own: &[String], scope: &Scope) -> Vec<String> {
    match (own.is_empty(), scope.namespaces.is_empty()) {
        (_, true) => own.to_vec(),
        (true, false) => scope.namespaces.clone(),
        (false, false) => {
            let both: Vec<String> = own
                .iter()
                .filter(|n| scope.covers(Some(n)))
                .cloned()
                .collect();
            match both.is_empty() {
                true => vec![String::new()],
                false => both,
            }
        }
    }
}

/// Partitions live on the fleet network: their owner names the cluster too.
fn owner(cluster: &Cluster, name: &str) -> String {
    format!("fault/{}/{name}", cluster.name)
}
