//! Garbage collection of what runs left behind: namespaces, objects and Faults labelled with
//! a run id (`mcs-harness.dev/run-id`) whose run is no longer alive (its Lease expired, or its
//! process is gone from this host). A live run's objects are never touched, nor objects in
//! the protected namespaces unless allowed, nor objects with an owner (they go with it).
//! Objects of a run without any Lease (an old harness, the doctor's probe pods) are taken
//! only once they are older than the skew allowance.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use futures::future::join_all;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams};
use kube::discovery::{Discovery, Scope, verbs};
use kube::{Client, ResourceExt};

use super::liveness::{
    LEASE_NAMESPACE, Liveness, RUN_LABEL, SKEW_ALLOWANCE, hostname, lease_name, liveness,
    process_alive,
};
use super::registry::{ClusterHandle, ClusterRegistry};
use crate::scenario::PROTECTED_NAMESPACES;

/// What to collect.
#[derive(Clone, Debug, Default)]
pub struct GcOptions {
    /// Only these runs (kept ones included); empty: every run that is not alive.
    pub run_ids: Vec<String>,
    /// Never this run (the run doing the collecting).
    pub except: Option<String>,
    /// Protected namespaces whose labelled objects may go.
    pub allow_namespaces: Vec<String>,
    /// Only say what would be deleted.
    pub dry_run: bool,
    /// How long to wait for deleted namespaces to disappear.
    pub wait: Duration,
}

/// One labelled object found.
#[derive(Clone, Debug)]
struct Found {
    resource: ApiResource,
    namespace: Option<String>,
    name: String,
    created: Option<SystemTime>,
}

impl Found {
    fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.resource.kind, self.name),
            None => format!("{} {}", self.resource.kind, self.name),
        }
    }
}

/// What gc did about one run in one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunVerdict {
    /// Its objects were deleted (or would be, with `--dry-run`).
    Collected(Vec<String>),
    /// It is alive: left alone.
    Live,
    /// It was kept with `--keep`: left alone.
    Kept,
    /// It has no Lease and its objects are recent (a run starting, or the doctor): left alone.
    Recent,
}

/// What gc did in one cluster.
#[derive(Clone, Debug, Default)]
pub struct GcCluster {
    /// Logical name.
    pub cluster: String,
    /// Per run id.
    pub runs: BTreeMap<String, RunVerdict>,
    /// What could not be done.
    pub problems: Vec<String>,
}

/// Collects in every cluster of `registry`, in parallel.
pub async fn gc(registry: &ClusterRegistry, opts: &GcOptions) -> Vec<GcCluster> {
    join_all(registry.iter().map(|h| gc_cluster(h, opts))).await
}

async fn gc_cluster(h: &ClusterHandle, opts: &GcOptions) -> GcCluster {
    let mut out = GcCluster {
        cluster: h.name.to_string(),
        ..GcCluster::default()
    };
    let leases = match leases(&h.client).await {
        Ok(l) => l,
        Err(e) => {
            out.problems
                .push(format!("cannot list the runs' Leases: {e}"));
            return out;
        }
    };
    let found = match labelled(&h.client).await {
        Ok(f) => f,
        Err(e) => {
            out.problems
                .push(format!("cannot list labelled objects: {e}"));
            return out;
        }
    };
    let mut runs: BTreeSet<String> = found.keys().cloned().collect();
    runs.extend(leases.keys().cloned());
    let (now, here) = (SystemTime::now(), hostname());
    for run in runs {
        if opts.except.as_deref() == Some(run.as_str())
            || (!opts.run_ids.is_empty() && !opts.run_ids.contains(&run))
        {
            continue;
        }
        let objects = found.get(&run).cloned().unwrap_or_default();
        let state = leases
            .get(&run)
            .map(|l| liveness(l, now, &here, &process_alive));
        let verdict = match state {
            Some(Liveness::Live) => RunVerdict::Live,
            Some(Liveness::Kept) if !opts.run_ids.contains(&run) => RunVerdict::Kept,
            None if objects
                .iter()
                .any(|o| o.created.is_none_or(|c| c + SKEW_ALLOWANCE > now)) =>
            {
                RunVerdict::Recent
            }
            _ => {
                let lease = leases.contains_key(&run);
                let (gone, problems) = collect(h, &run, &objects, lease, opts).await;
                out.problems.extend(problems);
                RunVerdict::Collected(gone)
            }
        };
        out.runs.insert(run, verdict);
    }
    out
}

/// Run id → its Lease.
async fn leases(client: &Client) -> Result<BTreeMap<String, Lease>, kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let list = api.list(&ListParams::default().labels(RUN_LABEL)).await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|l| Some((l.labels().get(RUN_LABEL)?.clone(), l)))
        .collect())
}

