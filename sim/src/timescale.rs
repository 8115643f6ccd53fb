//! Compressed time. A real cluster counts kubelet and controller timers in seconds
//! (probe periods, CrashLoopBackOff, grace periods, Job back-off); the fleet runs them
//! [`TimeScale::factor`] times faster so that tests finish in seconds. What a container's own
//! program does (`sleep 5` in a container's command) runs on the real clock: a probe pod with
//! `sleep 3600` lives an hour, as on a cluster. CronJob schedules run on the real wall clock.
//!
//! This is a **simulation choice**, documented in the README ("Time"): the order of events
//! and every ratio between timers are a real cluster's; only their length is divided.

use std::time::Duration;

/// How long one simulated second of kubelet/controller time lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeScale {
    /// The real duration of one simulated second.
    pub second: Duration,
}

impl Default for TimeScale {
    /// 100× faster: a 10 s probe period takes 100 ms, a 30 s grace period 300 ms, the
    /// 300 s CrashLoopBackOff cap 3 s.
    fn default() -> Self {
        Self {
            second: Duration::from_millis(10),
        }
    }
}

impl TimeScale {
    /// How many times faster than real time (100 by default).
    pub fn factor(&self) -> f64 {
        1.0 / self.second.as_secs_f64().max(1e-9)
    }

    /// The real duration of `secs` simulated seconds (negative counts as zero).
    pub fn secs(&self, secs: f64) -> Duration {
        self.second.mul_f64(secs.max(0.0))
    }

    /// Simulated seconds elapsed in a real `elapsed` (for messages: "back-off 10s").
    pub fn simulated(&self, elapsed: Duration) -> f64 {
        elapsed.as_secs_f64() * self.factor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_by_the_factor() {
        let t = TimeScale::default();
        assert_eq!(t.secs(30.0), Duration::from_millis(300));
        assert_eq!(t.secs(-1.0), Duration::ZERO);
        assert!((t.factor() - 100.0).abs() < 1e-6);
        assert!((t.simulated(Duration::from_millis(100)) - 10.0).abs() < 1e-6);
    }
}
