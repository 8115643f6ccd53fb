//! Durations as users write them on the command line and in scenarios: `500ms`, `30s`,
//! `2m`, `1h`, `1m30s`.

use std::time::Duration;

/// Parses a duration; the error says what is accepted.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "invalid duration {s:?}: use a number with a unit, e.g. 500ms, 30s, 2m, 1h or 1m30s"
        )
    };
    let s = s.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return Err(bad()),
        };
        total += unit;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// A duration for people, in the units [`parse_duration`] reads: `250ms`, `10s`, `1m30s`,
/// `1.25s` (sub-second remainders above one second are shown to the millisecond).
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (secs, rest) = (ms / 1000, ms % 1000);
    if rest != 0 && secs < 60 {
        let frac = format!("{rest:03}");
        return format!("{secs}.{}s", frac.trim_end_matches('0'));
    }
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_read_back() {
        for (d, want) in [
            (Duration::from_micros(500_907), "500ms"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_millis(1250), "1.25s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(3600), "1h"),
        ] {
            assert_eq!(human(d), want);
        }
        for s in ["500ms", "10s", "1m30s", "2m", "1h"] {
            assert_eq!(human(parse_duration(s).unwrap()), s);
        }
    }

    #[test]
    fn parses_units_and_rejects_garbage() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "10", "10x", "1.5s", "-1s"] {
            assert!(
                parse_duration(bad).unwrap_err().contains("e.g. 500ms"),
                "{bad}"
            );
        }
    }
}
