//! What a provider's fleet can do, and whether a scenario's requirements are met. An unmet
//! capability skips the scenario with the reason; it is never a failure.

use crate::scenario::{Flavour, Scenario};

/// What a provider's fleet offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// How many clusters (`None`: as many as a scenario names, as the embedded fleet).
    pub clusters: Option<usize>,
    /// MCS flavours every cluster serves.
    pub flavours: Vec<Flavour>,
    /// The embedded fleet's Fault API is served by every cluster.
    pub faults: bool,
    /// The MCS importer runs in this process (it can be stopped and restarted).
    pub importer_in_process: bool,
    /// Each scenario gets a fleet of its own (faults cannot touch another scenario).
    pub fleet_per_scenario: bool,
}

impl Capabilities {
    /// Why `scenario` cannot run on this fleet, if it cannot.
    pub fn unmet(&self, scenario: &Scenario) -> Option<String> {
        let need = &scenario.requires;
        if let Some(have) = self.clusters
            && need.clusters > have
        {
            return Some(format!(
                "needs {} clusters; this fleet has {have} (bind more with --cluster NAME=CONTEXT)",
                need.clusters
            ));
        }
        if !self.flavours.contains(&scenario.flavour) {
            let served: Vec<&str> = self.flavours.iter().map(|f| f.name()).collect();
            return Some(format!(
                "needs the {} MCS API ({}), which this fleet does not serve (it serves: {})",
                scenario.flavour.name(),
                scenario.flavour.api(),
                match served.is_empty() {
                    true => "none".to_string(),
                    false => served.join(", "),
                }
            ));
        }
        if need.faults && !self.faults {
            return Some(
                "needs the embedded fleet's Fault API (sim.mcs-harness.dev), which real clusters \
                 do not have: run it on the embedded fleet (mcs-harness run without --cluster)"
                    .to_string(),
            );
        }
        None
    }

    /// `2 clusters · gke · faults · importer in-process` for reports.
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.clusters {
            Some(n) => format!("{n} clusters"),
            None => "clusters per scenario".to_string(),
        }];
        let fl: Vec<&str> = self.flavours.iter().map(|f| f.name()).collect();
        parts.push(match fl.is_empty() {
            true => "no MCS API".to_string(),
            false => fl.join("+"),
        });
        if self.faults {
            parts.push("faults".into());
        }
        if self.importer_in_process {
            parts.push("importer in-process".into());
        }
        if self.fleet_per_scenario {
            parts.push("a fleet per scenario".into());
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        crate::scenario::parse(text, "t.yaml").unwrap()
    }

    #[test]
    fn unmet_names_clusters_flavour_and_faults() {
        let caps = Capabilities {
            clusters: Some(2),
            flavours: vec![Flavour::Gke],
            faults: false,
            importer_in_process: false,
            fleet_per_scenario: false,
        };
        let two = scenario("name: t\nclusters: [a, b]\nsteps:\n  - sleep: 1ms\n");
        assert_eq!(caps.unmet(&two), None);
        let three = scenario("name: t\nclusters: [a, b, c]\nsteps:\n  - sleep: 1ms\n");
        assert!(
            caps.unmet(&three)
                .unwrap()
                .starts_with("needs 3 clusters; this fleet has 2")
        );
        let declared =
            scenario("name: t\nclusters: [a]\nrequires: {clusters: 3}\nsteps:\n  - sleep: 1ms\n");
        assert!(
            caps.unmet(&declared)
                .unwrap()
                .starts_with("needs 3 clusters")
        );
        let up = scenario("name: t\nclusters: [a]\nflavour: upstream\nsteps:\n  - sleep: 1ms\n");
        assert!(caps.unmet(&up).unwrap().contains("upstream MCS API"));
        let faults = scenario(
            "name: t\nclusters: [a]\nsteps:\n  - fault: {cluster: a, name: x, spec: {dns: {}}}\n",
        );
        assert!(caps.unmet(&faults).unwrap().contains("Fault API"));
        let embedded = Capabilities {
            clusters: None,
            flavours: vec![Flavour::Gke, Flavour::Upstream],
            faults: true,
            importer_in_process: true,
            fleet_per_scenario: true,
        };
        for s in [two, three, declared, up, faults] {
            assert_eq!(embedded.unmet(&s), None);
        }
    }
}
