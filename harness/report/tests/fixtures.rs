//! Hand-built event streams for the reporter tests, and helpers to run them through a
//! reporter: a passing run (with a scenario skipped before it started), a failing run with
//! a diff and a diagnosis, and two interleaved concurrent scenarios with a cleanup problem.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quick_junit::Report;

use crate::doctor::{CheckState, Diagnosis, Evidence, LinkCheck};
use crate::event::{Event, Failure, Milestone, Outcome, ScenarioInfo, StepInfo};
use crate::report::{Console, ConsoleMode, Json, Junit, Markdown, Reporter};

/// 2026-11-26T10:00:00.000Z plus `ms` milliseconds.
pub(super) fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_687_200_000 + ms)
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) fn info(name: &str, steps: usize) -> ScenarioInfo {
    ScenarioInfo {
        name: name.into(),
        file: format!("scenarios/{name}.yaml"),
        steps,
        description: None,
    }
}

pub(super) fn step(index: usize, kind: &str, name: &str) -> StepInfo {
    StepInfo {
        index,
        kind: kind.into(),
        name: name.into(),
        location: format!("scenarios/x.yaml:{}:5", 10 + index * 4),
    }
}

pub(super) fn run_started(scenarios: Vec<ScenarioInfo>) -> Event {
    Event::RunStarted {
        run_id: "r-7f3a".into(),
        provider: "embedded (clusters a, b)".into(),
        scenarios,
        at: at(0),
    }
}

pub(super) fn scenario_started(name: &str, t: u64) -> Event {
    Event::ScenarioStarted {
        scenario: name.into(),
        namespace: format!("{name}-r1"),
        clusters: vec![
            ("a".into(), "embedded".into()),
            ("b".into(), "embedded".into()),
        ],
        at: at(t),
    }
}

/// StepStarted + StepFinished of one step.
pub(super) fn step_events(
    scenario: &str,
    s: StepInfo,
    t: u64,
    dur: u64,
    outcome: Outcome,
) -> Vec<Event> {
    vec![
        Event::StepStarted {
            scenario: scenario.into(),
            step: s.clone(),
            at: at(t),
        },
        Event::StepFinished {
            scenario: scenario.into(),
            step: s,
            outcome,
            duration: ms(dur),
        },
    ]
}

pub(super) fn milestone(
    scenario: &str,
    m: Milestone,
    cluster: Option<&str>,
    t: u64,
    since: Option<u64>,
) -> Event {
    Event::Milestone {
        scenario: scenario.into(),
        milestone: m,
        cluster: cluster.map(Into::into),
        at: at(t),
        since_export: since.map(ms),
    }
}

pub(super) fn cleanup(scenario: &str, problems: &[&str]) -> Event {
    Event::CleanupFinished {
        scenario: scenario.into(),
        deleted: 4,
        problems: problems.iter().map(|p| p.to_string()).collect(),
        kept: false,
        duration: ms(140),
    }
}

pub(super) fn scenario_finished(name: &str, outcome: Outcome, dur: u64) -> Event {
    Event::ScenarioFinished {
        scenario: name.into(),
        outcome,
        duration: ms(dur),
    }
}

pub(super) fn run_finished(passed: usize, failed: usize, skipped: usize, dur: u64) -> Event {
    Event::RunFinished {
        passed,
        failed,
        skipped,
        duration: ms(dur),
    }
}

/// A passing mcs-basic (3 steps, milestones) and a scenario skipped before it started.
pub(super) fn passing_run() -> Vec<Event> {
    let mut ev = vec![
        run_started(vec![info("mcs-basic", 3), info("kind-only", 2)]),
        scenario_started("mcs-basic", 5),
    ];
    ev.extend(step_events(
        "mcs-basic",
        step(0, "apply", "apply app in a, b"),
        5,
        12,
        Outcome::Passed,
    ));
    ev.push(milestone(
        "mcs-basic",
        Milestone::ExportApplied,
        None,
        20,
        None,
    ));
    ev.extend(step_events(
        "mcs-basic",
        step(1, "export", "export from a"),
        17,
        4,
        Outcome::Passed,
    ));
    ev.push(milestone(
        "mcs-basic",
        Milestone::ImportSeen,
        Some("b"),
        140,
        Some(120),
    ));
    ev.push(milestone(
        "mcs-basic",
        Milestone::DnsCorrect,
        Some("b"),
        410,
        Some(390),
    ));
    ev.extend(step_events(
        "mcs-basic",
        step(2, "expectDns", "expectDns from b"),
        21,
        400,
        Outcome::Passed,
    ));
    ev.push(cleanup("mcs-basic", &[]));
    ev.push(scenario_finished("mcs-basic", Outcome::Passed, 845));
    let skip = Outcome::Skipped {
        reason: "needs provider kind".into(),
    };
    ev.push(scenario_finished("kind-only", skip, 0));
    ev.push(run_finished(1, 0, 1, 2310));
    ev
}

pub(super) fn endpoints_failure() -> Failure {
    Failure {
        message: "timed out after 30s waiting for Endpoints gke-mcs-7pq in b".into(),
        expected: Some("10.0.0.1\n10.0.0.2".into()),
        seen: Some("<none>".into()),
        diff: Some("--- expected\n+++ seen\n-10.0.0.1\n-10.0.0.2\n+<none>".into()),
        diagnosis: Some("endpoints-empty".into()),
    }
}

