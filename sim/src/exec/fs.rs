//! A container's writable files, in memory: what `kubectl cp`, `tar -x`, `touch` and shell
//! redirections write, and `cat`, `ls`, `tar -c` read. The image's own files are the few
//! [`super::builtins::pod_file`] knows; everything else starts empty.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// Most bytes a container may write (a full disk answers `No space left on device`).
pub const CAPACITY: usize = 64 << 20;

/// In-memory files by absolute path; directories are implied by the paths under them
/// (and recorded when created empty).
#[derive(Default, Debug)]
pub struct Fs {
    files: Mutex<BTreeMap<String, Entry>>,
}

#[derive(Clone, Debug)]
enum Entry {
    File(Vec<u8>),
    Dir,
}

/// `path` made absolute (relative to `/`) with `.`/`..`/duplicate slashes resolved.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

impl Fs {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A file's content.
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        match self.lock().get(&normalize(path)) {
            Some(Entry::File(d)) => Some(d.clone()),
            _ => None,
        }
    }

    /// Whether `path` is a directory (created, or holding files).
    pub fn is_dir(&self, path: &str) -> bool {
        let p = normalize(path);
        if p == "/"
            || matches!(
                p.as_str(),
                "/tmp" | "/etc" | "/root" | "/var" | "/usr" | "/bin"
            )
        {
            return true;
        }
        let files = self.lock();
        matches!(files.get(&p), Some(Entry::Dir))
            || files.keys().any(|k| k.starts_with(&format!("{p}/")))
    }

    /// Writes (or appends to) a file; `Err` when the container's disk is full.
    pub fn write(&self, path: &str, data: &[u8], append: bool) -> Result<(), &'static str> {
        let mut files = self.lock();
        let used: usize = files
            .values()
            .map(|e| match e {
                Entry::File(d) => d.len(),
                Entry::Dir => 0,
            })
            .sum();
        if used + data.len() > CAPACITY {
            return Err("No space left on device");
        }
        let entry = files
            .entry(normalize(path))
            .or_insert_with(|| Entry::File(Vec::new()));
        match entry {
            Entry::File(d) if append => d.extend_from_slice(data),
            e => *e = Entry::File(data.to_vec()),
        }
        Ok(())
    }

    /// Records an (empty) directory.
    pub fn mkdir(&self, path: &str) {
        self.lock().entry(normalize(path)).or_insert(Entry::Dir);
    }

    /// Removes a file or a directory tree; whether anything was there.
    pub fn remove(&self, path: &str) -> bool {
        let p = normalize(path);
        let mut files = self.lock();
        let before = files.len();
        files.retain(|k, _| *k != p && !k.starts_with(&format!("{p}/")));
        files.len() != before
    }

    /// Files under `dir` (recursively), with their contents, sorted by path.
    pub fn files_under(&self, dir: &str) -> Vec<(String, Vec<u8>)> {
        let p = normalize(dir);
        let prefix = if p == "/" {
            "/".to_string()
        } else {
            format!("{p}/")
        };
        self.lock()
            .iter()
            .filter(|(k, _)| **k == p || k.starts_with(&prefix))
            .filter_map(|(k, e)| match e {
                Entry::File(d) => Some((k.clone(), d.clone())),
                Entry::Dir => None,
            })
            .collect()
    }

    /// Names directly inside `dir`, sorted.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let p = normalize(dir);
        let prefix = if p == "/" {
            "/".to_string()
        } else {
            format!("{p}/")
        };
        let mut out: Vec<String> = self
            .lock()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('/').next())
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_directories() {
        let fs = Fs::default();
        assert_eq!(normalize("tmp//a/../b/./c"), "/tmp/b/c");
        fs.write("/tmp/x/a.txt", b"1", false).unwrap();
        fs.write("/tmp/x/a.txt", b"2", true).unwrap();
        assert_eq!(fs.read("/tmp/x/a.txt").unwrap(), b"12");
        assert!(fs.is_dir("/tmp/x") && !fs.is_dir("/nope"));
        assert_eq!(fs.list("/tmp"), vec!["x".to_string()]);
        assert_eq!(fs.files_under("/tmp").len(), 1);
        assert!(fs.remove("/tmp/x") && fs.read("/tmp/x/a.txt").is_none());
    }
}
