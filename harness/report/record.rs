//! The run as the reporters see it: events folded into scenarios, steps, diagnoses,
//! milestones, background-probe reports and cleanup results. Every reporter keeps one and
//! renders from it, so they agree on what happened even when events of concurrent scenarios
//! interleave.

use std::time::{Duration, SystemTime};

use crate::doctor::Diagnosis;
use crate::event::{Event, Milestone, Outcome, ProbeReport, ScenarioInfo, StepInfo};

/// Everything known about the run so far.
#[derive(Debug, Default)]
pub(crate) struct RunRecord {
    pub run_id: String,
    pub provider: String,
    pub started_at: Option<SystemTime>,
    /// Scenarios announced at RunStarted, in order.
    pub planned: Vec<ScenarioInfo>,
    /// Scenarios in the order they were first mentioned by an event.
    pub scenarios: Vec<ScenarioRecord>,
    /// Set by RunFinished.
    pub totals: Option<Totals>,
    /// What preflight found, when it ran.
    pub preflight: Option<crate::fleet::PreflightReport>,
    /// Notices, with the scenario they are about.
    pub notices: Vec<(Option<String>, String)>,
    /// The comparison with a baseline / across repeats (baseline path, findings), when made.
    pub comparison: Option<(Option<String>, crate::compare::Findings)>,
}

/// The counts of RunFinished.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub duration: Duration,
}

/// One scenario of the run.
#[derive(Debug, Default)]
pub(crate) struct ScenarioRecord {
    pub name: String,
    pub file: String,
    pub description: Option<String>,
    pub planned_steps: usize,
    pub namespace: String,
    pub clusters: Vec<(String, String)>,
    pub started_at: Option<SystemTime>,
    pub steps: Vec<StepRecord>,
    /// Diagnoses with the index of the step they belong to, in arrival order.
    pub diagnoses: Vec<(usize, Diagnosis)>,
    pub milestones: Vec<MilestoneRecord>,
    /// Background-probe reports with the index of their `stopProbe` step, in arrival order.
    pub probes: Vec<(usize, ProbeReport)>,
    pub cleanup: Option<CleanupRecord>,
    /// Set by ScenarioFinished.
    pub outcome: Option<Outcome>,
    pub duration: Option<Duration>,
}

/// One step of a scenario.
#[derive(Debug)]
pub(crate) struct StepRecord {
    pub info: StepInfo,
    pub started_at: Option<SystemTime>,
    /// Set by StepFinished.
    pub outcome: Option<Outcome>,
    pub duration: Option<Duration>,
    /// Latest WaitProgress message and elapsed time.
    pub last_wait: Option<(String, Duration)>,
}

/// A milestone reached in a scenario.
#[derive(Debug, Clone)]
pub(crate) struct MilestoneRecord {
    pub milestone: Milestone,
    pub cluster: Option<String>,
    pub at: SystemTime,
    pub since_export: Option<Duration>,
    pub source: crate::event::MilestoneSource,
}

/// The result of a scenario's cleanup.
#[derive(Debug, Clone)]
pub(crate) struct CleanupRecord {
    pub deleted: usize,
    pub problems: Vec<String>,
    pub kept: bool,
    pub duration: Duration,
}

impl RunRecord {
    /// Folds one event in.
    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::RunStarted {
                run_id,
                provider,
                scenarios,
                at,
            } => {
                self.run_id.clone_from(run_id);
                self.provider.clone_from(provider);
                self.planned.clone_from(scenarios);
                self.started_at = Some(*at);
            }
            Event::RunFinished {
                passed,
                failed,
                skipped,
                duration,
            } => {
                self.totals = Some(Totals {
                    passed: *passed,
                    failed: *failed,
                    skipped: *skipped,
                    duration: *duration,
                });
            }
            Event::Preflight { report } => self.preflight = Some(report.clone()),
            Event::Comparison { baseline, findings } => {
                self.comparison = Some((baseline.clone(), findings.clone()));
            }
            Event::Notice { scenario, message } => {
                self.notices.push((scenario.clone(), message.clone()));
            }
            Event::ScenarioStarted { scenario, .. }
            | Event::StepStarted { scenario, .. }
            | Event::WaitProgress { scenario, .. }
            | Event::Milestone { scenario, .. }
            | Event::StepFinished { scenario, .. }
            | Event::Diagnosis { scenario, .. }
            | Event::ProbeReport { scenario, .. }
            | Event::CleanupFinished { scenario, .. }
            | Event::ScenarioFinished { scenario, .. } => self.open(scenario).apply(e),
        }
    }

    /// The latest unfinished record of scenario `name`, created when there is none (a
    /// scenario may be reported skipped without ever starting).
    fn open(&mut self, name: &str) -> &mut ScenarioRecord {
        let found = self
            .scenarios
            .iter()
            .rposition(|s| s.name == name && s.outcome.is_none());
        let idx = match found {
            Some(i) => i,
            None => {
                let planned = self.planned.iter().find(|p| p.name == name);
                self.scenarios.push(ScenarioRecord {
                    name: name.to_string(),
                    file: planned.map(|p| p.file.clone()).unwrap_or_default(),
                    description: planned.and_then(|p| p.description.clone()),
                    planned_steps: planned.map_or(0, |p| p.steps),
                    ..ScenarioRecord::default()
                });
                self.scenarios.len() - 1
            }
        };
        &mut self.scenarios[idx]
    }

    /// The most recent record of scenario `name` (finished or not).
    pub fn scenario(&self, name: &str) -> Option<&ScenarioRecord> {
        self.scenarios.iter().rev().find(|s| s.name == name)
    }

    /// Total number of steps announced at RunStarted.
    pub fn planned_steps(&self) -> usize {
        self.planned.iter().map(|p| p.steps).sum()
    }
}

