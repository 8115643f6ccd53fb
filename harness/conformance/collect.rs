//! A reporter that folds the run's events into what the conformance report needs: the
//! clusters preflight saw, and per scenario its outcome, the failed step and the doctor's
//! diagnosis (the engine runs the doctor for the failing step's Service).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::doctor::Diagnosis;
use crate::event::{Event, Outcome};
use crate::fleet::preflight::ClusterCheck;
use crate::report::{ReportError, Reporter};

/// What one scenario did.
#[derive(Clone, Debug)]
pub struct Ran {
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time including cleanup.
    pub duration: Duration,
    /// The failed step (`NN name`), when one failed.
    pub failed_step: Option<String>,
    /// The doctor's diagnoses, in order.
    pub diagnoses: Vec<Diagnosis>,
}

/// Everything collected from one run.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// The provider's description (`RunStarted`).
    pub provider: String,
    /// Preflight's view of each cluster.
    pub clusters: Vec<ClusterCheck>,
    /// Per scenario name.
    pub scenarios: BTreeMap<String, Ran>,
}

/// The reporter; read the result through the shared handle after the run.
pub struct Collector {
    data: Arc<Mutex<Collected>>,
    steps: BTreeMap<String, String>,
    diagnoses: BTreeMap<String, Vec<Diagnosis>>,
}

impl Collector {
    /// A collector and the handle its results are read from.
    pub fn new() -> (Collector, Arc<Mutex<Collected>>) {
        let data = Arc::new(Mutex::new(Collected::default()));
        let c = Collector {
            data: data.clone(),
            steps: BTreeMap::new(),
            diagnoses: BTreeMap::new(),
        };
        (c, data)
    }

    fn with(&self, f: impl FnOnce(&mut Collected)) {
        // A poisoned lock means a reporter panicked; the report is lost either way.
        if let Ok(mut d) = self.data.lock() {
            f(&mut d);
        }
    }
}

impl Reporter for Collector {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        match e {
            Event::RunStarted { provider, .. } => {
                let p = provider.clone();
                self.with(|d| d.provider = p);
            }
            Event::Preflight { report } => {
                let c = report.clusters.clone();
                self.with(|d| d.clusters = c);
            }
            Event::StepFinished {
                scenario,
                step,
                outcome: Outcome::Failed(_),
                ..
            } => {
                self.steps
                    .entry(scenario.clone())
                    .or_insert_with(|| format!("{:02} {}", step.index + 1, step.name));
            }
            Event::Diagnosis {
                scenario,
                diagnosis,
                ..
            } => self
                .diagnoses
                .entry(scenario.clone())
                .or_default()
                .push(diagnosis.clone()),
            Event::ScenarioFinished {
                scenario,
                outcome,
                duration,
            } => {
                let ran = Ran {
                    outcome: outcome.clone(),
                    duration: *duration,
                    failed_step: self.steps.remove(scenario),
                    diagnoses: self.diagnoses.remove(scenario).unwrap_or_default(),
                };
                let name = scenario.clone();
                self.with(|d| {
                    d.scenarios.insert(name, ran);
                });
            }
            Event::StepStarted { .. }
            | Event::StepFinished { .. }
            | Event::Notice { .. }
            | Event::ScenarioStarted { .. }
            | Event::WaitProgress { .. }
            | Event::Milestone { .. }
            | Event::ProbeReport { .. }
            | Event::CleanupFinished { .. }
            | Event::Comparison { .. }
            | Event::RunFinished { .. } => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        Ok(())
    }
}
