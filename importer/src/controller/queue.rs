//! The work queue: keys to reconcile, deduplicated while pending, optionally delayed (the
//! propagation delay) before they become due.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;

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

/// A deduplicating, delaying queue.
pub struct Queue {
    tx: mpsc::UnboundedSender<Key>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Key>>,
    pending: Mutex<HashSet<Key>>,
    delay: Duration,
}

impl Queue {
    /// A queue whose keys become due `delay` after they are added.
    pub fn new(delay: Duration) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
            pending: Mutex::new(HashSet::new()),
            delay,
        }
    }

    /// Adds a key (no-op when it is already pending).
    pub fn add(&self, key: Key) {
        let fresh = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone());
        if !fresh {
            return;
        }
        if self.delay.is_zero() {
            let _ = self.tx.send(key);
        } else {
            let (tx, delay) = (self.tx.clone(), self.delay);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = tx.send(key);
            });
        }
    }

    /// The next due key; None when the queue is closed.
    pub async fn next(&self) -> Option<Key> {
        let key = self.rx.lock().await.recv().await?;
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedupes_pending_keys() {
        let q = Queue::new(Duration::ZERO);
        let k = Key::Object {
            namespace: "a".into(),
            name: "b".into(),
        };
        q.add(k.clone());
        q.add(k.clone());
        q.add(Key::All);
        assert_eq!(q.next().await, Some(k.clone()));
        assert_eq!(q.next().await, Some(Key::All));
        q.add(k.clone());
        assert_eq!(q.next().await, Some(k));
    }

    #[tokio::test(start_paused = true)]
    async fn delays_keys() {
        let q = Queue::new(Duration::from_secs(30));
        q.add(Key::All);
        let t = tokio::time::Instant::now();
        assert_eq!(q.next().await, Some(Key::All));
        assert!(t.elapsed() >= Duration::from_secs(30));
    }
}
