//! The embedded provider: every scenario gets an embedded fleet of its own (its cluster
//! names, its flavour, the importer in-process), started when the scenario starts and
//! stopped when it ends. Start-up takes milliseconds, and a scenario's faults can never
//! touch another scenario.

use std::collections::BTreeMap;
use std::time::Duration;

use super::capabilities::Capabilities;
use super::embedded::{EmbeddedFleet, EmbeddedOptions};
use super::kubeconfig::FleetError;
use super::provider::{Binding, BoxFuture, Provider, ProviderError};
use super::registry::{ClusterHandle, ClusterRegistry};
use crate::scenario::{Flavour, Scenario};

/// Where handles of the embedded fleet say they run.
pub const EMBEDDED_LOCATION: &str = "embedded";

/// A fleet per scenario.
pub struct EmbeddedProvider {
    propagation_delay: Duration,
    capabilities: Capabilities,
    /// A fleet like the scenarios' own (clusters a, b; GKE flavour), for preflight.
    sample: (ClusterRegistry, EmbeddedFleet),
}

impl EmbeddedProvider {
    /// A provider whose fleets use `propagation_delay`; starts the sample fleet.
    pub async fn start(propagation_delay: Duration) -> Result<EmbeddedProvider, FleetError> {
        let opts = EmbeddedOptions {
            propagation_delay,
            ..EmbeddedOptions::default()
        };
        let sample = EmbeddedFleet::start(&opts).await?;
        let registry = handles(&sample, &opts.clusters)
            .await?
            .into_values()
            .collect();
        Ok(EmbeddedProvider {
            propagation_delay,
            capabilities: Capabilities {
                clusters: None,
                flavours: vec![Flavour::Gke, Flavour::Upstream],
                faults: true,
                importer_in_process: true,
                fleet_per_scenario: true,
            },
            sample: (registry, sample),
        })
    }

    /// A fleet for `scenario` and its handles.
    pub async fn fleet_for(
        &self,
        scenario: &Scenario,
    ) -> Result<(BTreeMap<String, ClusterHandle>, EmbeddedFleet), FleetError> {
        let opts = EmbeddedOptions {
            clusters: scenario.clusters.clone(),
            flavour: scenario.flavour,
            propagation_delay: self.propagation_delay,
            ..EmbeddedOptions::default()
        };
        let fleet = EmbeddedFleet::start(&opts).await?;
        let clusters = handles(&fleet, &scenario.clusters).await?;
        Ok((clusters, fleet))
    }
}

/// A provider whose scenarios all share `fleet`'s clusters `names` (bound by name), as a
/// `sim up` fleet bound with `--cluster` would be: for tests and benchmarks.
pub async fn shared(
    fleet: &EmbeddedFleet,
    names: &[String],
) -> Result<super::SharedProvider, FleetError> {
    let registry: ClusterRegistry = handles(fleet, names).await?.into_values().collect();
    let flavour: Flavour = fleet.flavour;
    let capabilities = Capabilities {
        clusters: Some(registry.len()),
        flavours: vec![flavour],
        faults: true,
        importer_in_process: fleet.importer.is_some(),
        fleet_per_scenario: false,
    };
    let description = format!("embedded fleet {}", registry.describe());
    Ok(super::SharedProvider::new(
        description,
        capabilities,
        registry,
        super::BindBy::Name,
        Vec::new(),
    ))
}

/// Admin handles for `names` of `fleet`.
pub async fn handles(
    fleet: &EmbeddedFleet,
    names: &[String],
) -> Result<BTreeMap<String, ClusterHandle>, FleetError> {
    let mut out = BTreeMap::new();
    for name in names {
        let server = fleet
            .fleet
            .cluster(name)
            .map(|c| c.url())
            .unwrap_or_default();
        let h = ClusterHandle {
            name: super::ClusterName::new(name.as_str())?,
            location: EMBEDDED_LOCATION.to_string(),
            server,
            client: fleet.client(name).await?,
        };
        out.insert(name.clone(), h);
    }
    Ok(out)
}

impl Provider for EmbeddedProvider {
    fn describe(&self) -> String {
        "embedded fleet (one per scenario)".to_string()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn registry(&self) -> &ClusterRegistry {
        &self.sample.0
    }

    fn bind<'a>(&'a self, scenario: &'a Scenario) -> BoxFuture<'a, Result<Binding, ProviderError>> {
        Box::pin(async move {
            let (clusters, fleet) =
                self.fleet_for(scenario)
                    .await
                    .map_err(|source| ProviderError::Start {
                        scenario: scenario.name.clone(),
                        source,
                    })?;
            Ok(Binding::own(clusters, Box::new(fleet)))
        })
    }
}
