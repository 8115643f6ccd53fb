//! The typed JSON report: every document the reporters write matches the schema that
//! `schema --report` prints, reads back without loss, and shows the comparison event.

use super::fixtures::*;
use super::probe_fixtures::probe_run;
use crate::compare::Findings;
use crate::event::Event;
use crate::report::json_report::{JsonReport, json_schema};
use crate::report::{ConsoleMode, Html};

/// `events` with a comparison right before RunFinished, as the Comparer sends it.
fn compared(mut events: Vec<Event>) -> Vec<Event> {
    let findings = Findings {
        regressions: vec!["mcs-basic importSeen@b: 40 ms → 340 ms (+750%, limit +25%)".into()],
        broken: vec!["mcs-basic: passed in the baseline, fails now".into()],
        flaky: vec![],
    };
    let at = events.len() - 1;
    events.insert(
        at,
        Event::Comparison {
            baseline: Some("base.json".into()),
            findings,
        },
    );
    events
}

fn runs() -> Vec<(&'static str, Vec<Event>)> {
    vec![
        ("passing", passing_run()),
        ("failing", failing_run()),
        ("interleaved", interleaved_run()),
        ("probes", probe_run()),
        ("compared", compared(failing_run())),
        ("unfinished", failing_run()[..3].to_vec()),
    ]
}

#[test]
fn every_rendered_report_matches_the_printed_schema() {
    let schema = json_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (name, events) in runs() {
        let doc = json_of(&events);
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // The schema is strict: a stray field or a missing one is caught.
    let mut doc = json_of(&passing_run());
    doc["scenarios"][0]["extra"] = serde_json::json!(1);
    assert!(!validator.is_valid(&doc));
    let mut doc = json_of(&passing_run());
    doc.as_object_mut().unwrap().remove("runId");
    assert!(!validator.is_valid(&doc));
}

#[test]
fn reports_read_back_without_loss() {
    for (name, events) in runs() {
        let doc = json_of(&events);
        let typed = JsonReport::from_value(doc.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), doc, "{name}");
    }
    // An older report without `comparison` still reads.
    let mut doc = json_of(&passing_run());
    doc.as_object_mut().unwrap().remove("comparison");
    assert!(JsonReport::from_value(doc).unwrap().comparison.is_none());
}

#[test]
fn the_comparison_reaches_every_report_and_the_result_line_stays_last() {
    let events = compared(failing_run());
    let finding = "mcs-basic importSeen@b: 40 ms";
    let console = console_output(&events, ConsoleMode::Plain);
    let last = console.lines().rfind(|l| !l.is_empty()).unwrap();
    assert!(last.starts_with("test result: FAILED."), "{console}");
    assert!(
        console.contains("compared with baseline base.json: 2 finding(s)"),
        "{console}"
    );
    assert!(
        console.contains(&format!("REGRESSION {finding}")),
        "{console}"
    );
    let (xml, _) = junit_of(&events);
    assert!(xml.contains("<testsuite name=\"comparison\""), "{xml}");
    assert!(
        xml.contains(&format!("<testcase name=\"regression: {finding}")),
        "{xml}"
    );
    assert!(xml.contains("type=\"broken\""), "{xml}");
    let doc = json_of(&events);
    assert_eq!(doc["comparison"]["baseline"], "base.json");
    assert_eq!(doc["comparison"]["broken"].as_array().unwrap().len(), 1);
    let md = markdown_of(&events);
    assert!(md.contains(finding), "{md}");
    let mut html = Html::new("unused.html".into());
    feed(&mut html, &events);
    let page = html.render();
    assert!(page.contains("<section id=\"comparison\""), "{page}");
    assert!(page.contains(finding), "{page}");
    // Without a comparison, the reports say nothing about one.
    let (xml, _) = junit_of(&failing_run());
    assert!(!xml.contains("comparison"), "{xml}");
    assert!(json_of(&failing_run())["comparison"].is_null());
}
