//! The work queue: keys to reconcile, deduplicated while pending, optionally delayed (the
//! propagation delay) before they become due, never handed to two workers at once, and
//! retried with a per-key exponential backoff when a reconcile could not finish.
//!
//! The semantics are those of client-go's rate-limited work queue: a key added while a
//! worker processes it is parked ("dirty") and becomes due again only when that worker calls
//! [`Queue::done`]. Without this, two workers could reconcile the same name concurrently and
//! the one holding older reads could write last, leaving stale objects that no later event
//! would correct.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// First retry delay of a key whose reconcile failed; doubled per consecutive failure.
pub(super) const RETRY_BASE: Duration = Duration::from_millis(50);
/// Longest retry delay (also how often a persistently failing key, e.g. endpoints the
/// importer may not read, is looked at again: a permission granted back raises no event).
pub(super) const RETRY_MAX: Duration = Duration::from_secs(2);

/// What to reconcile.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// One exported name.
    Object {
        /// Namespace.
        namespace: String,
        /// Name of the ServiceExport / Service.
        name: String,
    },
    /// Everything exported (or imported) in a namespace (a namespace appeared or went).
    Namespace(String),
    /// Everything (a cluster was added or removed, periodic resync).
    All,
}

#[derive(Default)]
struct State {
    /// Due keys in order.
    ready: VecDeque<Key>,
    /// Keys waiting to be processed (in `ready`, or parked until their worker is done).
    dirty: HashSet<Key>,
    /// Keys a worker holds right now.
    processing: HashSet<Key>,
    /// Keys waiting out the propagation delay (later adds of them are absorbed: the
    /// reconcile reads the caches when it runs, so it sees their changes too).
    delayed: HashSet<Key>,
    /// Consecutive failed reconciles per key (for the backoff).
    failures: HashMap<Key, u32>,
}

struct Inner {
    state: Mutex<State>,
    notify: Notify,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation leaves the sets consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `key` due now (no-op when it is already waiting).
    fn add_now(&self, key: Key) {
        let mut s = self.lock();
        if !s.dirty.insert(key.clone()) {
            return;
        }
        // A key being processed is parked: `done` makes it due, so it never runs twice at once.
        if s.processing.contains(&key) {
            return;
        }
        s.ready.push_back(key);
        drop(s);
        self.notify.notify_one();
    }
}

/// A deduplicating, delaying queue.
pub struct Queue {
    inner: Arc<Inner>,
    delay: Duration,
}

