//! Job controller (batch/v1): runs `parallelism` pods at a time until `completions`
//! succeeded (`SuccessCriteriaMet`, then `Complete`, event `Completed`), or more than
//! `backoffLimit` failed (`FailureTarget`, then `Failed`/`BackoffLimitExceeded`) or
//! `activeDeadlineSeconds` passed (`DeadlineExceeded`); replacement pods after failures wait
//! the controller's back-off (10 s doubling to 6 min); `ttlSecondsAfterFinished` deletes a
//! finished Job. Timers are on the compressed clock. Pod failure policies, indexed
//! completions and the job-tracking finalizer are not simulated.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Controller;
use super::owned::{DirtyOwners, controller_uid, event, key, pod_ready, write_status};
use crate::cluster::Cluster;
use crate::ops::{self, DeleteOpts, WriteCtx};
use crate::store::{Meta, ResKey, StoreEvent, now_rfc3339};

const MANAGER: &str = "job-controller";

#[derive(Default)]
pub struct JobController {
    dirty: DirtyOwners,
    wake: BTreeMap<String, Instant>,
    /// Per Job: failed pods counted so far and when the count last grew (back-off start).
    failures: BTreeMap<String, (i64, Instant)>,
}

fn job_res() -> ResKey {
    ResKey::new("batch", "jobs")
}

fn pod_res() -> ResKey {
    ResKey::new("", "pods")
}

impl Controller for JobController {
    fn on_event(&mut self, _cluster: &Cluster, ev: &StoreEvent) {
        self.dirty.mark(ev, &job_res(), &pod_res());
    }

    fn flush(&mut self, cluster: &Cluster) {
        for obj in self.dirty.take(cluster, &job_res()) {
            self.reconcile(cluster, &obj);
        }
    }

    fn resync(&mut self, cluster: &Cluster) {
        for j in cluster
            .store
            .list(&job_res(), None, None, 0, &|_| true)
            .items
        {
            self.reconcile(cluster, &j);
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        self.wake.values().min().copied()
    }

    fn tick(&mut self, cluster: &Cluster) {
        let now = Instant::now();
        let due: Vec<String> = self
            .wake
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(u, _)| u.clone())
            .collect();
        for uid in due {
            self.wake.remove(&uid);
            if let Some((_, job)) = cluster.store.by_uid(&uid).filter(|(r, _)| *r == job_res()) {
                self.reconcile(cluster, &job);
            }
        }
    }
}

