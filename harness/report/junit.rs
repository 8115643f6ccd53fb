//! JUnit XML (via quick-junit) for CI systems.
//!
//! - valid against Jenkins' junit-10.xsd (xunit-plugin), which CI tools validate with:
//!   `<testsuites>` carries name, tests, failures, errors and time only (no `timestamp`),
//!   `<testsuite>` no `disabled` (quick-junit writes it; it is taken out) but `skipped`,
//!   `<testcase>` name, classname and time only (its start time is not written);
//! - report `mcs-harness`, time = run duration (each suite has its start `timestamp`);
//! - one `<testsuite>` per scenario (name = scenario name, with a `skipped` attribute next to
//!   quick-junit's `disabled`, since CI tools read either);
//! - one `<testcase>` per step, named `NN kind: step name` (NN = the step's 0-based index,
//!   as in the JSON report), classname = scenario name, time = step duration;
//! - a failed step has `<failure type="DIAGNOSIS-ID or mismatch" message="...">` whose body
//!   is the message, the expected-vs-seen diff and the diagnosis; a skipped step `<skipped>`;
//! - a `stopProbe` step carries its background probe's one-line summary (samples, success
//!   rate, longest outage, answers per cluster, budget violations): in the failure body when
//!   the step failed, else in the testcase's `<system-out>`;
//! - extra testcases: `cleanup` (failing) when cleanup reported problems, `scenario` when the
//!   scenario failed outside any step or was skipped without running a step, so the counts
//!   always show it;
//! - after the scenarios, a `comparison` testsuite when the run was compared with a baseline
//!   or across repeats: one failing testcase per finding.

use std::path::PathBuf;
use std::time::SystemTime;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::record::{RunRecord, ScenarioRecord, StepRecord};
use super::{ReportError, Reporter, text, write_file};
use crate::event::{Event, Failure, Outcome};

/// The JUnit reporter; writes its file on [`Reporter::finish`].
pub struct Junit {
    path: PathBuf,
    record: RunRecord,
}

impl Junit {
    /// Writes the report to `path`.
    pub fn new(path: PathBuf) -> Junit {
        Junit {
            path,
            record: RunRecord::default(),
        }
    }

    /// The XML document as it is (or would be) written.
    pub fn render(&self) -> Result<String, ReportError> {
        let mut report = Report::new("mcs-harness");
        if let Some(t) = self.record.totals {
            report.set_time(t.duration);
        }
        let props = self
            .record
            .preflight
            .as_ref()
            .map(preflight_properties)
            .unwrap_or_default();
        report.add_test_suites(self.record.scenarios.iter().map(|s| {
            let mut suite = suite(s);
            suite.add_properties(props.iter().cloned());
            suite
        }));
        if let Some((baseline, findings)) = &self.record.comparison {
            report.add_test_suite(comparison_suite(baseline.as_deref(), findings));
        }
        let xml = report.to_string().map_err(ReportError::Junit)?;
        Ok(without_disabled(&xml))
    }
}

impl Reporter for Junit {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        self.record.apply(e);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        let xml = self.render()?;
        write_file(&self.path, &xml)
    }
}

/// The preflight table as `preflight.<cluster>.<what>` properties (every suite carries them:
/// JUnit has no run-level properties).
fn preflight_properties(r: &crate::fleet::PreflightReport) -> Vec<quick_junit::Property> {
    let mut out = Vec::new();
    for c in &r.clusters {
        let key = |what: &str| format!("preflight.{}.{what}", c.cluster);
        out.push((key("context"), c.location.clone()).into());
        out.push((key("server"), c.server.clone()).into());
        out.push((key("version"), c.version.clone().unwrap_or_default()).into());
        out.push((key("user"), c.user.clone().unwrap_or_default()).into());
        out.push((key("mcs"), c.mcs_apis.join(",")).into());
        out.push((key("faults"), c.faults.to_string()).into());
        let perms = c
            .permissions_checked
            .map_or_else(|| "not checked".to_string(), |n| format!("{n} checked"));
        out.push((key("permissions"), perms).into());
    }
    out
}

fn timestamp(at: SystemTime) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::<chrono::Utc>::from(at).fixed_offset()
}

fn suite(s: &ScenarioRecord) -> TestSuite {
    let mut suite = TestSuite::new(s.name.as_str());
    if let Some(at) = s.started_at {
        suite.set_timestamp(timestamp(at));
    }
    if let Some(d) = s.duration {
        suite.set_time(d);
    }
    if let Some(case) = scenario_case(s) {
        suite.add_test_case(case);
    }
    let mut steps: Vec<&StepRecord> = s.steps.iter().collect();
    steps.sort_by_key(|st| st.info.index);
    suite.add_test_cases(steps.into_iter().map(|st| step_case(s, st)));
    if let Some(case) = cleanup_case(s) {
        suite.add_test_case(case);
    }
    let skipped = suite.disabled.to_string();
    suite.extra.insert("skipped".into(), skipped.into());
    suite
}