impl Queue {
    /// A queue whose keys become due `delay` after they are added.
    pub fn new(delay: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                notify: Notify::new(),
            }),
            delay,
        }
    }

    /// Adds a key after the propagation delay (no-op when it is already pending).
    pub fn add(&self, key: Key) {
        if self.delay.is_zero() {
            self.inner.add_now(key);
            return;
        }
        if !self.inner.lock().delayed.insert(key.clone()) {
            return;
        }
        let (inner, delay) = (self.inner.clone(), self.delay);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            inner.lock().delayed.remove(&key);
            inner.add_now(key);
        });
    }

    /// Adds a key now, skipping the propagation delay (for keys derived from one that already
    /// waited it, e.g. the names a resync expands to).
    pub fn add_now(&self, key: Key) {
        self.inner.add_now(key);
    }

    /// Adds a key once `delay` has passed (not deduplicated before it is due).
    pub fn add_after(&self, key: Key, delay: Duration) {
        if delay.is_zero() {
            self.inner.add_now(key);
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            inner.add_now(key);
        });
    }

    /// Schedules `key` again after its backoff: its reconcile could not finish (an API error)
    /// and no event may ever announce that trying again would work.
    pub fn retry(&self, key: Key) {
        let delay = {
            let mut s = self.inner.lock();
            let n = s.failures.entry(key.clone()).or_insert(0);
            let delay = RETRY_BASE
                .saturating_mul(1u32 << (*n).min(16))
                .min(RETRY_MAX);
            *n = n.saturating_add(1);
            delay
        };
        self.add_after(key, delay);
    }

    /// Resets the backoff of `key` (its reconcile finished).
    pub fn forget(&self, key: &Key) {
        self.inner.lock().failures.remove(key);
    }

    /// The next due key; the caller owns it until [`Queue::done`].
    pub async fn next(&self) -> Option<Key> {
        loop {
            // Registered before looking, so an add between the look and the wait still wakes.
            let notified = self.inner.notify.notified();
            {
                let mut s = self.inner.lock();
                if let Some(key) = s.ready.pop_front() {
                    s.dirty.remove(&key);
                    s.processing.insert(key.clone());
                    let more = !s.ready.is_empty();
                    drop(s);
                    if more {
                        // notify_one stores one permit only: pass it on to another worker.
                        self.inner.notify.notify_one();
                    }
                    return Some(key);
                }
            }
            notified.await;
        }
    }

    /// Releases `key`; if it was added again meanwhile, it becomes due now.
    pub fn done(&self, key: &Key) {
        let mut s = self.inner.lock();
        s.processing.remove(key);
        if s.dirty.contains(key) {
            s.ready.push_back(key.clone());
            drop(s);
            self.inner.notify.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str) -> Key {
        Key::Object {
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    #[tokio::test]
    async fn dedupes_pending_keys() {
        let q = Queue::new(Duration::ZERO);
        let k = obj("b");
        q.add(k.clone());
        q.add(k.clone());
        q.add(Key::All);
        assert_eq!(q.next().await, Some(k.clone()));
        q.done(&k);
        assert_eq!(q.next().await, Some(Key::All));
        q.done(&Key::All);
        q.add(k.clone());
        assert_eq!(q.next().await, Some(k));
    }

    #[tokio::test(start_paused = true)]
    async fn delays_keys() {
        let q = Queue::new(Duration::from_secs(30));
        q.add(Key::All);
        let t = tokio::time::Instant::now();
        tokio::time::sleep(Duration::from_secs(10)).await;
        // Absorbed by the pending delay, not queued a second time.
        q.add(Key::All);
        assert_eq!(q.next().await, Some(Key::All));
        assert_eq!(t.elapsed(), Duration::from_secs(30));
        q.done(&Key::All);
        let again = tokio::time::timeout(Duration::from_secs(60), q.next()).await;
        assert!(again.is_err(), "an add during the delay is absorbed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_in_process_is_not_handed_out_again_until_done() {
        let q = Queue::new(Duration::ZERO);
        let k = obj("x");
        q.add(k.clone());
        assert_eq!(q.next().await, Some(k.clone()));
        // Added again while a worker holds it: parked, and only once.
        q.add(k.clone());
        q.add(k.clone());
        q.add(obj("y"));
        assert_eq!(q.next().await, Some(obj("y")));
        let second = tokio::time::timeout(Duration::from_secs(1), q.next()).await;
        assert!(second.is_err(), "a key must not be processed twice at once");
        q.done(&k);
        assert_eq!(q.next().await, Some(k.clone()));
        q.done(&k);
        let third = tokio::time::timeout(Duration::from_secs(1), q.next()).await;
        assert!(third.is_err(), "the parked key was queued once");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_exponentially_up_to_a_cap_and_reset_on_forget() {
        let q = Queue::new(Duration::from_secs(30));
        let k = obj("x");
        let mut waits = Vec::new();
        for _ in 0..8 {
            let t = tokio::time::Instant::now();
            q.retry(k.clone());
            assert_eq!(q.next().await, Some(k.clone()));
            q.done(&k);
            waits.push(t.elapsed());
        }
        // Retries skip the propagation delay: they are no new change.
        assert_eq!(waits[0], RETRY_BASE);
        assert_eq!(waits[1], RETRY_BASE * 2);
        assert_eq!(waits[2], RETRY_BASE * 4);
        assert_eq!(waits[7], RETRY_MAX);
        q.forget(&k);
        let t = tokio::time::Instant::now();
        q.retry(k.clone());
        assert_eq!(q.next().await, Some(k));
        assert_eq!(t.elapsed(), RETRY_BASE);
    }
}
