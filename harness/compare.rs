//! Run comparison for nightly CI: this run's propagation latencies and outcomes against a
//! previous JSON report (`--baseline PATH.json`), and flake detection across repeats
//! (`--repeat N`). Pure functions over [`RunData`]; the [`Comparer`] builds it from events
//! and reports the findings as an [`Event::Comparison`]; [`RunData::from_report`] reads a
//! saved report ([`JsonReport`]).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::event::{Event, Outcome};
use crate::report::{JsonReport, ReportError, Reporter};

/// Passed: Some(true); failed: Some(false); skipped: None.
fn passed(o: &Outcome) -> Option<bool> {
    match o {
        Outcome::Passed => Some(true),
        Outcome::Failed(_) => Some(false),
        Outcome::Skipped { .. } => None,
    }
}

/// What one scenario run contributes: outcome and first latency of each milestone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScenarioData {
    /// Scenario name without the repeat suffix (`mcs-basic#2` → `mcs-basic`).
    pub name: String,
    /// Whether it passed (None: skipped or unfinished).
    pub passed: Option<bool>,
    /// `milestone@cluster` → milliseconds since the export change, first occurrence.
    pub milestones: BTreeMap<String, f64>,
}

/// Every scenario run of one harness run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunData {
    /// Scenario runs in order (repeats appear several times).
    pub scenarios: Vec<ScenarioData>,
}

/// The repeat suffix is not part of the name.
fn base_name(name: &str) -> &str {
    name.split_once('#').map_or(name, |(n, _)| n)
}

fn key(milestone: &str, cluster: Option<&str>) -> String {
    match cluster {
        Some(c) => format!("{milestone}@{c}"),
        None => milestone.to_string(),
    }
}

impl RunData {
    /// Reads a report written by `--json` (as a JSON value; see [`RunData::from_report`]).
    pub fn from_json(v: &Value) -> Result<RunData, String> {
        JsonReport::from_value(v.clone())
            .map(|r| RunData::from_report(&r))
            .map_err(|e| e.to_string())
    }

    /// What a saved report contributes to a comparison.
    pub fn from_report(report: &JsonReport) -> RunData {
        let scenarios = report
            .scenarios
            .iter()
            .map(|s| {
                let mut d = ScenarioData {
                    name: base_name(&s.name).to_string(),
                    passed: s.outcome.as_ref().and_then(passed),
                    ..Default::default()
                };
                for m in &s.milestones {
                    if let Some(ms) = m.since_export_ms {
                        d.milestones
                            .entry(key(m.milestone.key(), m.cluster.as_deref()))
                            .or_insert(ms);
                    }
                }
                d
            })
            .collect();
        RunData { scenarios }
    }

    /// Folds in one event of a live run (milestones and outcomes).
    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::Milestone {
                scenario,
                milestone,
                cluster,
                since_export,
                ..
            } => {
                let i = self.open(scenario);
                if let Some(t) = since_export {
                    let ms = t.as_secs_f64() * 1000.0;
                    self.scenarios[i]
                        .milestones
                        .entry(key(milestone.key(), cluster.as_deref()))
                        .or_insert(ms);
                }
            }
            Event::ScenarioFinished {
                scenario, outcome, ..
            } => {
                let i = self.open(scenario);
                self.scenarios[i].passed = passed(outcome);
            }
            Event::RunStarted { .. }
            | Event::Preflight { .. }
            | Event::Notice { .. }
            | Event::ScenarioStarted { .. }
            | Event::StepStarted { .. }
            | Event::WaitProgress { .. }
            | Event::StepFinished { .. }
            | Event::Diagnosis { .. }
            | Event::ProbeReport { .. }
            | Event::CleanupFinished { .. }
            | Event::Comparison { .. }
            | Event::RunFinished { .. } => {}
        }
    }

    /// The latest unfinished entry of scenario run `name` (names are unique in a run).
    fn open(&mut self, name: &str) -> usize {
        let base = base_name(name);
        match self
            .scenarios
            .iter()
            .rposition(|s| s.name == base && s.passed.is_none())
        {
            Some(i) => i,
            None => {
                self.scenarios.push(ScenarioData {
                    name: base.to_string(),
                    ..Default::default()
                });
                self.scenarios.len() - 1
            }
        }
    }

    /// Per scenario name: the median of each milestone over its repeats.
    fn medians(&self) -> BTreeMap<&str, BTreeMap<&str, f64>> {
        let mut all: BTreeMap<&str, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
        for s in &self.scenarios {
            let entry = all.entry(&s.name).or_default();
            for (k, v) in &s.milestones {
                entry.entry(k).or_default().push(*v);
            }
        }
        all.into_iter()
            .map(|(n, ms)| (n, ms.into_iter().map(|(k, v)| (k, median(v))).collect()))
            .collect()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Thresholds of a comparison.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Relative slowdown that counts as a regression (0.25 = 25 %).
    pub max_regression: f64,
    /// Slowdowns smaller than this many milliseconds are noise, whatever the ratio.
    pub floor_ms: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_regression: 0.25,
            floor_ms: 50.0,
        }
    }
}

