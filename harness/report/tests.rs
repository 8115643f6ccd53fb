//! Tests of the reporters: hand-built event streams (see `fixtures`) rendered by every
//! reporter and checked for exact or specific content. Console and FanOut tests live here,
//! the file formats in `documents`, background probes in `probes`, the HTML page in `html`
//! (and rendered by headless Chromium in `chromium`).

mod chromium;
mod diagnoses;
mod documents;
mod fixtures;
mod html;
mod json_report;
mod probe_fixtures;
mod probes;

use std::sync::{Arc, Mutex};

use fixtures::*;

use super::*;
use crate::event::Event;

#[test]
fn console_passing_run() {
    let expected = "\
running 2 scenarios (provider embedded (clusters a, b))

scenario mcs-basic started (namespace mcs-basic-r1; clusters a=embedded, b=embedded)
scenario mcs-basic ... ok (845 ms)
  ok      apply app in a, b  (12 ms)
  ok      export from a  (4 ms)
  ok      expectDns from b  (400 ms)
  milestones: exportApplied, importSeen (b) +120 ms, dnsCorrect (b) +390 ms
  cleanup: 4 deleted  (140 ms)
scenario kind-only ... skipped (needs provider kind)

test result: ok. 1 passed; 0 failed; 1 skipped; finished in 2.31s
";
    assert_eq!(console_output(&passing_run(), ConsoleMode::Plain), expected);
}

#[test]
fn console_failing_run_shows_diff_and_diagnosis_under_the_step() {
    let expected = "\
running 1 scenario (provider embedded (clusters a, b))

scenario mcs-basic started (namespace mcs-basic-r1; clusters a=embedded, b=embedded)
scenario mcs-basic ... FAILED (30.2 s)
  ok      apply app in a, b  (12 ms)
  FAILED  expectEndpoints in b  (30.0 s)
          timed out after 30s waiting for Endpoints gke-mcs-7pq in b
          diff (expected vs seen):
            --- expected
            +++ seen
            -10.0.0.1
            -10.0.0.2
            +<none>
          diagnosis: endpoints-empty (cluster b)
            the derived Endpoints in b have no addresses
            evidence:
              b: Endpoints mcs-basic-r1/gke-mcs-7pq subsets = <none>
            remedy: check the importer logs in namespace gke-mcs
            checks (✓ ok, ✗ broken, … propagating, - skipped):
              link       a  b
              service    ✓
              export     ✓
              import        ✓
              endpoints     ✗
              dns           -
              ✗ endpoints in b: 0 addresses, expected 2
  skipped expectDns from b  (earlier step failed)
  cleanup: 4 deleted  (140 ms)

failures:
    mcs-basic (step 01 expectEndpoints in b): timed out after 30s waiting for Endpoints gke-mcs-7pq in b [diagnosis: endpoints-empty (cluster b)]

test result: FAILED. 0 passed; 1 failed; 0 skipped; finished in 30.25s
";
    assert_eq!(console_output(&failing_run(), ConsoleMode::Plain), expected);
}

#[test]
fn console_prints_interleaved_scenarios_as_blocks() {
    let expected = "\
running 2 scenarios (provider embedded (clusters a, b))

scenario slow started (namespace slow-r1; clusters a=embedded, b=embedded)
scenario fast started (namespace fast-r1; clusters a=embedded, b=embedded)
scenario fast ... ok (200 ms)
  ok      apply app  (10 ms)
  ok      expectImport in b  (30 ms)
  cleanup: 4 deleted  (140 ms)
scenario slow ... ok (400 ms)
  ok      apply app  (20 ms)
  ok      expectImport in b  (50 ms)
  cleanup: 4 deleted, 1 problem  (140 ms)
    - ServiceExport slow-r1/app in a: still terminating

cleanup problems:
    slow: ServiceExport slow-r1/app in a: still terminating

test result: ok. 2 passed; 0 failed; 0 skipped; finished in 0.45s
";
    assert_eq!(
        console_output(&interleaved_run(), ConsoleMode::Plain),
        expected
    );
}

