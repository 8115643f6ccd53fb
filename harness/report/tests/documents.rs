//! Tests of the file reporters: JUnit (parsed back with quick-junit), JSON shape, Markdown.

use quick_junit::{NonSuccessKind, TestCaseStatus};
use serde_json::json;

use super::fixtures::*;
use crate::event::{Event, Failure, Outcome};

#[test]
fn junit_failing_run_counts_and_failure_body() {
    let (xml, report) = junit_of(&failing_run());
    assert_eq!(report.name.as_str(), "mcs-harness");
    // junit-10.xsd has no timestamp on <testsuites>: the start is on each suite.
    assert!(report.timestamp.is_none(), "{xml}");
    assert!(!xml.contains("disabled="), "{xml}");
    assert_eq!((report.tests, report.failures, report.errors), (3, 1, 0));
    let suite = &report.test_suites[0];
    assert!(suite.timestamp.is_some(), "{xml}");
    assert_eq!(suite.name.as_str(), "mcs-basic");
    assert_eq!((suite.tests, suite.failures), (3, 1));
    assert_eq!(suite.extra.get("skipped").map(|v| v.as_str()), Some("1"));
    let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    let want = [
        "00 apply: apply app in a, b",
        "01 expectEndpoints: expectEndpoints in b",
        "02 expectDns: expectDns from b",
    ];
    assert_eq!(names, want);
    let failed = &suite.test_cases[1];
    assert_eq!(failed.classname.as_ref().unwrap().as_str(), "mcs-basic");
    assert_eq!(failed.time, Some(ms(30_012)));
    let TestCaseStatus::NonSuccess {
        kind,
        message,
        ty,
        description,
        ..
    } = &failed.status
    else {
        panic!("step 1 should fail: {:?}", failed.status);
    };
    assert_eq!(*kind, NonSuccessKind::Failure);
    assert_eq!(ty.as_ref().unwrap().as_str(), "endpoints-empty");
    assert_eq!(
        message.as_ref().unwrap().as_str(),
        endpoints_failure().message
    );
    let body = description.as_ref().unwrap().as_str();
    for part in [
        "+<none>",
        "diagnosis: endpoints-empty (cluster b)",
        "subsets = <none>",
        "remedy: check the importer",
    ] {
        assert!(body.contains(part), "missing {part:?} in {body}");
    }
    let TestCaseStatus::Skipped { message, .. } = &suite.test_cases[2].status else {
        panic!("step 2 should be skipped");
    };
    assert_eq!(message.as_ref().unwrap().as_str(), "earlier step failed");
    assert!(
        xml.contains("&lt;none&gt;") && !xml.contains("+<none>"),
        "escaped: {xml}"
    );
}

#[test]
fn junit_failure_without_diagnosis_is_a_mismatch_and_skipped_scenario_shows() {
    let mut ev = failing_run();
    ev.retain(|e| !matches!(e, Event::Diagnosis { .. }));
    let plain = Failure::msg("HTTP 503 from b");
    for e in &mut ev {
        if let Event::StepFinished {
            outcome: o @ Outcome::Failed(_),
            ..
        } = e
        {
            *o = Outcome::Failed(plain.clone());
        }
    }
    let (_, report) = junit_of(&ev);
    let TestCaseStatus::NonSuccess {
        ty, description, ..
    } = &report.test_suites[0].test_cases[1].status
    else {
        panic!("step 1 should fail");
    };
    assert_eq!(ty.as_ref().unwrap().as_str(), "mismatch");
    assert_eq!(description.as_ref().unwrap().as_str(), "HTTP 503 from b");

    let (_, report) = junit_of(&passing_run());
    assert_eq!((report.tests, report.failures), (4, 0));
    let skipped = &report.test_suites[1];
    assert_eq!(
        (
            skipped.name.as_str(),
            skipped.tests,
            skipped.extra.get("skipped").map(|v| v.as_str())
        ),
        ("kind-only", 1, Some("1"))
    );
    assert_eq!(skipped.test_cases[0].name.as_str(), "scenario");
}

#[test]
fn junit_cleanup_problem_is_an_extra_failing_testcase() {
    let (xml, report) = junit_of(&interleaved_run());
    assert_eq!((report.tests, report.failures), (5, 1));
    let suites: Vec<&str> = report.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(suites, ["slow", "fast"]);
    let slow = &report.test_suites[0];
    assert_eq!((slow.tests, slow.failures), (3, 1));
    let case = slow.test_cases.last().unwrap();
    assert_eq!(case.name.as_str(), "cleanup");
    let TestCaseStatus::NonSuccess {
        ty,
        message,
        description,
        ..
    } = &case.status
    else {
        panic!("cleanup should fail");
    };
    assert_eq!(ty.as_ref().unwrap().as_str(), "cleanup");
    assert_eq!(message.as_ref().unwrap().as_str(), "cleanup left 1 problem");
    assert!(
        description
            .as_ref()
            .unwrap()
            .as_str()
            .contains("still terminating")
    );
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert_eq!(xml.matches("<testcase ").count(), 5);
}

