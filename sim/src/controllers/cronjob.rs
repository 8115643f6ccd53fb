//! CronJob controller (batch/v1): at each scheduled time (the real wall clock, in
//! `spec.timeZone` or UTC — schedules are not compressed) it creates a Job
//! `<cronjob>-<minutes since the epoch>` from `jobTemplate` (event `SuccessfulCreate`),
//! honouring `suspend`, `concurrencyPolicy` (Allow, Forbid, Replace) and
//! `startingDeadlineSeconds`; only the most recent missed time runs, as the controller does.
//! It keeps `status.active`, `lastScheduleTime`, `lastSuccessfulTime`, and deletes finished
//! Jobs beyond `successfulJobsHistoryLimit`/`failedJobsHistoryLimit`.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Controller;
use super::cron::Schedule;
use super::owned::{DirtyOwners, controller_uid, event, key, owner_ref, write_status};
use crate::cluster::Cluster;
use crate::ops::{self, DeleteOpts, WriteCtx};
use crate::store::{Meta, ResKey, StoreEvent};

const MANAGER: &str = "cronjob-controller";

#[derive(Default)]
pub struct CronJobController {
    dirty: DirtyOwners,
    next: Option<Instant>,
}

fn cj_res() -> ResKey {
    ResKey::new("batch", "cronjobs")
}

fn job_res() -> ResKey {
    ResKey::new("batch", "jobs")
}

impl Controller for CronJobController {
    fn on_event(&mut self, _cluster: &Cluster, ev: &StoreEvent) {
        self.dirty.mark(ev, &cj_res(), &job_res());
    }

