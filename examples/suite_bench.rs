//! `cargo run --release --example suite_bench`: the run command's own numbers (issue 12).
//!
//! 1. **Preflight** of the embedded provider's 2-cluster fleet (reachable, credentials,
//!    version, MCS APIs, Faults, permissions where served), 20 times: what every run pays
//!    before its first scenario.
//! 2. **The shipped suite** (`scenarios/*.yaml`, each scenario on an embedded fleet of its
//!    own, as `mcs-harness run` does): wall time with `--jobs 1`, with the default jobs (one
//!    per CPU) and with every scenario at once, side by side in one process; and the longest
//!    single scenario of the serial run, the floor any parallel run can reach.
//! 3. **The conformance run** (`scenarios/conformance/`, the 27 KEP-1645 specs, as
//!    `mcs-harness conformance` runs them) with the default jobs: wall time and how many
//!    passed (specs the importer does not meet yet fail, and count, instead of ending the
//!    benchmark).
//!
//! Nothing is asserted: a table, README rows and `BENCH key=value` lines are printed.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcs_harness::engine::{self, EventSink, RunConfig, RunIntro};
use mcs_harness::event::{Event, Outcome};
use mcs_harness::fleet::{EmbeddedProvider, Provider, preflight};
use mcs_harness::run_cmd::{cpus, default_jobs, load_all, plan, scenario_files};
use tokio_util::sync::CancellationToken;

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One suite run: wall time and each scenario's duration.
struct SuiteRun {
    jobs: usize,
    wall: Duration,
    scenarios: Vec<(String, Duration)>,
    failed: usize,
}

async fn suite(jobs: usize) -> BoxResult<SuiteRun> {
    run_dir("scenarios", jobs, true).await
}

/// Runs every scenario of `dir` with `jobs` at a time; with `must_pass`, the first failure
/// ends the benchmark.
async fn run_dir(dir: &str, jobs: usize, must_pass: bool) -> BoxResult<SuiteRun> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = scenario_files(&[root.join(dir)])?;
    let scenarios: Vec<_> = load_all(&files)?.into_iter().map(Arc::new).collect();
    let provider = Arc::new(EmbeddedProvider::start(Duration::ZERO).await?);
    let plan = plan(&scenarios, provider.as_ref())?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = RunConfig {
        jobs,
        ..RunConfig::default()
    };
    let provider: Arc<dyn Provider> = provider;
    let t = Instant::now();
    let run = tokio::spawn(engine::run(
        plan,
        provider,
        cfg,
        RunIntro::default(),
        EventSink::new(tx),
        CancellationToken::new(),
    ));
    let mut durations = Vec::new();
    while let Some(e) = rx.recv().await {
        if let Event::ScenarioFinished {
            scenario,
            duration,
            outcome,
        } = e
        {
            if must_pass && !matches!(outcome, Outcome::Passed) {
                return Err(
                    format!("{scenario} did not pass with --jobs {jobs}: {outcome:?}").into(),
                );
            }
            durations.push((scenario, duration));
        }
    }
    let summary = run.await?;
    let wall = t.elapsed();
    if must_pass && summary.failed > 0 {
        return Err(format!("{} scenarios failed", summary.failed).into());
    }
    Ok(SuiteRun {
        jobs,
        wall,
        scenarios: durations,
        failed: summary.failed,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    eprintln!("[1/3] preflight of a 2-cluster embedded fleet, 20 times …");
    let provider = EmbeddedProvider::start(Duration::ZERO).await?;
    let mut samples = Vec::new();
    for _ in 0..20 {
        let r = preflight(provider.registry(), Duration::from_secs(10)).await;
        if !r.problems().is_empty() {
            return Err(format!("preflight problems: {:?}", r.problems()).into());
        }
        samples.push(r.took);
    }
    drop(provider);
    samples.sort();
    let (p50, max) = (samples[samples.len() / 2], samples[samples.len() - 1]);

    let files = scenario_files(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")])?;
    let all = files.len();
    let (cpus, jobs) = (cpus(), default_jobs());
    eprintln!(
        "[2/3] the shipped suite ({all} scenarios): --jobs 1, {cpus} (one per CPU), {jobs} (default), {all} …"
    );
    let serial = suite(1).await?;
    let per_cpu = suite(cpus).await?;
    let default = suite(jobs).await?;
    let every = suite(all).await?;
    eprintln!("[3/3] the conformance run (scenarios/conformance/), --jobs {jobs} …");
    let conf = run_dir("scenarios/conformance", jobs, false).await?;
    let conf_longest = conf
        .scenarios
        .iter()
        .max_by_key(|(_, d)| *d)
        .cloned()
        .unwrap_or_default();
    let longest = serial
        .scenarios
        .iter()
        .max_by_key(|(_, d)| *d)
        .cloned()
        .unwrap_or_default();

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| preflight, 2 embedded clusters (20 runs) | p50 {:.1} ms, max {:.1} ms |",
        ms(p50),
        ms(max)
    );
    for r in [&serial, &per_cpu, &default, &every] {
        println!(
            "| shipped suite ({all} scenarios), --jobs {}{} | {:.2} s ({:.2} × the longest scenario) |",
            r.jobs,
            if r.jobs == jobs { " (default)" } else { "" },
            r.wall.as_secs_f64(),
            r.wall.as_secs_f64() / longest.1.as_secs_f64().max(1e-9)
        );
    }
    println!(
        "| longest single scenario (serial run) | {} {:.2} s |",
        longest.0,
        longest.1.as_secs_f64()
    );
    println!(
        "| conformance run ({} specs, --jobs {jobs}; {} passed, {} failed) (target ≤ 30 s) | {:.2} s (longest spec {} {:.2} s) |",
        conf.scenarios.len(),
        conf.scenarios.len() - conf.failed,
        conf.failed,
        conf.wall.as_secs_f64(),
        conf_longest.0,
        conf_longest.1.as_secs_f64()
    );
    println!("\nBENCH preflight_p50_ms={:.2}", ms(p50));
    println!("BENCH preflight_max_ms={:.2}", ms(max));
    for r in [&serial, &per_cpu, &default, &every] {
        println!("BENCH suite_jobs{}_s={:.3}", r.jobs, r.wall.as_secs_f64());
    }
    println!("BENCH longest_scenario_s={:.3}", longest.1.as_secs_f64());
    println!("BENCH conformance_s={:.3}", conf.wall.as_secs_f64());
    println!("BENCH conformance_failed={}", conf.failed);
    println!("BENCH cpus={cpus}");
    Ok(())
}
