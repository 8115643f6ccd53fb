//! Read-only helpers over an object's `metadata`, and timestamps in Kubernetes' format.

use serde_json::Value;

/// Borrowed view of the metadata fields the store and controllers need.
pub struct Meta<'a>(pub &'a Value);

impl<'a> Meta<'a> {
    fn field(&self, name: &str) -> Option<&'a Value> {
        self.0.get("metadata").and_then(|m| m.get(name))
    }

    fn str_field(&self, name: &str) -> &'a str {
        self.field(name).and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.name`, empty when absent.
    pub fn name(&self) -> &'a str {
        self.str_field("name")
    }

    /// `metadata.namespace`, empty when absent.
    pub fn namespace(&self) -> &'a str {
        self.str_field("namespace")
    }

    /// `metadata.uid`, empty when absent.
    pub fn uid(&self) -> &'a str {
        self.str_field("uid")
    }

    /// `metadata.resourceVersion`, empty when absent.
    pub fn resource_version(&self) -> &'a str {
        self.str_field("resourceVersion")
    }

    /// `metadata.deletionTimestamp` is set.
    pub fn deleting(&self) -> bool {
        self.field("deletionTimestamp")
            .is_some_and(|v| !v.is_null())
    }

    /// `metadata.finalizers` as strings.
    pub fn finalizers(&self) -> Vec<&'a str> {
        self.field("finalizers")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// `metadata.labels` as a JSON map.
    pub fn labels(&self) -> Option<&'a serde_json::Map<String, Value>> {
        self.field("labels").and_then(Value::as_object)
    }

    /// The uids named in `metadata.ownerReferences`.
    pub fn owner_uids(&self) -> Vec<&'a str> {
        self.field("ownerReferences")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("uid").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Current time as an RFC 3339 timestamp with second precision (`metav1.Time`).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_metadata_fields() {
        let v = json!({"metadata": {"name": "a", "namespace": "n", "uid": "u",
            "finalizers": ["x"], "ownerReferences": [{"uid": "o1"}, {"uid": "o2"}],
            "deletionTimestamp": "2024-01-01T00:00:00Z"}});
        let m = Meta(&v);
        assert_eq!(m.name(), "a");
        assert_eq!(m.namespace(), "n");
        assert_eq!(m.uid(), "u");
        assert_eq!(m.finalizers(), vec!["x"]);
        assert_eq!(m.owner_uids(), vec!["o1", "o2"]);
        assert!(m.deleting());
    }

    #[test]
    fn timestamp_has_kubernetes_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z'));
    }
}
