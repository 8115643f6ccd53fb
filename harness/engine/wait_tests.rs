//! Unit tests of [`super::until`] under paused time: observations come through a channel
//! (no cluster), the clock advances only when every task is idle, so timeouts, holds,
//! retry pauses and probe pacing are exact.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::engine::events::EventSink;
use crate::event::Event;

type Item = Result<Observed<u32>, CheckError>;

/// A source fed by the test.
struct Chan(mpsc::UnboundedReceiver<Item>);

impl Source for Chan {
    type State = u32;
    async fn next(&mut self, _holding: bool) -> Item {
        match self.0.recv().await {
            Some(i) => i,
            None => std::future::pending().await,
        }
    }
}

fn obs(v: u32) -> Item {
    Ok(Observed {
        state: v,
        at: Instant::now(),
    })
}

/// Verdict: the value must be 5.
fn five(v: &u32) -> Result<Check, CheckError> {
    Ok(Check::compare(
        format!("seen {v}"),
        "value: 5".to_string(),
        format!("value: {v}"),
    ))
}

fn spec(timeout: u64, hold: u32) -> WaitSpec {
    WaitSpec {
        index: 3,
        what: "the value".into(),
        timeout: Duration::from_secs(timeout),
        hold,
    }
}

struct Env {
    sink: EventSink,
    events: mpsc::UnboundedReceiver<Event>,
    cancel: CancellationToken,
}

fn env() -> Env {
    let (tx, events) = mpsc::unbounded_channel();
    Env {
        sink: EventSink::new(tx),
        events,
        cancel: CancellationToken::new(),
    }
}

impl Env {
    fn get(&self) -> WaitEnv<'_> {
        WaitEnv {
            sink: &self.sink,
            scenario: "s",
            cancel: &self.cancel,
        }
    }

    fn progress(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            if let Event::WaitProgress { message, index, .. } = e {
                assert_eq!(index, 3);
                out.push(message);
            }
        }
        out
    }
}

#[tokio::test(start_paused = true)]
async fn timeout_reports_the_last_mismatch_as_a_diff() {
    let mut e = env();
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(obs(1)).unwrap();
    tx.send(obs(2)).unwrap();
    let t0 = Instant::now();
    let r = until(e.get(), spec(10, 1), &mut Chan(rx), five, |_| {}).await;
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(10),
        "gives up at the deadline"
    );
    let f = r.unwrap_err().into_failure();
    assert_eq!(
        f.message,
        "timed out after 10s waiting for the value: seen 2"
    );
    assert_eq!(f.expected.as_deref(), Some("value: 5"));
    assert_eq!(f.seen.as_deref(), Some("value: 2"));
    let diff = f.diff.unwrap();
    assert!(
        diff.contains("-value: 5") && diff.contains("+value: 2"),
        "{diff}"
    );
    assert_eq!(e.progress(), vec!["seen 1".to_string()], "throttled to one");
}

#[tokio::test(start_paused = true)]
async fn timeout_without_any_observation_says_so() {
    let e = env();
    let (_tx, rx) = mpsc::unbounded_channel();
    let f = until(e.get(), spec(2, 1), &mut Chan(rx), five, |_| {})
        .await
        .unwrap_err()
        .into_failure();
    assert_eq!(f.message, "timed out after 2s waiting for the value");
    assert_eq!(f.expected, None);
}

