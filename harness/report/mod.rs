//! Reporters fed only by the [`Event`](crate::event::Event) stream (DESIGN §3, §7): they
//! never see the engine, so everything a report shows must travel in an event.
//!
//! - [`Console`]: libtest/nextest-style text (plain, or with an indicatif progress line).
//! - [`Junit`]: JUnit XML via quick-junit (one testsuite per scenario, one testcase per step).
//! - [`Json`]: one JSON document with every step, diagnosis, milestone and cleanup result;
//!   the baseline format for comparing runs.
//! - [`Markdown`]: a GitHub step summary.
//! - [`Html`]: one self-contained page with propagation waterfalls and probe timelines.
//! - [`FanOut`]: feeds one event stream to several reporters.
//!
//! Layout: `record` folds events into a per-run model that the reporters render from;
//! `text` holds the shared plain-text rendering of failures, diagnoses and probe summaries
//! (console, JUnit bodies, Markdown and HTML all use it).

mod console;
mod html;
pub(crate) use html::escape as html_escape;
mod json;
pub mod json_report;
mod junit;
mod markdown;
mod merge;
mod record;
mod text;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use console::{Console, ConsoleMode};
pub use html::Html;
pub use json::Json;
pub use json_report::JsonReport;
pub use junit::Junit;
pub use markdown::Markdown;
pub use merge::{MergeError, merged_events};

use crate::event::Event;

/// A consumer of the run's events.
pub trait Reporter: Send {
    /// Handles one event (in order).
    fn event(&mut self, e: &Event) -> Result<(), ReportError>;
    /// Called once after RunFinished: write files, flush.
    fn finish(&mut self) -> Result<(), ReportError>;
}

/// The file reporters asked for (`--junit`, `--json`, `--markdown`, `--html`), in that order.
pub fn file_reporters(
    junit: Option<&Path>,
    json: Option<&Path>,
    markdown: Option<&Path>,
    html: Option<&Path>,
) -> Vec<Box<dyn Reporter>> {
    let mut all: Vec<Box<dyn Reporter>> = Vec::new();
    if let Some(p) = junit {
        all.push(Box::new(Junit::new(p.to_path_buf())));
    }
    if let Some(p) = json {
        all.push(Box::new(Json::new(p.to_path_buf())));
    }
    if let Some(p) = markdown {
        all.push(Box::new(Markdown::new(p.to_path_buf())));
    }
    if let Some(p) = html {
        all.push(Box::new(Html::new(p.to_path_buf())));
    }
    all
}

/// Why a reporter could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A report file could not be written.
    #[error("failed to write report {}", path.display())]
    Write {
        /// The report file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The console output could not be written.
    #[error("failed to write console output")]
    Console(#[source] std::io::Error),
    /// The JUnit document could not be serialized.
    #[error("failed to serialize JUnit report")]
    Junit(#[source] quick_junit::SerializeError),
    /// The JSON document could not be serialized.
    #[error("failed to serialize JSON report")]
    Json(#[source] serde_json::Error),
    /// Several reporters failed (from [`FanOut`]).
    #[error("{} reporters failed: {}", .0.len(), join_errors(.0))]
    Many(Vec<ReportError>),
}

fn join_errors(errors: &[ReportError]) -> String {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// Writes a finished report file, creating its parent directory when needed.
fn write_file(path: &Path, contents: &str) -> Result<(), ReportError> {
    let wrap = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(wrap)?;
    }
    std::fs::write(path, contents).map_err(wrap)
}

/// Feeds every event to several reporters. One failing reporter does not stop the others:
/// the first error of each reporter is kept and returned from [`Reporter::finish`], and every
/// reporter still gets every event and its `finish` call.
pub struct FanOut {
    reporters: Vec<Box<dyn Reporter>>,
    /// First error per reporter (same index as `reporters`).
    errors: Vec<Option<ReportError>>,
}

impl FanOut {
    /// Wraps `reporters`; events are delivered in this order.
    pub fn new(reporters: Vec<Box<dyn Reporter>>) -> FanOut {
        let errors = reporters.iter().map(|_| None).collect();
        FanOut { reporters, errors }
    }
}

impl Reporter for FanOut {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        for (reporter, slot) in self.reporters.iter_mut().zip(self.errors.iter_mut()) {
            if let Err(err) = reporter.event(e) {
                slot.get_or_insert(err);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        for (reporter, slot) in self.reporters.iter_mut().zip(self.errors.iter_mut()) {
            if let Err(err) = reporter.finish() {
                slot.get_or_insert(err);
            }
        }
        let mut errors: Vec<ReportError> =
            self.errors.iter_mut().filter_map(Option::take).collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(ReportError::Many(errors)),
        }
    }
}