fn condition_true(job: &Value, ty: &str) -> bool {
    job["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == ty && c["status"] == "True"))
}

fn cond(ty: &str, reason: &str, message: &str) -> Value {
    let now = now_rfc3339();
    json!({"type": ty, "status": "True", "reason": reason, "message": message, "lastProbeTime": now, "lastTransitionTime": now})
}

/// Seconds since an RFC 3339 timestamp.
fn since(t: &Value) -> f64 {
    t.as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map_or(0.0, |t| {
            (jiff::Timestamp::now().as_millisecond() - t.as_millisecond()) as f64 / 1000.0
        })
}

impl JobController {
    fn later(&mut self, job: &Value, after: std::time::Duration) {
        let at = Instant::now() + after;
        let e = self.wake.entry(Meta(job).uid().to_string()).or_insert(at);
        *e = (*e).min(at);
    }

    fn reconcile(&mut self, cluster: &Cluster, job: &Value) {
        if Meta(job).deleting() {
            return;
        }
        let t = cluster.time;
        if condition_true(job, "Complete") || condition_true(job, "Failed") {
            self.failures.remove(Meta(job).uid());
            if let Some(ttl) = job["spec"]["ttlSecondsAfterFinished"].as_f64() {
                let conds = job["status"]["conditions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let finished = conds
                    .last()
                    .map_or(0.0, |c| since(&c["lastTransitionTime"]));
                let elapsed = finished * t.factor();
                if elapsed >= ttl {
                    delete_job(cluster, job);
                } else {
                    self.later(job, t.secs(ttl - elapsed));
                }
            }
            return;
        }
        let uid = Meta(job).uid();
        let pods: Vec<Arc<Value>> = cluster
            .store
            .list(&pod_res(), Some(Meta(job).namespace()), None, 0, &|p| {
                controller_uid(p) == Some(uid)
            })
            .items;
        let phase = |p: &Value| p["status"]["phase"].as_str().unwrap_or("").to_string();
        let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
        let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
        let active: Vec<&Arc<Value>> = pods
            .iter()
            .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed") && !Meta(p).deleting())
            .collect();
        let spec = &job["spec"];
        let completions = spec["completions"].as_i64();
        let parallelism = spec["parallelism"].as_i64().unwrap_or(1).max(0);
        let backoff_limit = spec["backoffLimit"].as_i64().unwrap_or(6);
        let started = job["status"]["startTime"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(now_rfc3339);
        let mut status = json!({"startTime": started, "active": active.len(), "succeeded": succeeded, "failed": failed,
            "ready": active.iter().filter(|p| pod_ready(p)).count(), "terminating": 0, "uncountedTerminatedPods": {}});
        let mut conditions = Vec::new();
        let done = completions.map_or(succeeded > 0 && active.is_empty(), |c| succeeded >= c);
        let deadline = spec["activeDeadlineSeconds"].as_f64();
        let over_deadline = deadline.is_some_and(|d| since(&json!(started)) * t.factor() >= d);
        if done {
            conditions.push(cond(
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            ));
            conditions.push(cond(
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            ));
            status["completionTime"] = json!(now_rfc3339());
            event(cluster, job, "Completed", "Job completed", MANAGER);
        } else if failed > backoff_limit || over_deadline {
            let (reason, msg) = match over_deadline {
                true => (
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                ),
                false => (
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                ),
            };
            conditions.push(cond("FailureTarget", reason, msg));
            conditions.push(cond("Failed", reason, msg));
            for p in &active {
                delete_pod(cluster, p);
            }
            status["active"] = json!(0);
            crate::events::record(
                cluster,
                job,
                None,
                crate::events::Kind::Warning,
                reason,
                msg,
                crate::events::Source::controller(MANAGER),
            );
        } else if spec["suspend"] != true {
            let left = completions.map_or(parallelism, |c| (c - succeeded).min(parallelism));
            let need = left - active.len() as i64;
            if need > 0 {
                // The controller's back-off after pod failures: 10 s · 2^(failures-1), ≤ 6 min.
                let delay = match failed {
                    0 => 0.0,
                    n => (10.0 * 2f64.powi((n - 1).min(10) as i32)).min(360.0),
                };
                let entry = self
                    .failures
                    .entry(uid.to_string())
                    .or_insert((0, Instant::now()));
                if failed > entry.0 {
                    *entry = (failed, Instant::now());
                }
                let waited = t.simulated(entry.1.elapsed());
                if waited >= delay {
                    for _ in 0..need {
                        let _ = super::owned::create_pod(
                            cluster,
                            job,
                            &spec["template"],
                            None,
                            &[],
                            MANAGER,
                        );
                    }
                } else {
                    self.later(job, t.secs(delay - waited));
                }
            }
            if let Some(d) = deadline {
                self.later(job, t.secs(d));
            }
        }
        if !conditions.is_empty() {
            status["conditions"] = json!(conditions);
        }
        write_status(cluster, &job_res(), &key(job), MANAGER, status);
    }
}

fn delete_pod(cluster: &Cluster, pod: &Value) {
    let Some(def) = cluster.builtin("", "pods") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, MANAGER);
    let _ = ops::delete(&ctx, &key(pod), &DeleteOpts::default());
}

fn delete_job(cluster: &Cluster, job: &Value) {
    let Some(def) = cluster.builtin("batch", "jobs") else {
        return;
    };
    let ctx = WriteCtx::controller(cluster, &def, "ttl-after-finished-controller");
    let opts = DeleteOpts {
        propagation: "Background".into(),
        ..DeleteOpts::default()
    };
    let _ = ops::delete(&ctx, &key(job), &opts);
}
