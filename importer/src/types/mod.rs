//! Custom resource types the importer reads and writes, with `kube::CustomResource` derives,
//! and the CRD manifests generated from them (checked into `fixtures/crds/`).
//!
//! - [`gke`]: `net.gke.io/v1` ServiceExport / ServiceImport (GKE flavour)
//! - [`upstream`]: `multicluster.x-k8s.io/v1alpha1` ServiceExport / ServiceImport (KEP-1645)
//! - [`about`]: `about.k8s.io/v1alpha1` ClusterProperty (KEP-2149)
//! - [`common`]: ports, import type and cluster status shared by both flavours
//! - [`conditions`]: ServiceExport condition types and `meta.SetStatusCondition`-style updates
//! - [`crds`], [`crd_yaml`], [`fixture_files`]: the generated manifests

pub mod about;
pub mod common;
pub mod conditions;
mod crd;
pub mod gke;
pub mod upstream;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod reference_tests;

pub use common::{ClusterStatus, ServiceImportType, ServicePort};
pub use crd::{Error, FIXTURE_HEADER, Result, crd_yaml, crds, crds_for, fixture_files};
