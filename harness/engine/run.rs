//! The run loop: every planned scenario (skipped ones reported as such), up to `jobs` at a
//! time, one Event stream, cancellation shared by all.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::StreamExt;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use super::config::RunConfig;
use super::context::{Bound, Ctx};
use super::error::StepError;
use super::events::EventSink;
use super::scenario::run_scenario;
use crate::event::{Event, Outcome, ScenarioInfo};
use crate::fleet::Provider;
use crate::scenario::{NamespacePolicy, Scenario};

/// Logical clusters bound to real ones (the provider layer's handle).
pub use crate::fleet::ClusterHandle;

/// A scenario as the run loop gets it: bound when its turn comes, or skipped.
pub struct Planned {
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// Why it is skipped (a capability the provider lacks), if it is.
    pub skip: Option<String>,
}

impl Planned {
    /// A scenario that runs.
    pub fn run(scenario: Arc<Scenario>) -> Planned {
        Planned {
            scenario,
            skip: None,
        }
    }
}

/// What the run loop announces right after RunStarted.
#[derive(Clone, Debug, Default)]
pub struct RunIntro {
    /// What preflight found.
    pub preflight: Option<crate::fleet::PreflightReport>,
    /// Notices (e.g. what gc removed before the run).
    pub notices: Vec<String>,
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

/// Runs the plan on `provider`'s clusters and returns the totals; emits RunStarted …
/// RunFinished (and the intro right after RunStarted).
pub async fn run(
    plan: Vec<Planned>,
    provider: Arc<dyn Provider>,
    cfg: RunConfig,
    intro: RunIntro,
    sink: EventSink,
    cancel: CancellationToken,
) -> RunSummary {
    let started = Instant::now();
    let cfg = Arc::new(cfg);
    let names = identities(&plan, &cfg.run_id);
    sink.emit(Event::RunStarted {
        run_id: cfg.run_id.clone(),
        provider: format!(
            "{} ({})",
            provider.describe(),
            provider.capabilities().describe()
        ),
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
    if let Some(report) = intro.preflight {
        sink.emit(Event::Preflight { report });
    }
    for message in intro.notices {
        sink.emit(Event::Notice {
            scenario: None,
            message,
        });
    }
    let jobs = cfg.jobs.max(1);
    // Scenarios that install faults on shared clusters run alone (write lock); the others
    // share (read lock). On fleets of their own, nothing is locked.
    let alone = Arc::new(RwLock::new(()));
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outcomes: Vec<(usize, String, Outcome)> =
        futures::stream::iter(plan.into_iter().zip(names).enumerate())
            .map(|(i, (p, (name, ns)))| {
                let (cfg, sink, cancel) = (cfg.clone(), sink.clone(), cancel.clone());
                let (provider, alone, failed) = (provider.clone(), alone.clone(), failed.clone());
                async move {
                    let run = One {
                        name: &name,
                        namespace: ns,
                        cfg,
                        sink,
                        cancel,
                        failed: &failed,
                    };
                    let outcome = run.go(p, provider.as_ref(), &alone).await;
                    if matches!(outcome, Outcome::Failed(_)) {
                        failed.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
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

/// One scenario's turn in the run loop.
struct One<'a> {
    name: &'a str,
    namespace: String,
    cfg: Arc<RunConfig>,
    sink: EventSink,
    cancel: CancellationToken,
    /// Set once a scenario of the run has failed.
    failed: &'a std::sync::atomic::AtomicBool,
}

impl One<'_> {
    fn finish(&self, outcome: Outcome) -> Outcome {
        self.sink.emit(Event::ScenarioFinished {
            scenario: self.name.to_string(),
            outcome: outcome.clone(),
            duration: std::time::Duration::ZERO,
        });
        outcome
    }

    async fn go(self, p: Planned, provider: &dyn Provider, alone: &RwLock<()>) -> Outcome {
        if let Some(reason) = p.skip {
            return self.finish(Outcome::Skipped { reason });
        }
        let exclusive = !provider.capabilities().fleet_per_scenario && p.scenario.requires.faults;
        let (mut _alone, mut _shared) = (None, None);
        if exclusive {
            self.sink.emit(Event::Notice {
                scenario: Some(self.name.to_string()),
                message: "installs faults on shared clusters: runs alone (other scenarios of \
                          this run wait; its faults are scoped to its namespace)"
                    .to_string(),
            });
            _alone = Some(alone.write().await);
        } else {
            _shared = Some(alone.read().await);
        }
        if self.cancel.is_cancelled() {
            return self.finish(Outcome::Skipped {
                reason: "cancelled (SIGINT/SIGTERM)".into(),
            });
        }
        if self.cfg.fail_fast && self.failed.load(std::sync::atomic::Ordering::SeqCst) {
            return self.finish(Outcome::Skipped {
                reason: "not started: an earlier scenario failed (--fail-fast)".into(),
            });
        }
        let binding = match provider.bind(&p.scenario).await {
            Ok(b) => b,
            Err(e) => {
                let f = StepError::Binding(crate::output::error_chain(&e)).into_failure();
                return self.finish(Outcome::Failed(f));
            }
        };
        let ctx = Ctx::new(
            p.scenario,
            self.name,
            self.namespace,
            Bound {
                clusters: binding.clusters.clone(),
                shared: binding.shared,
            },
            self.cfg,
            self.sink,
            self.cancel,
        );
        let outcome = run_scenario(&ctx).await;
        drop(binding);
        outcome
    }
}