/// What a comparison found; every entry is a failure of the run.
#[derive(
    Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(default, rename_all = "camelCase")]
pub struct Findings {
    /// `scenario milestone@cluster: 12 ms → 95 ms (+692%, limit +25%)`.
    pub regressions: Vec<String>,
    /// Scenarios that passed in the baseline and fail now.
    pub broken: Vec<String>,
    /// Scenarios that both passed and failed across this run's repeats.
    pub flaky: Vec<String>,
}

impl Findings {
    /// Whether anything was found.
    pub fn is_empty(&self) -> bool {
        self.regressions.is_empty() && self.broken.is_empty() && self.flaky.is_empty()
    }

    /// One line per finding, for the console.
    pub fn lines(&self) -> Vec<String> {
        let tag = |t: &str, v: &[String]| v.iter().map(|l| format!("{t} {l}")).collect::<Vec<_>>();
        let mut out = tag("REGRESSION", &self.regressions);
        out.extend(tag("BROKEN", &self.broken));
        out.extend(tag("FLAKY", &self.flaky));
        out
    }
}

/// Scenarios with mixed outcomes across repeats.
pub fn flaky(run: &RunData) -> Vec<String> {
    let mut by: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for s in &run.scenarios {
        let e = by.entry(&s.name).or_default();
        match s.passed {
            Some(true) => e.0 += 1,
            Some(false) => e.1 += 1,
            None => {}
        }
    }
    by.into_iter()
        .filter(|(_, (p, f))| *p > 0 && *f > 0)
        .map(|(n, (p, f))| format!("{n}: {f} of {} repeats failed", p + f))
        .collect()
}

/// Compares `current` with `baseline` (medians over repeats on both sides).
pub fn compare(baseline: &RunData, current: &RunData, limits: Limits) -> Findings {
    let mut f = Findings {
        flaky: flaky(current),
        ..Default::default()
    };
    let (base, now) = (baseline.medians(), current.medians());
    for (scenario, ms) in &now {
        let Some(before) = base.get(scenario) else {
            continue;
        };
        for (k, v) in ms {
            let Some(b) = before.get(k) else { continue };
            let slower = v - b;
            if slower > limits.floor_ms && slower > b * limits.max_regression {
                let pct = if *b > 0.0 {
                    slower / b * 100.0
                } else {
                    f64::INFINITY
                };
                f.regressions.push(format!(
                    "{scenario} {k}: {b:.0} ms → {v:.0} ms (+{pct:.0}%, limit +{:.0}%)",
                    limits.max_regression * 100.0
                ));
            }
        }
    }
    let passed = |r: &RunData, n: &str, want: bool| {
        r.scenarios
            .iter()
            .any(|s| s.name == n && s.passed == Some(want))
    };
    let names: std::collections::BTreeSet<&str> =
        current.scenarios.iter().map(|s| s.name.as_str()).collect();
    for n in names {
        let was_green = passed(baseline, n, true) && !passed(baseline, n, false);
        if was_green && passed(current, n, false) {
            f.broken
                .push(format!("{n}: passed in the baseline, fails now"));
        }
    }
    f
}

/// What to compare a live run with.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The report's path, as given (shown in reports).
    pub path: String,
    /// Its data.
    pub data: RunData,
}

/// A reporter in front of the others: it folds the run's events into [`RunData`] and, on
/// RunFinished, compares with the baseline (and across repeats) and hands an
/// [`Event::Comparison`] to the reporters behind it before RunFinished itself, so every
/// report shows the findings and the result line stays last. The findings are kept for the
/// exit code.
pub struct Comparer {
    inner: Box<dyn Reporter>,
    baseline: Option<Baseline>,
    limits: Limits,
    current: RunData,
    findings: std::sync::Arc<std::sync::Mutex<Findings>>,
}

