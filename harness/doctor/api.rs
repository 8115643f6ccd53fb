//! The doctor's entry point: what to diagnose ([`Target`]), how ([`Options`]), and
//! [`diagnose`], which reads the facts, judges them, and runs the DNS and HTTP probes only
//! when every earlier link holds (a broken earlier link is already the answer, and probing
//! costs a pod per cluster).

use std::time::Duration;

use mcs_importer::Flavour;

use super::model::Diagnosis;
use super::{gather, judge, probes};

/// Default propagation window: GKE documents up to 5 minutes for a first export.
pub const DEFAULT_PROPAGATION_WINDOW: Duration = Duration::from_secs(5 * 60);
/// GKE: the first MCS service of a fleet can take "up to 20 min" (gke-reality.md §1.3).
pub const FIRST_SERVICE_WINDOW: Duration = Duration::from_secs(20 * 60);
/// Default time for each probe step (probe pod start, DNS, HTTP).
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Namespaces the doctor only reads: it never puts a probe pod there (the harness-wide list).
pub use crate::protected::PROTECTED_NAMESPACES;

/// Errors of the doctor. Broken links are not errors: they are the [`Diagnosis`].
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// The target names no cluster.
    #[error("no clusters to diagnose: name at least one cluster")]
    NoClusters,
    /// A cluster could not be read.
    #[error(
        "failed to read {what} in cluster {cluster}: check that the cluster is reachable and \
         that your credentials may read it"
    )]
    Read {
        /// Logical cluster name.
        cluster: String,
        /// What was being read, e.g. `Service ns/name`.
        what: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
}

/// Result alias of the doctor.
pub type Result<T, E = DoctorError> = std::result::Result<T, E>;

/// What to diagnose: one service in one namespace across the fleet's clusters.
pub struct Target {
    /// Logical cluster name and an admin-ish client (read access; pod create/delete in the
    /// service's namespace for the probes), in the order the table shows them.
    pub clusters: Vec<(String, kube::Client)>,
    /// Which MCS API the fleet speaks.
    pub flavour: Flavour,
    /// Namespace of the Service.
    pub namespace: String,
    /// The Service (and its ServiceExport / ServiceImport).
    pub service: String,
    /// GKE fleet membership name → logical cluster name, to read `status.clusters` (empty:
    /// only memberships named like a cluster are known; the others are shown, not judged).
    pub memberships: std::collections::BTreeMap<String, String>,
    /// The cluster the service is consumed from (`--from`): a missing namespace there is
    /// `namespace-missing`; elsewhere it is an opt-out.
    pub consumer: Option<String>,
}

/// How to diagnose.
#[derive(Clone, Debug)]
pub struct Options {
    /// Image of the probe pods.
    pub probe_image: String,
    /// Run the DNS and HTTP links (needs a probe pod in every importing cluster).
    pub probes: bool,
    /// Value of the run-id label on probe pods the doctor creates (it deletes only those).
    pub run_id: String,
    /// A link the importer (or the DNS following it) has yet to make true is reported as
    /// `propagating` rather than broken while the newest object it depends on (the
    /// ServiceExports, the importing namespace, the exporting pods' last readiness change,
    /// the exported Services' last write) is younger than this. Zero: never propagating.
    pub propagation_window: Duration,
    /// Bound of each probe step: probe pod start, DNS lookup, HTTP request.
    pub probe_timeout: Duration,
    /// GKE: the propagation window while the fleet holds no other ServiceImport (the first
    /// MCS service of a fleet takes up to 20 minutes, gke-reality.md §1.3). Widens, never
    /// narrows, `propagation_window`; ignored when that is zero. Zero: off.
    pub first_service_window: Duration,
    /// Upstream: the implementation profile to judge by (`--implementation`); `None`:
    /// detected from the objects (see `profile`).
    pub implementation: Option<super::profile::Implementation>,
}

impl Default for Options {
    fn default() -> Self {
        let ms = jiff::Timestamp::now().as_millisecond();
        Self {
            probe_image: crate::probe::DEFAULT_PROBE_IMAGE.to_string(),
            probes: true,
            run_id: format!("doctor-{}-{ms}", std::process::id()),
            propagation_window: DEFAULT_PROPAGATION_WINDOW,
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            first_service_window: Duration::ZERO,
            implementation: None,
        }
    }
}

/// Walks the MCS chain of `target` and returns every link's state and the first broken one.
///
/// Reads every cluster concurrently (read-only, with retries of transient API errors); when
/// all links up to the importer hold and `opts.probes` is set, runs DNS and HTTP from a
/// probe pod in the service's namespace of each importing cluster (never in
/// [`PROTECTED_NAMESPACES`]), deleting the probe pods it created. Errors only when a
/// cluster cannot be read at all.
pub async fn diagnose(target: &Target, opts: &Options) -> Result<Diagnosis> {
    if target.clusters.is_empty() {
        return Err(DoctorError::NoClusters);
    }
    let mut facts = gather::gather(target).await?;
    facts.implementation = opts.implementation;
    let window = effective_window(&facts, opts);
    let before = judge::judge(&facts, window);
    let protected = PROTECTED_NAMESPACES.contains(&target.namespace.as_str());
    let skipped = match (opts.probes, before.is_healthy(), protected) {
        (false, _, _) => Some("probes disabled"),
        (true, false, _) => Some("not probed: an earlier link does not hold"),
        (true, true, true) => Some("not probed: the doctor creates no pod in this namespace"),
        (true, true, false) => None,
    };
    match skipped {
        Some(reason) => {
            for c in &mut facts.clusters {
                c.probes.skipped = Some(reason.to_string());
            }
        }
        None => probes::run(target, opts, &mut facts).await,
    }
    Ok(judge::judge(&facts, window))
}

/// The propagation window for `facts`: widened to `first_service_window` on a GKE fleet
/// that holds no other ServiceImport.
pub(crate) fn effective_window(facts: &super::facts::Facts, opts: &Options) -> Duration {
    let w = opts.propagation_window;
    match facts.flavour == Flavour::Gke && facts.first_service() && !w.is_zero() {
        true => w.max(opts.first_service_window),
        false => w,
    }
}
