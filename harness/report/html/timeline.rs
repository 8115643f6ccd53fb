//! The timeline of one background probe, as inline SVG.
//!
//! x = time since the probe started. One lane per probing cluster and kind (`b · http`),
//! in order of first sample. Samples are green (ok) or red (failed) marks; to keep the file
//! small whatever the sample count, each lane is cut into 2-px buckets (a bucket is red when
//! any of its samples failed) and nearby buckets of the same colour are merged into one
//! rectangle, so a lane costs at most a few hundred elements and usually a handful. Outages
//! (runs of consecutive failed samples in a lane, from the first failure to the next
//! success) are shaded behind the marks; outages closer than a pixel share one band. A last
//! row shows the answers per serving cluster as a stacked bar. Every shape has a `<title>`
//! tooltip with the exact figures (outage length, failed samples, first error).

use super::escape;
use super::svg::{Scale, ms, ms_label, num};
use crate::event::{ProbeReport, ProbeSample};

/// Total width of the drawing.
const WIDTH: f64 = 900.0;
/// Where the plot starts (lane labels are left of it).
const PLOT_X: f64 = 140.0;
/// Plot width; lane figures go right of it.
const PLOT_W: f64 = 640.0;
/// Width of one downsampling bucket (px).
const BUCKET: f64 = 2.0;
/// Height of the tick-label band.
const TOP: f64 = 22.0;
/// Height of one lane.
const LANE: f64 = 24.0;
/// Fill colours of serving clusters in the answers bar, in cluster order.
const PALETTE: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];

/// The samples of one probing cluster and kind.
struct Lane<'a> {
    from: &'a str,
    kind: &'a str,
    samples: Vec<&'a ProbeSample>,
}