impl Comparer {
    /// A comparer feeding `inner`, and a handle to read its findings after the run.
    pub fn new(
        inner: Box<dyn Reporter>,
        baseline: Option<Baseline>,
        limits: Limits,
    ) -> (Comparer, std::sync::Arc<std::sync::Mutex<Findings>>) {
        let findings = std::sync::Arc::default();
        let c = Comparer {
            inner,
            baseline,
            limits,
            current: RunData::default(),
            findings: std::sync::Arc::clone(&findings),
        };
        (c, findings)
    }

    fn findings(&self) -> Findings {
        match &self.baseline {
            Some(b) => compare(&b.data, &self.current, self.limits),
            None => Findings {
                flaky: flaky(&self.current),
                ..Findings::default()
            },
        }
    }
}

impl Reporter for Comparer {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        self.current.apply(e);
        let mut first = Ok(());
        if let Event::RunFinished { .. } = e {
            let findings = self.findings();
            let baseline = self.baseline.as_ref().map(|b| b.path.clone());
            // Nothing to say without a baseline when the repeats agree.
            if baseline.is_some() || !findings.is_empty() {
                let comparison = Event::Comparison {
                    baseline,
                    findings: findings.clone(),
                };
                // RunFinished goes on to the reporters even when this one failed.
                first = self.inner.event(&comparison);
            }
            *self
                .findings
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = findings;
        }
        first.and(self.inner.event(e))
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (scenario, passed, milestones).
    type Entry<'a> = (&'a str, bool, &'a [(&'a str, f64)]);

    fn run(entries: &[Entry]) -> RunData {
        RunData {
            scenarios: entries
                .iter()
                .map(|(n, p, ms)| ScenarioData {
                    name: n.to_string(),
                    passed: Some(*p),
                    milestones: ms.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_run_against_itself_finds_nothing() {
        let r = run(&[("basic", true, &[("importSeen@b", 40.0)])]);
        assert_eq!(compare(&r, &r, Limits::default()), Findings::default());
    }

    #[test]
    fn slower_beyond_ratio_and_floor_is_a_regression() {
        let base = run(&[(
            "basic",
            true,
            &[("importSeen@b", 40.0), ("dnsCorrect@b", 10.0)],
        )]);
        let now = run(&[(
            "basic",
            true,
            &[("importSeen@b", 340.0), ("dnsCorrect@b", 45.0)],
        )]);
        let f = compare(&base, &now, Limits::default());
        // dnsCorrect is 4.5× slower but only 35 ms: under the noise floor.
        assert_eq!(
            f.regressions,
            vec!["basic importSeen@b: 40 ms → 340 ms (+750%, limit +25%)".to_string()]
        );
        assert!(f.broken.is_empty() && f.flaky.is_empty());
    }

    #[test]
    fn medians_over_repeats_and_flakes() {
        let base = run(&[("s", true, &[("importSeen@b", 100.0)])]);
        let now = run(&[
            ("s", true, &[("importSeen@b", 90.0)]),
            ("s", false, &[("importSeen@b", 900.0)]),
            ("s", true, &[("importSeen@b", 110.0)]),
        ]);
        let f = compare(&base, &now, Limits::default());
        assert!(
            f.regressions.is_empty(),
            "median 110 ms is within 25%: {f:?}"
        );
        assert_eq!(f.flaky, vec!["s: 1 of 3 repeats failed".to_string()]);
        assert_eq!(
            f.broken,
            vec!["s: passed in the baseline, fails now".to_string()]
        );
    }

    #[test]
    fn reads_the_json_report_shape() {
        let v = serde_json::json!({"scenarios": [
            {"name": "s#2", "outcome": {"status": "failed"}, "milestones": [
                {"milestone": "importSeen", "cluster": "b", "sinceExportMs": 12.5},
                {"milestone": "importSeen", "cluster": "b", "sinceExportMs": 99.0},
                {"milestone": "exportApplied", "cluster": "a", "sinceExportMs": 0.0}]}]});
        let r = RunData::from_json(&v).unwrap();
        assert_eq!(r.scenarios[0].name, "s");
        assert_eq!(r.scenarios[0].passed, Some(false));
        assert_eq!(r.scenarios[0].milestones["importSeen@b"], 12.5);
        assert!(RunData::from_json(&serde_json::json!({})).is_err());
    }
}
