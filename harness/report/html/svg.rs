//! Small SVG helpers shared by the waterfall and the probe timelines: a linear time scale
//! with "nice" ticks (1, 2 or 5 × 10ⁿ ms), the axis drawn from it, and compact number
//! formatting so coordinates do not bloat the file.

use std::time::{Duration, SystemTime};

use super::escape;

/// Maps milliseconds onto horizontal pixels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scale {
    /// Domain start (ms).
    pub lo: f64,
    /// Domain end (ms), always > `lo`.
    pub hi: f64,
    /// Pixel of `lo`.
    pub x0: f64,
    /// Pixel width of the domain.
    pub width: f64,
}

impl Scale {
    /// A scale for `[lo, hi]` ms drawn from `x0` over `width` px; an empty domain is widened
    /// to 1 ms so nothing divides by zero.
    pub fn new(lo: f64, hi: f64, x0: f64, width: f64) -> Scale {
        let hi = if hi - lo < 1.0 { lo + 1.0 } else { hi };
        Scale { lo, hi, x0, width }
    }

    /// Pixel of `ms`.
    pub fn x(&self, ms: f64) -> f64 {
        self.x0 + (ms - self.lo) / (self.hi - self.lo) * self.width
    }

    /// Tick positions: multiples of a 1/2/5 step, at most about eight of them.
    pub fn ticks(&self) -> Vec<f64> {
        let span = self.hi - self.lo;
        let raw = span / 8.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * magnitude)
            .max(1.0);
        let mut ticks = Vec::new();
        let mut t = (self.lo / step).ceil() * step;
        // The length cap guards against float steps too small to advance `t`.
        while t <= self.hi + step * 1e-9 && ticks.len() < 32 {
            ticks.push(t);
            t += step;
        }
        ticks
    }

    /// Grid lines from `top` to `bottom` and tick labels above `top`.
    pub fn axis(&self, top: f64, bottom: f64) -> String {
        let mut out = String::from("<g class=\"axis\">");
        for t in self.ticks() {
            let x = num(self.x(t));
            out.push_str(&format!(
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>\
                 <text x=\"{x}\" y=\"{}\">{}</text>",
                num(top),
                num(bottom),
                num(top - 5.0),
                escape(&ms_label(t))
            ));
        }
        out.push_str("</g>");
        out
    }
}

/// A coordinate with at most one decimal (`12`, `12.5`).
pub(super) fn num(v: f64) -> String {
    let rounded = (v * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// An axis or offset label: `250 ms`, `1.5 s`, `12 s`.
pub(super) fn ms_label(ms: f64) -> String {
    if ms.abs() < 1000.0 {
        return format!("{ms:.0} ms");
    }
    let s = format!("{:.2}", ms / 1000.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} s")
}

/// Milliseconds as a float with microsecond precision.
pub(super) fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// Signed milliseconds from `origin` to `t` (negative when `t` is earlier).
pub(super) fn offset_ms(origin: SystemTime, t: SystemTime) -> f64 {
    match t.duration_since(origin) {
        Ok(d) => ms(d),
        Err(e) => -ms(e.duration()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_cover_the_domain() {
        let s = Scale::new(0.0, 430.0, 100.0, 600.0);
        assert_eq!(s.ticks(), [0.0, 100.0, 200.0, 300.0, 400.0]);
        assert_eq!(s.x(0.0), 100.0);
        assert_eq!(s.x(430.0), 700.0);
        let s = Scale::new(0.0, 4000.0, 0.0, 100.0);
        assert_eq!(
            s.ticks(),
            [
                0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0
            ]
        );
        let empty = Scale::new(5.0, 5.0, 0.0, 100.0);
        assert!(!empty.ticks().is_empty());
        assert!(empty.x(5.0).is_finite());
    }

    #[test]
    fn labels_and_numbers_are_compact() {
        assert_eq!(ms_label(250.0), "250 ms");
        assert_eq!(ms_label(1500.0), "1.5 s");
        assert_eq!(ms_label(12_000.0), "12 s");
        assert_eq!(num(12.04), "12");
        assert_eq!(num(12.46), "12.5");
    }
}
