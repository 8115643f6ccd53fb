//! Which loaded scenarios a run takes: `--filter` and `--skip` (regular expressions on the
//! scenario name, repeatable), `--selector` (on scenario `labels`, Kubernetes' equality
//! selector syntax: `key=value`, `key!=value`, `key`, `!key`, comma = and) and `--shard
//! INDEX/COUNT`.
//!
//! Sharding is a simulation-free, deterministic choice of this harness: the selected
//! scenarios are sorted by name and dealt round-robin, so shard `i` of `n` takes every
//! `n`-th name starting at the `i`-th (0-based, like a Kubernetes Indexed Job's
//! `JOB_COMPLETION_INDEX`). Every shard computes the same order from the same files and
//! flags, so the shards are disjoint and together take every selected scenario; they are
//! balanced to within one scenario.

use std::collections::BTreeMap;

use regex::Regex;

/// Bad selection flags (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// A `--filter`/`--skip` pattern is not a regular expression.
    #[error("{flag} {pattern:?} is not a regular expression: {message}")]
    Regex {
        /// The flag.
        flag: &'static str,
        /// The pattern.
        pattern: String,
        /// The regex crate's message, first line.
        message: String,
    },
}

/// `--shard INDEX/COUNT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: usize,
    /// At least 1.
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parses `INDEX/COUNT` (0 <= INDEX < COUNT).
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || {
        format!(
            "expected INDEX/COUNT with 0 <= INDEX < COUNT (e.g. 0/3; INDEX is 0-based like \
             $JOB_COMPLETION_INDEX), got {s:?}"
        )
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let index: usize = i.trim().parse().map_err(|_| bad())?;
    let count: usize = n.trim().parse().map_err(|_| bad())?;
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` or `key==value`.
    Equals(String, String),
    /// `key!=value` (also true when the key is absent, as in Kubernetes).
    NotEquals(String, String),
    /// `key`.
    Exists(String),
    /// `!key`.
    Absent(String),
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::Absent(k) => write!(f, "!{k}"),
        }
    }
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::Absent(k) => !labels.contains_key(k),
        }
    }
}

/// Parses a selector (`suite=basic,!faults`); every requirement must hold.
pub fn parse_selector(s: &str) -> Result<Vec<Requirement>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        let key_ok = |k: &str| crate::scenario::label_key_ok(k);
        let value_ok = |v: &str| crate::scenario::label_value_ok(v);
        let bad = |what: &str| {
            format!(
                "selector {s:?}: {what} in {part:?}; write key=value, key!=value, key or !key, \
                 joined by commas (labels as Kubernetes writes them)"
            )
        };
        let req = if let Some(k) = part.strip_prefix('!') {
            Requirement::Absent(k.trim().to_string())
        } else if let Some((k, v)) = part.split_once("!=") {
            Requirement::NotEquals(k.trim().to_string(), v.trim().to_string())
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            Requirement::Equals(k.trim().to_string(), v.trim().to_string())
        } else {
            Requirement::Exists(part.to_string())
        };
        let (key, value) = match &req {
            Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, Some(v)),
            Requirement::Exists(k) | Requirement::Absent(k) => (k, None),
        };
        if !key_ok(key) {
            return Err(bad("not a label key"));
        }
        if value.is_some_and(|v| !value_ok(v)) {
            return Err(bad("not a label value"));
        }
        out.push(req);
    }
    Ok(out)
}

/// The selection flags of `run`, compiled.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    filters: Vec<Regex>,
    skips: Vec<Regex>,
    selector: Vec<Requirement>,
    shard: Option<Shard>,
}

fn compile(flag: &'static str, patterns: &[String]) -> Result<Vec<Regex>, SelectError> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(p).map_err(|e| SelectError::Regex {
                flag,
                pattern: p.clone(),
                message: e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            })
        })
        .collect()
}

impl Selection {
    /// From the flags: `filters` (any may match), `skips` (none may match), the selector's
    /// requirements (all must hold) and the shard.
    pub fn new(
        filters: &[String],
        skips: &[String],
        selector: Vec<Requirement>,
        shard: Option<Shard>,
    ) -> Result<Selection, SelectError> {
        Ok(Selection {
            filters: compile("--filter", filters)?,
            skips: compile("--skip", skips)?,
            selector,
            shard,
        })
    }

    /// Whether any flag narrows the run.
    pub fn narrows(&self) -> bool {
        !self.filters.is_empty()
            || !self.skips.is_empty()
            || !self.selector.is_empty()
            || self.shard.is_some()
    }

    /// The shard, if any.
    pub fn shard(&self) -> Option<Shard> {
        self.shard
    }

    /// Why a scenario named `name` with `labels` is left out by the name and label flags,
    /// or `None` when they take it.
    fn excluded(&self, name: &str, labels: &BTreeMap<String, String>) -> Option<String> {
        if !self.filters.is_empty() && !self.filters.iter().any(|r| r.is_match(name)) {
            let shown: Vec<&str> = self.filters.iter().map(Regex::as_str).collect();
            return Some(format!("name matches no --filter ({})", shown.join(", ")));
        }
        if let Some(r) = self.skips.iter().find(|r| r.is_match(name)) {
            return Some(format!("name matches --skip {}", r.as_str()));
        }
        if let Some(req) = self.selector.iter().find(|q| !q.matches(labels)) {
            return Some(format!(
                "labels do not satisfy --selector requirement {req}"
            ));
        }
        None
    }

    /// For each `(name, labels)` in order: `None` if the run takes it, else why not. A
    /// shard takes its share of the scenarios the other flags take (see the module doc);
    /// repeats of a name (`--repeat`, the same file twice) stay together in one shard.
    pub fn decide(&self, scenarios: &[(&str, &BTreeMap<String, String>)]) -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> =
            scenarios.iter().map(|(n, l)| self.excluded(n, l)).collect();
        let Some(shard) = self.shard else {
            return out;
        };
        let mut names: Vec<&str> = scenarios
            .iter()
            .zip(&out)
            .filter(|(_, why)| why.is_none())
            .map(|((n, _), _)| *n)
            .collect();
        names.sort_unstable();
        names.dedup();
        let owner: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, i % shard.count))
            .collect();
        for ((name, _), why) in scenarios.iter().zip(out.iter_mut()) {
            if why.is_none()
                && let Some(&o) = owner.get(name)
                && o != shard.index
            {
                *why = Some(format!(
                    "in shard {o}/{} (this is shard {shard})",
                    shard.count
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn taken(sel: &Selection, names: &[(&str, BTreeMap<String, String>)]) -> Vec<String> {
        let input: Vec<(&str, &BTreeMap<String, String>)> =
            names.iter().map(|(n, l)| (*n, l)).collect();
        sel.decide(&input)
            .into_iter()
            .zip(names)
            .filter(|(why, _)| why.is_none())
            .map(|(_, (n, _))| n.to_string())
            .collect()
    }

    fn sample() -> Vec<(&'static str, BTreeMap<String, String>)> {
        vec![
            ("mcs-basic", labels(&[("suite", "basic")])),
            (
                "repro-partition",
                labels(&[("suite", "repro"), ("faults", "")]),
            ),
            ("repro-namespace-missing", labels(&[("suite", "repro")])),
            ("api-chaos", labels(&[("suite", "chaos"), ("faults", "")])),
            ("scale-to-zero", labels(&[])),
        ]
    }

    #[test]
    fn filters_are_regexes_any_of_which_may_match() {
        let sel = Selection::new(&["repro-*".into()], &[], vec![], None).unwrap();
        assert_eq!(
            taken(&sel, &sample()),
            ["repro-partition", "repro-namespace-missing"]
        );
        let sel = Selection::new(&["^mcs-".into(), "zero$".into()], &[], vec![], None).unwrap();
        assert_eq!(taken(&sel, &sample()), ["mcs-basic", "scale-to-zero"]);
        let err = Selection::new(&["(".into()], &[], vec![], None).unwrap_err();
        assert!(
            err.to_string()
                .contains("--filter \"(\" is not a regular expression"),
            "{err}"
        );
    }

    #[test]
    fn skip_wins_over_filter() {
        let sel = Selection::new(&["repro".into()], &["partition".into()], vec![], None).unwrap();
        assert_eq!(taken(&sel, &sample()), ["repro-namespace-missing"]);
        let input = sample();
        let refs: Vec<(&str, &BTreeMap<String, String>)> =
            input.iter().map(|(n, l)| (*n, l)).collect();
        let why = sel.decide(&refs);
        assert_eq!(why[1].as_deref(), Some("name matches --skip partition"));
        assert!(why[0].as_deref().unwrap().contains("no --filter"));
    }

    #[test]
    fn selectors_read_like_kubectl() {
        let sel = |s: &str| Selection::new(&[], &[], parse_selector(s).unwrap(), None).unwrap();
        assert_eq!(
            taken(&sel("suite=repro"), &sample()),
            ["repro-partition", "repro-namespace-missing"]
        );
        assert_eq!(
            taken(&sel("suite=repro,!faults"), &sample()),
            ["repro-namespace-missing"]
        );
        assert_eq!(
            taken(&sel("faults"), &sample()),
            ["repro-partition", "api-chaos"]
        );
        // `!=` also takes scenarios without the key, as Kubernetes does.
        assert_eq!(
            taken(&sel("suite!=repro"), &sample()),
            ["mcs-basic", "api-chaos", "scale-to-zero"]
        );
        assert_eq!(taken(&sel("suite==basic"), &sample()), ["mcs-basic"]);
        for bad in ["", "a=b c", "=x", "!"] {
            assert!(parse_selector(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shards_are_disjoint_balanced_and_cover_everything() {
        let all = sample();
        for count in 1..=6 {
            let mut seen: Vec<String> = Vec::new();
            for index in 0..count {
                let sel = Selection::new(&[], &[], vec![], Some(Shard { index, count })).unwrap();
                let part = taken(&sel, &all);
                assert!(part.len() <= all.len().div_ceil(count), "{count}: {part:?}");
                assert!(part.len() >= all.len() / count, "{count}: {part:?}");
                seen.extend(part);
            }
            let mut want: Vec<String> = all.iter().map(|(n, _)| n.to_string()).collect();
            want.sort();
            seen.sort();
            assert_eq!(seen, want, "shards of {count}");
        }
        // Shards apply after the other flags, and repeats of a name stay together.
        let sel = Selection::new(&["repro".into()], &[], vec![], parse_shard("1/2").ok()).unwrap();
        assert_eq!(taken(&sel, &all), ["repro-partition"]);
        let repeated = vec![("b", labels(&[])), ("a", labels(&[])), ("b", labels(&[]))];
        let sel = Selection::new(&[], &[], vec![], parse_shard("1/2").ok()).unwrap();
        assert_eq!(taken(&sel, &repeated), ["b", "b"]);
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(parse_shard("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["3/3", "1", "-1/2", "0/0", "a/b", "1/2/3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