impl ScenarioRecord {
    /// Folds in an event about this scenario.
    fn apply(&mut self, e: &Event) {
        match e {
            Event::ScenarioStarted {
                namespace,
                clusters,
                at,
                ..
            } => {
                self.namespace.clone_from(namespace);
                self.clusters.clone_from(clusters);
                self.started_at = Some(*at);
            }
            Event::Milestone {
                milestone,
                cluster,
                at,
                since_export,
                source,
                ..
            } => self.milestones.push(MilestoneRecord {
                milestone: *milestone,
                cluster: cluster.clone(),
                at: *at,
                since_export: *since_export,
                source: *source,
            }),
            Event::Diagnosis {
                index, diagnosis, ..
            } => self.diagnoses.push((*index, diagnosis.clone())),
            Event::ProbeReport { index, report, .. } => self.probes.push((*index, report.clone())),
            Event::CleanupFinished {
                deleted,
                problems,
                kept,
                duration,
                ..
            } => {
                self.cleanup = Some(CleanupRecord {
                    deleted: *deleted,
                    problems: problems.clone(),
                    kept: *kept,
                    duration: *duration,
                });
            }
            Event::ScenarioFinished {
                outcome, duration, ..
            } => {
                self.outcome = Some(outcome.clone());
                self.duration = Some(*duration);
            }
            Event::StepStarted { .. } | Event::WaitProgress { .. } | Event::StepFinished { .. } => {
                self.apply_step(e);
            }
            Event::RunStarted { .. }
            | Event::RunFinished { .. }
            | Event::Preflight { .. }
            | Event::Notice { .. }
            | Event::Comparison { .. } => {}
        }
    }

    /// Folds in an event about one of this scenario's steps.
    fn apply_step(&mut self, e: &Event) {
        match e {
            Event::StepStarted { step, at, .. } => self.step(step).started_at = Some(*at),
            Event::WaitProgress {
                index,
                message,
                elapsed,
                ..
            } => {
                if let Some(step) = self.step_at(*index) {
                    step.last_wait = Some((message.clone(), *elapsed));
                }
            }
            Event::StepFinished {
                step,
                outcome,
                duration,
                ..
            } => {
                let s = self.step(step);
                s.outcome = Some(outcome.clone());
                s.duration = Some(*duration);
            }
            Event::RunStarted { .. }
            | Event::Preflight { .. }
            | Event::Notice { .. }
            | Event::ScenarioStarted { .. }
            | Event::Milestone { .. }
            | Event::Diagnosis { .. }
            | Event::ProbeReport { .. }
            | Event::CleanupFinished { .. }
            | Event::ScenarioFinished { .. }
            | Event::Comparison { .. }
            | Event::RunFinished { .. } => {}
        }
    }

    /// The record of `info`'s step, created on first mention.
    fn step(&mut self, info: &StepInfo) -> &mut StepRecord {
        let idx = match self.steps.iter().position(|s| s.info.index == info.index) {
            Some(i) => i,
            None => {
                self.steps.push(StepRecord {
                    info: info.clone(),
                    started_at: None,
                    outcome: None,
                    duration: None,
                    last_wait: None,
                });
                self.steps.len() - 1
            }
        };
        &mut self.steps[idx]
    }

    fn step_at(&mut self, index: usize) -> Option<&mut StepRecord> {
        self.steps.iter_mut().find(|s| s.info.index == index)
    }

    /// Diagnoses attached to step `index`.
    pub fn diagnoses_of(&self, index: usize) -> Vec<&Diagnosis> {
        self.diagnoses
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, d)| d)
            .collect()
    }

    /// Background-probe reports attached to step `index` (its `stopProbe` step).
    pub fn probes_of(&self, index: usize) -> Vec<&ProbeReport> {
        self.probes
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, p)| p)
            .collect()
    }

    /// Steps that finished with the given kind of outcome.
    pub fn count_steps(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.steps
            .iter()
            .filter(|s| s.outcome.as_ref().is_some_and(&pred))
            .count()
    }

    /// The first failed step, if any.
    pub fn first_failed_step(&self) -> Option<&StepRecord> {
        self.steps
            .iter()
            .find(|s| matches!(s.outcome, Some(Outcome::Failed(_))))
    }

    /// The milestone that took longest after its export, if any has a latency.
    pub fn slowest_milestone(&self) -> Option<(&MilestoneRecord, Duration)> {
        self.milestones
            .iter()
            .filter_map(|m| m.since_export.map(|d| (m, d)))
            .max_by_key(|(_, d)| *d)
    }

    /// Cleanup problems, if cleanup reported any.
    pub fn cleanup_problems(&self) -> &[String] {
        self.cleanup.as_ref().map_or(&[], |c| &c.problems)
    }
}
