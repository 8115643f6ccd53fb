//! `cargo run --release --example engine_bench`: the engine's numbers of DESIGN §8, measured
//! in-process on the embedded fleet through the same `engine::run` the `run` command uses.
//!
//! 1. **Detection latency** of a generic `wait` (`.data.k == "go-N"` on a ConfigMap): one
//!    scenario with 200 wait steps; while step N waits, a separate kube client writes
//!    `data.k = go-N` after a random 10–30 ms (so the wait's watch is established). Latency
//!    = the write's commit in the sim store → the `StepFinished` event arriving on the
//!    engine's unbounded event channel. Also the propagation of an export to the other
//!    cluster as the engine sees it: the `importSeen` and `endpointsCorrect` milestones in b
//!    (`since_export`, i.e. importer and engine together), over 30 sequential scenarios.
//! 2. **`mcs-basic` wall time**: `scenarios/mcs-basic.yaml` end to end (namespaces, deploy,
//!    export, propagation, DNS, HTTP, migration, cleanup) on a fresh embedded fleet each
//!    time (fleet start not counted), 10 times.
//! 3. **100 scenarios at once** (`--jobs 100`) on one 2-cluster fleet, each a small mcs-basic
//!    (apply app, export, `expectImport` in b from a, DNS import-ip, HTTP served by a):
//!    total wall time, and the process's RSS before the run and its peak during it (VmHWM,
//!    reset through `/proc/self/clear_refs` just before the run). Runs first, on a fresh
//!    process, so earlier sections do not inflate the peak.
//! 4. **The same detection measurement with a `kubectl get` polling loop** as the waiter:
//!    `bash -c 'until [ "$(kubectl get configmap x -o jsonpath={.data.k})" = go-N ]; do sleep
//!    P; done'` with P = 1 s and 0.1 s, 20 times each, the write landing at a random phase of
//!    the loop. Latency = commit → the bash process exiting.
//!
//! Commit time: a dedicated OS thread blocks on the sim store's change broadcast, which the
//! store sends while it still holds its lock, i.e. at the commit. Its clock reading is a
//! few microseconds after the commit and, unlike the write's HTTP response, includes none
//! of the response encoding and delivery (that would shorten latencies by that much).
//! Nothing is asserted: numbers are printed as a table, as README rows and as
//! `BENCH key=value` lines for scripts.

use std::collections::HashMap;
use std::error::Error;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, Patch, PatchParams, PostParams};
use mcs_harness::engine::{self, EventSink, Planned, RunConfig, RunSummary};
use mcs_harness::event::{Event, Milestone, Outcome};
use mcs_harness::fleet::{EmbeddedFleet, EmbeddedOptions, Provider};
use mcs_harness::scenario::{self, Scenario};
use mcs_sim::store::{ResKey, Store};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

type BoxResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Repetitions of each measurement.
const WAITS: usize = 200;
const PROPAGATIONS: usize = 30;
const BASIC_RUNS: usize = 10;
const CONCURRENT: usize = 100;
const KUBECTL_RUNS: usize = 20;

/// The mcs-basic-like scenario of the concurrency benchmark.
const SMALL_BASIC: &str = r#"
name: small-basic
clusters: [a, b]
steps:
  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}
  - export: {cluster: a, service: whereami}
  - expectImport: {cluster: b, service: whereami, endpointsFrom: [a]}
  - expectDns: {from: b, name: "whereami.{{ namespace }}.svc.clusterset.local", answer: import-ip}
  - expectHttp: {from: b, url: "http://whereami.{{ namespace }}.svc.clusterset.local/", servedBy: [a]}
"#;

/// Export → import propagation as the engine sees it; the app is ready before the export,
/// so the milestones measure the importer and the engine, not pod start-up.
const PROPAGATE: &str = r#"
name: propagate
clusters: [a, b]
steps:
  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}
  - wait: {cluster: a, apiVersion: apps/v1, kind: Deployment, name: whereami, for: .status.readyReplicas == 1}
  - export: {cluster: a, service: whereami}
  - expectImport: {cluster: b, service: whereami, endpointsFrom: [a], derivedService: true}
"#;

/// Sorted samples.
struct Samples(Vec<Duration>);

impl Samples {
    fn new(mut v: Vec<Duration>) -> Samples {
        v.sort();
        Samples(v)
    }

