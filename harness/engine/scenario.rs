//! One scenario from start to finish: namespaces per the policy, steps in order (each
//! bounded by its timeout; the rest skipped after a failure or on cancellation), the
//! doctor after a failure, and cleanup — always.

use std::time::{Duration, Instant, SystemTime};

use backon::Retryable;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use serde_json::json;

use super::cleanup::cleanup;
use super::context::Ctx;
use super::diagnose::diagnose;
use super::error::StepError;
use super::op::{Op, Operation};
use super::steps;
use crate::event::{Event, Outcome, StepInfo};
use crate::scenario::{BindVars, NamespacePolicy};

/// Runs `ctx`'s scenario and returns its outcome; emits every event on the way.
pub(super) async fn run_scenario(ctx: &Ctx) -> Outcome {
    let started = Instant::now();
    let name = ctx.name().to_string();
    ctx.sink.emit(Event::ScenarioStarted {
        scenario: name.clone(),
        namespace: ctx.id.namespace.clone(),
        clusters: ctx
            .clusters
            .handles()
            .iter()
            .map(|(n, h)| (n.clone(), h.location.clone()))
            .collect(),
        at: SystemTime::now(),
    });
    let mut outcome = match namespaces(ctx).await {
        Ok(()) => Outcome::Passed,
        Err(e) => Outcome::Failed(StepError::Namespaces(Box::new(e)).into_failure()),
    };
    let ops = ctx.scenario.bind(&BindVars {
        namespace: ctx.id.namespace.clone(),
        run_id: ctx.id.run_id.clone(),
    });
    for op in &ops {
        let skip = match (&outcome, ctx.cancel.is_cancelled()) {
            (_, true) => Some("cancelled (SIGINT/SIGTERM)"),
            (Outcome::Failed(_), _) => Some("an earlier step failed"),
            _ => None,
        };
        let info = step_info(op);
        if let Some(reason) = skip {
            let o = Outcome::Skipped {
                reason: reason.to_string(),
            };
            finished(ctx, info, o, Duration::ZERO);
            continue;
        }
        ctx.sink.emit(Event::StepStarted {
            scenario: name.clone(),
            step: info.clone(),
            at: SystemTime::now(),
        });
        let t0 = Instant::now();
        let o = run_step(ctx, op).await;
        if matches!(o, Outcome::Failed(_)) {
            outcome = o.clone();
        }
        finished(ctx, info, o, t0.elapsed());
    }
    // Probes left running by a failed scenario stop before cleanup deletes their pods.
    for (_, running) in ctx.background.lock().await.drain() {
        running.abort();
    }
    if ctx.cancel.is_cancelled() && outcome == Outcome::Passed {
        outcome = Outcome::Failed(StepError::Cancelled.into_failure());
    }
    let (deleted, problems, kept, took) = if ctx.cfg.keep {
        (0, Vec::new(), true, Duration::ZERO)
    } else {
        let c = cleanup(ctx).await;
        (c.deleted, c.problems, false, c.duration)
    };
    if !problems.is_empty() && outcome == Outcome::Passed {
        outcome = Outcome::Failed(StepError::Cleanup(problems.clone()).into_failure());
    }
    ctx.sink.emit(Event::CleanupFinished {
        scenario: name.clone(),
        deleted,
        problems,
        kept,
        duration: took,
    });
    ctx.sink.emit(Event::ScenarioFinished {
        scenario: name,
        outcome: outcome.clone(),
        duration: started.elapsed(),
    });
    outcome
}

fn step_info(op: &Operation) -> StepInfo {
    StepInfo {
        index: op.index,
        kind: op.kind.to_string(),
        name: op.shown.clone(),
        location: op.location.clone(),
    }
}

fn finished(ctx: &Ctx, step: StepInfo, outcome: Outcome, duration: Duration) {
    ctx.sink.emit(Event::StepFinished {
        scenario: ctx.name().to_string(),
        step,
        outcome,
        duration,
    });
}