fn step_case(s: &ScenarioRecord, st: &StepRecord) -> TestCase {
    let name = format!("{:02} {}: {}", st.info.index, st.info.kind, st.info.name);
    let probes: Vec<String> = s
        .probes_of(st.info.index)
        .into_iter()
        .map(text::probe_summary)
        .collect();
    let status = match &st.outcome {
        Some(Outcome::Passed) => TestCaseStatus::success(),
        Some(Outcome::Failed(f)) => {
            let diagnoses = s.diagnoses_of(st.info.index);
            let ty = f
                .diagnosis
                .clone()
                .or_else(|| diagnoses.first().map(|d| d.id.clone()))
                .unwrap_or_else(|| "mismatch".to_string());
            let mut lines = text::failure_lines(f, &diagnoses);
            lines.extend(probes.iter().cloned());
            failure(NonSuccessKind::Failure, &ty, &f.message, lines.join("\n"))
        }
        Some(Outcome::Skipped { reason }) => skipped(reason),
        None => {
            let body = match &st.last_wait {
                Some((msg, _)) => format!("last seen: {msg}"),
                None => String::new(),
            };
            failure(
                NonSuccessKind::Error,
                "unfinished",
                "step did not finish",
                body,
            )
        }
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(s.name.as_str());
    let failed = matches!(st.outcome, Some(Outcome::Failed(_)));
    if !probes.is_empty() && !failed {
        case.set_system_out(probes.join("\n"));
    }
    if let Some(d) = st.duration {
        case.set_time(d);
    }
    case
}

/// Takes quick-junit's `disabled` attribute off `<testsuite>` elements (junit-10.xsd has
/// none; `skipped` says the same). Attribute values are escaped (`>` as `&gt;`), so a tag
/// ends at the first `>`.
fn without_disabled(xml: &str) -> String {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    match RE.get_or_init(|| regex::Regex::new(r#"(<testsuite\s[^>]*?)\s+disabled="\d+""#).ok()) {
        Some(re) => re.replace_all(xml, "$1").into_owned(),
        None => xml.to_string(),
    }
}

/// A `scenario` testcase when the scenario's outcome is not visible in any step.
fn scenario_case(s: &ScenarioRecord) -> Option<TestCase> {
    let status = match &s.outcome {
        Some(Outcome::Failed(f)) if s.first_failed_step().is_none() => {
            let f: &Failure = f;
            let ty = f.diagnosis.as_deref().unwrap_or("mismatch");
            let body = text::failure_lines(f, &[]).join("\n");
            failure(NonSuccessKind::Failure, ty, &f.message, body)
        }
        Some(Outcome::Skipped { reason }) if s.steps.is_empty() => skipped(reason),
        _ => return None,
    };
    let mut case = TestCase::new("scenario", status);
    case.set_classname(s.name.as_str());
    Some(case)
}

/// A failing `cleanup` testcase when cleanup reported problems.
fn cleanup_case(s: &ScenarioRecord) -> Option<TestCase> {
    let c = s.cleanup.as_ref().filter(|c| !c.problems.is_empty())?;
    let message = match c.problems.len() {
        1 => "cleanup left 1 problem".to_string(),
        n => format!("cleanup left {n} problems"),
    };
    let status = failure(
        NonSuccessKind::Failure,
        "cleanup",
        &message,
        c.problems.join("\n"),
    );
    let mut case = TestCase::new("cleanup", status);
    case.set_classname(s.name.as_str());
    case.set_time(c.duration);
    Some(case)
}

/// The comparison with a baseline / across repeats as a `comparison` testsuite: one failing
/// testcase per finding (type `regression`, `broken` or `flaky`), or one passing testcase
/// when a baseline was compared and nothing was found; the baseline is a property.
fn comparison_suite(baseline: Option<&str>, f: &crate::compare::Findings) -> TestSuite {
    let mut suite = TestSuite::new("comparison");
    if let Some(p) = baseline {
        suite.add_property(("baseline", p));
    }
    let kinds = [
        ("regression", &f.regressions),
        ("broken", &f.broken),
        ("flaky", &f.flaky),
    ];
    for (ty, lines) in kinds {
        for line in lines {
            let status = failure(NonSuccessKind::Failure, ty, line, String::new());
            let mut case = TestCase::new(format!("{ty}: {line}"), status);
            case.set_classname("comparison");
            suite.add_test_case(case);
        }
    }
    if f.is_empty() {
        let mut case = TestCase::new("no regressions", TestCaseStatus::success());
        case.set_classname("comparison");
        suite.add_test_case(case);
    }
    let skipped = suite.disabled.to_string();
    suite.extra.insert("skipped".into(), skipped.into());
    suite
}

fn failure(kind: NonSuccessKind, ty: &str, message: &str, body: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_type(ty).set_message(message);
    if !body.is_empty() {
        status.set_description(body);
    }
    status
}

fn skipped(reason: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_message(reason);
    status
}
