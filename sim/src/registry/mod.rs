//! The resource registry: which API groups, versions and resources a cluster serves, for
//! routing, discovery and storage. Built-in resources are fixed; custom resources appear
//! and disappear with their CustomResourceDefinitions.

mod builtin;
mod crd;
mod def;

pub use builtin::REVIEW_GROUPS;
pub use crd::defs_from_crd;
pub use def::{Conversion, Registry, ResourceDef};