    fn flush(&mut self, cluster: &Cluster) {
        for obj in self.dirty.take(cluster, &cj_res()) {
            self.reconcile(cluster, &obj);
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        self.next = None;
        for cj in cluster
            .store
            .list(&cj_res(), None, None, 0, &|_| true)
            .items
        {
            self.reconcile(cluster, &cj);
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        self.next
    }

    fn tick(&mut self, cluster: &Cluster) {
        self.resync(cluster);
    }
}

fn finished(job: &Value) -> Option<&'static str> {
    let cs = job["status"]["conditions"].as_array()?;
    cs.iter()
        .find_map(|c| match (c["type"].as_str(), c["status"].as_str()) {
            (Some("Complete"), Some("True")) => Some("Complete"),
            (Some("Failed"), Some("True")) => Some("Failed"),
            _ => None,
        })
}

fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str()?.parse().ok()
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl CronJobController {
    fn wake_at(&mut self, at: Timestamp) {
        let secs = (at.as_millisecond() - Timestamp::now().as_millisecond()).max(0) as u64;
        let when = Instant::now() + std::time::Duration::from_millis(secs);
        self.next = Some(self.next.map_or(when, |n| n.min(when)));
    }

    fn reconcile(&mut self, cluster: &Cluster, cj: &Value) {
        if Meta(cj).deleting() {
            return;
        }
        let uid = Meta(cj).uid();
        let jobs: Vec<Arc<Value>> = cluster
            .store
            .list(&job_res(), Some(Meta(cj).namespace()), None, 0, &|j| {
                controller_uid(j) == Some(uid)
            })
            .items;
        let mut status = cj["status"].clone();
        if !status.is_object() {
            status = json!({});
        }
        let active: Vec<&Arc<Value>> = jobs
            .iter()
            .filter(|j| finished(j).is_none() && !Meta(j).deleting())
            .collect();
        for j in jobs.iter().filter(|j| finished(j) == Some("Complete")) {
            let t = j["status"]["completionTime"].clone();
            if ts(&t).is_some_and(|t| ts(&status["lastSuccessfulTime"]).is_none_or(|l| t > l)) {
                status["lastSuccessfulTime"] = t;
                let msg = format!("Saw completed job: {}, condition: Complete", Meta(j).name());
                event(cluster, cj, "SawCompletedJob", &msg, MANAGER);
            }
        }
        history(cluster, cj, &jobs);
        let Ok(schedule) = Schedule::parse(cj["spec"]["schedule"].as_str().unwrap_or("")) else {
            return;
        };
        let tz = cj["spec"]["timeZone"]
            .as_str()
            .and_then(|z| TimeZone::get(z).ok())
            .unwrap_or(TimeZone::UTC);
        let now = Timestamp::now();
        let since = ts(&status["lastScheduleTime"])
            .or_else(|| ts(&cj["metadata"]["creationTimestamp"]))
            .unwrap_or(now);
        // The most recent scheduled time not yet run (older missed ones are skipped).
        let mut due = None;
        let mut t = since;
        while let Some(n) = schedule.next(t, &tz).filter(|n| *n <= now) {
            due = Some(n);
            t = n;
        }
        if let Some(n) = schedule.next(t, &tz) {
            self.wake_at(n);
        }
        let mut refs: Vec<Value> = active.iter().map(|j| job_ref(j)).collect();
        if let Some(at) = due.filter(|_| cj["spec"]["suspend"] != true) {
            let late = (now.as_second() - at.as_second()) as f64;
            let in_time = cj["spec"]["startingDeadlineSeconds"]
                .as_f64()
                .is_none_or(|d| late <= d);
            let policy = cj["spec"]["concurrencyPolicy"].as_str().unwrap_or("Allow");
            if in_time && (policy != "Forbid" || active.is_empty()) {
                if policy == "Replace" {
                    for j in &active {
                        delete_job(cluster, cj, j);
                    }
                    refs.clear();
                }
                if let Some(job) = create_job(cluster, cj, at) {
                    refs.push(job_ref(&job));
                }
            }
            status["lastScheduleTime"] = json!(rfc3339(at));
        }
        status["active"] = json!(refs);
        if refs.is_empty()
            && let Some(o) = status.as_object_mut()
        {
            o.remove("active");
        }
        write_status(cluster, &cj_res(), &key(cj), MANAGER, status);
    }
}

fn job_ref(j: &Value) -> Value {
    json!({"kind": "Job", "apiVersion": "batch/v1", "namespace": Meta(j).namespace(), "name": Meta(j).name(),
        "uid": Meta(j).uid(), "resourceVersion": Meta(j).resource_version()})
}

/// The Job of the run scheduled at `at`, named after its minute (as the controller names it).
fn create_job(cluster: &Cluster, cj: &Value, at: Timestamp) -> Option<Arc<Value>> {
    let def = cluster.builtin("batch", "jobs")?;
    let name = format!("{}-{}", Meta(cj).name(), at.as_second() / 60);
    let t = &cj["spec"]["jobTemplate"];
    let mut meta = json!({"name": name, "namespace": Meta(cj).namespace(), "ownerReferences": [owner_ref(cj)],
        "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": rfc3339(at)}});
    for k in ["labels", "annotations"] {
        for (lk, lv) in t["metadata"][k].as_object().into_iter().flatten() {
            meta[k][lk] = lv.clone();
        }
    }
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": t["spec"]});
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    match ops::create(&ctx, job, Some(Meta(cj).namespace())) {
        Ok(j) => {
            event(
                cluster,
                cj,
                "SuccessfulCreate",
                &format!("Created job {name}"),
                MANAGER,
            );
            Some(j)
        }
        Err(e) => {
            crate::events::record(
                cluster,
                cj,
                None,
                crate::events::Kind::Warning,
                "FailedCreate",
                &format!("Error creating job: {e}"),
                crate::events::Source::controller(MANAGER),
            );
            None
        }
    }
}

fn delete_job(cluster: &Cluster, cj: &Value, job: &Value) {
    let Some(def) = cluster.builtin("batch", "jobs") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    let opts = DeleteOpts {
        propagation: "Background".into(),
        ..DeleteOpts::default()
    };
    if ops::delete(&ctx, &key(job), &opts).is_ok() {
        event(
            cluster,
            cj,
            "SuccessfulDelete",
            &format!("Deleted job {}", Meta(job).name()),
            MANAGER,
        );
    }
}

/// Deletes the oldest finished Jobs beyond the history limits.
fn history(cluster: &Cluster, cj: &Value, jobs: &[Arc<Value>]) {
    for (kind, field, default) in [
        ("Complete", "successfulJobsHistoryLimit", 3),
        ("Failed", "failedJobsHistoryLimit", 1),
    ] {
        let limit = cj["spec"][field].as_i64().unwrap_or(default).max(0) as usize;
        let mut done: Vec<&Arc<Value>> = jobs
            .iter()
            .filter(|j| finished(j) == Some(kind) && !Meta(j).deleting())
            .collect();
        done.sort_by_key(|j| {
            j["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or("")
                .to_string()
        });
        let extra = done.len().saturating_sub(limit);
        for j in done.into_iter().take(extra) {
            delete_job(cluster, cj, j);
        }
    }
}