#[tokio::test(start_paused = true)]
async fn hold_needs_consecutive_satisfied_observations() {
    let e = env();
    let (tx, rx) = mpsc::unbounded_channel();
    let mut seen = Vec::new();
    let send = |v: u32, ms: u64| {
        let at = Instant::now() + Duration::from_millis(ms);
        tx.send(Ok(Observed { state: v, at })).unwrap();
    };
    // Satisfied twice, broken, then satisfied three times: the hold of 3 completes on the
    // last one, and the run it completes began at the fourth observation.
    for (v, ms) in [(5, 0), (5, 10), (4, 20), (5, 30), (5, 40), (5, 50), (5, 60)] {
        send(v, ms);
    }
    let t0 = Instant::now();
    let ok = until(e.get(), spec(10, 3), &mut Chan(rx), five, |o| {
        seen.push(o.state)
    })
    .await
    .unwrap();
    assert_eq!(
        seen,
        vec![5, 5, 4, 5, 5, 5],
        "stops as soon as the hold is complete"
    );
    assert_eq!(ok.at, t0 + Duration::from_millis(30));
    assert_eq!(ok.state, 5);
    assert!(ok.check.ok);
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_until_the_deadline_keeping_the_last_mismatch() {
    let mut e = env();
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(obs(2)).unwrap();
    for _ in 0..3 {
        tx.send(Err(CheckError::retry("503 busy"))).unwrap();
    }
    let t0 = Instant::now();
    let f = until(e.get(), spec(5, 1), &mut Chan(rx), five, |_| {})
        .await
        .unwrap_err()
        .into_failure();
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
    assert_eq!(
        f.message,
        "timed out after 5s waiting for the value: seen 2"
    );
    assert_eq!(f.seen.as_deref(), Some("value: 2"));
    assert_eq!(e.progress()[0], "seen 2");
}

#[tokio::test(start_paused = true)]
async fn only_transient_errors_time_out_with_the_api_error() {
    let e = env();
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(Err(CheckError::retry("503 busy"))).unwrap();
    let f = until(e.get(), spec(3, 1), &mut Chan(rx), five, |_| {})
        .await
        .unwrap_err()
        .into_failure();
    assert_eq!(
        f.message,
        "timed out after 3s waiting for the value: API error (retried until the deadline): 503 busy"
    );
    assert_eq!(f.diff, None);
}

#[tokio::test(start_paused = true)]
async fn a_retried_error_pauses_then_the_wait_passes() {
    let e = env();
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(Err(CheckError::retry("503 busy"))).unwrap();
    tx.send(Err(CheckError::retry("503 busy"))).unwrap();
    tx.send(obs(5)).unwrap();
    let t0 = Instant::now();
    let ok = until(e.get(), spec(3, 1), &mut Chan(rx), five, |_| {})
        .await
        .unwrap();
    // Pauses of 50 ms and 100 ms after the two errors.
    assert_eq!(t0.elapsed(), Duration::from_millis(150));
    assert_eq!(ok.state, 5);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_ends_the_wait_at_once() {
    let e = env();
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(obs(1)).unwrap();
    tx.send(Err(CheckError::fatal("Fault cut rejected: bad spec")))
        .unwrap();
    let t0 = Instant::now();
    let f = until(e.get(), spec(30, 1), &mut Chan(rx), five, |_| {})
        .await
        .unwrap_err()
        .into_failure();
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert_eq!(f.message, "the value: Fault cut rejected: bad spec");
}

#[tokio::test(start_paused = true)]
async fn cancellation_ends_the_wait() {
    let e = env();
    let (_tx, rx) = mpsc::unbounded_channel();
    let cancel = e.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cancel.cancel();
    });
    let f = until(e.get(), spec(30, 1), &mut Chan(rx), five, |_| {})
        .await
        .unwrap_err()
        .into_failure();
    assert_eq!(f.message, "cancelled (SIGINT/SIGTERM)");
}

#[tokio::test(start_paused = true)]
async fn probes_are_paced_and_hold_counts_distinct_probes() {
    let e = env();
    let t0 = Instant::now();
    let mut calls = 0u32;
    let mut source = Polled::new(Poll::PROBE, || {
        calls += 1;
        let v = calls;
        async move { Ok::<u32, CheckError>(if v >= 2 { 5 } else { v }) }
    });
    let mut at = Vec::new();
    let ok = until(e.get(), spec(10, 3), &mut source, five, |o| {
        at.push(o.at.duration_since(t0).as_millis())
    })
    .await
    .unwrap();
    // Probes at 0, 50, 50+75, 125+112.5 (tokio's timer rounds up to the millisecond): the
    // hold of 3 completes on the fourth, and its satisfied run began at the second.
    assert_eq!(at, vec![0, 50, 125, 238]);
    assert_eq!(ok.at.duration_since(t0), Duration::from_millis(50));
    assert_eq!(calls, 4);
}
