//! `run --provider kind`: find the kind clusters of a prefix (contexts `kind-<prefix>-1` …
//! `kind-<prefix>-N`, two by default) or create them, then prepare them for MCS ([`crate::local`]:
//! CRDs, CoreDNS, in-process importer keeping the `clusterset.local` records).
//!
//! - Every context answers: the clusters are reused (routes are re-applied with
//!   `ip route replace` when docker can reach the nodes; otherwise a warning).
//! - No context answers: `kind create cluster` for each (kind and docker must be installed),
//!   then the routes.
//! - Only some answer: an error that says to run `mcs-harness kind down` first, rather than
//!   guessing which half-built cluster to trust.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::Client;
use kube::config::Kubeconfig;
use mcs_importer::Flavour;

use super::cmd::{KindCmdError, require, run_commands, say};
use super::plan::{self, ClusterSpec};
use crate::fleet::client_for_context;
use crate::local::{self, LocalCluster, Prepared};

/// How long a context may take to answer `/version` before it counts as absent.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Options of the kind provider.
#[derive(Clone, Debug)]
pub struct KindOptions {
    /// Cluster names are `<prefix>-1` … `<prefix>-N`.
    pub prefix: String,
    /// How many clusters.
    pub clusters: usize,
    /// MCS flavour to set up and import.
    pub flavour: Flavour,
    /// Kubeconfig holding (or receiving) the kind contexts.
    pub kubeconfig: Option<PathBuf>,
    /// Importer propagation delay.
    pub propagation_delay: Duration,
}

/// Whether the clusters were found or made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Every context answered.
    Reused,
    /// `kind create cluster` made them.
    Created,
}

/// Prepared kind clusters (dropping it stops the in-process importer; the clusters stay).
pub struct KindClusters {
    /// Clusters, importer, setup reports.
    pub prepared: Prepared,
    /// Found or made.
    pub origin: Origin,
}

impl KindClusters {
    /// One line for reports: `kind (reused): mcs-1=kind-mcs-1, mcs-2=kind-mcs-2; gke importer in-process`.
    pub fn describe(&self, flavour: Flavour) -> String {
        let origin = match self.origin {
            Origin::Reused => "reused",
            Origin::Created => "created",
        };
        let shown: Vec<String> = self
            .prepared
            .clusters
            .iter()
            .map(|c| format!("{}={}", c.name, c.location))
            .collect();
        let fl = flavour.name();
        format!(
            "kind ({origin}): {}; {fl} importer in-process",
            shown.join(", ")
        )
    }
}

/// Finds or creates the clusters and prepares them.
pub async fn bring_up(
    opts: &KindOptions,
    out: &mut dyn Write,
) -> Result<KindClusters, KindCmdError> {
    let plan = plan::up(&opts.prefix, opts.clusters, opts.flavour).map_err(KindCmdError::Plan)?;
    let kc = read_kubeconfig(opts.kubeconfig.as_deref());
    let mut answering = Vec::new();
    let mut absent = Vec::new();
    for spec in &plan.clusters {
        match answers(kc.as_ref(), spec).await {
            Ok(client) => answering.push((spec.clone(), client)),
            Err(why) => absent.push((spec.clone(), why)),
        }
    }
    let origin = if absent.is_empty() {
        say(
            out,
            &format!("reusing kind clusters {}", names(&plan.clusters)),
        )?;
        // Routes are re-applied where docker can reach the nodes; clusters made some other
        // way (another kind provider, by hand) keep whatever routing they have.
        let routes = match require("docker") {
            Ok(()) => run_commands(&plan, None, false, out).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(why) = routes {
            say(
                out,
                &format!(
                    "warning: cross-cluster pod routes not re-applied ({why}); assuming they \
                     are in place"
                ),
            )?;
        }
        Origin::Reused
    } else if answering.is_empty() {
        say(
            out,
            &format!("creating kind clusters {}", names(&plan.clusters)),
        )?;
        run_commands(&plan, opts.kubeconfig.as_deref(), true, out)?;
        let kc = read_kubeconfig(opts.kubeconfig.as_deref());
        for (spec, _) in absent.drain(..) {
            let client =
                answers(kc.as_ref(), &spec)
                    .await
                    .map_err(|why| KindCmdError::Unreachable {
                        context: spec.context(),
                        why,
                    })?;
            answering.push((spec, client));
        }
        Origin::Created
    } else {
        let (spec, why) = &absent[0];
        return Err(KindCmdError::HalfThere {
            missing: spec.context(),
            why: why.clone(),
            present: answering
                .iter()
                .map(|(s, _)| s.context())
                .collect::<Vec<_>>()
                .join(", "),
            prefix: opts.prefix.clone(),
        });
    };
    let clusters = answering
        .into_iter()
        .map(|(spec, client)| LocalCluster {
            name: spec.name.clone(),
            location: spec.context(),
            client,
        })
        .collect();
    let prepared = local::prepare(clusters, opts.flavour, opts.propagation_delay)
        .await
        .map_err(|e| KindCmdError::Local(Box::new(e)))?;
    Ok(KindClusters { prepared, origin })
}

fn names(clusters: &[ClusterSpec]) -> String {
    let v: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    v.join(", ")
}

/// The kubeconfig, or `None` when there is none yet (kind will write it).
fn read_kubeconfig(path: Option<&Path>) -> Option<Kubeconfig> {
    crate::fleet::read_kubeconfig(path).ok()
}

/// A client for the cluster's context when it answers `/version`, else why not.
async fn answers(kc: Option<&Kubeconfig>, spec: &ClusterSpec) -> Result<Client, String> {
    let ctx = spec.context();
    let kc = kc.ok_or_else(|| "no kubeconfig could be read".to_string())?;
    if !kc.contexts.iter().any(|c| c.name == ctx) {
        return Err(format!("no context {ctx} in the kubeconfig"));
    }
    let client = client_for_context(kc, &ctx)
        .await
        .map_err(|e| format!("{e}"))?;
    match tokio::time::timeout(ANSWER_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(e)) => Err(format!("context {ctx} does not answer: {e}")),
        Err(_) => Err(format!(
            "context {ctx} did not answer within {}s",
            ANSWER_TIMEOUT.as_secs()
        )),
    }
}
