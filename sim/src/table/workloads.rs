//! Printers of the workload kinds StatefulSet, Job and CronJob (Kubernetes'
//! `printStatefulSet`, `printJob`, `printCronJob`: columns, wide cells, formats).

use jiff::Timestamp;
use serde_json::Value;

use super::builtin::{
    AGE, CONTAINERS, Col, IMAGES, NAME, container_cells, created, format_labels, int, name, st,
};
use super::human_duration_since;

pub(super) const STATEFUL_SET: &[Col] = &[
    NAME,
    ("Ready", "string", "Number of the pod with ready state", 0),
    AGE,
    CONTAINERS,
    IMAGES,
];

pub(super) const JOB: &[Col] = &[
    NAME,
    ("Status", "string", "Status of the job.", 0),
    (
        "Completions",
        "string",
        "The completion status of the job.",
        0,
    ),
    (
        "Duration",
        "string",
        "Time required to complete the job.",
        0,
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    ("Selector", "string", "The selector of the job.", 1),
];

pub(super) const CRON_JOB: &[Col] = &[
    NAME,
    ("Schedule", "string", "The schedule of the cron job.", 0),
    ("Timezone", "string", "The time zone of the cron job.", 0),
    (
        "Suspend",
        "boolean",
        "Whether the cron job is suspended.",
        0,
    ),
    ("Active", "integer", "Number of active jobs.", 0),
    (
        "Last Schedule",
        "string",
        "Time since the last schedule.",
        0,
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    (
        "Selector",
        "string",
        "The selector of the cron job's jobs.",
        1,
    ),
];

pub(super) fn stateful_set(o: &Value, now: Timestamp) -> Vec<Value> {
    let ready = format!(
        "{}/{}",
        int(&o["status"]["readyReplicas"]),
        o["spec"]["replicas"].as_i64().unwrap_or(1)
    );
    let mut row = vec![name(o), Value::from(ready), created(o, now)];
    row.extend(container_cells(&o["spec"]["template"]["spec"]));
    row
}

fn condition(o: &Value, ty: &str) -> bool {
    o["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| st(&c["type"]) == ty && st(&c["status"]) == "True")
    })
}

pub(super) fn job(o: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&o["spec"], &o["status"]);
    let completions = match spec["completions"].as_i64() {
        Some(c) => format!("{}/{c}", int(&status["succeeded"])),
        None => format!(
            "{}/1 of {}",
            int(&status["succeeded"]),
            spec["parallelism"].as_i64().unwrap_or(1)
        ),
    };
    let state = if condition(o, "Complete") {
        "Complete"
    } else if condition(o, "Failed") {
        "Failed"
    } else if condition(o, "FailureTarget") {
        "FailureTarget"
    } else if spec["suspend"] == true {
        "Suspended"
    } else {
        "Running"
    };
    let start = st(&status["startTime"]).parse::<Timestamp>().ok();
    let end = st(&status["completionTime"]).parse::<Timestamp>().ok();
    let duration = match (start, end) {
        (Some(s), Some(e)) => human_duration_since(s, e),
        (Some(s), None) => human_duration_since(s, now),
        _ => String::new(),
    };
    let mut row = vec![
        name(o),
        Value::from(state),
        Value::from(completions),
        Value::from(duration),
        created(o, now),
    ];
    row.extend(container_cells(&spec["template"]["spec"]));
    row.push(Value::from(format_labels(&spec["selector"]["matchLabels"])));
    row
}

pub(super) fn cron_job(o: &Value, now: Timestamp) -> Vec<Value> {
    let (spec, status) = (&o["spec"], &o["status"]);
    let last = match st(&status["lastScheduleTime"]).parse::<Timestamp>() {
        Ok(t) => human_duration_since(t, now),
        Err(_) => "<none>".into(),
    };
    let tz = match st(&spec["timeZone"]) {
        "" => "<none>",
        z => z,
    };
    let mut row = vec![
        name(o),
        Value::from(st(&spec["schedule"])),
        Value::from(tz),
        Value::from(spec["suspend"] == true),
        Value::from(status["active"].as_array().map_or(0, Vec::len)),
        Value::from(last),
        created(o, now),
    ];
    row.extend(container_cells(
        &spec["jobTemplate"]["spec"]["template"]["spec"],
    ));
    let selector = &spec["jobTemplate"]["spec"]["selector"]["matchLabels"];
    row.push(Value::from(format_labels(selector)));
    row
}
