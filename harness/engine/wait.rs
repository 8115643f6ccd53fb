//! Watch-driven waits (DESIGN §3): a check is re-evaluated whenever one of its watches
//! reports a change (or, as a safety net and for probes, on a poll tick), within a
//! timeout, optionally until it has held N consecutive times. Transient API errors are
//! retried with `backon`; a wait that times out reports the last mismatch as a diff.

use std::time::{Duration, Instant};

use backon::Retryable;
use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};

use tokio_util::sync::CancellationToken;

use super::events::EventSink;
use crate::event::{Event, Failure};
use crate::retry::{backoff, transient};

/// The result of evaluating a condition once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Check {
    /// Whether the condition holds.
    pub ok: bool,
    /// One line: what is wrong (or right).
    pub summary: String,
    /// What is expected, as comparable text (one fact per line).
    pub expected: String,
    /// What was seen, in the same shape.
    pub seen: String,
}

impl Check {
    /// A check comparing two texts: ok when equal.
    pub fn compare(summary: impl Into<String>, expected: String, seen: String) -> Check {
        Check {
            ok: expected == seen,
            summary: summary.into(),
            expected,
            seen,
        }
    }
}

/// Why a check could not be evaluated.
#[derive(Debug)]
pub(super) struct CheckError {
    /// Worth retrying (throttling, 5xx, transport).
    pub transient: bool,
    /// What failed.
    pub message: String,
}

impl CheckError {
    /// From an API error, classified.
    pub fn api(what: &str, e: &kube::Error) -> CheckError {
        CheckError {
            transient: transient(e),
            message: super::error::api_failure(what, e).message,
        }
    }

    /// A permanent error.
    pub fn fatal(message: impl Into<String>) -> CheckError {
        CheckError {
            transient: false,
            message: message.into(),
        }
    }
}

/// Something that signals "the state may have changed".
pub(super) type Trigger = BoxStream<'static, ()>;

/// A trigger firing on every watch event of `api` (restarting with backoff on errors).
pub(super) fn watch(api: Api<DynamicObject>, cfg: watcher::Config) -> Trigger {
    watcher(api, cfg).default_backoff().map(|_| ()).boxed()
}

/// How often a check is re-evaluated without a trigger.
#[derive(Clone, Copy, Debug)]
pub(super) enum Poll {
    /// A fixed interval (safety net for watch-driven checks).
    Fixed(Duration),
    /// Starting at `min`, growing ×1.5 up to `max` (for probes, which have no watch).
    Growing {
        /// First interval.
        min: Duration,
        /// Largest interval.
        max: Duration,
    },
}

impl Poll {
    /// The poll of watch-driven waits.
    pub const WATCHED: Poll = Poll::Fixed(Duration::from_secs(1));
    /// The poll of probes.
    pub const PROBE: Poll = Poll::Growing {
        min: Duration::from_millis(50),
        max: Duration::from_secs(1),
    };

    fn next(&mut self) -> Duration {
        match self {
            Poll::Fixed(d) => *d,
            Poll::Growing { min, max } => {
                let d = *min;
                *min = (*min * 3 / 2).min(*max);
                d
            }
        }
    }
}

/// Where a wait reports progress and what cancels it.
pub(super) struct WaitEnv<'a> {
    /// Progress events go here.
    pub sink: &'a EventSink,
    /// Scenario name in events.
    pub scenario: &'a str,
    /// Cancelled on SIGINT/SIGTERM.
    pub cancel: &'a CancellationToken,
}

/// What a wait is for, for messages and progress events.
pub(super) struct WaitSpec {
    /// Step index.
    pub index: usize,
    /// `Endpoints gke-mcs-… in b`: used in the timeout message.
    pub what: String,
    /// Give up after this long.
    pub timeout: Duration,
    /// Consecutive satisfied evaluations required (≥ 1).
    pub hold: u32,
    /// Re-evaluation without triggers.
    pub poll: Poll,
}

