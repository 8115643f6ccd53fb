//! [`ClusterName`]: the logical name of a cluster (`a`, `b`, `k3s-1`), as scenarios declare it
//! and the fleet binds it. One validated type instead of bare strings where names flow from the
//! command line and providers into the registry.
//!
//! The rule is the scenario's: a DNS-1123 label (at most 63 lowercase letters, digits and
//! `-`, starting and ending with a letter or digit). The name ends up in label values
//! (`multicluster.kubernetes.io/source-cluster`), kubeconfig context names and report ids, and
//! a label is valid in all of them (Kubernetes "Object Names and IDs": RFC 1123 label names).
//! Requiring it of logical names is a choice of the harness; the kubeconfig *context* a name
//! is bound to may be anything (`gke_project_zone_cluster`).

use std::fmt;

/// A logical cluster name (a DNS-1123 label).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ClusterName(String);

/// Why a string is not a cluster name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cluster name {0:?} is not a DNS-1123 label: use at most 63 lowercase letters, digits and \
     '-', starting and ending with a letter or digit"
)]
pub struct ClusterNameError(pub String);

impl ClusterName {
    /// Checks `name` against the rule.
    pub fn new(name: impl Into<String>) -> Result<ClusterName, ClusterNameError> {
        let name = name.into();
        match is_label(&name) {
            true => Ok(ClusterName(name)),
            false => Err(ClusterNameError(name)),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `s` is a DNS-1123 label.
pub fn is_label(s: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(ok_char)
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl fmt::Display for ClusterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ClusterName {
    type Err = ClusterNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClusterName::new(s)
    }
}

impl std::ops::Deref for ClusterName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ClusterName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ClusterName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ClusterName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ClusterName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<ClusterName> for String {
    fn from(n: ClusterName) -> String {
        n.0
    }
}

impl<'de> serde::Deserialize<'de> for ClusterName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ClusterName::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_names_everything_else_is_refused() {
        for ok in ["a", "b", "k3s-1", "cluster-2", &"x".repeat(63)] {
            assert_eq!(ClusterName::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "A",
            "-a",
            "a-",
            "gke_proj_zone_c1",
            "a.b",
            &"x".repeat(64),
        ] {
            let err = ClusterName::new(bad).unwrap_err();
            assert!(err.to_string().contains("DNS-1123"), "{err}");
        }
    }

    #[test]
    fn serde_checks_and_is_a_plain_string() {
        let n: ClusterName = serde_json::from_str("\"a\"").unwrap();
        assert_eq!(n, "a");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"a\"");
        assert!(serde_json::from_str::<ClusterName>("\"Bad\"").is_err());
    }
}