    /// Nearest-rank percentile (`p` in 0..=100).
    fn pct(&self, p: usize) -> Duration {
        let n = self.0.len();
        if n == 0 {
            return Duration::ZERO;
        }
        self.0[(p * n).div_ceil(100).clamp(1, n) - 1]
    }

    fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `1.23 ms` below 10 ms, `123 ms` above.
fn show(d: Duration) -> String {
    match ms(d) {
        x if x < 10.0 => format!("{x:.2} ms"),
        x => format!("{x:.0} ms"),
    }
}

fn parse(yaml: &str, name: &str) -> BoxResult<Scenario> {
    let origin = format!("{}/scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    Ok(scenario::parse(yaml, &origin)?)
}

/// Scenarios that all share `fleet`'s clusters (as a `sim up` fleet bound with `--cluster`).
async fn plan(
    fleet: &EmbeddedFleet,
    scenarios: Vec<Scenario>,
) -> BoxResult<(Vec<Planned>, Arc<dyn Provider>)> {
    let mut names: Vec<String> = Vec::new();
    for s in &scenarios {
        for c in &s.clusters {
            if !names.contains(c) {
                names.push(c.clone());
            }
        }
    }
    let provider: Arc<dyn Provider> = Arc::new(mcs_harness::fleet::shared(fleet, &names).await?);
    let plan = scenarios
        .into_iter()
        .map(|s| Planned::run(Arc::new(s)))
        .collect();
    Ok((plan, provider))
}

/// Starts `engine::run` on its own task; events arrive on the returned receiver.
fn start(
    plan: Vec<Planned>,
    provider: Arc<dyn Provider>,
    jobs: usize,
) -> (
    tokio::task::JoinHandle<RunSummary>,
    UnboundedReceiver<Event>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = RunConfig {
        jobs,
        ..RunConfig::default()
    };
    let sink = EventSink::new(tx);
    let intro = engine::RunIntro::default();
    let run = engine::run(plan, provider, cfg, intro, sink, CancellationToken::new());
    (tokio::spawn(run), rx)
}

/// Fails with the first failure when not every scenario passed.
fn all_passed(s: &RunSummary, what: &str) -> BoxResult<()> {
    if s.failed == 0 && s.skipped == 0 {
        return Ok(());
    }
    let first = s.outcomes.iter().find_map(|(name, o)| match o {
        Outcome::Passed => None,
        Outcome::Failed(f) => Some(format!("{name}: {}", f.message)),
        Outcome::Skipped { reason } => Some(format!("{name}: skipped: {reason}")),
    });
    Err(format!(
        "{what}: {} failed, {} skipped; {first:?}",
        s.failed, s.skipped
    )
    .into())
}

/// Commit instants of `data.k` values of ConfigMaps named `x`, read on a dedicated thread
/// from the store's change broadcast (sent under the store lock, at the commit).
#[derive(Clone, Default)]
struct CommitClock(Arc<Mutex<HashMap<String, Instant>>>);

impl CommitClock {
    fn watch(store: &Store) -> CommitClock {
        let clock = CommitClock::default();
        let mut rx = store.subscribe();
        let seen = clock.0.clone();
        let configmaps = ResKey::new("", "configmaps");
        std::thread::spawn(move || {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match rx.blocking_recv() {
                    Ok(ev) => {
                        let now = Instant::now();
                        if ev.res == configmaps
                            && ev.key.name == "x"
                            && let Some(v) = ev.object["data"]["k"].as_str()
                        {
                            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                            seen.entry(v.to_string()).or_insert(now);
                        }
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        });
        clock
    }

    /// When `value` was committed; the write's response time if the thread missed it
    /// (only possible if it lagged 16,384 store events behind), with a warning.
    fn committed(&self, value: &str, responded: Instant) -> Instant {
        let seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(value).copied().unwrap_or_else(|| {
            eprintln!("warning: commit of {value:?} not seen; using the write's response time");
            responded
        })
    }
}

/// A small xorshift generator for jitter (no dependency needed for this).
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x2545_F491_4F6C_DD1D);
        Jitter(t | 1)
    }

    /// Uniform in `[lo, lo + span)`.
    fn between(&mut self, lo: Duration, span: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let nanos = span.as_nanos().max(1) as u64;
        lo + Duration::from_nanos(self.0 % nanos)
    }
}

/// Sets `data.k` of ConfigMap `x`; returns when the write's response arrived.
async fn set_k(cms: &Api<ConfigMap>, value: &str) -> BoxResult<Instant> {
    let patch = Patch::Merge(json!({"data": {"k": value}}));
    cms.patch("x", &PatchParams::default(), &patch).await?;
    Ok(Instant::now())
}

/// Section 1a: detection latency of a generic wait, and commit → write response.
struct Detection {
    wait: Samples,
    response: Samples,
}

async fn detect_waits(fleet: &EmbeddedFleet, clock: &CommitClock) -> BoxResult<Detection> {
    let mut yaml = String::from(
        "name: detect\nclusters: [a]\nsteps:\n  - apply:\n      cluster: a\n      manifest: |\n        \
         apiVersion: v1\n        kind: ConfigMap\n        metadata: {name: x}\n        data: {k: init}\n",
    );
    for i in 1..=WAITS {
        yaml.push_str(&format!(
            "  - wait: {{cluster: a, apiVersion: v1, kind: ConfigMap, name: x, for: '.data.k == \"go-{i}\"'}}\n"
        ));
    }
    let (plan, provider) = plan(fleet, vec![parse(&yaml, "detect")?]).await?;
    let writer = fleet.client("a").await?;
    let (run, mut rx) = start(plan, provider, 1);
    let mut cms: Option<Api<ConfigMap>> = None;
    let mut writes = Vec::new();
    let mut finished: HashMap<usize, Instant> = HashMap::new();
    let mut jitter = Jitter::new();
    while let Some(e) = rx.recv().await {
        match e {
            Event::StepFinished { step, .. } => {
                finished.insert(step.index, Instant::now());
            }
            Event::ScenarioStarted { namespace, .. } => {
                cms = Some(Api::namespaced(writer.clone(), &namespace));
            }
            Event::StepStarted { step, .. } if step.index >= 1 => {
                let cms = cms.clone().ok_or("no ScenarioStarted before steps")?;
                let delay = jitter.between(Duration::from_millis(10), Duration::from_millis(20));
                writes.push(tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    set_k(&cms, &format!("go-{}", step.index)).await
                }));
            }
            _ => {}
        }
    }
    all_passed(&run.await?, "detection scenario")?;
    let (mut wait, mut response) = (Vec::new(), Vec::new());
    for (n, w) in writes.into_iter().enumerate() {
        let index = n + 1;
        let responded = w.await??;
        let committed = clock.committed(&format!("go-{index}"), responded);
        let done = finished.get(&index).ok_or("a wait step did not finish")?;
        wait.push(done.saturating_duration_since(committed));
        response.push(responded.saturating_duration_since(committed));
    }
    Ok(Detection {
        wait: Samples::new(wait),
        response: Samples::new(response),
    })
}

