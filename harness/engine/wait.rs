//! Waits as data (DESIGN §3, kube-rs `Condition` style): a wait is a [`Source`] of
//! observations (watch-backed stores, or probe results), a pure verdict over each
//! observed state, a timeout and a hold (N consecutive satisfied observations, the one
//! implementation of hold). Transient errors never end a wait before its deadline; a wait
//! that times out reports the last real mismatch as expected/seen/diff. Verdicts never
//! emit events: the caller records milestones from what [`until`] hands back.
//!
//! This module knows no cluster: the sources live in `observe` (watches) and `probes`, and
//! the unit tests below feed observations through a channel under paused time.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::StepError;
use super::events::EventSink;
pub(super) use super::verdict::Check;
use crate::event::Event;
use crate::retry::transient;

/// Why a state could not be observed or judged.
#[derive(Debug, Clone)]
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
            message: format!("{what}: {}", super::error::api_text(e)),
        }
    }

    /// A permanent error.
    pub fn fatal(message: impl Into<String>) -> CheckError {
        CheckError {
            transient: false,
            message: message.into(),
        }
    }

    /// A transient error.
    pub fn retry(message: impl Into<String>) -> CheckError {
        CheckError {
            transient: true,
            message: message.into(),
        }
    }
}

/// One observation: a state and when what it shows arrived (the watch event that last
/// changed it, or the probe's start).
#[derive(Clone, Debug)]
pub(super) struct Observed<S> {
    /// The observed state.
    pub state: S,
    /// When it arrived.
    pub at: Instant,
}

/// Where observations come from.
pub(super) trait Source {
    /// The observed state.
    type State;
    /// The next observation. `holding`: the last verdict was satisfied and the hold is not
    /// complete yet, so the next observation should be spaced in time (a resync tick), not
    /// the next burst of events.
    async fn next(&mut self, holding: bool) -> Result<Observed<Self::State>, CheckError>;
}

/// What a wait is for, for messages and progress events.
pub(super) struct WaitSpec {
    /// Step index.
    pub index: usize,
    /// `Endpoints gke-mcs-… in b`: used in the timeout message.
    pub what: String,
    /// Give up after this long.
    pub timeout: Duration,
    /// Consecutive satisfied observations required (≥ 1).
    pub hold: u32,
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

/// A satisfied wait: the final state, its verdict, and when the run of satisfied
/// observations that completed the hold began.
#[derive(Debug)]
#[cfg_attr(not(test), allow(dead_code))] // callers read `at`; `state`/`check` are for tests
pub(super) struct Satisfied<S> {
    /// The last observed state.
    pub state: S,
    /// Its verdict.
    pub check: Check,
    /// Arrival of the first observation of the final satisfied run.
    pub at: Instant,
}

/// Pause after a transient error before asking the source again: 50 ms growing to 1 s.
const ERROR_PAUSE: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(1));

/// Observes `source` until `verdict` holds `spec.hold` times in a row; fails on timeout
/// (with the last mismatch), on a permanent error, or on cancellation. `seen` gets every
/// observation first (the caller records milestones from it).
pub(super) async fn until<Src, V, O>(
    env: WaitEnv<'_>,
    spec: WaitSpec,
    source: &mut Src,
    mut verdict: V,
    mut seen: O,
) -> Result<Satisfied<Src::State>, StepError>
where
    Src: Source,
    V: FnMut(&Src::State) -> Result<Check, CheckError>,
    O: FnMut(&Observed<Src::State>),
{
    let started = Instant::now();
    let deadline = started + spec.timeout;
    let hold = spec.hold.max(1);
    let mut last: Option<Check> = None;
    let (mut held, mut run_start) = (0u32, started);
    let mut pause = ERROR_PAUSE.0;
    let mut progress = Progress::default();
    loop {
        let next = tokio::select! {
            r = source.next(held > 0) => r,
            () = tokio::time::sleep_until(deadline) => return Err(timed_out(&spec, last)),
            () = env.cancel.cancelled() => return Err(StepError::Cancelled),
        };
        let judged = next.and_then(|obs| {
            seen(&obs);
            verdict(&obs.state).map(|c| (obs, c))
        });
        match judged {
            Ok((obs, c)) if c.ok => {
                pause = ERROR_PAUSE.0;
                if held == 0 {
                    run_start = obs.at;
                }
                held += 1;
                if held >= hold {
                    return Ok(Satisfied {
                        state: obs.state,
                        check: c,
                        at: run_start,
                    });
                }
                last = Some(c);
            }
            Ok((_, c)) => {
                pause = ERROR_PAUSE.0;
                held = 0;
                progress.report(&env, spec.index, &c.summary, started.elapsed());
                last = Some(c);
            }
            Err(e) if !e.transient => {
                return Err(StepError::Check {
                    what: spec.what,
                    message: e.message,
                });
            }
            // A transient error never ends a wait before its deadline: look again after a
            // pause, keeping the last real observation for the report.
            Err(e) => {
                held = 0;
                progress.report(&env, spec.index, &e.message, started.elapsed());
                let failing = Check {
                    ok: false,
                    summary: format!("API error (retried until the deadline): {}", e.message),
                    expected: String::new(),
                    seen: String::new(),
                };
                last = Some(
                    last.take()
                        .filter(|l| !l.expected.is_empty())
                        .unwrap_or(failing),
                );
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = tokio::time::sleep_until(deadline) => return Err(timed_out(&spec, last)),
                    () = env.cancel.cancelled() => return Err(StepError::Cancelled),
                }
                pause = (pause * 2).min(ERROR_PAUSE.1);
            }
        }
    }
}

/// How often a probe source probes: starting at `min`, growing ×1.5 up to `max`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Poll {
    /// First interval.
    pub min: Duration,
    /// Largest interval.
    pub max: Duration,
}

impl Poll {
    /// The pace of DNS probes.
    pub const PROBE: Poll = Poll {
        min: Duration::from_millis(50),
        max: Duration::from_secs(1),
    };

    /// A fixed interval.
    pub const fn fixed(d: Duration) -> Poll {
        Poll { min: d, max: d }
    }

    fn next(&mut self) -> Duration {
        let d = self.min;
        self.min = (self.min * 3 / 2).min(self.max);
        d
    }
}

/// A source that calls `probe` now and then every [`Poll`] interval (for probes, which
/// have no watch): each call is one observation, timed at its start.
pub(super) struct Polled<F> {
    poll: Poll,
    first: bool,
    probe: F,
}

impl<F> Polled<F> {
    /// Probes with `probe` at the pace of `poll`.
    pub fn new(poll: Poll, probe: F) -> Polled<F> {
        Polled {
            poll,
            first: true,
            probe,
        }
    }
}

impl<S, F, Fut> Source for Polled<F>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, CheckError>>,
{
    type State = S;

    async fn next(&mut self, _holding: bool) -> Result<Observed<S>, CheckError> {
        if !std::mem::take(&mut self.first) {
            tokio::time::sleep(self.poll.next()).await;
        }
        let at = Instant::now();
        let state = (self.probe)().await?;
        Ok(Observed { state, at })
    }
}

/// The failure of a wait that ran out of time, with the last mismatch.
fn timed_out(spec: &WaitSpec, last: Option<Check>) -> StepError {
    StepError::TimedOut {
        what: spec.what.clone(),
        after: spec.timeout,
        last,
    }
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

#[cfg(test)]
#[path = "wait_tests.rs"]
mod tests;
