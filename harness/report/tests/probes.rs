//! Background-probe reports in every text reporter: the record, console, JUnit, JSON and
//! Markdown.

use quick_junit::TestCaseStatus;
use serde_json::json;

use super::fixtures::*;
use super::probe_fixtures::*;
use crate::report::ConsoleMode;
use crate::report::record::RunRecord;

const VIOLATED: &str = "probe availability: 400 samples, 96.2% ok, longest outage 300 ms, \
                        answers a=92 b=93; violations: success rate 96.2% < 99.0%; longest \
                        outage 300 ms > 200 ms";
const QUIET: &str = "probe dns-watch: 20 samples, 100.0% ok, longest outage 0 ms, answers a=5 b=5";

#[test]
fn record_keeps_probe_reports_per_step() {
    let mut r = RunRecord::default();
    for e in &probe_run() {
        r.apply(e);
    }
    let s = r.scenario("upgrade").unwrap();
    assert_eq!(s.probes.len(), 2);
    assert_eq!(s.probes_of(1)[0].name, "dns-watch");
    assert_eq!(s.probes_of(2)[0].name, "availability");
    assert!(s.probes_of(0).is_empty());
}

#[test]
fn console_prints_probe_summary_under_the_stop_step() {
    let expected = format!(
        "\
running 1 scenario (provider embedded (clusters a, b))

scenario upgrade started (namespace upgrade-r1; clusters a=embedded, b=embedded)
scenario upgrade ... FAILED (4300 ms)
  ok      startProbe availability  (2 ms)
  ok      stopProbe dns-watch  (1 ms)
          {QUIET}
  FAILED  stopProbe availability  (1 ms)
          {VIOLATED}
          probe availability exceeded its budget
  cleanup: 4 deleted  (140 ms)

failures:
    upgrade (step 02 stopProbe availability): probe availability exceeded its budget

test result: FAILED. 0 passed; 1 failed; 0 skipped; finished in 4.35s
"
    );
    assert_eq!(console_output(&probe_run(), ConsoleMode::Plain), expected);
}

#[test]
fn junit_puts_probe_summary_in_output_or_failure() {
    let (_, report) = junit_of(&probe_run());
    let cases = &report.test_suites[0].test_cases;
    let quiet = &cases[1];
    assert_eq!(quiet.name.as_str(), "01 stopProbe: stopProbe dns-watch");
    assert!(matches!(quiet.status, TestCaseStatus::Success { .. }));
    assert_eq!(quiet.system_out.as_ref().unwrap().as_str(), QUIET);
    let broken = &cases[2];
    let TestCaseStatus::NonSuccess { description, .. } = &broken.status else {
        panic!("stopProbe availability should fail");
    };
    assert_eq!(
        description.as_ref().unwrap().as_str(),
        format!("probe availability exceeded its budget\n{VIOLATED}")
    );
    assert!(broken.system_out.is_none());
    assert!(cases[0].system_out.is_none());
}

#[test]
fn json_has_probes_with_every_sample() {
    let doc = json_of(&probe_run());
    let probes = &doc["scenarios"][0]["probes"];
    assert_eq!(probes.as_array().unwrap().len(), 2);
    let p = &probes[1];
    assert_eq!(p["index"], 2);
    assert_eq!(p["name"], "availability");
    assert_eq!(p["startedAt"], "2026-11-26T10:00:00.100Z");
    assert_eq!(p["durationMs"], 4000.0);
    assert_eq!(
        (p["total"].clone(), p["failed"].clone()),
        (json!(400), json!(15))
    );
    assert_eq!(p["successRate"], 0.9625);
    assert_eq!(p["longestOutageMs"], 300.0);
    assert_eq!(p["answersByCluster"], json!({"a": 92, "b": 93}));
    assert_eq!(p["violations"][1], "longest outage 300 ms > 200 ms");
    let samples = p["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 400);
    assert_eq!(
        samples[0],
        json!({"offsetMs": 0.0, "latencyMs": 3.0, "from": "b", "kind": "http", "ok": true,
               "servedBy": "a", "detail": "200"})
    );
    let failed = samples.iter().find(|s| s["ok"] == false).unwrap();
    assert_eq!(failed["offsetMs"], 1200.0);
    assert_eq!(failed["servedBy"], serde_json::Value::Null);
    assert_eq!(failed["detail"], "connection refused");
    let none = json_of(&failing_run());
    assert_eq!(none["scenarios"][0]["probes"], json!([]));
}

#[test]
fn markdown_has_a_line_per_probe() {
    let md = markdown_of(&probe_run());
    assert!(
        md.contains(&format!(
            "\n**Background probes**\n\n- ✅ upgrade · step 01 · {QUIET}\n\
             - ❌ upgrade · step 02 · \
             probe availability: 400 samples, 96.2% ok, longest outage 300 ms, answers a=92 b=93; \
             violations: success rate 96.2% &lt; 99.0%; longest outage 300 ms &gt; 200 ms\n"
        )),
        "{md}"
    );
    assert!(!markdown_of(&passing_run()).contains("Background probes"));
}