/// Runs one step to an outcome; failures get the doctor's diagnosis.
async fn run_step(ctx: &Ctx, op: &Operation) -> Outcome {
    if let Ok(Op::ExpectFailure { inner, diagnosis }) = &op.op {
        return expect_failure(ctx, op.index, inner, diagnosis).await;
    }
    match bounded(ctx, op).await {
        Ok(()) => Outcome::Passed,
        Err(e) => {
            let mut f = e.into_failure();
            if let Some(d) = diagnosis_for(ctx, op.index, op).await {
                f.diagnosis = Some(d);
            }
            Outcome::Failed(f)
        }
    }
}

/// Runs `op` within its deadline (the step's wait has its own; this bounds the rest).
async fn bounded(ctx: &Ctx, op: &Operation) -> Result<(), StepError> {
    let o = match &op.op {
        Ok(o) => o,
        Err(e) => return Err(e.clone().into()),
    };
    let limit = op.timeout;
    // Waits report their own timeout with the last mismatch; this outer bound (slightly
    // later) catches mutations that hang.
    match tokio::time::timeout(
        limit + Duration::from_secs(1),
        steps::run(ctx, op.index, o, limit),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(StepError::StepTimeout(limit)),
    }
}

/// Runs the doctor for the step's Service and emits the diagnosis; returns its id.
async fn diagnosis_for(ctx: &Ctx, index: usize, op: &Operation) -> Option<String> {
    let service = op.service.as_deref()?;
    if ctx.cancel.is_cancelled() {
        return None;
    }
    match diagnose(ctx, service).await {
        Ok(d) => {
            let id = d.id.clone();
            ctx.sink.emit(Event::Diagnosis {
                scenario: ctx.name().to_string(),
                index,
                diagnosis: d,
            });
            Some(id)
        }
        Err(e) => {
            tracing::warn!(scenario = ctx.name(), "no diagnosis: {e}");
            None
        }
    }
}

/// `expectFailure`: the inner step must fail and the doctor must name `want`.
async fn expect_failure(ctx: &Ctx, index: usize, inner: &Operation, want: &str) -> Outcome {
    let failed = |e: StepError| Outcome::Failed(e.into_failure());
    let failure = match bounded(ctx, inner).await {
        Ok(()) => {
            return failed(StepError::DidNotFail {
                step: inner.shown.clone(),
                want: want.to_string(),
            });
        }
        Err(e) => e,
    };
    if ctx.cancel.is_cancelled() {
        return failed(failure);
    }
    let Some(service) = inner.service.as_deref() else {
        return failed(StepError::NoService(inner.shown.clone()));
    };
    let got = diagnosis_for(ctx, index, inner).await;
    match got.as_deref() {
        Some(id) if id == want => Outcome::Passed,
        _ => failed(StepError::WrongDiagnosis {
            step: inner.shown.clone(),
            failure: failure.to_string(),
            service: service.to_string(),
            want: want.to_string(),
            got,
        }),
    }
}

/// Creates the run's namespace where the policy says, labelled with the run id.
async fn namespaces(ctx: &Ctx) -> Result<(), StepError> {
    ctx.check_namespace(&ctx.id.namespace)?;
    let targets: Vec<String> = match &ctx.id.policy {
        NamespacePolicy::Fresh {
            create_in: Some(cs),
        } => cs.clone(),
        NamespacePolicy::Fresh { create_in: None } | NamespacePolicy::Fixed { .. } => {
            ctx.clusters.names().cloned().collect()
        }
    };
    for cluster in targets {
        let api = Api::<Namespace>::all(ctx.clusters.client(&cluster)?);
        let exists = (|| api.get_opt(&ctx.id.namespace))
            .retry(crate::retry::backoff())
            .when(crate::retry::transient)
            .await
            .map_err(|e| StepError::api(format!("get namespace in {cluster}"), e))?
            .is_some();
        if exists && matches!(ctx.id.policy, NamespacePolicy::Fixed { .. }) {
            continue;
        }
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ctx.id.namespace}});
        ctx.apply_object(&cluster, ns).await?;
    }
    Ok(())
}