/// Section 1b: export → importSeen / endpointsCorrect in b, from the milestones.
async fn propagation(fleet: &EmbeddedFleet) -> BoxResult<(Samples, Samples)> {
    let mut scenarios = Vec::new();
    for _ in 0..PROPAGATIONS {
        scenarios.push(parse(PROPAGATE, "propagate")?);
    }
    let (plan, provider) = plan(fleet, scenarios).await?;
    let (run, mut rx) = start(plan, provider, 1);
    let (mut seen, mut correct) = (Vec::new(), Vec::new());
    while let Some(e) = rx.recv().await {
        if let Event::Milestone {
            milestone,
            cluster: Some(c),
            since_export: Some(d),
            ..
        } = e
            && c == "b"
        {
            match milestone {
                Milestone::ImportSeen => seen.push(d),
                Milestone::EndpointsCorrect => correct.push(d),
                _ => {}
            }
        }
    }
    all_passed(&run.await?, "propagation scenarios")?;
    Ok((Samples::new(seen), Samples::new(correct)))
}

/// Section 2: scenarios/mcs-basic.yaml on a fresh fleet each time.
struct Basic {
    wall: Samples,
    fleet_start: Samples,
}

async fn mcs_basic() -> BoxResult<Basic> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mcs-basic.yaml");
    let s = Arc::new(scenario::load(&path)?);
    let (mut wall, mut fleet_start) = (Vec::new(), Vec::new());
    for _ in 0..BASIC_RUNS {
        let t = Instant::now();
        let opts = EmbeddedOptions {
            clusters: s.clusters.clone(),
            ..EmbeddedOptions::default()
        };
        let fleet = EmbeddedFleet::start(&opts).await?;
        fleet_start.push(t.elapsed());
        let (plan, provider) = plan(&fleet, vec![(*s).clone()]).await?;
        let t = Instant::now();
        let (run, mut rx) = start(plan, provider, 1);
        while rx.recv().await.is_some() {}
        let summary = run.await?;
        wall.push(t.elapsed());
        all_passed(&summary, "mcs-basic")?;
        drop(fleet);
    }
    Ok(Basic {
        wall: Samples::new(wall),
        fleet_start: Samples::new(fleet_start),
    })
}

