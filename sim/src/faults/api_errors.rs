//! Injected API failures: per-request random errors with the configured codes, added
//! latency, and a cap on watch duration. Requests to Fault objects themselves are never
//! failed, so a fault can always be removed.

use std::sync::RwLock;
use std::time::Duration;

use rand::Rng;

/// What to do to one request.
#[derive(Debug, Default, PartialEq)]
pub struct Injected {
    /// Sleep this long first.
    pub latency: Duration,
    /// Answer this error code instead of serving.
    pub error: Option<u16>,
    /// End watches after this long.
    pub watch_cap: Option<Duration>,
}

/// One API-error fault.
#[derive(Clone, Debug, Default)]
pub struct Rule {
    owner: String,
    rate: f64,
    codes: Vec<u16>,
    latency: Duration,
    watch_drop: Option<Duration>,
    /// Namespaces it is limited to (empty: every request).
    namespaces: Vec<String>,
}

impl Rule {
    /// Fails `rate` of the requests with one of `codes`, adds `latency_ms` to each, cuts
    /// watches after `watch_drop_seconds` (0 = never).
    pub fn new(rate: f64, codes: Vec<u16>, latency_ms: u64, watch_drop_seconds: u64) -> Rule {
        Rule {
            rate,
            codes,
            latency: Duration::from_millis(latency_ms),
            watch_drop: (watch_drop_seconds > 0).then(|| Duration::from_secs(watch_drop_seconds)),
            ..Rule::default()
        }
    }

    /// The same rule, limited to requests on objects in `namespaces` (empty: all).
    pub fn scoped(mut self, namespaces: Vec<String>) -> Rule {
        self.namespaces = namespaces;
        self
    }

    fn applies(&self, namespace: Option<&str>) -> bool {
        self.namespaces.is_empty()
            || namespace.is_some_and(|n| self.namespaces.iter().any(|x| x == n))
    }
}

/// The API-error rules of one cluster.
#[derive(Default)]
pub struct ApiFaults {
    rules: RwLock<Vec<Rule>>,
    injected: std::sync::atomic::AtomicU64,
}

impl ApiFaults {
    /// Installs (or replaces) the rule of `owner`.
    pub fn set(&self, owner: &str, rule: Rule) {
        let mut r = self.rules.write().unwrap_or_else(|e| e.into_inner());
        r.retain(|x| x.owner != owner);
        r.push(Rule {
            owner: owner.to_string(),
            ..rule
        });
    }

    /// Removes the rule of `owner`.
    pub fn remove(&self, owner: &str) {
        self.rules
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|x| x.owner != owner);
    }

    /// How many errors were injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Decides the fate of one request on an object in `namespace` (None: cluster-scoped or
    /// across namespaces).
    pub fn roll(&self, namespace: Option<&str>) -> Injected {
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Injected::default();
        let mut rng = rand::rng();
        for r in rules.iter().filter(|r| r.applies(namespace)) {
            out.latency += r.latency;
            if out.error.is_none() && !r.codes.is_empty() && rng.random_bool(r.rate.clamp(0.0, 1.0))
            {
                out.error = Some(r.codes[rng.random_range(0..r.codes.len())]);
                self.injected
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            out.watch_cap = match (out.watch_cap, r.watch_drop) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_one_always_fails_rate_zero_never() {
        let f = ApiFaults::default();
        assert_eq!(f.roll(None), Injected::default());
        f.set("x", Rule::new(1.0, vec![503], 5, 2));
        let r = f.roll(Some("any"));
        assert_eq!(r.error, Some(503));
        assert_eq!(r.latency, Duration::from_millis(5));
        assert_eq!(r.watch_cap, Some(Duration::from_secs(2)));
        f.set("x", Rule::new(0.0, vec![503], 0, 0));
        assert!((0..100).all(|_| f.roll(None).error.is_none()));
        f.remove("x");
        assert_eq!(f.roll(None), Injected::default());
    }

    #[test]
    fn scoped_rules_touch_only_their_namespaces() {
        let f = ApiFaults::default();
        f.set(
            "x",
            Rule::new(1.0, vec![500], 0, 0).scoped(vec!["mine".into()]),
        );
        assert_eq!(f.roll(Some("mine")).error, Some(500));
        assert_eq!(f.roll(Some("theirs")), Injected::default());
        assert_eq!(f.roll(None), Injected::default());
    }
}