pub(super) fn check(cluster: &str, link: &str, state: CheckState, detail: &str) -> LinkCheck {
    LinkCheck {
        cluster: cluster.into(),
        link: link.into(),
        state,
        detail: detail.into(),
    }
}

pub(super) fn endpoints_diagnosis() -> Diagnosis {
    Diagnosis {
        id: "endpoints-empty".into(),
        cluster: Some("b".into()),
        summary: "the derived Endpoints in b have no addresses".into(),
        evidence: vec![Evidence {
            cluster: "b".into(),
            object: "Endpoints mcs-basic-r1/gke-mcs-7pq".into(),
            field: "subsets".into(),
            value: "<none>".into(),
        }],
        remedy: "check the importer logs in namespace gke-mcs".into(),
        checks: vec![
            check("a", "service", CheckState::Ok, "port 80"),
            check("a", "export", CheckState::Ok, "Valid"),
            check("b", "import", CheckState::Ok, "ClusterSetIP"),
            check(
                "b",
                "endpoints",
                CheckState::Broken,
                "0 addresses, expected 2",
            ),
            check("b", "dns", CheckState::Skipped, "endpoints broken"),
        ],
        implementation: None,
    }
}

/// mcs-basic fails at step 1 with a diff and a diagnosis; step 2 is skipped.
pub(super) fn failing_run() -> Vec<Event> {
    let mut ev = vec![
        run_started(vec![info("mcs-basic", 3)]),
        scenario_started("mcs-basic", 5),
    ];
    ev.extend(step_events(
        "mcs-basic",
        step(0, "apply", "apply app in a, b"),
        5,
        12,
        Outcome::Passed,
    ));
    let s1 = step(1, "expectEndpoints", "expectEndpoints in b");
    ev.push(Event::StepStarted {
        scenario: "mcs-basic".into(),
        step: s1.clone(),
        at: at(17),
    });
    ev.push(Event::WaitProgress {
        scenario: "mcs-basic".into(),
        index: 1,
        message: "0 of 2 addresses".into(),
        elapsed: ms(1000),
    });
    ev.push(Event::Diagnosis {
        scenario: "mcs-basic".into(),
        index: 1,
        diagnosis: endpoints_diagnosis(),
    });
    ev.push(Event::StepFinished {
        scenario: "mcs-basic".into(),
        step: s1,
        outcome: Outcome::Failed(endpoints_failure()),
        duration: ms(30_012),
    });
    let skip = Outcome::Skipped {
        reason: "earlier step failed".into(),
    };
    ev.push(Event::StepFinished {
        scenario: "mcs-basic".into(),
        step: step(2, "expectDns", "expectDns from b"),
        outcome: skip,
        duration: ms(0),
    });
    ev.push(cleanup("mcs-basic", &[]));
    ev.push(scenario_finished(
        "mcs-basic",
        Outcome::Failed(endpoints_failure()),
        30_200,
    ));
    ev.push(run_finished(0, 1, 0, 30_250));
    ev
}

/// Two scenarios whose events interleave; `slow` finishes after `fast`, with a leak.
pub(super) fn interleaved_run() -> Vec<Event> {
    let (slow, fast) = ("slow", "fast");
    let [s0, s1] = [
        step(0, "apply", "apply app"),
        step(1, "expectImport", "expectImport in b"),
    ];
    let started = |sc: &str, s: &StepInfo, t| Event::StepStarted {
        scenario: sc.into(),
        step: s.clone(),
        at: at(t),
    };
    let done = |sc: &str, s: &StepInfo, d| Event::StepFinished {
        scenario: sc.into(),
        step: s.clone(),
        outcome: Outcome::Passed,
        duration: ms(d),
    };
    vec![
        run_started(vec![info(slow, 2), info(fast, 2)]),
        scenario_started(slow, 1),
        scenario_started(fast, 2),
        started(slow, &s0, 3),
        started(fast, &s0, 4),
        done(fast, &s0, 10),
        done(slow, &s0, 20),
        started(fast, &s1, 15),
        started(slow, &s1, 25),
        done(fast, &s1, 30),
        cleanup(fast, &[]),
        scenario_finished(fast, Outcome::Passed, 200),
        done(slow, &s1, 50),
        cleanup(slow, &["ServiceExport slow-r1/app in a: still terminating"]),
        scenario_finished(slow, Outcome::Passed, 400),
        run_finished(2, 0, 0, 450),
    ]
}

/// A `Write` into a shared buffer, so the test can read what the console wrote.
#[derive(Clone, Default)]
pub(super) struct Buf(pub(super) Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(super) fn feed(r: &mut dyn Reporter, events: &[Event]) {
    for e in events {
        r.event(e).unwrap();
    }
}

pub(super) fn console_output(events: &[Event], mode: ConsoleMode) -> String {
    let buf = Buf::default();
    let mut console = Console::new(Box::new(buf.clone()), mode);
    feed(&mut console, events);
    console.finish().unwrap();
    String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
}

pub(super) fn junit_of(events: &[Event]) -> (String, Report) {
    let mut junit = Junit::new("unused.xml".into());
    feed(&mut junit, events);
    let xml = junit.render().unwrap();
    let report = Report::deserialize_from_str(&xml).unwrap();
    (xml, report)
}

pub(super) fn json_of(events: &[Event]) -> serde_json::Value {
    let mut j = Json::new("unused.json".into());
    feed(&mut j, events);
    j.render()
}

pub(super) fn markdown_of(events: &[Event]) -> String {
    let mut md = Markdown::new("unused.md".into());
    feed(&mut md, events);
    md.render()
}
