//! Writes with server-side apply under the importer's field manager (idempotent: applying
//! the same intent twice changes nothing), deletes that tolerate absence, and Warning Events.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};
use serde_json::Value;

/// Field manager of every importer write.
pub const MANAGER: &str = "gke-mcs-importer";

fn api(client: &Client, ar: &ApiResource, ns: &str) -> Api<DynamicObject> {
    if ns.is_empty() {
        Api::all_with(client.clone(), ar)
    } else {
        Api::namespaced_with(client.clone(), ns, ar)
    }
}

/// Applies `body` (a full intent: apiVersion, kind, metadata.name) to `ns/name`.
pub async fn apply(
    client: &Client,
    ar: &ApiResource,
    ns: &str,
    name: &str,
    body: &Value,
) -> kube::Result<DynamicObject> {
    api(client, ar, ns)
        .patch(name, &apply_params(), &Patch::Apply(body))
        .await
}

/// Applies `body` to the status subresource.
pub async fn apply_status(
    client: &Client,
    ar: &ApiResource,
    ns: &str,
    name: &str,
    body: &Value,
) -> kube::Result<DynamicObject> {
    api(client, ar, ns)
        .patch_status(name, &apply_params(), &Patch::Apply(body))
        .await
}

/// Server-side apply as the importer's field manager, taking over conflicting fields.
fn apply_params() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

/// Reads `ns/name`, None when absent.
pub async fn get(
    client: &Client,
    ar: &ApiResource,
    ns: &str,
    name: &str,
) -> kube::Result<Option<DynamicObject>> {
    api(client, ar, ns).get_opt(name).await
}

/// Deletes `ns/name`; absent is fine.
pub async fn delete(client: &Client, ar: &ApiResource, ns: &str, name: &str) -> kube::Result<()> {
    match api(client, ar, ns)
        .delete(name, &DeleteParams::background())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether a failed request says nothing about the object (the crate-wide rule, see
/// [`crate::transient`]). Acting on such a read as if the object were unreadable would
/// withdraw endpoints that are still there; the caller retries instead.
pub use crate::transient::transient;

/// The ApiResource of a core/v1 kind.
pub fn core(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// An event recorder for one cluster (repeated events become a series).
pub fn recorder(client: &Client) -> Recorder {
    let reporter = Reporter {
        controller: MANAGER.into(),
        instance: Some(format!("{MANAGER}-{}", std::process::id())),
    };
    Recorder::new(client.clone(), reporter)
}

/// Publishes a Warning Event about `obj`.
pub async fn warn(
    recorder: &Recorder,
    obj: &DynamicObject,
    ar: &ApiResource,
    reason: &str,
    note: String,
) {
    let reference = ObjectReference {
        api_version: Some(ar.api_version.clone()),
        kind: Some(ar.kind.clone()),
        name: obj.meta().name.clone(),
        namespace: obj.meta().namespace.clone(),
        uid: obj.meta().uid.clone(),
        resource_version: obj.meta().resource_version.clone(),
        ..Default::default()
    };
    let ev = Event {
        type_: EventType::Warning,
        reason: reason.into(),
        note: Some(note),
        action: "Import".into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&ev, &reference).await {
        tracing::warn!(error = %e, "failed to publish event");
    }
}