#[test]
fn console_progress_mode_writes_blocks_without_started_notes_or_escapes() {
    let plain = console_output(&failing_run(), ConsoleMode::Plain);
    let progress = console_output(&failing_run(), ConsoleMode::Progress);
    let without_notes: String = plain
        .lines()
        .filter(|l| !l.contains(" started (namespace"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(progress, without_notes);
    assert!(!plain.contains('\u{1b}'), "no escape codes in plain mode");
    assert!(
        !plain.contains("0 of 2 addresses"),
        "wait progress is not printed"
    );
}

#[test]
fn console_reports_unfinished_scenario_and_step() {
    let mut ev = failing_run();
    ev.truncate(6); // RunStarted .. WaitProgress of step 1
    ev.push(run_finished(0, 0, 0, 1000));
    let out = console_output(&ev, ConsoleMode::Plain);
    assert!(
        out.contains("scenario mcs-basic ... did not finish\n"),
        "{out}"
    );
    assert!(
        out.contains("  ?       expectEndpoints in b  (did not finish)\n"),
        "{out}"
    );
    assert!(
        out.contains("last seen after 1000 ms: 0 of 2 addresses"),
        "{out}"
    );
}

/// A reporter that counts events and can be told to fail.
struct Probe {
    seen: Arc<Mutex<usize>>,
    fail: bool,
}

impl Reporter for Probe {
    fn event(&mut self, _: &Event) -> Result<(), ReportError> {
        *self.seen.lock().unwrap() += 1;
        if self.fail {
            return Err(ReportError::Console(std::io::Error::other("broken pipe")));
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<(), ReportError> {
        Ok(())
    }
}

#[test]
fn fan_out_keeps_going_and_collects_errors() {
    let dir = tempfile::tempdir().unwrap();
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "").unwrap();
    let bad_path = blocked.join("report.xml"); // parent is a file
    let good = Arc::new(Mutex::new(0));
    let mut fan = FanOut::new(vec![
        Box::new(Probe {
            seen: Arc::new(Mutex::new(0)),
            fail: true,
        }),
        Box::new(Junit::new(bad_path.clone())),
        Box::new(Probe {
            seen: good.clone(),
            fail: false,
        }),
    ]);
    let events = passing_run();
    feed(&mut fan, &events);
    assert_eq!(*good.lock().unwrap(), events.len());
    let err = fan.finish().unwrap_err();
    let ReportError::Many(errors) = &err else {
        panic!("expected two errors, got {err}");
    };
    assert_eq!(errors.len(), 2);
    assert!(matches!(&errors[1], ReportError::Write { path, .. } if *path == bad_path));
    assert!(
        err.to_string().contains(&bad_path.display().to_string()),
        "{err}"
    );
}

#[test]
fn files_contain_exactly_the_rendered_documents() {
    let dir = tempfile::tempdir().unwrap();
    let events = failing_run();
    let (xml, json, md) = (
        dir.path().join("out/junit.xml"),
        dir.path().join("r.json"),
        dir.path().join("s.md"),
    );
    let mut junit = Junit::new(xml.clone());
    let mut j = Json::new(json.clone());
    let mut m = Markdown::new(md.clone());
    for r in [&mut junit as &mut dyn Reporter, &mut j, &mut m] {
        feed(r, &events);
        r.finish().unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&xml).unwrap(),
        junit.render().unwrap()
    );
    let read: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(read, j.render());
    assert_eq!(std::fs::read_to_string(&md).unwrap(), m.render());

    let mut appended = Markdown::appending(md.clone());
    feed(&mut appended, &events);
    appended.finish().unwrap();
    assert_eq!(std::fs::read_to_string(&md).unwrap(), m.render().repeat(2));
}
