//! Every shipped scenario (`scenarios/*.yaml`) is a test, run on its own embedded fleet
//! through the same provider, engine and reporters as `mcs-harness run` (libtest-mimic, so
//! it works with `cargo test` and `cargo nextest`). A failing scenario prints the console
//! report.
//!
//! So is every KEP-1645 conformance spec (`scenarios/conformance/*.yaml`, tests named
//! `conformance/NN-…`). The specs the upstream-flavour importer does not meet yet are in
//! [`EXPECTED_FAILURES`] with the reason: such a test passes only when the scenario fails
//! *with that reason* (a text of its report), and fails once the scenario passes, so the
//! entry is removed when the importer work (issue 17, item 1) lands.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use mcs_harness::fleet::EmbeddedProvider;
use mcs_harness::run_cmd::{plan, scenario_files};
use support::run_captured;

/// Conformance specs that fail on the embedded fleet today: file stem, a text the failure
/// report must contain (the failing step's name or the field it waits for), and why (what the upstream-flavour importer lacks).
const EXPECTED_FAILURES: [(&str, &str, &str); 5] = [
    (
        "02-exported-labels",
        "dummy-label",
        "the importer ignores ServiceExport exportedLabels/exportedAnnotations (mcs-api v1beta1)",
    ),
    (
        "03-exported-labels-conflict",
        "Conflict on a's ServiceExport",
        "no Conflict (and no oldest-wins) for conflicting exportedLabels/exportedAnnotations",
    ),
    (
        "10-ports-union",
        "Conflict on a's ServiceExport",
        "no Conflict condition for port sets that differ but merge (Required)",
    ),
    (
        "26-strict-port-conflict-same-name",
        "port 42 only reaches a (10 in a row)",
        "StrictPortConflict: port 42 still routed to b, whose port lost the conflict",
    ),
    (
        "27-strict-port-conflict-other-name",
        "port 42 only reaches a (10 in a row)",
        "StrictPortConflict: port 42 routed to b, which exports only port 4242",
    ),
];

/// A spec expected to fail: ok when it fails with `needle` in its report.
fn run_expected_failure(path: &Path, needle: &str, why: &str) -> Result<(), Failed> {
    match run_one(path) {
        Ok(()) => Err(Failed::from(format!(
            "{} now passes (it was expected to fail: {why}): remove it from EXPECTED_FAILURES in tests/scenarios.rs",
            path.display()
        ))),
        Err(f) => {
            let text = f.message().unwrap_or_default();
            match text.contains(needle) {
                true => Ok(()),
                false => Err(Failed::from(format!(
                    "expected to fail because {why} (report containing {needle:?}), but it failed otherwise:\n{text}"
                ))),
            }
        }
    }
}

fn run_one(path: &Path) -> Result<(), Failed> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let scenario = mcs_harness::scenario::load(path).map_err(|e| e.to_string())?;
        let scenarios = vec![Arc::new(scenario)];
        let provider = EmbeddedProvider::start(std::time::Duration::ZERO)
            .await
            .map_err(|e| e.to_string())?;
        let plan = plan(&scenarios, &provider).map_err(|e| e.to_string())?;
        let (summary, text) = run_captured(plan, Arc::new(provider)).await?;
        if summary.passed == 1 {
            Ok(())
        } else {
            Err(Failed::from(format!("scenario did not pass:\n{text}")))
        }
    })
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root).expect("project root");
    let files: Vec<PathBuf> = scenario_files(&[root.join("scenarios")]).expect("scenarios/");
    let stem = |f: &Path| {
        f.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut trials: Vec<Trial> = files
        .into_iter()
        .map(|f| Trial::test(stem(&f), move || run_one(&f)))
        .collect();
    let specs = scenario_files(&[root.join("scenarios/conformance")]).expect("conformance/");
    assert_eq!(specs.len(), 27, "one scenario per upstream spec");
    for (s, _, _) in EXPECTED_FAILURES {
        assert!(
            specs.iter().any(|f| stem(f) == s),
            "EXPECTED_FAILURES names {s}, which is not in scenarios/conformance/"
        );
    }
    trials.extend(specs.into_iter().map(|f| {
        let name = format!("conformance/{}", stem(&f));
        match EXPECTED_FAILURES.iter().find(|(s, _, _)| *s == stem(&f)) {
            Some(&(_, needle, why)) => {
                Trial::test(name, move || run_expected_failure(&f, needle, why))
            }
            None => Trial::test(name, move || run_one(&f)),
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}
