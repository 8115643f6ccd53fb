//! Checks the upstream CRDs we generate against kubernetes-sigs/mcs-api's own manifests in
//! `../shared/reference/mcs-api/` (group, names, scope, versions, printer columns, status
//! subresource, and the shape of `spec`/`status`: property names, types, formats, required
//! fields, enums, list types and item limits; descriptions and root fields are not compared).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion, JSONSchemaProps,
    JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};

use super::upstream;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/mcs-api")
}

fn load_reference(file: &str) -> CustomResourceDefinition {
    let dir = reference_dir();
    assert!(
        dir.is_dir(),
        "upstream mcs-api CRDs not found at {}: the reference manifests are expected in \
         ../shared/reference/mcs-api/ beside the repository checkout (see DESIGN.md §4)",
        dir.display()
    );
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read reference CRD {}: {err}", path.display()));
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|err| panic!("cannot parse reference CRD {}: {err}", path.display()))
}

fn list_kind(crd: &CustomResourceDefinition) -> String {
    let names = &crd.spec.names;
    // The apiserver defaults listKind to `<kind>List`; neither side needs to spell it out.
    names
        .list_kind
        .clone()
        .unwrap_or_else(|| format!("{}List", names.kind))
}

fn sorted(values: Option<&Vec<String>>) -> Vec<String> {
    let mut values = values.cloned().unwrap_or_default();
    values.sort();
    values
}

fn versions(crd: &CustomResourceDefinition) -> Vec<(String, bool, bool)> {
    let versions = crd.spec.versions.iter();
    versions
        .map(|v| (v.name.clone(), v.served, v.storage))
        .collect()
}

fn columns(version: &CustomResourceDefinitionVersion) -> Vec<(String, String, String)> {
    let columns = version.additional_printer_columns.iter().flatten();
    columns
        .map(|c| (c.name.clone(), c.type_.clone(), c.json_path.clone()))
        .collect()
}

fn has_status(version: &CustomResourceDefinitionVersion) -> bool {
    version
        .subresources
        .as_ref()
        .is_some_and(|s| s.status.is_some())
}

fn root(version: &CustomResourceDefinitionVersion) -> &JSONSchemaProps {
    let schema = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    schema.unwrap_or_else(|| panic!("version {} has no schema", version.name))
}

fn property<'a>(schema: &'a JSONSchemaProps, name: &str) -> Option<&'a JSONSchemaProps> {
    schema.properties.as_ref().and_then(|p| p.get(name))
}

