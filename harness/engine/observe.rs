//! Watch-backed observation: one reflector store per watched (cluster, kind), and a
//! [`Source`] whose observations are snapshots read from the stores — no API reads per
//! evaluation. The first snapshot waits until every store has its initial list (so an
//! empty store never passes for "absent"); later ones come on each change (a burst costs
//! one snapshot) or on a resync tick, and carry the arrival time of the event that last
//! changed a store.

use std::time::Duration;

use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{Store, reflector, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::time::Instant;

use super::wait::{CheckError, Observed, Source};

/// The resync tick: a snapshot at least this often (safety net, and hold spacing).
pub(super) const RESYNC: Duration = Duration::from_secs(1);

/// How a failed watch restarts: 50 ms doubling to 1 s, for as long as the wait lasts.
/// kube's default (800 ms doubling to 30 s, client-go's pace for long-lived controllers)
/// would leave a store stale for most of a step's timeout after one API error; a wait is
/// short-lived and has its own deadline (a harness choice).
fn watch_backoff() -> watcher::ExponentialBackoff {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(1))
        .with_jitter()
        .without_max_times()
        .into()
}

/// What one watch reported.
enum Note {
    /// An object changed (or the initial list completed when `ready`).
    Changed { ready: bool },
    /// The watch failed (it restarts with backoff).
    Failed(String),
}

type Notes = BoxStream<'static, (usize, Note)>;

/// Stores of the watched objects (in the order they were added).
pub(super) struct Watches {
    stores: Vec<Store<DynamicObject>>,
    notes: SelectAll<Notes>,
    ready: Vec<bool>,
}

impl Watches {
    /// No watches yet.
    pub fn new() -> Watches {
        Watches {
            stores: Vec::new(),
            notes: SelectAll::new(),
            ready: Vec::new(),
        }
    }

    /// Watches `api` of `resource` (restricted by `cfg`); returns the index of its store.
    pub fn add(
        &mut self,
        (api, resource): (Api<DynamicObject>, ApiResource),
        cfg: watcher::Config,
    ) -> usize {
        let i = self.stores.len();
        let writer = Writer::new(resource);
        let reader = writer.as_reader();
        let notes = reflector(writer, watcher(api, cfg).backoff(watch_backoff()))
            .filter_map(move |ev| async move {
                match ev {
                    Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) => {
                        Some((i, Note::Changed { ready: false }))
                    }
                    Ok(watcher::Event::InitDone) => Some((i, Note::Changed { ready: true })),
                    Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => None,
                    Err(e) => Some((i, Note::Failed(e.to_string()))),
                }
            })
            .boxed();
        self.stores.push(reader);
        self.notes.push(notes);
        self.ready.push(false);
        i
    }

    /// A source of snapshots made by `snapshot` from the stores.
    pub fn source<S, F>(self, snapshot: F) -> Watched<S>
    where
        F: FnMut(&[Store<DynamicObject>]) -> Result<S, CheckError> + Send + 'static,
    {
        Watched {
            watches: self,
            snapshot: Box::new(snapshot),
            first: true,
            changed_at: Instant::now(),
        }
    }
}

/// Reads a state from the stores.
type Snapshot<S> = Box<dyn FnMut(&[Store<DynamicObject>]) -> Result<S, CheckError> + Send>;

/// A [`Source`] of snapshots of watched stores.
pub(super) struct Watched<S> {
    watches: Watches,
    snapshot: Snapshot<S>,
    first: bool,
    changed_at: Instant,
}

impl<S> Watched<S> {
    /// Applies one note. A failed watch restarts by itself (with backoff) while its store
    /// keeps the last state: it is reported (as a transient error) only while the stores
    /// are not all listed yet, when there is no state to judge.
    fn note(&mut self, (i, n): (usize, Note)) -> Result<(), CheckError> {
        match n {
            Note::Changed { ready } => {
                self.changed_at = Instant::now();
                if ready {
                    self.watches.ready[i] = true;
                }
                Ok(())
            }
            Note::Failed(e) if self.first => Err(CheckError::retry(format!("watch failed: {e}"))),
            Note::Failed(e) => {
                tracing::debug!("watch restarts after: {e}");
                Ok(())
            }
        }
    }

    /// Applies notes that are already pending (a burst costs one snapshot).
    fn drain(&mut self) -> Result<(), CheckError> {
        while let Some(Some(n)) = self.watches.notes.next().now_or_never() {
            self.note(n)?;
        }
        Ok(())
    }
}

impl<S> Source for Watched<S> {
    type State = S;

    async fn next(&mut self, holding: bool) -> Result<Observed<S>, CheckError> {
        if self.first {
            while !self.watches.ready.iter().all(|r| *r) {
                match self.watches.notes.next().await {
                    Some(n) => self.note(n)?,
                    None => return Err(CheckError::fatal("watches ended")),
                }
            }
            self.first = false;
        } else {
            let tick = tokio::time::sleep(RESYNC);
            tokio::pin!(tick);
            loop {
                tokio::select! {
                    n = self.watches.notes.next() => match n {
                        Some(n) => {
                            self.note(n)?;
                            // While holding, only ticks count: N observations spaced in
                            // time, not N events.
                            if !holding {
                                break;
                            }
                        }
                        None => return Err(CheckError::fatal("watches ended")),
                    },
                    () = &mut tick => break,
                }
            }
        }
        self.drain()?;
        let state = (self.snapshot)(&self.watches.stores)?;
        Ok(Observed {
            state,
            at: self.changed_at,
        })
    }
}

/// The object called `name` in a store (None: absent).
pub(super) fn named(store: &Store<DynamicObject>, name: &str) -> Option<DynamicObject> {
    store
        .state()
        .into_iter()
        .find(|o| o.metadata.name.as_deref() == Some(name))
        .map(|o| (*o).clone())
}
