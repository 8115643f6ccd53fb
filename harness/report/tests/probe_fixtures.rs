//! Hand-built event streams with background probes: `probe_run` (a scenario whose first
//! probe stays within budget and whose second one breaks it during a 300-ms outage), and
//! `html_run` (everything the HTML page shows: passing, failing with diff and diagnosis,
//! probes, re-export epochs, hostile text) with `suite_run` for size checks.

use std::collections::BTreeMap;

use super::fixtures::*;
use crate::event::{Event, Failure, Milestone, Outcome, ProbeReport, ProbeSample};

/// A probe sampled every 20 ms for `duration` ms from `b` (http) and `a` (dns); the http
/// samples in `[outage.0, outage.1)` ms fail with `connection refused`.
pub(super) fn probe_report(name: &str, duration: u64, outage: (u64, u64)) -> ProbeReport {
    let mut samples = Vec::new();
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for (i, t) in (0..duration).step_by(20).enumerate() {
        let ok = !(outage.0..outage.1).contains(&t);
        let served_by = ok.then(|| if i % 2 == 0 { "a" } else { "b" }.to_string());
        if let Some(c) = &served_by {
            *answers.entry(c.clone()).or_default() += 1;
        }
        let detail = if ok { "200" } else { "connection refused" };
        samples.push(sample(t, "b", "http", ok, served_by, detail));
        samples.push(sample(t + 5, "a", "dns", true, None, "10.96.0.10"));
    }
    let total = samples.len();
    let failed = samples.iter().filter(|s| !s.ok).count();
    ProbeReport {
        name: name.into(),
        started_at: at(100),
        duration: ms(duration),
        total,
        failed,
        success_rate: (total - failed) as f64 / total as f64,
        longest_outage: ms(outage.1.saturating_sub(outage.0)),
        answers_by_cluster: answers,
        samples,
        violations: Vec::new(),
    }
}

fn sample(
    t: u64,
    from: &str,
    kind: &str,
    ok: bool,
    served_by: Option<String>,
    detail: &str,
) -> ProbeSample {
    ProbeSample {
        offset: ms(t),
        latency: ms(3),
        from: from.into(),
        kind: kind.into(),
        ok,
        served_by,
        detail: detail.into(),
    }
}

pub(super) fn probe_event(scenario: &str, index: usize, report: ProbeReport) -> Event {
    Event::ProbeReport {
        scenario: scenario.into(),
        index,
        report,
    }
}

/// The report that breaks its budget: 400 samples, 15 failed, a 300-ms outage.
pub(super) fn violated_report() -> ProbeReport {
    let mut report = probe_report("availability", 4000, (1200, 1500));
    report.violations = vec![
        "success rate 96.2% < 99.0%".into(),
        "longest outage 300 ms > 200 ms".into(),
    ];
    report
}

/// Scenario `upgrade`: startProbe, stopProbe `dns-watch` (clean), stopProbe `availability`
/// (budget violated, so the step fails).
pub(super) fn probe_run() -> Vec<Event> {
    let sc = "upgrade";
    let mut ev = vec![run_started(vec![info(sc, 3)]), scenario_started(sc, 5)];
    let start = step(0, "startProbe", "startProbe availability");
    ev.extend(step_events(sc, start, 5, 2, Outcome::Passed));
    let quiet = probe_report("dns-watch", 200, (0, 0));
    let stop_quiet = step_events(
        sc,
        step(1, "stopProbe", "stopProbe dns-watch"),
        300,
        1,
        Outcome::Passed,
    );
    ev.push(stop_quiet[0].clone());
    ev.push(probe_event(sc, 1, quiet));
    ev.push(stop_quiet[1].clone());
    let failure = Failure::msg("probe availability exceeded its budget");
    let outcome = Outcome::Failed(failure.clone());
    let stop = step_events(
        sc,
        step(2, "stopProbe", "stopProbe availability"),
        4100,
        1,
        outcome,
    );
    ev.push(stop[0].clone());
    ev.push(probe_event(sc, 2, violated_report()));
    ev.push(stop[1].clone());
    ev.push(cleanup(sc, &[]));
    ev.push(scenario_finished(sc, Outcome::Failed(failure), 4300));
    ev.push(run_finished(0, 1, 0, 4350));
    ev
}

