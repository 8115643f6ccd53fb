//! The run loop: every planned scenario (skipped ones reported as such), up to `jobs` at a
//! time, one Event stream, cancellation shared by all.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::StreamExt;
use kube::Client;
use tokio_util::sync::CancellationToken;

use super::context::Ctx;
use super::events::EventSink;
use super::scenario::run_scenario;
use crate::event::{Event, Outcome, ScenarioInfo};
use crate::scenario::{NamespacePolicy, Scenario};

/// Run-wide options.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Run id: label value on everything created, part of fresh namespace names.
    pub run_id: String,
    /// Keep what the run created (for debugging); cleanup is skipped.
    pub keep: bool,
    /// Protected namespaces the user explicitly allowed.
    pub allow_namespaces: Vec<String>,
    /// Probe pod image.
    pub probe_image: String,
    /// Scenarios run concurrently.
    pub jobs: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            run_id: super::new_run_id(),
            keep: false,
            allow_namespaces: Vec::new(),
            probe_image: crate::probe::DEFAULT_PROBE_IMAGE.to_string(),
            jobs: 1,
        }
    }
}

/// A logical cluster bound to a real one.
#[derive(Clone)]
pub struct ClusterHandle {
    /// Logical name (as in scenarios).
    pub name: String,
    /// Where it runs, for reports: a context name or `embedded`.
    pub location: String,
    /// Its client.
    pub client: Client,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHandle")
            .field("name", &self.name)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A scenario and its clusters, or the reason it cannot run on this fleet.
pub struct Planned {
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// Logical cluster → handle, or why the scenario is skipped.
    pub clusters: Result<BTreeMap<String, ClusterHandle>, String>,
}

/// Totals of a run.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// Scenarios passed.
    pub passed: usize,
    /// Scenarios failed.
    pub failed: usize,
    /// Scenarios skipped.
    pub skipped: usize,
    /// Per scenario (in plan order): name and outcome.
    pub outcomes: Vec<(String, Outcome)>,
}

/// The name each planned scenario has in events (`name`, or `name#2` for the second
/// scenario of the same name) and its namespace: fixed ones as given, fresh ones
/// `mcs-<name>-<run id>[-N]`.
fn identities(plan: &[Planned], run_id: &str) -> Vec<(String, String)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    plan.iter()
        .map(|p| {
            let name = &p.scenario.name;
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            let (display, suffix) = match *n {
                1 => (name.clone(), String::new()),
                n => (format!("{name}#{n}"), format!("-{n}")),
            };
            let ns = match &p.scenario.namespace {
                NamespacePolicy::Fixed { name } => name.clone(),
                NamespacePolicy::Fresh { .. } => {
                    let stem: String = name.chars().take(40).collect();
                    format!("mcs-{}-{run_id}{suffix}", stem.trim_end_matches('-'))
                }
            };
            (display, ns)
        })
        .collect()
}

/// Runs the plan and returns the totals; emits RunStarted … RunFinished.
pub async fn run(
    plan: Vec<Planned>,
    cfg: RunConfig,
    provider: String,
    sink: EventSink,
    cancel: CancellationToken,
) -> RunSummary {
    let started = Instant::now();
    let cfg = Arc::new(cfg);
    let names = identities(&plan, &cfg.run_id);
    sink.emit(Event::RunStarted {
        run_id: cfg.run_id.clone(),
        provider,
        scenarios: plan
            .iter()
            .zip(&names)
            .map(|(p, (name, _))| ScenarioInfo {
                name: name.clone(),
                file: p.scenario.origin.clone(),
                steps: p.scenario.steps.len(),
                description: p.scenario.description.clone(),
            })
            .collect(),
        at: SystemTime::now(),
    });
    let jobs = cfg.jobs.max(1);
    let outcomes: Vec<(usize, String, Outcome)> =
        futures::stream::iter(plan.into_iter().zip(names).enumerate())
            .map(|(i, (p, (name, ns)))| {
                let (cfg, sink, cancel) = (cfg.clone(), sink.clone(), cancel.clone());
                async move {
                    let outcome = one(p, &name, ns, cfg, sink, cancel).await;
                    (i, name, outcome)
                }
            })
            .buffer_unordered(jobs)
            .collect()
            .await;
    let mut outcomes = outcomes;
    outcomes.sort_by_key(|(i, _, _)| *i);
    let mut summary = RunSummary::default();
    for (_, name, o) in outcomes {
        match &o {
            Outcome::Passed => summary.passed += 1,
            Outcome::Failed(_) => summary.failed += 1,
            Outcome::Skipped { .. } => summary.skipped += 1,
        }
        summary.outcomes.push((name, o));
    }
    sink.emit(Event::RunFinished {
        passed: summary.passed,
        failed: summary.failed,
        skipped: summary.skipped,
        duration: started.elapsed(),
    });
    summary
}

async fn one(
    p: Planned,
    name: &str,
    namespace: String,
    cfg: Arc<RunConfig>,
    sink: EventSink,
    cancel: CancellationToken,
) -> Outcome {
    let clusters = match p.clusters {
        Ok(c) => c,
        Err(reason) => {
            let outcome = Outcome::Skipped { reason };
            sink.emit(Event::ScenarioFinished {
                scenario: name.to_string(),
                outcome: outcome.clone(),
                duration: std::time::Duration::ZERO,
            });
            return outcome;
        }
    };
    if cancel.is_cancelled() {
        let outcome = Outcome::Skipped {
            reason: "cancelled (SIGINT/SIGTERM)".into(),
        };
        sink.emit(Event::ScenarioFinished {
            scenario: name.to_string(),
            outcome: outcome.clone(),
            duration: std::time::Duration::ZERO,
        });
        return outcome;
    }
    let ctx = Ctx::new(p.scenario, name, namespace, clusters, cfg, sink, cancel);
    run_scenario(&ctx).await
}
