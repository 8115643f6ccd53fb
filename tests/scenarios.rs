//! Every shipped scenario (`scenarios/*.yaml`) is a test, run on its own embedded fleet
//! through the same provider, engine and reporters as `mcs-harness run` (libtest-mimic, so
//! it works with `cargo test` and `cargo nextest`). A failing scenario prints the console
//! report.
//!
//! So is every KEP-1645 conformance spec (`scenarios/conformance/*.yaml`, tests named
//! `conformance/NN-…`): every one of the 27 must pass on the embedded upstream fleet.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use mcs_harness::fleet::EmbeddedProvider;
use mcs_harness::run_cmd::{plan, scenario_files};
use support::run_captured;

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
    trials.extend(specs.into_iter().map(|f| {
        let name = format!("conformance/{}", stem(&f));
        Trial::test(name, move || run_one(&f))
    }));
    libtest_mimic::run(&args, trials).exit();
}