/// Evaluates `check` until it holds `spec.hold` times in a row, re-evaluating on
/// triggers and poll ticks; fails on timeout (with the last mismatch), on a permanent
/// error, or on cancellation.
pub(super) async fn until<F, Fut>(
    env: WaitEnv<'_>,
    mut spec: WaitSpec,
    triggers: Vec<Trigger>,
    mut check: F,
) -> Result<Check, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Check, CheckError>>,
{
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + spec.timeout;
    let mut triggers: SelectAll<Trigger> = futures::stream::select_all(triggers);
    let mut last: Option<Check> = None;
    let mut held = 0u32;
    let mut progress = Progress::default();
    loop {
        let evaluated = (|| check())
            .retry(backoff())
            .when(|e: &CheckError| e.transient)
            .await;
        let c = match evaluated {
            Ok(c) => c,
            Err(e) if !e.transient => {
                return Err(Failure::msg(format!("{}: {}", spec.what, e.message)));
            }
            // A transient error never ends a wait before its deadline: look again at the
            // next trigger or tick, keeping the last real observation for the report.
            Err(e) => {
                held = 0;
                progress.report(&env, spec.index, &e.message, started.elapsed());
                let failing = Check {
                    ok: false,
                    summary: format!("API error (retried until the deadline): {}", e.message),
                    expected: String::new(),
                    seen: String::new(),
                };
                let keep = last.take().filter(|l| !l.expected.is_empty());
                let shown = keep.unwrap_or(failing);
                last = Some(shown);
                tokio::select! {
                    () = tokio::time::sleep(spec.poll.next()) => continue,
                    () = tokio::time::sleep_until(deadline) => return Err(timed_out(&spec, last)),
                    () = env.cancel.cancelled() => return Err(Failure::msg("cancelled (SIGINT/SIGTERM)")),
                }
            }
        };
        if c.ok {
            held += 1;
            if held >= spec.hold.max(1) {
                return Ok(c);
            }
        } else {
            held = 0;
            progress.report(&env, spec.index, &c.summary, started.elapsed());
        }
        let ok = c.ok;
        last = Some(c);
        let tick = tokio::time::sleep(spec.poll.next());
        tokio::select! {
            // While holding, only ticks count: N checks spaced in time, not N events.
            Some(()) = triggers.next(), if !ok => drain(&mut triggers),
            () = tick => {}
            () = tokio::time::sleep_until(deadline) => return Err(timed_out(&spec, last)),
            () = env.cancel.cancelled() => return Err(Failure::msg("cancelled (SIGINT/SIGTERM)")),
        }
    }
}

/// Consumes triggers that are already pending, so a burst costs one re-evaluation.
fn drain(triggers: &mut SelectAll<Trigger>) {
    while let Some(Some(())) = triggers.next().now_or_never() {}
}

/// The failure of a wait that ran out of time: the last mismatch as expected/seen/diff.
fn timed_out(spec: &WaitSpec, last: Option<Check>) -> Failure {
    let Some(last) = last else {
        return Failure::msg(format!(
            "timed out after {} waiting for {}",
            crate::duration::human(spec.timeout),
            spec.what
        ));
    };
    if last.expected.is_empty() {
        return Failure::msg(format!(
            "timed out after {} waiting for {}: {}",
            crate::duration::human(spec.timeout),
            spec.what,
            last.summary
        ));
    }
    let mut f = Failure::msg(format!(
        "timed out after {} waiting for {}: {}",
        crate::duration::human(spec.timeout),
        spec.what,
        last.summary
    ));
    f.diff = Some(diff(&last.expected, &last.seen));
    f.expected = Some(last.expected);
    f.seen = Some(last.seen);
    f
}

/// A unified diff of expected vs seen.
pub(super) fn diff(expected: &str, seen: &str) -> String {
    let (mut e, mut s) = (expected.to_string(), seen.to_string());
    for t in [&mut e, &mut s] {
        if !t.ends_with('\n') {
            t.push('\n');
        }
    }
    similar::TextDiff::from_lines(&e, &s)
        .unified_diff()
        .context_radius(3)
        .header("expected", "seen")
        .to_string()
}

/// Throttles WaitProgress events: on change of summary, at most every 250 ms.
#[derive(Default)]
struct Progress {
    last: Option<(String, Instant)>,
}

impl Progress {
    fn report(&mut self, env: &WaitEnv<'_>, index: usize, summary: &str, elapsed: Duration) {
        let due = match &self.last {
            None => true,
            Some((s, at)) => s != summary && at.elapsed() >= Duration::from_millis(250),
        };
        if !due {
            return;
        }
        self.last = Some((summary.to_string(), Instant::now()));
        env.sink.emit(Event::WaitProgress {
            scenario: env.scenario.to_string(),
            index,
            message: summary.to_string(),
            elapsed,
        });
    }
}