#[test]
fn json_document_shape() {
    let doc = json_of(&failing_run());
    assert_eq!(doc["schemaVersion"], 1);
    assert_eq!(doc["runId"], "r-7f3a");
    assert_eq!(doc["startedAt"], "2026-11-26T10:00:00.000Z");
    assert_eq!(doc["durationMs"], 30_250.0);
    assert_eq!(
        (doc["passed"].clone(), doc["failed"].clone()),
        (json!(0), json!(1))
    );
    let s = &doc["scenarios"][0];
    assert_eq!(s["name"], "mcs-basic");
    assert_eq!(s["file"], "scenarios/mcs-basic.yaml");
    assert_eq!(
        s["clusters"],
        json!([{"name": "a", "target": "embedded"}, {"name": "b", "target": "embedded"}])
    );
    assert_eq!(s["outcome"]["status"], "failed");
    assert_eq!(s["outcome"]["diagnosis"], "endpoints-empty");
    let st = &s["steps"][1];
    assert_eq!(st["kind"], "expectEndpoints");
    assert_eq!(st["location"], "scenarios/x.yaml:14:5");
    assert_eq!(st["startedAt"], "2026-11-26T10:00:00.017Z");
    assert_eq!(st["durationMs"], 30_012.0);
    assert_eq!(st["outcome"]["seen"], "<none>");
    assert_eq!(
        st["lastWait"],
        json!({"message": "0 of 2 addresses", "elapsedMs": 1000.0})
    );
    assert_eq!(
        s["steps"][2]["outcome"],
        json!({"status": "skipped", "reason": "earlier step failed"})
    );
    let d = &s["diagnoses"][0];
    assert_eq!(
        (d["index"].clone(), d["id"].clone()),
        (json!(1), json!("endpoints-empty"))
    );
    assert_eq!(d["checks"][3]["state"], "broken");
    assert_eq!(
        s["cleanup"],
        json!({"deleted": 4, "problems": [], "kept": false, "durationMs": 140.0})
    );
}

#[test]
fn json_milestones_are_easy_to_read_back() {
    let doc = json_of(&passing_run());
    let m = &doc["scenarios"][0]["milestones"];
    assert_eq!(
        *m,
        json!([
            {"milestone": "exportApplied", "cluster": null, "at": "2026-11-26T10:00:00.020Z", "sinceExportMs": null, "source": "step"},
            {"milestone": "importSeen", "cluster": "b", "at": "2026-11-26T10:00:00.140Z", "sinceExportMs": 120.0, "source": "watch"},
            {"milestone": "dnsCorrect", "cluster": "b", "at": "2026-11-26T10:00:00.410Z", "sinceExportMs": 390.0, "source": "probe"},
        ])
    );
    let skipped = &doc["scenarios"][1];
    assert_eq!(skipped["outcome"]["status"], "skipped");
    assert_eq!(skipped["plannedSteps"], 2);
    assert_eq!(skipped["startedAt"], serde_json::Value::Null);
}

#[test]
fn markdown_summary_table_and_details() {
    let md = markdown_of(&passing_run());
    assert!(
        md.starts_with("## mcs-harness: ✅ passed\n\n**1 passed, 0 failed, 1 skipped** in 2.31s"),
        "{md}"
    );
    assert!(
        md.contains("| mcs-basic | ✅ passed | 3/3 | 845 ms | — | dnsCorrect (b) 390 ms |\n"),
        "{md}"
    );
    assert!(
        md.contains("| kind-only | ⏭️ skipped | 0/2 | 0 ms | — | — |\n"),
        "{md}"
    );
    assert!(!md.contains("<details>"));

    let md = markdown_of(&failing_run());
    assert!(md.starts_with("## mcs-harness: ❌ FAILED\n"), "{md}");
    assert!(
        md.contains("| mcs-basic | ❌ failed | 1/3 | 30.2 s | endpoints-empty (cluster b) | — |\n"),
        "{md}"
    );
    assert!(
        md.contains("<summary>❌ mcs-basic — step 01 expectEndpoints in b</summary>"),
        "{md}"
    );
    assert!(
        md.contains("```diff\n--- expected\n+++ seen\n-10.0.0.1\n-10.0.0.2\n+<none>\n```\n"),
        "{md}"
    );
    assert!(
        md.contains("**Diagnosis:** endpoints-empty (cluster b)\n\nthe derived Endpoints"),
        "{md}"
    );
    // Evidence in full, folded; the remedy as prose plus its commands in a sh block.
    assert!(
        md.contains("<details><summary>evidence (1)</summary>\n\n```text\nb: Endpoints mcs-basic-r1/gke-mcs-7pq subsets = <none>\n```"),
        "{md}"
    );
    assert!(md.contains("**Remedy:** "), "{md}");
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
}

#[test]
fn markdown_escapes_and_flags_cleanup() {
    let md = markdown_of(&interleaved_run());
    assert!(
        md.contains("| slow | ✅ passed ⚠️ cleanup | 2/2 | 400 ms | — | — |\n"),
        "{md}"
    );
    assert!(
        md.contains("<summary>⚠️ slow — cleanup problems</summary>"),
        "{md}"
    );

    let mut ev = failing_run();
    for e in &mut ev {
        if let Event::StepFinished {
            outcome: Outcome::Failed(f),
            ..
        } = e
        {
            f.diff = Some("-a ``` b\n+c".into());
        }
    }
    let md = markdown_of(&ev);
    assert!(md.contains("````diff\n-a ``` b\n+c\n````\n"), "{md}");
}
