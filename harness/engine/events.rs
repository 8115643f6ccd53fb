//! The sink the engine emits events into: an unbounded channel to the reporter task, so
//! a slow reporter never slows a wait's detection latency.

use tokio::sync::mpsc::UnboundedSender;

use crate::event::Event;

/// Sends [`Event`]s to whoever consumes the run (reporters, tests).
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: Option<UnboundedSender<Event>>,
}

impl EventSink {
    /// A sink feeding `tx`.
    pub fn new(tx: UnboundedSender<Event>) -> Self {
        Self { tx: Some(tx) }
    }

    /// A sink that drops everything (benchmarks).
    pub fn discard() -> Self {
        Self { tx: None }
    }

    /// Emits one event; a closed receiver is ignored (the run goes on and cleans up).
    pub fn emit(&self, e: Event) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(e);
        }
    }
}