/// Section 3: 100 small mcs-basic scenarios at once on one fleet.
struct Concurrent {
    wall: Samples,
    rss_before_kib: u64,
    peak_kib: u64,
    peak_reset: bool,
    per_scenario: Samples,
}

/// A `/proc/self/status` field in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn concurrent() -> BoxResult<Concurrent> {
    let mut scenarios = Vec::new();
    for _ in 0..CONCURRENT {
        scenarios.push(parse(SMALL_BASIC, "small-basic")?);
    }
    // One shared fleet, as `run --cluster` against a `sim up` fleet.
    let fleets = EmbeddedFleet::start(&EmbeddedOptions::default()).await?;
    let (plan, provider) = plan(&fleets, scenarios).await?;
    // "5" resets VmHWM to the current RSS (Linux ≥ 4.0), so the peak is this run's.
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before_kib = status_kib("VmRSS");
    let t = Instant::now();
    let (run, mut rx) = start(plan, provider, CONCURRENT);
    let mut per_scenario = Vec::new();
    while let Some(e) = rx.recv().await {
        if let Event::ScenarioFinished { duration, .. } = e {
            per_scenario.push(duration);
        }
    }
    let summary = run.await?;
    let wall = t.elapsed();
    let peak_kib = status_kib("VmHWM");
    all_passed(&summary, "concurrent scenarios")?;
    drop(fleets);
    Ok(Concurrent {
        wall: Samples::new(vec![wall]),
        rss_before_kib,
        peak_kib,
        peak_reset,
        per_scenario: Samples::new(per_scenario),
    })
}

/// Section 4: a bash `until kubectl get …; do sleep P; done` loop as the waiter.
async fn kubectl_poll(
    fleet: &EmbeddedFleet,
    clock: &CommitClock,
    period: Duration,
    label: &str,
) -> BoxResult<Samples> {
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    fleet.fleet.write_kubeconfig(&kubeconfig)?;
    let client = fleet.client("a").await?;
    let ns = format!("kubectl-poll-{label}");
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &n)
        .await?;
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "x"}, "data": {"k": "init"}}))?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    cms.create(&PostParams::default(), &cm).await?;
    let get = format!(
        "kubectl --kubeconfig {} --context a -n {ns} get configmap x -o jsonpath={{.data.k}}",
        kubeconfig.display()
    );
    // One call up front: fills kubectl's discovery cache and tells how long a call takes,
    // so the writes can be spread over a whole loop cycle (call + sleep).
    let t = Instant::now();
    let out = tokio::process::Command::new("bash")
        .args(["-c", &get])
        .output()
        .await?;
    if !out.status.success() || out.stdout != b"init" {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("kubectl get failed: {err}").into());
    }
    let call = t.elapsed();
    let mut jitter = Jitter::new();
    let mut lat = Vec::new();
    for i in 0..KUBECTL_RUNS {
        let want = format!("poll-{label}-{i}");
        let script = format!(
            "until [ \"$({get})\" = \"{want}\" ]; do sleep {}; done",
            period.as_secs_f64()
        );
        let mut child = tokio::process::Command::new("bash")
            .args(["-c", &script])
            .stderr(std::process::Stdio::null())
            .spawn()?;
        // After the first call has started, at a uniformly random phase of one cycle.
        let cycle = call + period;
        tokio::time::sleep(jitter.between(call / 2, cycle)).await;
        let responded = set_k(&cms, &want).await?;
        let status = child.wait().await?;
        let noticed = Instant::now();
        if !status.success() {
            return Err(format!("polling loop exited with {status}").into());
        }
        let committed = clock.committed(&want, responded);
        lat.push(noticed.saturating_duration_since(committed));
    }
    Api::<Namespace>::all(client)
        .delete(&ns, &Default::default())
        .await?;
    Ok(Samples::new(lat))
}