/// The timeline SVG of `p`.
pub(super) fn timeline(p: &ProbeReport) -> String {
    let lanes = lanes(&p.samples);
    let end = p
        .samples
        .iter()
        .map(|s| ms(s.offset + s.latency))
        .fold(ms(p.duration), f64::max);
    let scale = Scale::new(0.0, end, PLOT_X, PLOT_W);
    let answers = !p.answers_by_cluster.is_empty();
    let rows = lanes.len() + usize::from(answers);
    let height = TOP + LANE * rows.max(1) as f64 + 6.0;
    let mut svg = format!(
        "<svg class=\"timeline\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" aria-label=\"probe timeline\"><title>probe {}: samples over time</title>",
        escape(&p.name),
        w = num(WIDTH),
        h = num(height)
    );
    svg.push_str(&scale.axis(TOP, height - 4.0));
    for (i, lane) in lanes.iter().enumerate() {
        svg.push_str(&lane_svg(lane, &scale, TOP + LANE * i as f64, end));
    }
    if answers {
        svg.push_str(&answers_svg(p, TOP + LANE * lanes.len() as f64));
    }
    if lanes.is_empty() {
        svg.push_str(&format!(
            "<text class=\"label\" x=\"{}\" y=\"{}\">no samples</text>",
            num(PLOT_X),
            num(TOP + 16.0)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Samples grouped by (from, kind), lanes in order of first appearance.
fn lanes(samples: &[ProbeSample]) -> Vec<Lane<'_>> {
    let mut lanes: Vec<Lane<'_>> = Vec::new();
    for s in samples {
        match lanes
            .iter_mut()
            .find(|l| l.from == s.from && l.kind == s.kind)
        {
            Some(lane) => lane.samples.push(s),
            None => lanes.push(Lane {
                from: &s.from,
                kind: &s.kind,
                samples: vec![s],
            }),
        }
    }
    lanes
}

/// One lane: label, outage bands, sample marks and the lane's success share.
fn lane_svg(lane: &Lane<'_>, scale: &Scale, y: f64, end: f64) -> String {
    let ok = lane.samples.iter().filter(|s| s.ok).count();
    let total = lane.samples.len();
    let mut out = format!(
        "<g class=\"lane\"><text class=\"label\" x=\"4\" y=\"{}\">{} · {}</text>\
         <rect class=\"track\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
        num(y + 16.0),
        escape(lane.from),
        escape(lane.kind),
        num(PLOT_X),
        num(y + 3.0),
        num(PLOT_W),
        num(LANE - 6.0)
    );
    for band in merged_outages(lane, scale, end) {
        out.push_str(&format!(
            "<rect class=\"outage\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title>\
             </rect>",
            num(band.x0),
            num(y + 1.0),
            num((band.x1 - band.x0).max(BUCKET)),
            num(LANE - 2.0),
            escape(&band.title())
        ));
    }
    for run in runs(lane, scale) {
        out.push_str(&run.svg(y));
    }
    out.push_str(&format!(
        "<text class=\"value\" x=\"{}\" y=\"{}\">{ok}/{total} ok</text></g>",
        num(PLOT_X + PLOT_W + 8.0),
        num(y + 16.0)
    ));
    out
}

/// The samples that fell into one or more adjacent 2-px buckets of one colour.
#[derive(Clone)]
struct Run<'a> {
    first: usize,
    last: usize,
    samples: usize,
    failed: usize,
    /// Detail of the first failed sample (the error a reader wants to see).
    detail: Option<&'a str>,
    from_ms: f64,
    to_ms: f64,
}

impl<'a> Run<'a> {
    fn new(bucket: usize, s: &'a ProbeSample) -> Run<'a> {
        Run {
            first: bucket,
            last: bucket,
            samples: 1,
            failed: usize::from(!s.ok),
            detail: (!s.ok).then_some(s.detail.as_str()),
            from_ms: ms(s.offset),
            to_ms: ms(s.offset),
        }
    }

    /// Red when any of its samples failed.
    fn ok(&self) -> bool {
        self.failed == 0
    }

    fn add(&mut self, s: &'a ProbeSample) {
        if !s.ok {
            self.failed += 1;
            self.detail.get_or_insert(&s.detail);
        }
        self.samples += 1;
        self.from_ms = self.from_ms.min(ms(s.offset));
        self.to_ms = self.to_ms.max(ms(s.offset));
    }

    fn merge(&mut self, next: &Run<'a>) {
        self.last = next.last;
        self.samples += next.samples;
        self.failed += next.failed;
        self.detail = self.detail.or(next.detail);
        self.to_ms = next.to_ms;
    }

    fn svg(&self, y: f64) -> String {
        let plural = if self.samples == 1 { "" } else { "s" };
        let (class, mut title) = match self.ok() {
            true => ("ok", format!("{} ok sample{plural}", self.samples)),
            false => (
                "fail",
                format!("{} of {} sample{plural} failed", self.failed, self.samples),
            ),
        };
        title.push_str(&format!(
            ", +{} to +{}",
            ms_label(self.from_ms),
            ms_label(self.to_ms)
        ));
        if let Some(d) = self.detail {
            title.push_str(": ");
            title.push_str(d);
        }
        format!(
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title>\
             </rect>",
            num(PLOT_X + self.first as f64 * BUCKET),
            num(y + 6.0),
            num((self.last + 1 - self.first) as f64 * BUCKET),
            num(LANE - 12.0),
            escape(&title)
        )
    }
}

/// Empty buckets a run of one colour may bridge: samples closer than this look continuous
/// anyway, and bridging keeps regular sampling from becoming one shape per sample.
const BRIDGE: usize = 3;

/// The lane's samples as runs: samples are put into 2-px buckets (a bucket is red when any
/// of its samples failed), then buckets of one colour less than [`BRIDGE`] apart merge.
fn runs<'a>(lane: &Lane<'a>, scale: &Scale) -> Vec<Run<'a>> {
    let count = (PLOT_W / BUCKET) as usize;
    let mut buckets: Vec<Option<Run<'a>>> = vec![None; count];
    for &s in &lane.samples {
        let px = (scale.x(ms(s.offset)) - PLOT_X) / BUCKET;
        let b = (px.floor().max(0.0) as usize).min(count - 1);
        match &mut buckets[b] {
            Some(run) => run.add(s),
            slot @ None => *slot = Some(Run::new(b, s)),
        }
    }
    let mut runs: Vec<Run<'a>> = Vec::new();
    for run in buckets.into_iter().flatten() {
        match runs.last_mut() {
            Some(prev) if prev.ok() == run.ok() && run.first - prev.last <= BRIDGE => {
                prev.merge(&run);
            }
            _ => runs.push(run),
        }
    }
    runs
}

/// An outage band in pixels; touching outages are merged into one band.
struct Band {
    x0: f64,
    x1: f64,
    outages: usize,
    failed: usize,
    longest: f64,
    from_ms: f64,
    to_ms: f64,
}

impl Band {
    fn title(&self) -> String {
        if self.outages == 1 {
            return format!(
                "outage {} ({} failed) from +{}",
                ms_label(self.longest),
                self.failed,
                ms_label(self.from_ms)
            );
        }
        format!(
            "{} outages ({} failed, longest {}) from +{} to +{}",
            self.outages,
            self.failed,
            ms_label(self.longest),
            ms_label(self.from_ms),
            ms_label(self.to_ms)
        )
    }
}

/// Outage bands: runs of consecutive failed samples of the lane, from the first failure to
/// the next success (or the end of the last failed sample).
fn merged_outages(lane: &Lane<'_>, scale: &Scale, end: f64) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    let mut start: Option<(f64, usize)> = None;
    for (i, s) in lane.samples.iter().enumerate() {
        match (s.ok, start) {
            (false, None) => start = Some((ms(s.offset), i)),
            (true, Some((from, first))) => {
                push_band(&mut bands, scale, from, ms(s.offset), i - first);
                start = None;
            }
            _ => {}
        }
    }
    if let Some((from, first)) = start {
        let last = lane
            .samples
            .last()
            .map_or(end, |s| ms(s.offset + s.latency));
        push_band(&mut bands, scale, from, last, lane.samples.len() - first);
    }
    bands
}

fn push_band(bands: &mut Vec<Band>, scale: &Scale, from: f64, to: f64, failed: usize) {
    let (x0, x1) = (scale.x(from), scale.x(to));
    match bands.last_mut() {
        Some(b) if x0 - b.x1 < 1.0 => {
            b.x1 = x1;
            b.outages += 1;
            b.failed += failed;
            b.longest = b.longest.max(to - from);
            b.to_ms = to;
        }
        _ => bands.push(Band {
            x0,
            x1,
            outages: 1,
            failed,
            longest: to - from,
            from_ms: from,
            to_ms: to,
        }),
    }
}

/// The answers row: a stacked bar of answers per serving cluster.
fn answers_svg(p: &ProbeReport, y: f64) -> String {
    let total: usize = p.answers_by_cluster.values().sum();
    let mut out = format!(
        "<g class=\"answers\"><text class=\"label\" x=\"4\" y=\"{}\">answers by cluster</text>",
        num(y + 16.0)
    );
    let mut x = PLOT_X;
    for (i, (cluster, n)) in p.answers_by_cluster.iter().enumerate() {
        let w = if total == 0 {
            0.0
        } else {
            PLOT_W * *n as f64 / total as f64
        };
        let pct = (n * 100).checked_div(total).unwrap_or(0);
        let label = format!("{cluster} {n} ({pct}%)");
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">\
             <title>{}</title></rect>",
            num(x),
            num(y + 4.0),
            num(w),
            num(LANE - 8.0),
            PALETTE[i % PALETTE.len()],
            escape(&label)
        ));
        if w >= 8.0 * label.chars().count() as f64 {
            out.push_str(&format!(
                "<text class=\"inbar\" x=\"{}\" y=\"{}\">{}</text>",
                num(x + 4.0),
                num(y + 16.0),
                escape(&label)
            ));
        }
        x += w;
    }
    out.push_str("</g>");
    out
}
