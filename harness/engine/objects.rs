//! Objects on clusters: multi-document manifests after templating, API discovery (cached
//! per cluster and kind), server-side apply with the run label, deletes that wait until
//! the object is gone. Everything the harness creates is recorded for cleanup.

use std::time::Duration;

use backon::Retryable;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use super::FIELD_MANAGER;
use super::context::Ctx;
use super::error::StepError;
use super::ledger::Created;

/// Backoff for transient API errors (the harness-wide pace).
pub(super) use crate::retry::backoff;

/// Whether an API error is worth retrying (the harness-wide rule).
pub(super) use crate::retry::transient;

pub(super) use super::error::status_code;

/// Where one object lives, resolved.
pub(super) struct Target {
    /// The API to use (namespaced or cluster-wide).
    pub api: Api<DynamicObject>,
    /// Resource.
    pub resource: ApiResource,
    /// Namespace, when namespaced.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl Ctx {
    /// Resolves where `obj` goes in `cluster`: namespaced objects without a namespace go to
    /// the run's namespace; protected namespaces are refused unless allowed.
    pub async fn target(
        &self,
        cluster: &str,
        api_version: &str,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Target, StepError> {
        let (client, resource, namespaced) =
            self.clusters.resolve(cluster, api_version, kind).await?;
        let ns = namespaced.then(|| namespace.unwrap_or(&self.id.namespace).to_string());
        let touched = if kind == "Namespace" && api_version == "v1" {
            Some(name)
        } else {
            ns.as_deref()
        };
        if let Some(t) = touched {
            self.check_namespace(t)?;
        }
        let api = match &ns {
            Some(ns) => Api::namespaced_with(client, ns, &resource),
            None => Api::all_with(client, &resource),
        };
        Ok(Target {
            api,
            resource,
            namespace: ns,
            name: name.to_string(),
        })
    }

    /// Fails for kube-system, gke-mcs and default unless `--allow-namespace` names them.
    pub fn check_namespace(&self, ns: &str) -> Result<(), StepError> {
        let protected = super::PROTECTED_NAMESPACES.contains(&ns);
        if protected && !self.cfg.allow_namespaces.iter().any(|a| a == ns) {
            return Err(StepError::Protected(ns.to_string()));
        }
        Ok(())
    }

    /// Server-side applies `obj` in `cluster` with the run label; records it for cleanup
    /// when it did not exist before. Returns the object as stored.
    pub async fn apply_object(&self, cluster: &str, mut obj: Value) -> Result<Value, StepError> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
        let t = self
            .target(cluster, &api_version, &kind, &name, ns.as_deref())
            .await?;
        if let Some(ns) = &t.namespace {
            obj["metadata"]["namespace"] = Value::from(ns.as_str());
        }
        obj["metadata"]["labels"][super::RUN_LABEL] = Value::from(self.id.run_id.as_str());
        let existed = (|| t.api.get_opt(&name))
            .retry(backoff())
            .when(transient)
            .await
            .map_err(|e| StepError::api(format!("get {kind} {name} in {cluster}"), e))?
            .is_some();
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let body = Patch::Apply(&obj);
        let stored = (|| t.api.patch(&name, &params, &body))
            .retry(backoff())
            .when(transient)
            .await
            .map_err(|e| StepError::api(format!("apply {kind} {name} in {cluster}"), e))?;
        if !existed {
            if kind == "Namespace" && api_version == "v1" {
                self.ledger.own_namespace(cluster, &name);
            } else {
                self.ledger.created(Created {
                    cluster: cluster.to_string(),
                    resource: t.resource.clone(),
                    namespace: t.namespace.clone(),
                    name: stored.name_any(),
                });
            }
        }
        Ok(serde_json::to_value(stored)?)
    }

    /// Deletes an object and waits until it is gone (finalizers included), bounded by
    /// `timeout`. `missing_ok` makes an absent object a success.
    pub async fn delete_object(
        &self,
        t: &Target,
        cluster: &str,
        timeout: Duration,
        missing_ok: bool,
    ) -> Result<(), StepError> {
        let what = format!("{} {} in {cluster}", t.resource.kind, t.name);
        let dp = DeleteParams::background();
        let res = (|| t.api.delete(&t.name, &dp))
            .retry(backoff())
            .when(transient)
            .await;
        match res {
            Ok(_) => {}
            Err(e) if status_code(&e) == Some(404) && missing_ok => return Ok(()),
            Err(e) => return Err(StepError::api(format!("delete {what}"), e)),
        }
        wait_gone(&t.api, &t.name, timeout)
            .await
            .map_err(|message| StepError::NotGone { what, message })
    }
}

/// Waits (watch-driven) until `name` is gone, re-watching after transient errors (the
/// watch's initial list may fail under API trouble) until `timeout`.
pub(super) async fn wait_gone<K>(api: &Api<K>, name: &str, timeout: Duration) -> Result<(), String>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(20);
    loop {
        let absent = |o: Option<&K>| o.is_none();
        let gone = kube::runtime::wait::await_condition(api.clone(), name, absent);
        match tokio::time::timeout_at(deadline, gone).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) if tokio::time::Instant::now() + pause < deadline => {
                tracing::debug!(name, "re-watching after: {e}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Ok(Err(e)) => return Err(format!("waiting for it to go: {e}")),
            Err(_) => {
                return Err(format!(
                    "still exists {} after delete (finalizers?)",
                    crate::duration::human(timeout)
                ));
            }
        }
    }
}
