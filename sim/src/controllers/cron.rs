//! Cron schedules as the CronJob controller reads them (robfig/cron's standard parser:
//! five fields `minute hour day-of-month month day-of-week`, `*`, `?`, lists, ranges, steps,
//! month and weekday names, and the `@yearly`/`@monthly`/`@weekly`/`@daily`/`@hourly`
//! descriptors; when both day fields are restricted a day matching either runs, as in
//! Vixie cron). Written here because the cron crates are built on chrono; the fleet uses jiff.

use jiff::civil::DateTime;
use jiff::{Timestamp, ToSpan, tz::TimeZone};

/// A parsed schedule: the allowed values of each field as bit sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    dom_star: bool,
    dow_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(s: &str, names: &[&str], base: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + base);
    }
    s.parse::<u32>()
        .map_err(|_| format!("failed to parse int from {s}"))
}

/// Parses one field into a bit set of [min, max]; the flag says whether it was `*`/`?`.
fn field(s: &str, min: u32, max: u32, names: &[&str], base: u32) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => (
                r,
                st.parse::<u32>()
                    .map_err(|_| format!("failed to parse int from {st}"))?,
            ),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("step of range should be a positive number: {part}"));
        }
        let (lo, hi) = if range == "*" || range == "?" {
            star = star || part.split_once('/').is_none();
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, base)?, value(b, names, base)?)
        } else {
            let v = value(range, names, base)?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("end of range ({hi}) above maximum ({max}): {part}"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl Schedule {
    /// Parses a CronJob `schedule`.
    pub fn parse(spec: &str) -> Result<Schedule, String> {
        let spec = spec.trim();
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            return Err("CRON_TZ or TZ used in schedule \"{spec}\" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details".replace("{spec}", spec));
        }
        let expanded = match spec {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            s if s.starts_with('@') => return Err(format!("unrecognized descriptor: {s}")),
            s => s,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: [{}]",
                f.len(),
                f.join(" ")
            ));
        }
        let (minute, _) = field(f[0], 0, 59, &[], 0)?;
        let (hour, _) = field(f[1], 0, 23, &[], 0)?;
        let (dom, dom_star) = field(f[2], 1, 31, &[], 0)?;
        let (month, _) = field(f[3], 1, 12, &MONTHS, 1)?;
        let (dow, dow_star) = field(f[4], 0, 6, &DAYS, 0)?;
        Ok(Schedule {
            minute,
            hour,
            dom,
            month,
            dow,
            dom_star,
            dow_star,
        })
    }

    fn day_matches(&self, d: DateTime) -> bool {
        let dom = self.dom & (1 << d.day()) != 0;
        let dow = self.dow & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first scheduled time strictly after `after`, in `tz`; None within 5 years.
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let local = tz.to_datetime(after);
        let mut t = local
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.minute())
            .ok()?;
        let limit = t.checked_add(5.years()).ok()?;
        while t < limit {
            if self.month & (1 << t.month()) == 0 || !self.day_matches(t) {
                t = t
                    .date()
                    .tomorrow()
                    .ok()?
                    .to_datetime(jiff::civil::time(0, 0, 0, 0));
                continue;
            }
            if self.hour & (1 << t.hour()) == 0 {
                t = t
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
                continue;
            }
            if self.minute & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                continue;
            }
            return tz.to_timestamp(t).ok();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn next_times_like_robfig_cron() {
        let utc = TimeZone::UTC;
        let every5 = Schedule::parse("*/5 * * * *").unwrap();
        assert_eq!(
            every5.next(ts("2026-01-01T10:02:30Z"), &utc),
            Some(ts("2026-01-01T10:05:00Z"))
        );
        let nightly = Schedule::parse("0 3 * * *").unwrap();
        assert_eq!(
            nightly.next(ts("2026-01-01T03:00:00Z"), &utc),
            Some(ts("2026-01-02T03:00:00Z"))
        );
        let weekdays = Schedule::parse("30 9 * * MON-FRI").unwrap();
        assert_eq!(
            weekdays.next(ts("2026-01-02T10:00:00Z"), &utc),
            Some(ts("2026-01-05T09:30:00Z"))
        );
        let either = Schedule::parse("0 0 13 * 5").unwrap(); // the 13th or a Friday
        assert_eq!(
            either.next(ts("2026-01-01T00:00:00Z"), &utc),
            Some(ts("2026-01-02T00:00:00Z"))
        );
        assert_eq!(
            Schedule::parse("@hourly")
                .unwrap()
                .next(ts("2026-01-01T00:59:00Z"), &utc),
            Some(ts("2026-01-01T01:00:00Z"))
        );
        let leap = Schedule::parse("0 0 29 2 *").unwrap();
        assert_eq!(
            leap.next(ts("2026-01-01T00:00:00Z"), &utc),
            Some(ts("2028-02-29T00:00:00Z"))
        );
    }

    #[test]
    fn bad_schedules_are_rejected() {
        for bad in [
            "* * * *",
            "61 * * * *",
            "*/0 * * * *",
            "@often",
            "TZ=UTC * * * * *",
            "a * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}
