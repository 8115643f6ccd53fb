//! The propagation waterfall of one scenario, as inline SVG.
//!
//! The x axis is the time since the scenario's first export (its first `exportApplied`
//! milestone; the first milestone of any kind when nothing was exported), in ms. Milestones
//! are drawn in time order, one row each, grouped in **epochs**: every export change
//! (`exportApplied` or `unexported`) starts an epoch and is drawn as a diamond with a dashed
//! vertical line; each later milestone (`importSeen (b)`, `dnsCorrect (b)`, `importRemoved
//! (a)`, ...) is a bar from the start of its epoch to the moment it was reached, labelled
//! with that latency. So a scenario that exports, unexports and re-exports shows three
//! staircases side by side, each measured from the change that caused it, and the bars of
//! one epoch compare clusters and links directly. Hovering a row shows exact times.

use std::time::SystemTime;

use super::escape;
use super::svg::{Scale, ms_label, num, offset_ms};
use crate::event::Milestone;
use crate::report::record::MilestoneRecord;
use crate::report::text;

/// Total width of the drawing (px).
const WIDTH: f64 = 900.0;
/// Where the plot starts (the label column is left of it).
const PLOT_X: f64 = 200.0;
/// Plot width; the latency labels go right of it.
const PLOT_W: f64 = 600.0;
/// Height of the tick-label band above the rows.
const TOP: f64 = 22.0;
/// Height of one row.
const ROW: f64 = 20.0;

/// One row of the waterfall, in ms since the origin.
struct Row<'a> {
    m: &'a MilestoneRecord,
    /// Start of the epoch this milestone belongs to (the bar's left end).
    start: f64,
    /// When it was reached.
    end: f64,
}

/// Whether `m` starts an epoch.
fn is_export_change(m: Milestone) -> bool {
    matches!(m, Milestone::ExportApplied | Milestone::Unexported)
}

/// The waterfall SVG, or `None` when the scenario reached no milestone.
pub(super) fn waterfall(scenario: &str, milestones: &[MilestoneRecord]) -> Option<String> {
    let mut sorted: Vec<&MilestoneRecord> = milestones.iter().collect();
    sorted.sort_by_key(|m| m.at);
    let first = sorted.first()?;
    let origin = sorted
        .iter()
        .find(|m| m.milestone == Milestone::ExportApplied)
        .map_or(first.at, |m| m.at);
    let rows = rows(&sorted, origin);
    let lo = rows.iter().map(|r| r.start).fold(0.0, f64::min);
    let hi = rows.iter().map(|r| r.end).fold(0.0, f64::max);
    let scale = Scale::new(lo, hi, PLOT_X, PLOT_W);
    let height = TOP + ROW * rows.len() as f64 + 6.0;
    let mut svg = format!(
        "<svg class=\"waterfall\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" aria-label=\"propagation waterfall\"><title>propagation of {}: ms since \
         the first export</title>",
        escape(scenario),
        w = num(WIDTH),
        h = num(height)
    );
    svg.push_str(&scale.axis(TOP, height - 4.0));
    for (i, row) in rows.iter().enumerate() {
        svg.push_str(&row_svg(row, &scale, TOP + ROW * i as f64, height - 4.0));
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// Milestones (sorted by time) as rows with their epoch start. A milestone before any
/// export change starts where its own `since_export` says (or is a point).
fn rows<'a>(sorted: &[&'a MilestoneRecord], origin: SystemTime) -> Vec<Row<'a>> {
    let mut epoch: Option<f64> = None;
    sorted
        .iter()
        .map(|m| {
            let end = offset_ms(origin, m.at);
            if is_export_change(m.milestone) {
                epoch = Some(end);
            }
            let own = end - m.since_export.map_or(0.0, super::svg::ms);
            Row {
                m,
                start: epoch.unwrap_or(own),
                end,
            }
        })
        .collect()
}

/// One row: label, then a diamond (export change) or a bar with its latency.
fn row_svg(row: &Row<'_>, scale: &Scale, y: f64, bottom: f64) -> String {
    let key = row.m.milestone.key();
    let label = text::milestone_label(row.m);
    let mid = y + ROW / 2.0;
    let at = crate::event::rfc3339::format(row.m.at);
    let mut out = format!(
        "<g class=\"row m-{key}\"><text class=\"label\" x=\"4\" y=\"{}\">{}</text>",
        num(mid + 4.0),
        escape(&label)
    );
    if is_export_change(row.m.milestone) {
        let x = scale.x(row.end);
        out.push_str(&format!(
            "<line class=\"epoch\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>\
             <path class=\"mark\" d=\"M{x} {} l6 6 l-6 6 l-6 -6 z\"><title>{} at {} (+{} since \
             the first export)</title></path>",
            num(y),
            num(bottom),
            num(mid - 6.0),
            escape(&label),
            escape(&at),
            escape(&ms_label(row.end)),
            x = num(x),
        ));
    } else {
        let (x0, x1) = (scale.x(row.start), scale.x(row.end));
        let latency = ms_label(row.end - row.start);
        out.push_str(&format!(
            "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\">\
             <title>{} at {}: {} after the export change</title></rect>\
             <text class=\"value\" x=\"{}\" y=\"{}\">+{}</text>",
            num(x0),
            num(y + 4.0),
            num((x1 - x0).max(2.0)),
            num(ROW - 8.0),
            escape(&label),
            escape(&at),
            escape(&latency),
            num(x1.max(x0 + 2.0) + 4.0),
            num(mid + 4.0),
            escape(&latency),
        ));
    }
    out.push_str("</g>");
    out
}
