//! The namespaces the harness never writes to unless `--allow-namespace` names them: one
//! list for scenario validation, the engine, `gc` and the doctor's probe pods.
//!
//! `default` and `kube-system` belong to the cluster itself (Kubernetes creates them;
//! kubernetes.io "Namespaces": "initial namespaces"); `gke-mcs` is where GKE runs its MCS
//! importer (gke-reality.md: the `gke-mcs-importer` Deployment and service account live
//! there). Refusing them is a choice of the harness, not an API rule.

/// Namespaces the harness refuses to touch unless the user allows them.
pub const PROTECTED_NAMESPACES: [&str; 3] = ["default", "kube-system", "gke-mcs"];

/// Whether `ns` is one of [`PROTECTED_NAMESPACES`].
pub fn is_protected(ns: &str) -> bool {
    PROTECTED_NAMESPACES.contains(&ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_and_gke_namespaces_are_protected() {
        for ns in ["default", "kube-system", "gke-mcs"] {
            assert!(is_protected(ns), "{ns}");
        }
        assert!(!is_protected("kube-public"));
        assert!(!is_protected("mcs-basic-r1"));
    }
}
