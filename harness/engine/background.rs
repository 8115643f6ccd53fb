//! Background probes (`startProbe` … `stopProbe`): DNS and/or HTTP samples from probe pods
//! at a fixed rate while later steps run (restarts, scale to zero, faults, upgrades), then
//! an error budget: most failed samples, longest continuous outage, allowed answering
//! clusters (the sampling itself is `sampler`). The samples become a [`ProbeReport`] event (timelines in the reports).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::context::Ctx;
use super::error::StepError;
use super::op::{StartProbeOp, StopProbeOp};
use super::sampler::{Lane, Running};
use crate::event::{Event, ProbeReport, ProbeSample};

/// Starts the probe's sampling tasks (one per probing cluster).
pub(super) async fn start(ctx: &Ctx, a: &StartProbeOp) -> Result<Running, StepError> {
    let mut lanes = Vec::new();
    for from in &a.from {
        lanes.push(Lane {
            probe: ctx.probe(&from.cluster).await?,
            dns: from.dns.clone(),
            url: from.url.clone(),
        });
    }
    Ok(Running::start(
        lanes,
        a.status,
        a.interval,
        ctx.clusters.clients(),
        &ctx.id.namespace,
        &ctx.cancel,
    ))
}

/// Stops the probe, builds its report, emits it, and checks the budget.
pub(super) async fn stop(
    ctx: &Ctx,
    index: usize,
    running: Running,
    a: &StopProbeOp,
) -> Result<(), StepError> {
    let (started_at, duration, samples) = running.finish().await;
    for s in samples.iter().filter(|s| !s.ok) {
        tracing::debug!(probe = %a.name, ?s, "failed background sample");
    }
    let report = report(a, started_at, duration, samples);
    let violations = report.violations.clone();
    ctx.sink.emit(Event::ProbeReport {
        scenario: ctx.id.name().to_string(),
        index,
        report,
    });
    match violations.is_empty() {
        true => Ok(()),
        false => Err(StepError::Budget {
            name: a.name.clone(),
            violations,
        }),
    }
}

/// The report of a stopped probe: counts, longest outage, answers, budget violations.
pub(super) fn report(
    a: &StopProbeOp,
    started_at: SystemTime,
    duration: Duration,
    samples: Vec<ProbeSample>,
) -> ProbeReport {
    let total = samples.len();
    let failed = samples.iter().filter(|s| !s.ok).count();
    let mut answers_by_cluster = BTreeMap::new();
    for s in &samples {
        if let Some(c) = &s.served_by {
            *answers_by_cluster.entry(c.clone()).or_insert(0) += 1;
        }
    }
    let longest_outage = longest_outage(&samples);
    let mut violations = Vec::new();
    let max_failed = a.max_failed as usize;
    if failed > max_failed {
        violations.push(format!(
            "{failed} of {total} samples failed (maxFailed {max_failed})"
        ));
    }
    if let Some(max) = a.max_outage
        && longest_outage > max
    {
        violations.push(format!(
            "longest outage {} (maxOutage {})",
            crate::duration::human(longest_outage),
            crate::duration::human(max)
        ));
    }
    if let Some(allowed) = &a.allowed_clusters {
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        for (c, n) in &answers_by_cluster {
            if !allowed.contains(&c.as_str()) {
                violations.push(format!(
                    "{n} answers from {c}, not in allowedClusters [{}]",
                    allowed.join(", ")
                ));
            }
        }
    }
    if total == 0 {
        violations.push("no samples were taken (was the probe stopped at once?)".to_string());
    }
    ProbeReport {
        name: a.name.clone(),
        started_at,
        duration,
        total,
        failed,
        success_rate: if total == 0 {
            1.0
        } else {
            (total - failed) as f64 / total as f64
        },
        longest_outage,
        answers_by_cluster,
        samples,
        violations,
    }
}

/// Longest run of consecutive failures per lane (probing cluster × kind): from the first
/// failed sample's start to the next successful sample's start (or the last failure's end).
fn longest_outage(samples: &[ProbeSample]) -> Duration {
    let mut lanes: BTreeMap<(&str, &str), Vec<&ProbeSample>> = BTreeMap::new();
    for s in samples {
        lanes.entry((&s.from, &s.kind)).or_default().push(s);
    }
    let mut longest = Duration::ZERO;
    for lane in lanes.values() {
        let mut down: Option<&ProbeSample> = None;
        for s in lane {
            match (s.ok, down) {
                (false, None) => down = Some(s),
                (true, Some(first)) => {
                    longest = longest.max(s.offset.saturating_sub(first.offset));
                    down = None;
                }
                _ => {}
            }
        }
        if let (Some(first), Some(last)) = (down, lane.last()) {
            longest = longest.max((last.offset + last.latency).saturating_sub(first.offset));
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ms: u64, from: &str, ok: bool, by: Option<&str>) -> ProbeSample {
        ProbeSample {
            offset: Duration::from_millis(ms),
            latency: Duration::from_millis(5),
            from: from.into(),
            kind: "http".into(),
            ok,
            served_by: by.map(str::to_string),
            detail: String::new(),
        }
    }

    fn stop(max_failed: Option<u32>, outage: Option<u64>, allowed: Option<&[&str]>) -> StopProbeOp {
        StopProbeOp {
            name: "p".into(),
            max_failed: max_failed.unwrap_or(0),
            allowed_clusters: allowed.map(|a| a.iter().map(|c| c.to_string()).collect()),
            max_outage: outage.map(Duration::from_millis),
        }
    }

    #[test]
    fn outage_is_the_longest_failure_run_per_lane() {
        let samples = vec![
            s(0, "a", true, Some("a")),
            s(100, "a", false, None),
            s(200, "b", false, None),
            s(300, "a", false, None),
            s(400, "a", true, Some("b")),
            s(500, "b", true, Some("a")),
        ];
        assert_eq!(longest_outage(&samples), Duration::from_millis(300));
        let r = report(
            &stop(Some(3), Some(250), Some(&["a"])),
            SystemTime::now(),
            Duration::from_secs(1),
            samples,
        );
        assert_eq!((r.total, r.failed), (6, 3));
        assert!((r.success_rate - 0.5).abs() < 1e-9);
        assert_eq!(r.answers_by_cluster.get("b"), Some(&1));
        assert_eq!(r.violations.len(), 2, "{:?}", r.violations);
        assert!(
            r.violations[0].contains("longest outage 300ms"),
            "{:?}",
            r.violations
        );
        assert!(
            r.violations[1].contains("1 answers from b"),
            "{:?}",
            r.violations
        );
    }

    #[test]
    fn an_outage_that_never_ends_lasts_until_the_last_sample() {
        let samples = vec![
            s(0, "a", true, None),
            s(100, "a", false, None),
            s(300, "a", false, None),
        ];
        assert_eq!(longest_outage(&samples), Duration::from_millis(205));
        let r = report(
            &stop(None, None, None),
            SystemTime::now(),
            Duration::from_secs(1),
            samples,
        );
        assert_eq!(
            r.violations,
            vec!["2 of 3 samples failed (maxFailed 0)".to_string()]
        );
    }
}
