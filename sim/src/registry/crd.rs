//! Custom resources: turning a CustomResourceDefinition object into served definitions.

use serde_json::Value;

use super::{Conversion, ResourceDef};
use crate::store::ResKey;
use crate::table::PrinterColumn;

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The served versions of a CRD as resource definitions. All versions share one storage key
/// (`plural.group`); conversion strategy `None` (only apiVersion changes), as Kubernetes does
/// for CRDs without a conversion webhook.
pub fn defs_from_crd(crd: &Value) -> Vec<ResourceDef> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or_default();
    let kind = names["kind"].as_str().unwrap_or_default();
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Vec::new();
    }
    let singular = names["singular"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
        .unwrap_or_else(|| kind.to_lowercase());
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let storage = ResKey::new(group, plural);
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    versions
        .iter()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .filter_map(|v| {
            let version = v["name"].as_str()?;
            let columns: Option<Vec<PrinterColumn>> = v
                .get("additionalPrinterColumns")
                .and_then(|c| serde_json::from_value(c.clone()).ok());
            Some(ResourceDef {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
                plural: plural.into(),
                singular: singular.clone(),
                short_names: strings(names.get("shortNames")),
                categories: strings(names.get("categories")),
                namespaced,
                status: v["subresources"].get("status").is_some(),
                scale: v["subresources"].get("scale").is_some(),
                builtin: false,
                storage: storage.clone(),
                conversion: Conversion::None,
                columns,
                extra_subresources: Vec::new(),
                schema: v["schema"]
                    .get("openAPIV3Schema")
                    .filter(|s| s.is_object())
                    .map(|s| std::sync::Arc::new(s.clone())),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn served_versions_become_definitions() {
        let crd = json!({"spec": {"group": "net.gke.io", "scope": "Namespaced",
            "names": {"plural": "serviceimports", "kind": "ServiceImport", "shortNames": ["svcim"]},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                 "additionalPrinterColumns": [{"name": "Type", "type": "string", "jsonPath": ".spec.type"}]},
                {"name": "v1alpha1", "served": false, "storage": false}]}});
        let defs = defs_from_crd(&crd);
        assert_eq!(defs.len(), 1);
        let d = &defs[0];
        assert_eq!(d.singular, "serviceimport");
        assert!(d.status && d.namespaced && !d.builtin);
        assert_eq!(d.short_names, vec!["svcim"]);
        assert_eq!(d.columns.as_ref().map(Vec::len), Some(1));
        assert_eq!(d.storage, ResKey::new("net.gke.io", "serviceimports"));
    }
}
