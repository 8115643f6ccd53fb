//! Every shipped scenario (`scenarios/*.yaml`) is a test, run on its own embedded fleet
//! through the same engine and reporters as `mcs-harness run` (libtest-mimic, so it works
//! with `cargo test` and `cargo nextest`). A failing scenario prints the console report.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use mcs_harness::engine::RunConfig;
use mcs_harness::report::{Console, ConsoleMode, Reporter};
use mcs_harness::run_cmd::{embedded_plan, run_with, scenario_files};

/// A `Write` into shared memory, so the console report can go into a failure message.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn run_one(path: &Path) -> Result<(), Failed> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let scenario = mcs_harness::scenario::load(path).map_err(|e| e.to_string())?;
        let scenarios = vec![Arc::new(scenario)];
        let (plan, provider, _fleets) = embedded_plan(&scenarios, std::time::Duration::ZERO)
            .await
            .map_err(|e| e.to_string())?;
        let out = Buffer::default();
        let console: Box<dyn Reporter> =
            Box::new(Console::new(Box::new(out.clone()), ConsoleMode::Plain));
        let summary = run_with(plan, RunConfig::default(), provider, console)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.0.lock().map_err(|_| "poisoned")?).into_owned();
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
    let trials = files
        .into_iter()
        .map(|f| {
            let name = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(name, move || run_one(&f))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
