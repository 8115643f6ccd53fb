//! Conversion between core/v1 `Event` (the stored form) and `events.k8s.io/v1` `Event`.
//!
//! Field mapping follows Kubernetes' events/v1 conversion: renamed fields are
//! swapped, shared fields (`metadata`, `eventTime`, `series`, `action`, `reason`,
//! `type`, `related`, `reportingInstance`) and any unknown fields pass through,
//! and `apiVersion`/`kind` are set for the target, so a round trip is lossless.

use serde_json::{Map, Value};

/// (core/v1 name, events.k8s.io/v1 name) of every renamed field.
const RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename(v: &Value, api_version: &str, to_v1: bool) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::from(api_version));
    out.insert("kind".into(), Value::from("Event"));
    for (k, val) in v.as_object().into_iter().flatten() {
        if k == "apiVersion" || k == "kind" {
            continue;
        }
        let target = RENAMES.iter().find_map(|(core, v1)| match to_v1 {
            true if k == core => Some(*v1),
            false if k == v1 => Some(*core),
            _ => None,
        });
        out.insert(target.unwrap_or(k).to_owned(), val.clone());
    }
    Value::Object(out)
}

/// Converts a stored core/v1 Event into its `events.k8s.io/v1` representation.
pub fn core_to_events_v1(v: &Value) -> Value {
    rename(v, "events.k8s.io/v1", true)
}

/// Converts an `events.k8s.io/v1` Event into the core/v1 form used for storage.
pub fn events_v1_to_core(v: &Value) -> Value {
    rename(v, "v1", false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn core_event() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web.17a", "namespace": "default", "resourceVersion": "7"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"},
            "message": "Started container",
            "reason": "Started",
            "type": "Normal",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-01-01T00:00:00Z",
            "lastTimestamp": "2024-01-01T00:05:00Z",
            "count": 3,
            "eventTime": "2024-01-01T00:00:00.000001Z",
            "series": {"count": 2, "lastObservedTime": "2024-01-01T00:05:00.000000Z"},
            "action": "Start",
            "related": {"kind": "Node", "name": "node-1"},
            "reportingComponent": "kubelet",
            "reportingInstance": "node-1"
        })
    }

    #[test]
    fn core_to_v1_renames_every_field() {
        let v1 = core_to_events_v1(&core_event());
        assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
        assert_eq!(v1["kind"], "Event");
        assert_eq!(v1["regarding"]["name"], "web");
        assert_eq!(v1["note"], "Started container");
        assert_eq!(v1["reportingController"], "kubelet");
        assert_eq!(v1["reportingInstance"], "node-1");
        assert_eq!(v1["deprecatedSource"]["host"], "node-1");
        assert_eq!(v1["deprecatedFirstTimestamp"], "2024-01-01T00:00:00Z");
        assert_eq!(v1["deprecatedLastTimestamp"], "2024-01-01T00:05:00Z");
        assert_eq!(v1["deprecatedCount"], 3);
        assert_eq!(v1["series"]["count"], 2);
        assert_eq!(v1["action"], "Start");
        assert_eq!(v1["related"]["kind"], "Node");
        assert_eq!(v1["metadata"]["resourceVersion"], "7");
        for old in [
            "involvedObject",
            "message",
            "reportingComponent",
            "source",
            "count",
            "firstTimestamp",
        ] {
            assert!(v1.get(old).is_none(), "{old} should be renamed");
        }
    }

    #[test]
    fn v1_to_core_sets_core_version() {
        let core = events_v1_to_core(&json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e"}, "regarding": {"kind": "Pod"}, "note": "n",
            "reportingController": "c", "eventTime": "2024-01-01T00:00:00.000000Z"
        }));
        assert_eq!(
            core,
            json!({
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
                "involvedObject": {"kind": "Pod"}, "message": "n",
                "reportingComponent": "c", "eventTime": "2024-01-01T00:00:00.000000Z"
            })
        );
    }

    #[test]
    fn round_trips_are_lossless() {
        let core = core_event();
        assert_eq!(events_v1_to_core(&core_to_events_v1(&core)), core);
        let v1 = core_to_events_v1(&core);
        assert_eq!(core_to_events_v1(&events_v1_to_core(&v1)), v1);
    }

    #[test]
    fn non_object_input_yields_bare_event() {
        assert_eq!(
            core_to_events_v1(&Value::Null),
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event"})
        );
    }
}