/// Flattens a schema into `path → "type format required enum list-type keys maxItems"`.
fn shape(path: &str, schema: &JSONSchemaProps, out: &mut BTreeMap<String, String>) {
    let mut d = format!("type={}", schema.type_.as_deref().unwrap_or("-"));
    if let Some(format) = &schema.format {
        d.push_str(&format!(" format={format}"));
    }
    if schema.required.is_some() {
        d.push_str(&format!(" required={:?}", sorted(schema.required.as_ref())));
    }
    if let Some(values) = &schema.enum_ {
        let values: Vec<String> = values.iter().map(|v| v.0.to_string()).collect();
        d.push_str(&format!(" enum={values:?}"));
    }
    if let Some(list_type) = &schema.x_kubernetes_list_type {
        d.push_str(&format!(" list={list_type}"));
    }
    if let Some(keys) = &schema.x_kubernetes_list_map_keys {
        d.push_str(&format!(" keys={keys:?}"));
    }
    let limits = [
        ("maxItems", schema.max_items),
        ("minLength", schema.min_length),
        ("maxLength", schema.max_length),
    ];
    for (keyword, value) in limits {
        if let Some(value) = value {
            d.push_str(&format!(" {keyword}={value}"));
        }
    }
    if let Some(minimum) = schema.minimum {
        d.push_str(&format!(" minimum={minimum}"));
    }
    if let Some(pattern) = &schema.pattern {
        d.push_str(&format!(" pattern={pattern}"));
    }
    out.insert(path.to_string(), d);
    for (name, child) in schema.properties.iter().flatten() {
        shape(&format!("{path}.{name}"), child, out);
    }
    if let Some(JSONSchemaPropsOrArray::Schema(items)) = &schema.items {
        shape(&format!("{path}[]"), items, out);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = &schema.additional_properties {
        shape(&format!("{path}{{}}"), values, out);
    }
}

fn shape_of(version: &CustomResourceDefinitionVersion, field: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(schema) = property(root(version), field) {
        shape(field, schema, &mut out);
    }
    out
}

/// `path: ours != reference` for every path whose shape differs (or exists on one side).
fn shape_diff(
    ours: &BTreeMap<String, String>,
    reference: &BTreeMap<String, String>,
) -> Vec<String> {
    let paths: std::collections::BTreeSet<&String> = ours.keys().chain(reference.keys()).collect();
    let missing = "(absent)".to_string();
    paths
        .into_iter()
        .filter_map(|path| {
            let (a, b) = (
                ours.get(path).unwrap_or(&missing),
                reference.get(path).unwrap_or(&missing),
            );
            (a != b).then(|| format!("{path}: ours `{a}` != reference `{b}`"))
        })
        .collect()
}

fn property_names(version: &CustomResourceDefinitionVersion, field: &str) -> Vec<String> {
    let schema = property(root(version), field);
    schema
        .and_then(|s| s.properties.as_ref())
        .map_or_else(Vec::new, |p| p.keys().cloned().collect())
}

fn assert_same_crd(ours: &CustomResourceDefinition, reference: &CustomResourceDefinition) {
    let name = reference.metadata.name.clone().unwrap_or_default();
    assert_eq!(ours.metadata.name, reference.metadata.name);
    assert_eq!(ours.spec.group, reference.spec.group, "{name}: group");
    assert_eq!(ours.spec.scope, reference.spec.scope, "{name}: scope");
    let (a, b) = (&ours.spec.names, &reference.spec.names);
    assert_eq!(a.kind, b.kind, "{name}: kind");
    assert_eq!(a.plural, b.plural, "{name}: plural");
    assert_eq!(a.singular, b.singular, "{name}: singular");
    assert_eq!(list_kind(ours), list_kind(reference), "{name}: listKind");
    let (ours_short, ref_short) = (a.short_names.as_ref(), b.short_names.as_ref());
    assert_eq!(sorted(ours_short), sorted(ref_short), "{name}: shortNames");
    assert_eq!(
        versions(ours),
        versions(reference),
        "{name}: versions (name, served, storage)"
    );
    for (v, r) in ours.spec.versions.iter().zip(&reference.spec.versions) {
        let at = format!("{name} {}", r.name);
        assert_eq!(
            columns(v),
            columns(r),
            "{at}: printer columns (name, type, jsonPath)"
        );
        assert_eq!(has_status(v), has_status(r), "{at}: status subresource");
        for field in ["spec", "status"] {
            let (mine, theirs) = (property_names(v, field), property_names(r, field));
            assert_eq!(mine, theirs, "{at}: {field} property names");
            let diff = shape_diff(&shape_of(v, field), &shape_of(r, field));
            assert!(
                diff.is_empty(),
                "{at}: {field} schema differs:\n{}",
                diff.join("\n")
            );
        }
    }
}

#[test]
fn upstream_service_export_crd_matches_mcs_api() {
    let reference = load_reference("multicluster.x-k8s.io_serviceexports.yaml");
    assert_same_crd(&upstream::service_export_crd(), &reference);
}

#[test]
fn upstream_service_import_crd_matches_mcs_api() {
    let reference = load_reference("multicluster.x-k8s.io_serviceimports.yaml");
    assert_same_crd(&upstream::service_import_crd(), &reference);
}

#[test]
fn upstream_crds_leave_spec_optional_like_mcs_api() {
    for crd in [
        upstream::service_export_crd(),
        upstream::service_import_crd(),
    ] {
        for version in &crd.spec.versions {
            assert_eq!(root(version).required, None, "{}", version.name);
        }
    }
}
