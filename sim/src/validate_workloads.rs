//! What the workload kinds of the strict fleet need validated to be served like
//! kube-apiserver serves them: StatefulSet (a ReplicaSet's selector/template rules),
//! Job and CronJob (pod template rules; `restartPolicy` `OnFailure` or `Never`; counts ≥ 0;
//! a CronJob's `schedule` must parse). The general rules live in [`crate::validate`].
//!
//! Also the fleet's resource limits (a simulation choice, not a Kubernetes rule): no count
//! that makes a controller allocate (replicas, parallelism, completions) may exceed
//! [`SIM_MAX_PODS`]. A real apiserver accepts any int32 here and leaves pods Pending; the
//! embedded fleet runs every pod in-process, so beyond this it would grow without bound.

use serde_json::{Value, json};

use crate::validate::{Cause, INVALID, NOT_SUPPORTED, REQUIRED};

/// The most pods one workload object may ask for on the embedded fleet (simulation limit).
pub const SIM_MAX_PODS: i64 = 1000;

/// Extra causes for `obj` of (group, kind); empty for other kinds.
pub fn validate(group: &str, kind: &str, obj: &Value) -> Vec<Cause> {
    let mut out = match (group, kind) {
        ("apps", "StatefulSet") => stateful_set(obj),
        ("batch", "Job") => job_spec(&obj["spec"], "spec"),
        ("batch", "CronJob") => cron_job(obj),
        _ => Vec::new(),
    };
    let counts: &[(&str, &[&str])] = match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet") => {
            &[("spec.replicas", &["spec", "replicas"])]
        }
        ("batch", "Job") => &[
            ("spec.parallelism", &["spec", "parallelism"]),
            ("spec.completions", &["spec", "completions"]),
        ],
        ("batch", "CronJob") => &[
            (
                "spec.jobTemplate.spec.parallelism",
                &["spec", "jobTemplate", "spec", "parallelism"],
            ),
            (
                "spec.jobTemplate.spec.completions",
                &["spec", "jobTemplate", "spec", "completions"],
            ),
        ],
        _ => &[],
    };
    for (field, path) in counts {
        let v = path.iter().fold(obj, |v, k| &v[*k]);
        if let Some(n) = v.as_i64().filter(|n| *n > SIM_MAX_PODS) {
            out.push(Cause {
                reason: INVALID,
                field: field.to_string(),
                message: format!(
                    "Invalid value: {n}: must be less than or equal to {SIM_MAX_PODS} on the embedded fleet (mcs-sim limit; a real cluster accepts up to 2147483647)"
                ),
            });
        }
    }
    out
}

fn stateful_set(obj: &Value) -> Vec<Cause> {
    crate::validate::validate("apps", "ReplicaSet", obj)
        .into_iter()
        .filter(|c| !c.field.starts_with("metadata"))
        .map(|mut c| {
            c.message = c.message.replace("for deployment", "for statefulset");
            c
        })
        .collect()
}

/// The pod template's own rules, with their field paths under `path`.
fn template(spec: &Value, path: &str) -> Vec<Cause> {
    let pod = json!({"metadata": {"name": "template"}, "spec": spec["template"]["spec"]});
    crate::validate::validate("", "Pod", &pod)
        .into_iter()
        .filter(|c| c.field.starts_with("spec"))
        .map(|mut c| {
            c.field = format!("{path}.template.{}", c.field);
            c
        })
        .collect()
}

fn job_spec(spec: &Value, path: &str) -> Vec<Cause> {
    let mut out = template(spec, path);
    let rp = &spec["template"]["spec"]["restartPolicy"];
    if !matches!(rp.as_str(), Some("OnFailure" | "Never")) {
        let field = format!("{path}.template.spec.restartPolicy");
        let message = match rp {
            Value::Null => "Required value".to_string(),
            v => format!("Unsupported value: {v}: supported values: \"OnFailure\", \"Never\""),
        };
        let reason = if rp.is_null() {
            REQUIRED
        } else {
            NOT_SUPPORTED
        };
        out.push(Cause {
            reason,
            field,
            message,
        });
    }
    for f in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
    ] {
        if let Some(n) = spec[f].as_i64().filter(|n| *n < 0) {
            out.push(Cause {
                reason: INVALID,
                field: format!("{path}.{f}"),
                message: format!("Invalid value: {n}: must be greater than or equal to 0"),
            });
        }
    }
    out
}

fn cron_job(obj: &Value) -> Vec<Cause> {
    let spec = &obj["spec"];
    let mut out = job_spec(&spec["jobTemplate"]["spec"], "spec.jobTemplate.spec");
    match spec["schedule"].as_str() {
        None | Some("") => out.push(Cause {
            reason: REQUIRED,
            field: "spec.schedule".into(),
            message: "Required value".into(),
        }),
        Some(s) => {
            if let Err(e) = crate::controllers::cron::Schedule::parse(s) {
                out.push(Cause {
                    reason: INVALID,
                    field: "spec.schedule".into(),
                    message: format!("Invalid value: {s:?}: {e}"),
                });
            }
        }
    }
    let policy = &spec["concurrencyPolicy"];
    if !policy.is_null() && !matches!(policy.as_str(), Some("Allow" | "Forbid" | "Replace")) {
        out.push(Cause {
            reason: NOT_SUPPORTED,
            field: "spec.concurrencyPolicy".into(),
            message: format!(
                "Unsupported value: {policy}: supported values: \"Allow\", \"Forbid\", \"Replace\""
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_beyond_the_sim_limit_are_invalid() {
        let d = json!({"spec": {"replicas": 1001}});
        let c = validate("apps", "Deployment", &d);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].field, "spec.replicas");
        assert!(
            c[0].message
                .starts_with("Invalid value: 1001: must be less than or equal to 1000")
        );
        assert!(validate("apps", "Deployment", &json!({"spec": {"replicas": 1000}})).is_empty());
        let j = json!({"spec": {"jobTemplate": {"spec": {"parallelism": 5000}}}});
        assert!(
            validate("batch", "CronJob", &j)
                .iter()
                .any(|c| c.field == "spec.jobTemplate.spec.parallelism")
        );
    }
}
