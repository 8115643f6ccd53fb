//! Schemas of the built-in kinds, generated once from `k8s-openapi`'s `schemars`
//! implementations (the upstream OpenAPI definitions: names, descriptions, formats,
//! `x-kubernetes-*` markers). Fact: these are generated from the same
//! `api/openapi-spec` kube-apiserver serves, at the version `k8s-openapi`'s `latest`
//! feature selects.

use std::collections::HashMap;
use std::sync::OnceLock;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// Every built-in schema, by upstream definition name, and the root of each served kind.
pub struct BuiltinSchemas {
    /// `components.schemas` of the upstream OpenAPI v3 documents.
    pub components: Map<String, Value>,
    roots: HashMap<(String, String, String), String>,
}

impl BuiltinSchemas {
    /// The definition name of kind `group/version/kind`, e.g. `io.k8s.api.apps.v1.Deployment`.
    pub fn root(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.roots
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .map(String::as_str)
    }

    /// Every (group, version, kind) with a schema.
    pub fn kinds(&self) -> impl Iterator<Item = (&(String, String, String), &String)> {
        self.roots.iter()
    }
}

/// The built-in schemas (generated on first use).
pub fn builtin_schemas() -> &'static BuiltinSchemas {
    static SCHEMAS: OnceLock<BuiltinSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(generate)
}

fn generate() -> BuiltinSchemas {
    use k8s_openapi::api::{apps, batch, coordination, core, discovery, events, rbac};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
    let mut generator = SchemaSettings::openapi3()
        .with(|s| s.meta_schema = None)
        .into_generator();
    let mut roots = HashMap::new();
    let mut add = |g: &str, v: &str, k: &str, name: String| {
        roots.insert((g.to_string(), v.to_string(), k.to_string()), name);
    };
    macro_rules! kinds {
        ($($g:literal $v:literal $k:literal => $t:ty),* $(,)?) => {$(
            generator.subschema_for::<$t>();
            add($g, $v, $k, <$t as JsonSchema>::schema_name().into_owned());
        )*};
    }
    kinds! {
        "" "v1" "Namespace" => core::v1::Namespace,
        "" "v1" "Pod" => core::v1::Pod,
        "" "v1" "Service" => core::v1::Service,
        "" "v1" "Endpoints" => core::v1::Endpoints,
        "" "v1" "ConfigMap" => core::v1::ConfigMap,
        "" "v1" "Secret" => core::v1::Secret,
        "" "v1" "ServiceAccount" => core::v1::ServiceAccount,
        "" "v1" "Event" => core::v1::Event,
        "" "v1" "Node" => core::v1::Node,
        "apps" "v1" "Deployment" => apps::v1::Deployment,
        "apps" "v1" "ReplicaSet" => apps::v1::ReplicaSet,
        "apps" "v1" "StatefulSet" => apps::v1::StatefulSet,
        "batch" "v1" "Job" => batch::v1::Job,
        "batch" "v1" "CronJob" => batch::v1::CronJob,
        "discovery.k8s.io" "v1" "EndpointSlice" => discovery::v1::EndpointSlice,
        "coordination.k8s.io" "v1" "Lease" => coordination::v1::Lease,
        "events.k8s.io" "v1" "Event" => events::v1::Event,
        "apiextensions.k8s.io" "v1" "CustomResourceDefinition" => apiext::CustomResourceDefinition,
        "rbac.authorization.k8s.io" "v1" "Role" => rbac::v1::Role,
        "rbac.authorization.k8s.io" "v1" "ClusterRole" => rbac::v1::ClusterRole,
        "rbac.authorization.k8s.io" "v1" "RoleBinding" => rbac::v1::RoleBinding,
        "rbac.authorization.k8s.io" "v1" "ClusterRoleBinding" => rbac::v1::ClusterRoleBinding,
        "autoscaling" "v1" "Scale" => k8s_openapi::api::autoscaling::v1::Scale,
    }
    let mut components = generator.take_definitions(true);
    // `apiextensions.v1.JSON` (CRD `default`, `example`, `enum` items) holds any JSON value;
    // k8s-openapi declares it `type: object`, the upstream document declares no type.
    if let Some(Value::Object(j)) =
        components.get_mut("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON")
    {
        j.remove("type");
        j.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
    }
    // Like the upstream documents: each kind's definition names its group/version/kind.
    for ((g, v, k), name) in &roots {
        if let Some(Value::Object(def)) = components.get_mut(name) {
            def.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": g, "version": v, "kind": k}]),
            );
        }
    }
    BuiltinSchemas { components, roots }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_schema_has_upstream_names_and_formats() {
        let s = builtin_schemas();
        let name = s.root("apps", "v1", "Deployment").unwrap();
        assert_eq!(name, "io.k8s.api.apps.v1.Deployment");
        let spec = &s.components["io.k8s.api.apps.v1.DeploymentSpec"];
        assert_eq!(spec["properties"]["replicas"]["format"], "int32");
        assert!(s.components[name]["x-kubernetes-group-version-kind"][0]["kind"] == "Deployment");
        let json = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON";
        assert!(s.components[json].get("type").is_none());
    }
}