/// Run id → objects carrying its label (every listable resource; owned objects and the
/// runs' Leases left out).
async fn labelled(client: &Client) -> Result<BTreeMap<String, Vec<Found>>, kube::Error> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut resources = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if caps.supports_operation(verbs::LIST) && caps.supports_operation(verbs::DELETE) {
                resources.push((ar, caps.scope == Scope::Namespaced));
            }
        }
    }
    let lists = resources.into_iter().map(|(ar, _)| {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        async move {
            let items = api.list(&ListParams::default().labels(RUN_LABEL)).await;
            (ar, items)
        }
    });
    let mut out: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for (ar, items) in join_all(lists).await {
        let items = match items {
            Ok(l) => l.items,
            // A resource this identity may not list cannot hold objects we created.
            Err(kube::Error::Api(s)) if s.code == 403 || s.code == 404 || s.code == 405 => continue,
            Err(e) => return Err(e),
        };
        for o in items {
            let lease = ar.kind == "Lease" && o.namespace().as_deref() == Some(LEASE_NAMESPACE);
            if lease || !o.owner_references().is_empty() {
                continue;
            }
            let Some(run) = o.labels().get(RUN_LABEL).cloned() else {
                continue;
            };
            out.entry(run).or_default().push(Found {
                resource: ar.clone(),
                namespace: o.namespace(),
                name: o.name_any(),
                created: o.creation_timestamp().map(|t| SystemTime::from(t.0)),
            });
        }
    }
    Ok(out)
}

/// Deletes a run's objects: namespaces first (their content goes with them), then what lies
/// outside them, then its Lease; waits for the namespaces to go.
async fn collect(
    h: &ClusterHandle,
    run: &str,
    objects: &[Found],
    lease: bool,
    opts: &GcOptions,
) -> (Vec<String>, Vec<String>) {
    let protected = |ns: &str| {
        PROTECTED_NAMESPACES.contains(&ns) && !opts.allow_namespaces.iter().any(|a| a == ns)
    };
    let namespaces: Vec<&Found> = objects
        .iter()
        .filter(|o| o.resource.kind == "Namespace" && o.resource.group.is_empty())
        .filter(|o| !protected(&o.name))
        .collect();
    let doomed: BTreeSet<&str> = namespaces.iter().map(|o| o.name.as_str()).collect();
    let rest: Vec<&Found> = objects
        .iter()
        .filter(|o| !(o.resource.kind == "Namespace" && o.resource.group.is_empty()))
        .filter(|o| {
            o.namespace
                .as_deref()
                .is_none_or(|ns| !doomed.contains(ns) && !protected(ns))
        })
        .collect();
    let mut gone = Vec::new();
    let mut problems = Vec::new();
    for o in namespaces.iter().chain(rest.iter()) {
        gone.push(o.describe());
        if opts.dry_run {
            continue;
        }
        if let Err(e) = delete(&h.client, o).await {
            problems.push(format!("run {run}: cannot delete {}: {e}", o.describe()));
        }
    }
    if lease {
        gone.push(format!("Lease {LEASE_NAMESPACE}/{}", lease_name(run)));
        if !opts.dry_run {
            let api: Api<Lease> = Api::namespaced(h.client.clone(), LEASE_NAMESPACE);
            if let Err(e) = api.delete(&lease_name(run), &DeleteParams::default()).await
                && !matches!(e, kube::Error::Api(ref s) if s.code == 404)
            {
                problems.push(format!("run {run}: cannot delete its Lease: {e}"));
            }
        }
    }
    if !opts.dry_run {
        for o in namespaces {
            let api: Api<DynamicObject> = Api::all_with(h.client.clone(), &o.resource);
            let absent = |x: Option<&DynamicObject>| x.is_none();
            let wait = kube::runtime::wait::await_condition(api, &o.name, absent);
            if tokio::time::timeout(opts.wait, wait).await.is_err() {
                problems.push(format!(
                    "run {run}: Namespace {} still exists {} after delete (finalizers?)",
                    o.name,
                    crate::duration::human(opts.wait)
                ));
            }
        }
    }
    (gone, problems)
}

async fn delete(client: &Client, o: &Found) -> Result<(), kube::Error> {
    use backon::Retryable;
    let api: Api<DynamicObject> = match &o.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &o.resource),
        None => Api::all_with(client.clone(), &o.resource),
    };
    let dp = DeleteParams::background();
    let res = (|| api.delete(&o.name, &dp))
        .retry(crate::retry::backoff())
        .when(crate::retry::transient)
        .await;
    match res {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}
