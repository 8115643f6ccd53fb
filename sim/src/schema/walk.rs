//! The schema walker: one pass over an object against an OpenAPI v3 schema.
//!
//! [`Mode::Builtin`] reads like kube-apiserver's strict JSON decoder into Go structs:
//! unknown fields (dropped, and reported for `fieldValidation`) and the first type error, worded as Go's
//! `UnmarshalTypeError` (`json: cannot unmarshal string into Go struct field
//! DeploymentSpec.spec.replicas of type int32`), including int32/int64 overflow.
//!
//! [`Mode::Custom`] applies a CRD's structural schema as the apiextensions-apiserver does:
//! unknown fields are pruned (and reported, for `fieldValidation`), `null` in a
//! non-`nullable` field is dropped, `default`s are filled in, and values are checked
//! (type, format int32/int64, enum, minimum/maximum, exclusive bounds, min/maxLength,
//! pattern, min/maxItems, required) into 422 causes worded like kube-openapi's errors
//! converted by `apiextensions-apiserver/pkg/apiserver/validation`
//! (`spec.size in body should be greater than or equal to 1`).

use serde_json::{Map, Value};

use crate::validate::Cause;

/// What the walk is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Strict decoding of a built-in kind (read only).
    Builtin,
    /// A custom resource: prune, default, validate.
    Custom,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Paths of fields the schema does not declare (pruned in custom mode).
    pub unknown: Vec<String>,
    /// Built-in mode: the first decoding error (Go's wording, without the
    /// `Kind in version "v1" cannot be handled as a Kind: ` prefix).
    pub type_error: Option<String>,
    /// Custom mode: validation failures (HTTP 422).
    pub causes: Vec<Cause>,
}

struct Walker<'a> {
    defs: Option<&'a Map<String, Value>>,
    mode: Mode,
    out: Checked,
}

/// Strict-decoding check of a built-in object against definition `root` of `defs`; unknown
/// fields are removed from `obj`, as decoding into the Go type drops them.
pub fn check(defs: &Map<String, Value>, root: &str, obj: &mut Value) -> Checked {
    let mut w = Walker {
        defs: Some(defs),
        mode: Mode::Builtin,
        out: Checked::default(),
    };
    if let Some(schema) = defs.get(root) {
        let go_type = short_go_name(root);
        w.walk(schema, obj, &Path::root(&go_type), true);
    }
    w.out
}

/// Prunes, defaults and validates a custom resource against its CRD's `openAPIV3Schema`.
pub fn check_custom(schema: &Value, obj: &mut Value) -> Checked {
    let mut w = Walker {
        defs: None,
        mode: Mode::Custom,
        out: Checked::default(),
    };
    w.walk(schema, obj, &Path::root(""), true);
    w.out
}

/// Where the walk is: the field path for messages, and for Go-style errors the enclosing
/// Go struct and the path without list indices.
#[derive(Clone)]
struct Path {
    field: String,
    go_struct: String,
    go_field: String,
}

impl Path {
    fn root(go_struct: &str) -> Self {
        Path {
            field: String::new(),
            go_struct: go_struct.to_string(),
            go_field: String::new(),
        }
    }
    fn key(&self, k: &str) -> Path {
        let join = |p: &str| {
            if p.is_empty() {
                k.to_string()
            } else {
                format!("{p}.{k}")
            }
        };
        Path {
            field: join(&self.field),
            go_struct: self.go_struct.clone(),
            go_field: join(&self.go_field),
        }
    }
    fn index(&self, i: usize) -> Path {
        Path {
            field: format!("{}[{i}]", self.field),
            ..self.clone()
        }
    }
    /// The map entry `k` (validation messages write `data[k]`).
    fn entry(&self, k: &str) -> Path {
        Path {
            field: format!("{}[{k}]", self.field),
            ..self.clone()
        }
    }
}

/// `io.k8s.api.apps.v1.DeploymentSpec` → `DeploymentSpec`.
fn short_go_name(def: &str) -> String {
    def.rsplit('.').next().unwrap_or(def).to_string()
}

