//! Locking helper shared by the engine's small state types.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a std mutex, recovering the data if a panicking thread poisoned it.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
