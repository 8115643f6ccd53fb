//! Cleanup: deletes what the run created — objects outside its namespaces first (newest
//! first), then its namespaces — and waits until they are gone. Runs after success,
//! failure, timeout and cancellation; `--keep` skips it.

use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject};

use super::context::Ctx;
use super::ledger::Created;
use super::objects::{backoff, status_code, transient, wait_gone};
use backon::Retryable;

/// How long cleanup waits for a namespace (and everything in it) to disappear.
const NAMESPACE_GONE: Duration = Duration::from_secs(120);
/// How long cleanup waits for one object outside the namespaces.
const OBJECT_GONE: Duration = Duration::from_secs(30);

/// What cleanup did.
pub(super) struct Cleaned {
    /// Objects and namespaces deleted.
    pub deleted: usize,
    /// Problems, naming the objects left behind.
    pub problems: Vec<String>,
    /// Wall time.
    pub duration: Duration,
}

/// Deletes everything the run created and waits until it is gone.
pub(super) async fn cleanup(ctx: &Ctx) -> Cleaned {
    let started = Instant::now();
    let namespaces = ctx.ledger.own_namespaces();
    let outside: Vec<Created> = ctx
        .ledger
        .created_objects()
        .into_iter()
        .rev()
        .filter(|c| {
            !c.namespace
                .as_ref()
                .is_some_and(|ns| namespaces.contains(&(c.cluster.clone(), ns.clone())))
        })
        .collect();
    let mut problems = Vec::new();
    let mut deleted = 0;
    for c in &outside {
        match delete_one(ctx, c).await {
            Ok(true) => deleted += 1,
            Ok(false) => {}
            Err(p) => problems.push(p),
        }
    }
    let results = join_all(
        namespaces
            .iter()
            .map(|(c, ns)| delete_namespace(ctx, c, ns)),
    )
    .await;
    for r in results {
        match r {
            Ok(()) => deleted += 1,
            Err(p) => problems.push(p),
        }
    }
    Cleaned {
        deleted,
        problems,
        duration: started.elapsed(),
    }
}

async fn delete_one(ctx: &Ctx, c: &Created) -> Result<bool, String> {
    let client = ctx.clusters.client(&c.cluster).map_err(|e| e.to_string())?;
    let api: Api<DynamicObject> = match &c.namespace {
        Some(ns) => Api::namespaced_with(client, ns, &c.resource),
        None => Api::all_with(client, &c.resource),
    };
    let dp = DeleteParams::background();
    let res = (|| api.delete(&c.name, &dp))
        .retry(backoff())
        .when(transient)
        .await;
    match res {
        Ok(_) => {}
        Err(e) if status_code(&e) == Some(404) => return Ok(false),
        Err(e) => return Err(format!("{}: delete failed: {e}", c.describe())),
    }
    wait_gone(&api, &c.name, OBJECT_GONE)
        .await
        .map(|()| true)
        .map_err(|e| format!("{}: {e}", c.describe()))
}

async fn delete_namespace(ctx: &Ctx, cluster: &str, ns: &str) -> Result<(), String> {
    let what = format!("Namespace {ns} in {cluster}");
    let client = ctx.clusters.client(cluster).map_err(|e| e.to_string())?;
    let api = Api::<Namespace>::all(client);
    let dp = DeleteParams::background();
    let res = (|| api.delete(ns, &dp))
        .retry(backoff())
        .when(transient)
        .await;
    match res {
        Ok(_) => {}
        Err(e) if status_code(&e) == Some(404) => return Ok(()),
        Err(e) => return Err(format!("{what}: delete failed: {e}")),
    }
    wait_gone(&api, ns, NAMESPACE_GONE)
        .await
        .map_err(|e| format!("{what}: {e}"))
}
