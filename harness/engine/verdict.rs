//! The verdict of a condition over one observed state, and the diff a failure shows.

/// The verdict over one observed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Check {
    /// Whether the condition holds.
    pub ok: bool,
    /// One line: what is wrong (or right).
    pub summary: String,
    /// What is expected, as comparable text (one fact per line).
    pub expected: String,
    /// What was seen, in the same shape.
    pub seen: String,
}

impl Check {
    /// A verdict comparing two texts: ok when equal.
    pub fn compare(summary: impl Into<String>, expected: String, seen: String) -> Check {
        Check {
            ok: expected == seen,
            summary: summary.into(),
            expected,
            seen,
        }
    }
}

/// A unified diff of expected vs seen.
pub(super) fn diff(expected: &str, seen: &str) -> String {
    let (mut e, mut s) = (expected.to_string(), seen.to_string());
    for t in [&mut e, &mut s] {
        if !t.ends_with('\n') {
            t.push('\n');
        }
    }
    similar::TextDiff::from_lines(&e, &s)
        .unified_diff()
        .context_radius(3)
        .header("expected", "seen")
        .to_string()
}
