//! RFC 6902 JSON patch and RFC 7386 JSON merge patch, with Kubernetes' status
//! mapping: undecodable bodies are `Malformed` (400), patches that decode but
//! cannot be applied are `Invalid` (422).

use serde_json::Value;

use super::PatchError;

/// Applies an RFC 6902 JSON patch (a JSON array of operations) to `live`.
pub(crate) fn json_patch(live: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PatchError::malformed(format!("invalid json patch body: {e}")))?;
    if !value.is_array() {
        return Err(PatchError::malformed(
            "json patch must be a json array of operations",
        ));
    }
    let patch: json_patch::Patch = serde_json::from_value(value)
        .map_err(|e| PatchError::malformed(format!("invalid json patch operation: {e}")))?;
    let mut doc = live.clone();
    json_patch::patch(&mut doc, &patch).map_err(|e| PatchError::invalid(e.to_string()))?;
    if !doc.is_object() {
        return Err(PatchError::invalid(
            "json patch must leave a json object at the document root",
        ));
    }
    Ok(doc)
}

/// Applies an RFC 7386 JSON merge patch (a JSON object) to `live`.
pub(crate) fn merge_patch(live: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| PatchError::malformed(format!("invalid merge patch body: {e}")))?;
    if !patch.is_object() {
        return Err(PatchError::malformed("merge patch must be a json object"));
    }
    let mut doc = live.clone();
    json_patch::merge(&mut doc, &patch);
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"app": "web", "tier": "fe"}},
            "spec": {"containers": [{"name": "a", "image": "nginx"}]}
        })
    }

    #[test]
    fn json_patch_applies_operations_in_order() {
        let body = br#"[
            {"op": "test", "path": "/metadata/labels/app", "value": "web"},
            {"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:2"},
            {"op": "add", "path": "/spec/containers/-", "value": {"name": "b", "image": "busybox"}},
            {"op": "remove", "path": "/metadata/labels/tier"},
            {"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/copied"},
            {"op": "move", "from": "/metadata/labels/copied", "path": "/metadata/labels/moved"}
        ]"#;
        let out = json_patch(&pod(), body).unwrap();
        assert_eq!(out["spec"]["containers"][0]["image"], "nginx:2");
        assert_eq!(out["spec"]["containers"][1]["name"], "b");
        assert_eq!(
            out["metadata"]["labels"],
            json!({"app": "web", "moved": "p"})
        );
    }

    #[test]
    fn json_patch_failed_test_is_invalid_and_leaves_nothing_applied() {
        let body = br#"[{"op": "test", "path": "/metadata/name", "value": "other"}]"#;
        let err = json_patch(&pod(), body).unwrap_err();
        assert!(matches!(err, PatchError::Invalid { .. }), "{err:?}");
    }

    #[test]
    fn json_patch_missing_path_is_invalid() {
        let body = br#"[{"op": "remove", "path": "/metadata/annotations/x"}]"#;
        let err = json_patch(&pod(), body).unwrap_err();
        assert!(matches!(err, PatchError::Invalid { .. }), "{err:?}");
    }

    #[test]
    fn json_patch_bodies_that_do_not_decode_are_malformed() {
        for body in [
            &b"{\"op\": \"add\"}"[..],
            b"not json",
            b"[{\"op\": \"frobnicate\", \"path\": \"/a\"}]",
        ] {
            let err = json_patch(&pod(), body).unwrap_err();
            assert!(matches!(err, PatchError::Malformed { .. }), "{err:?}");
        }
    }

    #[test]
    fn json_patch_replacing_root_with_scalar_is_invalid() {
        let body = br#"[{"op": "replace", "path": "", "value": 3}]"#;
        let err = json_patch(&pod(), body).unwrap_err();
        assert!(matches!(err, PatchError::Invalid { .. }), "{err:?}");
    }

    #[test]
    fn merge_patch_merges_maps_deletes_nulls_and_replaces_lists() {
        let body = br#"{
            "metadata": {"labels": {"tier": null, "new": "x"}},
            "spec": {"containers": [{"name": "z"}]}
        }"#;
        let out = merge_patch(&pod(), body).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"app": "web", "new": "x"}));
        assert_eq!(out["spec"]["containers"], json!([{"name": "z"}]));
        assert_eq!(out["metadata"]["name"], "p");
    }

    #[test]
    fn merge_patch_requires_an_object() {
        for body in [&b"[1]"[..], b"\"x\"", b"{"] {
            let err = merge_patch(&pod(), body).unwrap_err();
            assert!(matches!(err, PatchError::Malformed { .. }), "{err:?}");
        }
    }
}