/// Everything measured.
struct Results {
    conc: Concurrent,
    det: Detection,
    import_seen: Samples,
    endpoints_correct: Samples,
    basic: Basic,
    poll_1s: Samples,
    poll_100ms: Samples,
}

/// The table's lines, `key | description | target`, in the order of [`Results::samples`].
const LINES: &str = "\
    wait | write commit → wait step finished | p50 ≤ 10, p99 ≤ 50 ms
    commit_to_response | (write commit → its HTTP response) |
    kubectl_1s | write commit → kubectl loop (sleep 1) exits |
    kubectl_100ms | write commit → kubectl loop (sleep 0.1) exits |
    import_seen | export → import seen in b |
    endpoints_correct | export → endpoints correct in b |
    mcs_basic | mcs-basic end to end (fresh fleet each) | ≤ 1 s
    fleet_start | (embedded fleet start, not counted above) |
    concurrent_wall | 100 scenarios at once (jobs=100), wall | ≤ 15 s
    concurrent_scenario | (each of the 100, incl. cleanup) |";

/// One line of the table: machine key, description, samples, target.
type Line<'a> = (&'static str, &'static str, &'a Samples, &'static str);

impl Results {
    fn samples(&self) -> [&Samples; 10] {
        let (d, b, c) = (&self.det, &self.basic, &self.conc);
        [
            &d.wait,
            &d.response,
            &self.poll_1s,
            &self.poll_100ms,
            &self.import_seen,
            &self.endpoints_correct,
            &b.wall,
            &b.fleet_start,
            &c.wall,
            &c.per_scenario,
        ]
    }

    fn lines(&self) -> Vec<Line<'_>> {
        LINES
            .lines()
            .zip(self.samples())
            .map(|(l, s)| {
                let mut f = l.split('|').map(str::trim);
                let (key, what) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
                (key, what, s, f.next().unwrap_or(""))
            })
            .collect()
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// The human-readable table and the side-by-side comparison.
fn print_table(r: &Results, lines: &[Line]) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("\nengine_bench: embedded fleet, release build, {cpus} CPU(s)\n");
    let head = ("measurement", "n", "p50", "p99", "max");
    println!(
        "{:<46} {:>4} {:>9} {:>9} {:>9}  target",
        head.0, head.1, head.2, head.3, head.4
    );
    println!("{}", "-".repeat(104));
    for (_, what, s, target) in lines {
        let (p50, p99, max) = (show(s.pct(50)), show(s.pct(99)), show(s.max()));
        let line = format!(
            "{what:<46} {:>4} {p50:>9} {p99:>9} {max:>9}  {target}",
            s.0.len()
        );
        println!("{}", line.trim_end());
    }
    let c = &r.conc;
    let before = "RSS before the 100-scenario run";
    println!("{before:<46} {:>4} {:>9}", 1, mib(c.rss_before_kib));
    let peak = if c.peak_reset {
        "peak RSS during it (VmHWM)"
    } else {
        "peak RSS (VmHWM, not reset: since start)"
    };
    println!(
        "{peak:<46} {:>4} {:>9} {:>19}  ≤ 300 MB",
        1,
        mib(c.peak_kib),
        ""
    );
    let (w, p1, p01) = (&r.det.wait, &r.poll_1s, &r.poll_100ms);
    println!(
        "\nharness wait p50 {} vs kubectl poll 1s p50 {} vs kubectl poll 0.1s p50 {}",
        show(w.pct(50)),
        show(p1.pct(50)),
        show(p01.pct(50)),
    );
}

