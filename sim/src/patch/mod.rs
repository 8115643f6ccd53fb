//! Kubernetes PATCH semantics for objects stored as `serde_json::Value`.
//!
//! Implements the four patch content types the API server accepts (JSON patch,
//! JSON merge patch, strategic merge patch and server-side apply) plus the
//! `metadata.managedFields` bookkeeping that Kubernetes performs on every write
//! (structured-merge-diff semantics, simplified where noted in the submodules).

mod apply;
mod fieldset;
mod json;
mod managed;
mod order;
mod schema;
mod strategic;
mod typed;

use serde_json::Value;

pub use apply::server_side_apply;
pub use managed::record_update;

/// Which kind of object is being patched; selects the merge-key schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindContext<'a> {
    /// API group, empty for the core group.
    pub group: &'a str,
    /// API version, e.g. `v1`.
    pub version: &'a str,
    /// Kind, e.g. `Deployment`.
    pub kind: &'a str,
    /// True for Kubernetes built-in types, false for custom resources.
    pub builtin: bool,
}

impl KindContext<'_> {
    /// The `apiVersion` string of this kind (`v1`, `apps/v1`, ...).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The patch flavour of a PATCH request, chosen by its Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 6902 JSON patch (`application/json-patch+json`).
    Json,
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`).
    Merge,
    /// Kubernetes strategic merge patch (`application/strategic-merge-patch+json`).
    StrategicMerge,
    /// Server-side apply (`application/apply-patch+yaml`).
    Apply,
}

impl PatchType {
    /// From a request Content-Type; parameters such as `; charset=utf-8` are ignored.
    /// Returns `None` for unknown types and for `application/apply-patch+cbor`.
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        let media = ct.split(';').next().unwrap_or_default().trim();
        match media.to_ascii_lowercase().as_str() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// Why a patch could not be applied; each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// Body is not valid JSON/YAML for this patch type (HTTP 400).
    #[error("malformed patch: {message}")]
    Malformed {
        /// Human readable reason.
        message: String,
    },
    /// Well-formed but cannot be applied: failed test, missing path, bad directive (HTTP 422).
    #[error("invalid patch: {message}")]
    Invalid {
        /// Human readable reason.
        message: String,
    },
    /// Patch type not supported for this object, e.g. strategic merge on a custom resource (HTTP 415).
    #[error("unsupported patch: {message}")]
    Unsupported {
        /// Human readable reason.
        message: String,
    },
    /// Server-side apply conflicts with other field managers (HTTP 409).
    #[error("{}", conflict_summary(conflicts))]
    Conflict {
        /// One entry per conflicting (manager, field).
        conflicts: Vec<ApplyConflict>,
    },
}

impl PatchError {
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        PatchError::Malformed {
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        PatchError::Invalid {
            message: message.into(),
        }
    }
}

/// One server-side apply conflict, shaped like a Kubernetes `StatusCause`
/// of type `FieldManagerConflict`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyConflict {
    /// Name of the manager that owns the field (e.g. `kubectl-client-side-apply`).
    pub manager: String,
    /// Field path in structured-merge-diff notation, e.g. `.spec.replicas`.
    pub field: String,
    /// Cause message as Kubernetes words it, e.g.
    /// `conflict with "kubectl-client-side-apply" using apps/v1`.
    pub message: String,
}

/// Kubernetes-style summary of apply conflicts (the Status message), grouped
/// by manager for several conflicts like `getConflictMessage` does.
fn conflict_summary(conflicts: &[ApplyConflict]) -> String {
    if let [one] = conflicts {
        return format!(
            "Apply failed with 1 conflict: {}: {}",
            one.message, one.field
        );
    }
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in conflicts {
        match groups.iter_mut().find(|(m, _)| *m == c.message) {
            Some((_, fields)) => fields.push(&c.field),
            None => groups.push((&c.message, vec![&c.field])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(b.0));
    let mut lines = Vec::new();
    for (message, fields) in groups {
        lines.push(format!(
            "{}:",
            message.replacen("conflict ", "conflicts ", 1)
        ));
        lines.extend(fields.iter().map(|f| format!("- {f}")));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// JSON patch, merge patch or strategic merge patch applied to `live`; returns the new object.
/// `PatchType::Apply` is rejected here: apply patches go through [`server_side_apply`].
pub fn apply_patch(
    ctx: &KindContext,
    live: &Value,
    body: &[u8],
    ptype: PatchType,
) -> Result<Value, PatchError> {
    match ptype {
        PatchType::Json => json::json_patch(live, body),
        PatchType::Merge => json::merge_patch(live, body),
        PatchType::StrategicMerge => strategic::strategic_merge_patch(ctx, live, body),
        PatchType::Apply => Err(PatchError::Unsupported {
            message: "apply patches must go through server-side apply".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_map_to_patch_types() {
        let cases = [
            ("application/json-patch+json", Some(PatchType::Json)),
            (
                "application/merge-patch+json; charset=utf-8",
                Some(PatchType::Merge),
            ),
            (
                "application/strategic-merge-patch+json",
                Some(PatchType::StrategicMerge),
            ),
            ("application/apply-patch+yaml", Some(PatchType::Apply)),
            ("Application/Apply-Patch+YAML", Some(PatchType::Apply)),
            ("application/apply-patch+json", Some(PatchType::Apply)),
            ("application/apply-patch+cbor", None),
            ("application/json", None),
            ("", None),
        ];
        for (ct, want) in cases {
            assert_eq!(PatchType::from_content_type(ct), want, "{ct}");
        }
    }

    #[test]
    fn api_version_of_core_and_grouped_kinds() {
        let core = KindContext {
            group: "",
            version: "v1",
            kind: "Pod",
            builtin: true,
        };
        let apps = KindContext {
            group: "apps",
            version: "v1",
            kind: "Deployment",
            builtin: true,
        };
        assert_eq!(core.api_version(), "v1");
        assert_eq!(apps.api_version(), "apps/v1");
    }

    #[test]
    fn apply_type_is_rejected_by_apply_patch() {
        let ctx = KindContext {
            group: "",
            version: "v1",
            kind: "ConfigMap",
            builtin: true,
        };
        let err = apply_patch(&ctx, &json!({}), b"{}", PatchType::Apply).unwrap_err();
        assert!(matches!(err, PatchError::Unsupported { .. }));
    }

    #[test]
    fn conflict_messages_read_like_kubernetes() {
        let one = PatchError::Conflict {
            conflicts: vec![ApplyConflict {
                manager: "kubectl-client-side-apply".into(),
                field: ".spec.replicas".into(),
                message: "conflict with \"kubectl-client-side-apply\" using apps/v1".into(),
            }],
        };
        assert_eq!(
            one.to_string(),
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" \
             using apps/v1: .spec.replicas"
        );
        let conflict = |m: &str, f: &str| ApplyConflict {
            manager: m.into(),
            field: f.into(),
            message: format!("conflict with \"{m}\""),
        };
        let many = PatchError::Conflict {
            conflicts: vec![
                conflict("b", ".x"),
                conflict("a", ".y"),
                conflict("b", ".z"),
            ],
        };
        assert_eq!(
            many.to_string(),
            "Apply failed with 3 conflicts: conflicts with \"a\":\n- .y\n\
             conflicts with \"b\":\n- .x\n- .z"
        );
        let err = PatchError::malformed("bad");
        assert_eq!(err.to_string(), "malformed patch: bad");
    }
}
