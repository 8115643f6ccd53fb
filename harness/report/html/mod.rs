//! A single self-contained HTML report (`--html PATH`): inline CSS, inline SVG, no script,
//! no external resource of any kind (no `<link>`, no `src=`, only `#fragment` links), so it
//! can be opened from a CI artifact store offline and cannot leak a request anywhere.
//!
//! Layout of the page:
//! - `#run`: run id, provider, start, duration and totals;
//! - `#summary`: a table `scenario | result | steps | duration | key milestones | probes`,
//!   each scenario linking to its section;
//! - one `section.scenario` per scenario (`#scenario-N-NAME`): a steps table (status, name,
//!   duration, notes); the propagation waterfall (see [`waterfall`]); each background probe
//!   with its summary, a timeline (see [`timeline`]) and its budget violations; failures
//!   with message, coloured diff and the doctor's diagnosis (summary, evidence table,
//!   remedy, ✓/✗ checks table); diagnoses of `expectFailure` steps; cleanup.
//!
//! Everything that came from a scenario file or a cluster goes through [`escape`]. The page
//! stays small whatever the sample counts: timelines are downsampled to 2-px buckets and
//! samples are never embedded one by one (the JSON report has them all).
//!
//! Files: `page` (document, header, summary, scenario sections), `failure` (failures and
//! diagnoses), `waterfall`, `timeline`, `svg` (scale and axis), `style.css` (inlined).

mod failure;
mod page;
mod svg;
mod timeline;
mod waterfall;

use std::path::PathBuf;

use super::record::RunRecord;
use super::{ReportError, Reporter, write_file};
use crate::event::Event;

/// The HTML reporter; writes its file on [`Reporter::finish`].
pub struct Html {
    path: PathBuf,
    record: RunRecord,
}

impl Html {
    /// Writes the report to `path`.
    pub fn new(path: PathBuf) -> Html {
        Html {
            path,
            record: RunRecord::default(),
        }
    }

    /// The document as it is (or would be) written.
    pub fn render(&self) -> String {
        page::document(&self.record)
    }
}

impl Reporter for Html {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        self.record.apply(e);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        write_file(&self.path, &self.render())
    }
}

/// Text safe in HTML content and in quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fragment id made of `prefix` and `name`: ASCII letters, digits and `-` only.
fn slug(prefix: &str, name: &str) -> String {
    let mut id = String::from(prefix);
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain ✓"), "plain ✓");
    }

    #[test]
    fn slugs_are_fragment_safe() {
        assert_eq!(
            slug("scenario-0-", "mcs basic/<x>"),
            "scenario-0-mcs-basic-x"
        );
        assert_eq!(slug("p-", "ÄÖ"), "p");
    }
}
