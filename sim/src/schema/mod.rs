//! OpenAPI v3 schemas of the served types and what the API server does with them:
//! strict decoding of request bodies (unknown and duplicate fields, type and integer-range
//! errors, as kube-apiserver's `fieldValidation` does), CRD structural-schema validation,
//! pruning and defaulting, and the schemas `/openapi/v3` serves.
//!
//! Built-in schemas come from `k8s-openapi` (its `schemars` feature emits the upstream
//! OpenAPI definitions under their upstream names, `io.k8s.api.apps.v1.Deployment`); CRD
//! schemas from `spec.versions[].schema.openAPIV3Schema`. One walker ([`walk`]) serves
//! both. A general JSON Schema validator (e.g. the `jsonschema` crate) was not used: kube's
//! structural schemas differ from JSON Schema where it matters here (unknown fields are
//! pruned, not errors; `default`s are applied; `x-kubernetes-int-or-string`,
//! `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-embedded-resource`, `nullable`
//! have kube meanings), and the apiserver's cause wording must be reproduced.

mod builtin;
mod decode;
mod walk;

pub use builtin::{BuiltinSchemas, builtin_schemas};
pub use decode::{DecodedBody, decode_json};
pub use walk::{Checked, Mode, check, check_custom};

/// How the apiserver treats unknown and duplicate fields (`fieldValidation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    /// Fail the request with 400 `strict decoding error: ...`.
    Strict,
    /// Accept and answer a `Warning` header per field (the apiserver's default).
    Warn,
    /// Accept silently (unknown fields are dropped for custom resources).
    Ignore,
}

impl FieldValidation {
    /// Parses the query parameter; empty = the apiserver's default, `Warn`.
    pub fn parse(v: &str) -> Result<Self, String> {
        match v {
            "" | "Warn" => Ok(Self::Warn),
            "Strict" => Ok(Self::Strict),
            "Ignore" => Ok(Self::Ignore),
            other => Err(format!(
                "fieldValidation parameter unsupported: {other}, must be one of Ignore, Warn, Strict"
            )),
        }
    }
}
