//! Server-side printing for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! kubectl prints the `meta.k8s.io/v1` Table exactly as the API server returns it,
//! so built-in kinds get the columns of Kubernetes' `pkg/printers/internalversion`
//! (the server always renders the wide cells; `priority: 1` columns are the ones
//! kubectl shows only with `-o wide`), and custom resources get their CRD's
//! `additionalPrinterColumns` evaluated like apiextensions-apiserver's table convertor.

mod builtin;
mod jsonpath;
mod workloads;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// One CRD `additionalPrinterColumns` entry (apiextensions.k8s.io/v1 JSON shape).
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean` or `date`.
    #[serde(rename = "type")]
    pub type_: String,
    /// JSONPath evaluated against each object, e.g. `.status.replicas`.
    #[serde(rename = "jsonPath")]
    pub json_path: String,
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
    /// 0 = default output, >0 = `-o wide` only.
    #[serde(default)]
    pub priority: i32,
    /// OpenAPI format hint, e.g. `name`.
    #[serde(default)]
    pub format: String,
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// Computes the cells of one row.
type RowCells = Box<dyn Fn(&Value) -> Vec<Value>>;

fn column_json(name: &str, ty: &str, format: &str, desc: &str, priority: i32) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": desc, "priority": priority})
}

/// Builds a `meta.k8s.io/v1` Table for `objects` of `kind` in API `group`.
///
/// `columns`: `Some(cols)` for custom resources (their CRD's printer columns for the
/// served version; `Some(&[])` gives the default `Age` column), `None` for built-ins,
/// which use the Kubernetes printer for (group, kind) or Name + Age when unknown.
/// `list_meta` (resourceVersion, continue, remainingItemCount) becomes the table's
/// metadata. `include_object` is the request's `includeObject`: `None` leaves each
/// row's `object` null, `Object` embeds the object, anything else (default
/// `Metadata`) embeds a `PartialObjectMetadata`.
pub fn to_table(
    group: &str,
    kind: &str,
    columns: Option<&[PrinterColumn]>,
    objects: &[Value],
    list_meta: Value,
    include_object: &str,
    now: Timestamp,
) -> Value {
    let (defs, cells): (Vec<Value>, RowCells) = match columns {
        Some(cols) => {
            let cols = if cols.is_empty() {
                vec![default_age_column()]
            } else {
                cols.to_vec()
            };
            let mut defs = vec![column_json("Name", "string", "name", NAME_DESC, 0)];
            defs.extend(cols.iter().map(custom_definition));
            (defs, Box::new(move |o| custom_cells(&cols, o, now)))
        }
        None => {
            let printer = builtin::lookup(group, kind);
            (
                printer.definitions(),
                Box::new(move |o| (printer.cells)(o, now)),
            )
        }
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array(cells(o)));
            if let Some(conditions) = columns
                .is_none()
                .then(|| builtin::conditions(group, kind, o))
                .flatten()
            {
                row.insert("conditions".into(), conditions);
            }
            row.insert("object".into(), row_object(o, include_object));
            Value::Object(row)
        })
        .collect();
    let metadata = match list_meta {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        _ => json!({}),
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": defs,
        "rows": rows,
    })
}

fn row_object(obj: &Value, include_object: &str) -> Value {
    match include_object {
        "None" => Value::Null,
        "Object" => obj.clone(),
        _ => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

/// The column apiextensions-apiserver serves when a CRD declares none.
fn default_age_column() -> PrinterColumn {
    PrinterColumn {
        name: "Age".into(),
        type_: "date".into(),
        json_path: ".metadata.creationTimestamp".into(),
        description: AGE_DESC.into(),
        priority: 0,
        format: String::new(),
    }
}

fn custom_definition(c: &PrinterColumn) -> Value {
    let desc = if c.description.is_empty() {
        format!(
            "Custom resource definition column (in JSONPath format): {}",
            c.json_path
        )
    } else {
        c.description.clone()
    };
    column_json(&c.name, &c.type_, &c.format, &desc, c.priority)
}

fn custom_cells(cols: &[PrinterColumn], obj: &Value, now: Timestamp) -> Vec<Value> {
    let mut cells = vec![Value::from(obj["metadata"]["name"].as_str().unwrap_or(""))];
    cells.extend(cols.iter().map(|c| custom_cell(c, obj, now)));
    cells
}

/// Like the CRD table convertor, only the first JSONPath result is printed.
fn custom_cell(col: &PrinterColumn, obj: &Value, now: Timestamp) -> Value {
    let Some(first) = jsonpath::eval(&col.json_path, obj)
        .ok()
        .and_then(|r| r.first().copied())
    else {
        return Value::Null;
    };
    match (col.type_.as_str(), first) {
        ("string", Value::String(s)) => Value::from(s.as_str()),
        ("string", Value::Null) => Value::Null,
        ("string", v @ (Value::Number(_) | Value::Bool(_))) => Value::from(v.to_string()),
        ("string", v) => Value::from(go_json(v)),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        ("number", v @ Value::Number(_)) => v.clone(),
        ("boolean", v @ Value::Bool(_)) => v.clone(),
        ("date", Value::String(s)) => match s.parse::<Timestamp>() {
            Ok(ts) => Value::from(human_duration_since(ts, now)),
            Err(_) => Value::from("<invalid>"),
        },
        _ => Value::Null,
    }
}

/// Compact JSON the way Go's `json.Marshal` prints a map/slice: keys sorted,
/// `<`, `>`, `&` escaped.
fn go_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<_> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            let items: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", go_json(&Value::from(k.as_str())), go_json(v)))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(go_json).collect::<Vec<_>>().join(",")),
        Value::String(_) => v
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026"),
        other => other.to_string(),
    }
}

/// Age of an object created at `creation_timestamp` (RFC 3339) as Kubernetes'
/// `duration.HumanDuration` prints it ("5s", "3m10s", "2d3h"); "<unknown>" when
/// the timestamp is empty or unparsable.
pub fn age(creation_timestamp: &str, now: Timestamp) -> String {
    match creation_timestamp.parse::<Timestamp>() {
        Ok(ts) => human_duration_since(ts, now),
        Err(_) => "<unknown>".into(),
    }
}

fn human_duration_since(ts: Timestamp, now: Timestamp) -> String {
    human_duration(now.duration_since(ts).as_secs())
}

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration` on whole seconds.
fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let with = |major: i64, unit: &str, minor: i64, sub: &str| {
        if minor == 0 {
            format!("{major}{unit}")
        } else {
            format!("{major}{unit}{minor}{sub}")
        }
    };
    let (minutes, hours) = (secs / 60, secs / 3600);
    let days = hours / 24;
    match () {
        _ if minutes < 10 => with(minutes, "m", secs % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => with(hours, "h", minutes % 60, "m"),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => with(days, "d", hours % 24, "h"),
        _ if hours < 24 * 365 * 2 => format!("{days}d"),
        _ if hours < 24 * 365 * 8 => with(days / 365, "y", days % 365, "d"),
        _ => format!("{}y", days / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2024-06-01T12:00:00Z".parse().unwrap()
    }

    fn ago(secs: i64) -> String {
        let t = now()
            .checked_sub(jiff::SignedDuration::from_secs(secs))
            .unwrap();
        t.to_string()
    }

    #[test]
    fn human_durations_match_kubernetes() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (190, "3m10s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 25 * 60, "3h25m"),
            (8 * 3600 + 59, "8h"),
            (47 * 3600, "47h"),
            (51 * 3600, "2d3h"),
            (72 * 3600, "3d"),
            (10 * 86400, "10d"),
            (800 * 86400, "2y70d"),
            (365 * 3 * 86400, "3y"),
            (365 * 9 * 86400, "9y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}s");
        }
    }

    #[test]
    fn age_parses_rfc3339() {
        assert_eq!(age(&ago(5), now()), "5s");
        assert_eq!(age("2024-06-01T11:56:50Z", now()), "3m10s");
        assert_eq!(age("2024-05-30T09:00:00Z", now()), "2d3h");
        assert_eq!(age("", now()), "<unknown>");
        assert_eq!(age("yesterday", now()), "<unknown>");
    }

    fn widget() -> Value {
        json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w1", "namespace": "ns", "creationTimestamp": ago(300), "uid": "u"},
            "spec": {"replicas": 3, "ips": ["10.0.0.1", "10.0.0.2"], "ratio": 1.5, "on": true,
                     "sel": {"b": "2", "a": "<1>"}, "ports": [{"port": 80}, {"port": 81}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "since": "2024-06-01T11:00:00Z"}
        })
    }

    fn col(name: &str, ty: &str, path: &str) -> PrinterColumn {
        PrinterColumn {
            name: name.into(),
            type_: ty.into(),
            json_path: path.into(),
            description: String::new(),
            priority: 0,
            format: String::new(),
        }
    }

    #[test]
    fn custom_columns_evaluate_json_path() {
        let cols = [
            col("Replicas", "integer", ".spec.replicas"),
            col(
                "Ready",
                "string",
                r#".status.conditions[?(@.type=="Ready")].status"#,
            ),
            col("IPs", "string", ".spec.ips"),
            col("First", "string", ".spec.ports[*].port"),
            col("Ratio", "number", ".spec.ratio"),
            col("On", "boolean", ".spec.on"),
            col("Sel", "string", ".spec.sel"),
            col("Since", "date", ".status.since"),
            col("Missing", "string", ".spec.nope"),
            col("WrongType", "integer", ".spec.ips[0]"),
        ];
        let t = to_table(
            "example.com",
            "Widget",
            Some(&cols),
            &[widget()],
            json!({}),
            "None",
            now(),
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "w1",
                3,
                "True",
                r#"["10.0.0.1","10.0.0.2"]"#,
                "80",
                1.5,
                true,
                r#"{"a":"\u003c1\u003e","b":"2"}"#,
                "60m",
                null,
                null
            ])
        );
        assert_eq!(
            t["columnDefinitions"][0],
            json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0})
        );
        assert_eq!(
            t["columnDefinitions"][1]["description"],
            "Custom resource definition column (in JSONPath format): .spec.replicas"
        );
        assert_eq!(t["rows"][0]["object"], Value::Null);
    }

    #[test]
    fn crs_without_columns_get_name_and_age() {
        let t = to_table(
            "example.com",
            "Widget",
            Some(&[]),
            &[widget()],
            json!({}),
            "Metadata",
            now(),
        );
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Age"]);
        assert_eq!(t["columnDefinitions"][1]["type"], "date");
        assert_eq!(t["rows"][0]["cells"], json!(["w1", "5m"]));
    }

    #[test]
    fn table_envelope_and_include_object() {
        let meta = json!({"resourceVersion": "42", "continue": "abc", "remainingItemCount": null});
        let t = to_table("", "ConfigMap", None, &[widget()], meta, "Metadata", now());
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(
            t["metadata"],
            json!({"resourceVersion": "42", "continue": "abc"})
        );
        let obj = &t["rows"][0]["object"];
        assert_eq!(obj["kind"], "PartialObjectMetadata");
        assert_eq!(obj["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(obj["metadata"]["uid"], "u");
        assert!(obj.get("spec").is_none());
        let full = to_table(
            "",
            "ConfigMap",
            None,
            &[widget()],
            Value::Null,
            "Object",
            now(),
        );
        assert_eq!(full["rows"][0]["object"], widget());
        assert_eq!(full["metadata"], json!({}));
        let empty = to_table("", "ConfigMap", None, &[], Value::Null, "Object", now());
        assert_eq!(empty["rows"], json!([]));
    }

    #[test]
    fn unknown_builtins_get_name_and_age() {
        let t = to_table(
            "rbac.authorization.k8s.io",
            "Role",
            None,
            &[widget()],
            json!({}),
            "None",
            now(),
        );
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Age"]);
        assert_eq!(t["rows"][0]["cells"], json!(["w1", "5m"]));
    }
}
