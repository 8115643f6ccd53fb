//! The milestone recorder: the first time each milestone is reached (per cluster where it
//! is per cluster), measured from the latest export change. Callers record milestones
//! with the time of the observation that showed them (a watch event's arrival, a probe's
//! start; [`Milestone::source`] says which); conditions and checks never do.
//!
//! A watch started after the object already existed sees it at the watch's initial list,
//! so such a time is an upper bound. The objects' own `creationTimestamp`s are not used:
//! Kubernetes keeps them to the second, which on a fast fleet is earlier than the export
//! itself (a simulation-independent fact of the API's metadata format).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::SystemTime;

use tokio::time::Instant;

use super::events::EventSink;
use super::sync::lock;
use crate::event::{Event, Milestone};

/// Milestones of one running scenario.
#[derive(Debug)]
pub(super) struct Milestones {
    scenario: String,
    sink: EventSink,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    reached: HashSet<(Milestone, Option<String>)>,
    export_at: Option<Instant>,
    unexported: bool,
}

impl Milestones {
    /// A recorder emitting into `sink` for `scenario`.
    pub fn new(scenario: &str, sink: EventSink) -> Milestones {
        Milestones {
            scenario: scenario.to_string(),
            sink,
            state: Mutex::default(),
        }
    }

    /// Records that an export was applied now (milestones are measured from it).
    pub fn export_applied(&self, cluster: &str) {
        {
            let mut st = lock(&self.state);
            st.export_at = Some(Instant::now());
            st.unexported = false;
            // A new export starts a new propagation: per-cluster milestones count again.
            st.reached.retain(|(m, _)| *m == Milestone::Unexported);
        }
        self.reach(Milestone::ExportApplied, Some(cluster));
    }

    /// Records that an export was deleted now.
    pub fn unexported(&self, cluster: &str) {
        {
            let mut st = lock(&self.state);
            st.export_at = Some(Instant::now());
            st.unexported = true;
            st.reached.retain(|(m, _)| *m != Milestone::ImportRemoved);
        }
        self.reach(Milestone::Unexported, Some(cluster));
    }

    /// Whether the latest export change was an unexport (import removal is then a
    /// milestone; an import that never existed is not "removed").
    pub fn after_unexport(&self) -> bool {
        lock(&self.state).unexported
    }

    /// Emits milestone `m` (per cluster when given), reached now, the first time.
    pub fn reach(&self, m: Milestone, cluster: Option<&str>) {
        self.reach_at(m, cluster, Instant::now());
    }

    /// Emits milestone `m` (per cluster when given), reached at `at` (when the observation
    /// that showed it arrived), the first time it is reached.
    pub fn reach_at(&self, m: Milestone, cluster: Option<&str>, at: Instant) {
        let since_export = {
            let mut st = lock(&self.state);
            if !st.reached.insert((m, cluster.map(str::to_string))) {
                return;
            }
            st.export_at.map(|t| at.saturating_duration_since(t))
        };
        let ago = Instant::now().saturating_duration_since(at);
        self.sink.emit(Event::Milestone {
            scenario: self.scenario.clone(),
            milestone: m,
            cluster: cluster.map(str::to_string),
            at: SystemTime::now()
                .checked_sub(ago)
                .unwrap_or_else(SystemTime::now),
            since_export,
            source: m.source(),
        });
    }
}
