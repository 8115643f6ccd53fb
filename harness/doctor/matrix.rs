//! The fault matrix on the embedded fleet: for each diagnosis id the fleet can produce, the
//! mcs-basic recipe with that one fault, its observable effect waited for, then one
//! `diagnose` whose first broken link must be exactly that id — in both flavours where the
//! fault applies. `dns-nxdomain` is not producible here (the sim's DNS answers from the very
//! ServiceImport the doctor reads, so NXDOMAIN means `import-missing`, named first).
//! `importer-permission-denied` is produced in both flavours: the importer is denied reading
//! Endpoints (GKE) or EndpointSlices (upstream) in a and says so in Warning Events.
//!
//! Importer-owned links are broken the way RBAC would break them: a sim Fault denies the
//! importer's writes in cluster b, so it keeps reconciling while b's objects stay as they
//! were (hand-edited objects are no good here: the upstream importer rewrites them at once).
//!
//! Windows: cases whose fault is young on purpose use the CLI's default window (5m); cases
//! that break importer-owned links use a zero window, since everything on a fresh fleet is
//! seconds old and would (rightly) read as `propagating`.
//!
//! The cases live in `matrix_service` (exporting side) and `matrix_import` (importing side,
//! importer, DNS, HTTP, propagation); this file holds their shared steps and the test list.

use std::time::Duration;

use mcs_importer::Flavour;
use serde_json::json;

use super::recipe::{NS, Recipe, SVC, wait_local_endpoints};

pub(super) const NOW: Duration = Duration::ZERO;
/// The embedded importer's identity.
pub(super) use crate::fleet::IMPORTER_USER;

pub(super) fn derived(flavour: Flavour) -> String {
    flavour.derived_name(NS, SVC)
}

pub(super) async fn started(fl: Flavour) -> Recipe {
    Recipe::start(fl, true, Duration::ZERO).await
}

/// Namespace in a and b, app and export in a, a's pods ready (the import is not awaited).
pub(super) async fn exported(r: &Recipe) {
    r.namespace(&r.a).await;
    r.namespace(&r.b).await;
    r.app(&r.a, |_, _| {}).await;
    r.export(&r.a).await;
    wait_local_endpoints(&r.a).await;
}

/// A Fault in `c` forbidding the importer to write `resources`: it keeps running and
/// reconciling, but what it would change there stays as it was (as with missing RBAC).
pub(super) async fn deny_writes(r: &Recipe, c: &kube::Client, name: &str, resources: &[&str]) {
    let deny = json!({"deny": {"user": IMPORTER_USER, "verbs": ["create", "patch", "update", "delete"], "resources": resources}});
    r.fault(c, name, deny).await;
}

/// What the importer writes the imported addresses into.
pub(super) fn endpoint_resource(fl: Flavour) -> &'static str {
    match fl {
        Flavour::Gke => "endpoints",
        Flavour::Upstream => "endpointslices",
    }
}

use super::matrix_import::*;
use super::matrix_service::*;

macro_rules! flavour_tests {
    ($module:ident, $flavour:expr, [$($case:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($flavour).await
                }
            )*
        }
    };
}

flavour_tests!(
    gke,
    mcs_importer::Flavour::Gke,
    [
        healthy,
        keeps_existing_probe_pod,
        service_missing,
        external_name,
        selector_matches_nothing,
        pods_not_ready,
        export_not_exported,
        export_conflict,
        namespace_missing,
        import_missing,
        import_inconsistent,
        derived_service_missing,
        endpoints_empty,
        endpoints_stale,
        importer_down,
        importer_absent,
        importer_permission_denied,
        dns_failed,
        unreachable,
        propagating,
    ]
);

flavour_tests!(
    upstream,
    mcs_importer::Flavour::Upstream,
    [
        healthy,
        service_missing,
        external_name,
        selector_matches_nothing,
        pods_not_ready,
        export_not_exported,
        export_conflict,
        namespace_missing,
        import_missing,
        import_inconsistent,
        derived_service_missing,
        endpoints_empty,
        endpoints_stale,
        importer_down,
        importer_absent,
        importer_permission_denied,
        dns_failed,
        dns_wrong_answer,
        unreachable,
        propagating,
    ]
);
