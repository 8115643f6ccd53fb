//! What the node keeps of each container for the API server: its log (the current instance
//! and the previous one, as `kubectl logs --previous` reads it), its writable filesystem
//! (lost when the container restarts, as a container's writable layer is) and whether it
//! runs (exec needs a running container).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::exec::{Fs, OutputSink};

/// Bytes of log kept per container instance (older lines are dropped first).
const MAX_LOG: usize = 1 << 20;

/// One line (or chunk) of container output.
#[derive(Clone, Debug)]
pub struct LogLine {
    /// When it was written (RFC 3339 with nanoseconds, as `--timestamps` prints).
    pub time: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// The log of one container instance.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Lines in order.
    pub lines: Vec<LogLine>,
    /// Bytes held.
    size: usize,
    /// The instance ended: a follower stops here.
    pub done: bool,
}

/// The node-side state of one container, shared by its runtime and the API server.
pub struct ContainerIo {
    current: Mutex<Log>,
    previous: Mutex<Option<Log>>,
    fs: Mutex<Arc<Fs>>,
    running: Mutex<bool>,
    changed: watch::Sender<u64>,
}

impl Default for ContainerIo {
    fn default() -> Self {
        Self {
            current: Mutex::default(),
            previous: Mutex::default(),
            fs: Mutex::new(Arc::new(Fs::default())),
            running: Mutex::new(false),
            changed: watch::channel(0).0,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ContainerIo {
    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// A new instance starts: the current log becomes the previous one, the filesystem is
    /// fresh.
    pub fn start_instance(&self) {
        let old = std::mem::take(&mut *lock(&self.current));
        if !old.lines.is_empty() || old.done {
            *lock(&self.previous) = Some(Log { done: true, ..old });
        }
        *lock(&self.fs) = Arc::new(Fs::default());
        *lock(&self.running) = true;
        self.bump();
    }

    /// The instance ended (followers stop).
    pub fn end_instance(&self) {
        lock(&self.current).done = true;
        *lock(&self.running) = false;
        self.bump();
    }

    /// Appends output.
    pub fn append(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut log = lock(&self.current);
        log.size += data.len();
        log.lines.push(LogLine {
            time: jiff::Timestamp::now().to_string(),
            data: data.to_vec(),
        });
        while log.size > MAX_LOG && log.lines.len() > 1 {
            let gone = log.lines.remove(0);
            log.size -= gone.data.len();
        }
        drop(log);
        self.bump();
    }

    /// The current instance's log.
    pub fn current(&self) -> Log {
        lock(&self.current).clone()
    }

    /// The previous instance's log, if the container restarted.
    pub fn previous(&self) -> Option<Log> {
        lock(&self.previous).clone()
    }

    /// The running instance's filesystem.
    pub fn fs(&self) -> Arc<Fs> {
        lock(&self.fs).clone()
    }

    /// Whether an instance runs now.
    pub fn running(&self) -> bool {
        *lock(&self.running)
    }

    /// A receiver that changes whenever output is appended or the instance changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

impl OutputSink for ContainerIo {
    fn write(&self, _stderr: bool, data: &[u8]) {
        self.append(data);
    }
}

/// Every container of the node, by (pod uid, container name), and the images pulled.
#[derive(Default)]
pub struct NodeIo {
    containers: Mutex<HashMap<(String, String), Arc<ContainerIo>>>,
    images: Mutex<std::collections::HashSet<String>>,
}

impl NodeIo {
    /// Whether the node has pulled `image` (a fully qualified reference).
    pub fn has_image(&self, image: &str) -> bool {
        lock(&self.images).contains(image)
    }

    /// Records a pulled image.
    pub fn add_image(&self, image: &str) {
        lock(&self.images).insert(image.to_string());
    }

    /// The state of a container (created on first use).
    pub fn container(&self, uid: &str, name: &str) -> Arc<ContainerIo> {
        lock(&self.containers)
            .entry((uid.to_string(), name.to_string()))
            .or_default()
            .clone()
    }

    /// The state of a container the node knows, without creating it.
    pub fn find(&self, uid: &str, name: &str) -> Option<Arc<ContainerIo>> {
        lock(&self.containers)
            .get(&(uid.to_string(), name.to_string()))
            .cloned()
    }

    /// Forgets every container of a pod (it is gone).
    pub fn forget_pod(&self, uid: &str) {
        lock(&self.containers).retain(|(u, _), _| u != uid);
    }
}
