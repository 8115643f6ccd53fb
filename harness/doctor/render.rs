//! The doctor's human output: a table of links × clusters (✓ holds, ✗ broken, … propagating,
//! · not checked), the details of the links that do not hold, and the first broken link
//! with its evidence and remedy.

use std::io::{self, Write};

use super::id::DiagnosisId;
use super::model::{CheckState, Diagnosis};

fn symbol(s: CheckState) -> &'static str {
    match s {
        CheckState::Ok => "✓",
        CheckState::Broken => "✗",
        CheckState::Propagating => "…",
        CheckState::Skipped => "·",
    }
}

/// Distinct values in order of first appearance.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

/// Writes the ✓/✗ table of `d` and its first broken link block.
pub fn render_table(d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
    if let Some(p) = &d.implementation {
        writeln!(out, "{}", p.line())?;
        writeln!(out)?;
    }
    let clusters = distinct(d.checks.iter().map(|c| c.cluster.as_str()));
    let links = distinct(d.checks.iter().map(|c| c.link.as_str()));
    let first = links
        .iter()
        .chain(["LINK"].iter())
        .map(|l| l.chars().count())
        .max();
    let first = first.unwrap_or(4);
    let widths: Vec<usize> = clusters.iter().map(|c| c.chars().count().max(1)).collect();
    let mut header = pad("LINK", first);
    for (c, w) in clusters.iter().zip(&widths) {
        header += &format!("  {}", pad(c, *w));
    }
    writeln!(out, "{}", header.trim_end())?;
    for link in &links {
        let mut line = pad(link, first);
        for (c, w) in clusters.iter().zip(&widths) {
            let cell = d
                .checks
                .iter()
                .find(|x| x.link == *link && x.cluster == *c)
                .map_or("", |x| symbol(x.state));
            line += &format!("  {}", pad(cell, *w));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out, "(✓ holds  ✗ broken  … propagating  · not checked)")?;
    let notable: Vec<_> = d
        .checks
        .iter()
        .filter(|c| matches!(c.state, CheckState::Broken | CheckState::Propagating))
        .collect();
    if !notable.is_empty() {
        writeln!(out)?;
        for c in notable {
            writeln!(
                out,
                "{} {}/{}: {}",
                symbol(c.state),
                c.cluster,
                c.link,
                c.detail
            )?;
        }
    }
    writeln!(out)?;
    block(d, out)
}

fn block(d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
    if d.is_healthy() {
        return writeln!(out, "✓ healthy: {}", d.summary);
    }
    let sym = if d.id == DiagnosisId::Propagating {
        "…"
    } else {
        "✗"
    };
    let place = d
        .cluster
        .as_deref()
        .map(|c| format!(" in cluster {c}"))
        .unwrap_or_default();
    writeln!(out, "{sym} first broken link: {}{place}", d.id)?;
    writeln!(out, "  {}", d.summary)?;
    if !d.evidence.is_empty() {
        writeln!(out, "  evidence:")?;
        for e in &d.evidence {
            writeln!(
                out,
                "    [{}] {}  {} = {}",
                e.cluster, e.object, e.field, e.value
            )?;
        }
    }
    if !d.remedy.is_empty() {
        writeln!(out, "  remedy:")?;
        for line in d.remedy.lines() {
            writeln!(out, "    {}", line.trim())?;
        }
    }
    Ok(())
}