/// Milestones of export → import → endpoints → dns → http in a and b, an unexport and a
/// re-export, starting at `t0` ms; like the engine, `since_export` counts from the latest
/// export change (an unexport included).
pub(super) fn epochs(sc: &str, t0: u64) -> Vec<Event> {
    let mut ev = vec![milestone(sc, Milestone::ExportApplied, None, t0, None)];
    for (m, delay) in [
        (Milestone::ImportSeen, 110),
        (Milestone::EndpointsCorrect, 180),
        (Milestone::DnsCorrect, 260),
        (Milestone::FirstHttp200, 300),
    ] {
        for (c, extra) in [("a", 0), ("b", 40)] {
            let d = delay + extra;
            ev.push(milestone(sc, m, Some(c), t0 + d, Some(d)));
        }
    }
    ev.push(milestone(sc, Milestone::Unexported, None, t0 + 600, None));
    for (c, d) in [("a", 90), ("b", 150)] {
        ev.push(milestone(
            sc,
            Milestone::ImportRemoved,
            Some(c),
            t0 + 600 + d,
            Some(d),
        ));
    }
    ev.push(milestone(
        sc,
        Milestone::ExportApplied,
        None,
        t0 + 900,
        None,
    ));
    ev.push(milestone(
        sc,
        Milestone::ImportSeen,
        Some("b"),
        t0 + 1020,
        Some(120),
    ));
    ev
}

/// A passing scenario with epochs and both probes, `name` as given.
fn probed_scenario(name: &str, t0: u64) -> Vec<Event> {
    let mut ev = vec![scenario_started(name, t0)];
    ev.extend(step_events(
        name,
        step(0, "startProbe", "startProbe availability"),
        t0,
        2,
        Outcome::Passed,
    ));
    ev.extend(epochs(name, t0 + 10));
    let stop = step_events(
        name,
        step(1, "stopProbe", "stopProbe availability"),
        t0 + 4100,
        1,
        Outcome::Passed,
    );
    ev.push(stop[0].clone());
    ev.push(probe_event(
        name,
        1,
        probe_report("availability", 4000, (1200, 1500)),
    ));
    ev.push(stop[1].clone());
    ev.push(cleanup(name, &[]));
    ev.push(scenario_finished(name, Outcome::Passed, 4300));
    ev
}

/// Everything the HTML page shows: a passing scenario with milestone epochs and a probe
/// with an outage, a failing one (diff, diagnosis, violated probe, hostile text), and a
/// skipped one.
pub(super) fn html_run() -> Vec<Event> {
    let hostile = "evil <script>alert(1)</script> & \"q\"";
    let mut ev = vec![run_started(vec![
        info("mcs-basic", 2),
        info(hostile, 3),
        info("kind-only", 2),
    ])];
    ev.extend(probed_scenario("mcs-basic", 5));
    ev.extend(failing_scenario(hostile, 4400));
    let skip = Outcome::Skipped {
        reason: "needs provider kind".into(),
    };
    ev.push(scenario_finished("kind-only", skip, 0));
    ev.push(run_finished(1, 1, 1, 40_000));
    ev
}

/// A failing scenario: apply ok, expectEndpoints fails with diff and diagnosis, stopProbe
/// fails its budget.
fn failing_scenario(sc: &str, t0: u64) -> Vec<Event> {
    let mut ev = vec![scenario_started(sc, t0)];
    ev.extend(step_events(
        sc,
        step(0, "apply", "apply <app> in a, b"),
        t0,
        12,
        Outcome::Passed,
    ));
    ev.push(milestone(sc, Milestone::ExportApplied, None, t0 + 20, None));
    ev.push(milestone(
        sc,
        Milestone::ImportSeen,
        Some("b"),
        t0 + 140,
        Some(120),
    ));
    ev.push(Event::Diagnosis {
        scenario: sc.into(),
        index: 1,
        diagnosis: endpoints_diagnosis(),
    });
    let failed = Outcome::Failed(endpoints_failure());
    ev.extend(step_events(
        sc,
        step(1, "expectEndpoints", "expectEndpoints in b"),
        t0 + 20,
        30_012,
        failed,
    ));
    let budget = Outcome::Failed(Failure::msg("probe availability exceeded its budget"));
    let stop = step_events(
        sc,
        step(2, "stopProbe", "stopProbe availability"),
        t0 + 30_040,
        1,
        budget,
    );
    ev.push(stop[0].clone());
    ev.push(probe_event(sc, 2, violated_report()));
    ev.push(stop[1].clone());
    ev.push(cleanup(
        sc,
        &["ServiceExport x/app in a: still terminating <1s>"],
    ));
    ev.push(scenario_finished(
        sc,
        Outcome::Failed(endpoints_failure()),
        30_200,
    ));
    ev
}

/// A suite of `n` scenarios like the shipped one: each with epochs and a 400-sample probe,
/// every third failing with a diff and a diagnosis.
pub(super) fn suite_run(n: usize) -> Vec<Event> {
    let names: Vec<String> = (0..n).map(|i| format!("scenario-{i:02}")).collect();
    let mut ev = vec![run_started(names.iter().map(|n| info(n, 3)).collect())];
    for (i, name) in names.iter().enumerate() {
        let t0 = i as u64 * 5000;
        if i % 3 == 2 {
            ev.extend(failing_scenario(name, t0));
        } else {
            ev.extend(probed_scenario(name, t0));
        }
    }
    let failed = n / 3;
    ev.push(run_finished(n - failed, failed, 0, n as u64 * 5000));
    ev
}