/// `io.k8s.api.core.v1.Container` → `v1.Container`.
fn pkg_go_name(def: &str) -> String {
    let mut it = def.rsplit('.');
    let name = it.next().unwrap_or(def);
    match it.next() {
        Some(pkg) => format!("{pkg}.{name}"),
        None => name.to_string(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What Go's decoder calls a JSON value in an `UnmarshalTypeError`.
fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

fn ref_name(s: &Value) -> Option<&str> {
    s.get("$ref")?.as_str()?.rsplit('/').next()
}

fn flag(s: &Value, k: &str) -> bool {
    s.get(k).and_then(Value::as_bool) == Some(true)
}

impl<'a> Walker<'a> {
    /// Follows `$ref` and single-element `allOf` wrappers; returns the schema and the
    /// definition name it came from, if any.
    fn resolve<'s>(&self, mut s: &'s Value) -> (&'s Value, Option<&'s str>)
    where
        'a: 's,
    {
        let mut name = None;
        for _ in 0..8 {
            if let Some(r) = ref_name(s) {
                match self.defs.and_then(|d| d.get(r)) {
                    Some(t) => {
                        name = Some(r);
                        s = t;
                        continue;
                    }
                    None => break,
                }
            }
            match s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
                Some([one]) => s = one,
                _ => break,
            }
        }
        (s, name)
    }

    /// The Go type of a field with schema `s` (for decode errors).
    fn go_type(&self, s: &Value) -> String {
        let (r, name) = self.resolve(s);
        if let Some(n) = name {
            return pkg_go_name(n);
        }
        match r.get("type").and_then(Value::as_str) {
            Some("integer") => match r.get("format").and_then(Value::as_str) {
                Some("int32") => "int32".into(),
                _ => "int64".into(),
            },
            Some("number") => "float64".into(),
            Some("boolean") => "bool".into(),
            Some("string") => "string".into(),
            Some("array") => match r.get("items") {
                Some(i) => format!("[]{}", self.go_type(i)),
                None => "[]interface {}".into(),
            },
            Some("object") => match r.get("additionalProperties") {
                Some(a) if a.is_object() => format!("map[string]{}", self.go_type(a)),
                _ => "map[string]interface {}".into(),
            },
            _ => "interface {}".into(),
        }
    }

    fn type_error(&mut self, s: &Value, v: &Value, p: &Path) {
        if self.out.type_error.is_some() {
            return;
        }
        let field = if p.go_field.is_empty() {
            String::new()
        } else {
            format!(" into Go struct field {}.{}", p.go_struct, p.go_field)
        };
        let into = if field.is_empty() {
            format!(" into Go value of type {}", self.go_type(s))
        } else {
            format!("{field} of type {}", self.go_type(s))
        };
        self.out.type_error = Some(format!("json: cannot unmarshal {}{into}", go_value(v)));
    }

    fn cause(&mut self, reason: &'static str, p: &Path, message: String) {
        self.out.causes.push(Cause {
            reason,
            field: p.field.clone(),
            message,
        });
    }

    fn invalid(&mut self, p: &Path, shown: &Value, detail: String) {
        let shown = match shown {
            Value::String(s) => Value::from(s.as_str()).to_string(),
            other => other.to_string(),
        };
        self.cause(
            crate::validate::INVALID,
            p,
            format!("Invalid value: {shown}: {detail}"),
        );
    }

    /// `s`: the field's schema; `v`: its value; `root`: the object root (or an embedded
    /// resource), where apiVersion/kind/metadata are always allowed.
    fn walk(&mut self, schema: &Value, v: &mut Value, p: &Path, root: bool) {
        let (s, def) = self.resolve(schema);
        let p = match def {
            Some(d) if self.mode == Mode::Builtin && v.is_object() => Path {
                go_struct: short_go_name(d),
                ..p.clone()
            },
            _ => p.clone(),
        };
        if v.is_null() {
            return;
        }
        if !self.type_ok(s, v, &p) {
            return;
        }
        match v {
            Value::Object(map) => self.object(s, map, &p, root),
            Value::Array(items) => self.array(s, items, &p),
            _ => {}
        }
        if self.mode == Mode::Custom {
            self.scalar_checks(s, v, &p);
        }
    }

    /// Type and integer-range checks; false when the value does not fit (nothing below
    /// is checked then).
    fn type_ok(&mut self, s: &Value, v: &Value, p: &Path) -> bool {
        let int_or_string = flag(s, "x-kubernetes-int-or-string");
        let ty = s.get("type").and_then(Value::as_str);
        let fits = if int_or_string {
            match self.mode {
                // Quantity is also int-or-string and its Go decoder takes any number.
                Mode::Builtin => v.is_string() || v.is_number(),
                Mode::Custom => v.is_string() || v.is_i64() || v.is_u64(),
            }
        } else {
            match ty {
                Some("object") => v.is_object(),
                Some("array") => v.is_array(),
                Some("string") => v.is_string(),
                Some("boolean") => v.is_boolean(),
                Some("number") => v.is_number(),
                Some("integer") => v.is_i64() || v.is_u64(),
                _ => true,
            }
        };
        if !fits {
            match self.mode {
                Mode::Builtin => self.type_error(s, v, p),
                Mode::Custom => {
                    let want = if int_or_string {
                        "integer,string"
                    } else {
                        ty.unwrap_or("object")
                    };
                    let got = type_name(v);
                    let field = p.field.clone();
                    self.cause(
                        crate::validate::TYPE_INVALID,
                        p,
                        format!(
                            "Invalid value: \"{got}\": {field} in body must be of type {want}: \"{got}\""
                        ),
                    );
                }
            }
            return false;
        }
        if ty == Some("integer") {
            let format = s.get("format").and_then(Value::as_str);
            let in_range = match format {
                Some("int32") => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                _ => v.is_i64(),
            };
            if !in_range {
                match self.mode {
                    Mode::Builtin => self.type_error(s, v, p),
                    Mode::Custom => {
                        let field = p.field.clone();
                        let f = format.unwrap_or("int64");
                        self.invalid(
                            p,
                            &Value::String(v.to_string()),
                            format!("{field} in body must be of type {f}: \"{v}\""),
                        );
                    }
                }
                return false;
            }
        }
        true
    }

    fn object(&mut self, s: &Value, map: &mut Map<String, Value>, p: &Path, root: bool) {
        let props = s.get("properties").and_then(Value::as_object);
        let additional = s.get("additionalProperties");
        let preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
        let embedded = root || flag(s, "x-kubernetes-embedded-resource");
        // Built-ins: an object schema that declares nothing (RawExtension, JSON) is open.
        // Custom: kube prunes everything a structural schema does not declare.
        // Either: a schema whose fields sit under anyOf/oneOf (not resolved here) is open.
        let undeclared = props.is_none() && additional.is_none();
        let combined = ["anyOf", "oneOf", "allOf"]
            .iter()
            .any(|k| s.get(*k).is_some());
        let open = preserve
            || additional.is_some_and(|a| a == &Value::Bool(true))
            || (undeclared && (self.mode == Mode::Builtin || combined));
        let keys: Vec<String> = map.keys().cloned().collect();
        for k in keys {
            let child = p.key(&k);
            if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                if let (Some(ps), Some(v)) = (props.and_then(|ps| ps.get(&k)), map.get_mut(&k))
                    && (self.mode == Mode::Builtin || k != "metadata")
                {
                    self.walk(ps, v, &child, false);
                }
                continue;
            }
            // Strategic-merge-patch directives are not fields.
            if self.mode == Mode::Builtin && k.starts_with('$') {
                continue;
            }
            let sub = props.and_then(|ps| ps.get(&k)).or(match additional {
                Some(a) if a.is_object() => Some(a),
                _ => None,
            });
            let is_entry = props.and_then(|ps| ps.get(&k)).is_none();
            match sub {
                Some(sub) => {
                    let null_dropped = self.mode == Mode::Custom
                        && map.get(&k).is_some_and(Value::is_null)
                        && !flag(self.resolve(sub).0, "nullable");
                    if null_dropped {
                        map.remove(&k);
                        continue;
                    }
                    let child = if is_entry { p.entry(&k) } else { child };
                    if let Some(v) = map.get_mut(&k) {
                        self.walk(sub, v, &child, false);
                    }
                }
                None if open => {}
                None => {
                    // Dropped in both modes: Go's decoder drops unknown fields of built-ins.
                    self.out.unknown.push(child.field);
                    map.remove(&k);
                }
            }
        }
        if self.mode != Mode::Custom {
            return;
        }
        if let Some(ps) = props {
            for (k, sub) in ps {
                if map.contains_key(k) {
                    continue;
                }
                if let Some(d) = self.resolve(sub).0.get("default") {
                    let mut d = d.clone();
                    self.walk(sub, &mut d, &p.key(k), false);
                    map.insert(k.clone(), d);
                }
            }
        }
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !map.contains_key(r) {
                self.cause(
                    crate::validate::REQUIRED,
                    &p.key(r),
                    "Required value".into(),
                );
            }
        }
    }

    fn array(&mut self, s: &Value, items: &mut [Value], p: &Path) {
        if let Some(item) = s.get("items") {
            for (i, v) in items.iter_mut().enumerate() {
                self.walk(
                    item,
                    v,
                    &p.index(i),
                    flag(item, "x-kubernetes-embedded-resource"),
                );
            }
        }
    }

    /// Value checks of a custom resource field.
    fn scalar_checks(&mut self, s: &Value, v: &Value, p: &Path) {
        let field = p.field.clone();
        let num = |k: &str| s.get(k).and_then(Value::as_f64);
        if let Some(allowed) = s.get("enum").and_then(Value::as_array)
            && !allowed.contains(v)
        {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            let shown = v.to_string();
            self.cause(
                crate::validate::NOT_SUPPORTED,
                p,
                format!(
                    "Unsupported value: {shown}: supported values: {}",
                    list.join(", ")
                ),
            );
        }
        if let Some(x) = v.as_f64().filter(|_| v.is_number()) {
            let exclusive = |k: &str| flag(s, k);
            if let Some(min) = num("minimum") {
                let (bad, word) = if exclusive("exclusiveMinimum") {
                    (x <= min, "greater than")
                } else {
                    (x < min, "greater than or equal to")
                };
                if bad {
                    self.invalid(
                        p,
                        v,
                        format!("{field} in body should be {word} {}", s["minimum"]),
                    );
                }
            }
            if let Some(max) = num("maximum") {
                let (bad, word) = if exclusive("exclusiveMaximum") {
                    (x >= max, "less than")
                } else {
                    (x > max, "less than or equal to")
                };
                if bad {
                    self.invalid(
                        p,
                        v,
                        format!("{field} in body should be {word} {}", s["maximum"]),
                    );
                }
            }
        }
        if let Some(text) = v.as_str() {
            let chars = text.chars().count() as u64;
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                && chars > max
            {
                self.cause(
                    crate::validate::TOO_LONG,
                    p,
                    format!("Too long: may not be more than {max} bytes"),
                );
            }
            if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                && chars < min
            {
                self.invalid(
                    p,
                    v,
                    format!("{field} in body should be at least {min} chars long"),
                );
            }
            if let Some(pat) = s.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(pat) {
                    Ok(re) if !re.is_match(text) => {
                        self.invalid(p, v, format!("{field} in body should match '{pat}'"));
                    }
                    _ => {}
                }
            }
        }
        if let Some(items) = v.as_array() {
            let n = items.len() as u64;
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                && n > max
            {
                self.cause(
                    crate::validate::TOO_MANY,
                    p,
                    format!("Too many: {n}: must have at most {max} items"),
                );
            }
            if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                && n < min
            {
                self.invalid(
                    p,
                    &Value::from(n),
                    format!("{field} in body should have at least {min} items"),
                );
            }
        }
    }
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
