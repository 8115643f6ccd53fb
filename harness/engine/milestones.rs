//! The milestone recorder: the first time each milestone is reached (per cluster where it
//! is per cluster), measured from the latest export change. Callers record milestones;
//! conditions and checks never do.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

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

    /// Emits milestone `m` (per cluster when given) the first time it is reached.
    pub fn reach(&self, m: Milestone, cluster: Option<&str>) {
        let since_export = {
            let mut st = lock(&self.state);
            if !st.reached.insert((m, cluster.map(str::to_string))) {
                return;
            }
            st.export_at.map(|t| t.elapsed())
        };
        self.sink.emit(Event::Milestone {
            scenario: self.scenario.clone(),
            milestone: m,
            cluster: cluster.map(str::to_string),
            at: SystemTime::now(),
            since_export,
        });
    }
}