/// Rows for the README's Performance table.
fn print_readme(r: &Results) {
    let (w, b, c) = (&r.det.wait, &r.basic.wall, &r.conc);
    let (p1, p01) = (&r.poll_1s, &r.poll_100ms);
    let (seen, eps) = (&r.import_seen, &r.endpoints_correct);
    let p50_max = |s: &Samples| format!("{} / {}", show(s.pct(50)), show(s.max()));
    let p50_p99 = |s: &Samples| format!("{} / {}", show(s.pct(50)), show(s.pct(99)));
    let rows = [
        (
            format!(
                "detection: write committed → `wait` step finished, p50 / p99 / max ({WAITS} samples)"
            ),
            format!("{} / {}", p50_p99(w), show(w.max())),
            "≤ 10 ms / ≤ 50 ms",
        ),
        (
            format!(
                "same, waiter `until kubectl get …; do sleep 1; done`, p50 / max ({KUBECTL_RUNS})"
            ),
            p50_max(p1),
            "—",
        ),
        (
            format!(
                "same, waiter `until kubectl get …; do sleep 0.1; done`, p50 / max ({KUBECTL_RUNS})"
            ),
            p50_max(p01),
            "—",
        ),
        (
            format!("export → import seen in b (importer + engine), p50 / p99 ({PROPAGATIONS})"),
            p50_p99(seen),
            "—",
        ),
        (
            format!(
                "export → endpoints correct in b (importer + engine), p50 / p99 ({PROPAGATIONS})"
            ),
            p50_p99(eps),
            "—",
        ),
        (
            format!(
                "`mcs-basic` end to end on a fresh embedded fleet, p50 / max ({BASIC_RUNS} runs)"
            ),
            p50_max(b),
            "≤ 1 s",
        ),
        (
            format!("{CONCURRENT} scenarios concurrently on one 2-cluster fleet, wall time"),
            show(c.wall.max()),
            "≤ 15 s",
        ),
        (
            format!("{CONCURRENT} scenarios concurrently, peak RSS (RSS before the run)"),
            format!("{} ({})", mib(c.peak_kib), mib(c.rss_before_kib)),
            "≤ 300 MB",
        ),
    ];
    println!("\nREADME Performance rows:");
    println!("| what | number | target |");
    println!("|---|---|---|");
    for (what, number, target) in rows {
        println!("| {what} | {number} | {target} |");
    }
}

/// `BENCH key=value` lines, one per number.
fn print_machine(r: &Results, lines: &[Line], started: Instant) {
    println!();
    for (key, _, s, _) in lines {
        let (p50, p99, max) = (ms(s.pct(50)), ms(s.pct(99)), ms(s.max()));
        println!(
            "BENCH {key}_p50_ms={p50:.3}\nBENCH {key}_p99_ms={p99:.3}\nBENCH {key}_max_ms={max:.3}"
        );
    }
    println!("BENCH concurrent_rss_before_kib={}", r.conc.rss_before_kib);
    println!("BENCH concurrent_peak_rss_kib={}", r.conc.peak_kib);
    println!("BENCH total_runtime_ms={:.0}", ms(started.elapsed()));
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let started = Instant::now();
    // Section 3 first: a fresh process, so earlier sections do not inflate the peak RSS.
    eprintln!("[3/4] {CONCURRENT} scenarios concurrently on one 2-cluster fleet …");
    let conc = concurrent().await?;

    eprintln!("[1/4] detection latency: {WAITS} waits, {PROPAGATIONS} propagations …");
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default()).await?;
    let store = &fleet
        .fleet
        .cluster("a")
        .ok_or("no cluster a")?
        .cluster
        .store;
    let clock = CommitClock::watch(store);
    let det = detect_waits(&fleet, &clock).await?;
    let (import_seen, endpoints_correct) = propagation(&fleet).await?;

    eprintln!("[4/4] kubectl polling loops: {KUBECTL_RUNS} × sleep 1 s and 0.1 s …");
    let poll_1s = kubectl_poll(&fleet, &clock, Duration::from_secs(1), "1s").await?;
    let poll_100ms = kubectl_poll(&fleet, &clock, Duration::from_millis(100), "100ms").await?;
    drop(fleet);

    eprintln!("[2/4] mcs-basic: {BASIC_RUNS} runs, each on a fresh fleet …");
    let basic = mcs_basic().await?;

    let r = Results {
        conc,
        det,
        import_seen,
        endpoints_correct,
        basic,
        poll_1s,
        poll_100ms,
    };
    let lines = r.lines();
    print_table(&r, &lines);
    print_readme(&r);
    print_machine(&r, &lines, started);
    Ok(())
}
