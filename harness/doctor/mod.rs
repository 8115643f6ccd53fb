//! The doctor: walks the MCS chain per cluster and names the first broken link with
//! evidence and remedy (DESIGN §7).
//!
//! Layout: [`diagnose`] (in `api`) reads the facts (`gather`, `gather_importer`), judges
//! them (`judge`, with the links in `links_export`, `links_import`, `links_runtime`, the
//! remedies in `remedy`), and runs the DNS and HTTP links from probe pods (`probes`) when
//! every earlier link holds; [`render_table`] prints the result; [`gcloud`] adds optional
//! GKE checks for the command line. Diagnosis ids, titles and remedies live in one table
//! (`id`, [`DiagnosisId`]); the upstream flavour judges by the profile of the KEP-1645
//! implementation in use (`profile`, [`Implementation`]), read at the MCS API version each
//! cluster serves (`gather_upstream`).

mod model;

mod api;
mod facts;
mod gather;
mod gather_importer;
mod gather_upstream;
pub mod gcloud;
pub mod gcloud_fleet;
mod id;
mod judge;
mod links_export;
mod links_import;
mod links_runtime;
mod probes;
mod profile;
mod remedy;
mod render;

#[cfg(test)]
mod cli_tests;
#[cfg(test)]
mod gcloud_tests;
#[cfg(test)]
mod matrix;
#[cfg(test)]
mod matrix_import;
#[cfg(test)]
mod matrix_service;
#[cfg(test)]
mod output_tests;
#[cfg(test)]
mod recipe;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_gke;
#[cfg(test)]
mod tests_profiles;
#[cfg(test)]
mod tests_refine;

pub use api::{
    DEFAULT_PROBE_TIMEOUT, DEFAULT_PROPAGATION_WINDOW, DoctorError, FIRST_SERVICE_WINDOW, Options,
    PROTECTED_NAMESPACES, Result, Target, diagnose,
};
pub use gather_upstream::served_apis;
pub use id::{DiagnosisId, UnknownDiagnosis};
pub use judge::LINKS;
pub use model::{CheckState, Diagnosis, Evidence, LinkCheck};
pub use profile::{Implementation, ProfileChoice};
pub use remedy::{NETWORK_VIEWER, gke_importer_member, iam_grant_command};
pub use render::render_table;
