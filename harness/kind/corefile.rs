//! Pure, idempotent edits of the CoreDNS Corefile so that `clusterset.local` resolves.
//!
//! - Upstream flavour: the `multicluster clusterset.local` line of the CoreDNS
//!   [multicluster plugin](https://github.com/coredns/multicluster) inside the `.:53 {`
//!   server block. The plugin is external: the CoreDNS image must be built with it.
//! - GKE flavour: a `clusterset.local:53 { … }` server block whose `hosts` plugin holds
//!   inline records between two marker comments; the importer (`--coredns-records`, or
//!   in-process for `run --provider kind`) keeps one line per ClusterSetIP there and the
//!   `reload` plugin picks up changes of the ConfigMap.

use mcs_importer::Flavour;

/// The plugin line added for the upstream flavour.
pub const MULTICLUSTER_LINE: &str = "multicluster clusterset.local";
/// The first line of the server block added for the GKE flavour.
pub const CLUSTERSET_BLOCK_HEADER: &str = "clusterset.local:53 {";
/// Marker comments around the records of the GKE flavour, which the importer maintains
/// (`mcs_importer::dns`).
pub use mcs_importer::dns::{RECORDS_BEGIN, RECORDS_END};

/// Errors of Corefile edits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CorefileError {
    /// The Corefile has no `.:53 {` server block to add the plugin to.
    #[error("the Corefile has no `.:53 {{` server block to add `{MULTICLUSTER_LINE}` to")]
    NoRootBlock,
}

/// The text added to the Corefile for `flavour` (shown by `--dry-run`).
pub fn stanza(flavour: Flavour) -> String {
    match flavour {
        Flavour::Upstream => format!("    {MULTICLUSTER_LINE}\n"),
        Flavour::Gke => format!(
            "{CLUSTERSET_BLOCK_HEADER}\n    errors\n    hosts /etc/hosts clusterset.local {{\n        \
             {RECORDS_BEGIN}\n        {RECORDS_END}\n        ttl 5\n        no_reverse\n    }}\n    \
             cache 5\n    reload\n}}\n"
        ),
    }
}

/// Whether `corefile` already carries the stanza of `flavour`.
pub fn has_stanza(corefile: &str, flavour: Flavour) -> bool {
    let wanted = match flavour {
        Flavour::Upstream => MULTICLUSTER_LINE,
        Flavour::Gke => CLUSTERSET_BLOCK_HEADER,
    };
    corefile.lines().any(|l| l.trim() == wanted)
}

/// `corefile` with the stanza of `flavour` added, or `None` when it is already there.
pub fn with_stanza(corefile: &str, flavour: Flavour) -> Result<Option<String>, CorefileError> {
    if has_stanza(corefile, flavour) {
        return Ok(None);
    }
    match flavour {
        Flavour::Upstream => {
            let mut out = String::with_capacity(corefile.len() + 40);
            let mut added = false;
            for line in corefile.split_inclusive('\n') {
                out.push_str(line);
                if !added && is_root_block(line) {
                    if !line.ends_with('\n') {
                        out.push('\n');
                    }
                    out.push_str(&stanza(flavour));
                    added = true;
                }
            }
            if !added {
                return Err(CorefileError::NoRootBlock);
            }
            Ok(Some(out))
        }
        Flavour::Gke => {
            let mut out = corefile.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&stanza(flavour));
            Ok(Some(out))
        }
    }
}

/// `.:53 {` (also `. {` and `.:53{`), the server block for every zone.
fn is_root_block(line: &str) -> bool {
    let compact: String = line.split_whitespace().collect();
    compact == ".:53{" || compact == ".{"
}

/// A stable 64-bit FNV-1a digest of `text`, in hex: the Deployment annotation value that
/// restarts CoreDNS when the Corefile changes.
pub fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// kind's (kubeadm's) CoreDNS objects, `[ConfigMap, Deployment]`, from the fixture the
    /// CLI tests and the benchmark use too.
    pub(crate) fn kind_coredns() -> Vec<serde_json::Value> {
        let text = include_str!("../../fixtures/kind/coredns.yaml");
        serde_saphyr::from_multiple(text).unwrap()
    }

    /// kind's (kubeadm's) default Corefile.
    pub(crate) fn kind_corefile() -> String {
        kind_coredns()[0]["data"]["Corefile"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn upstream_line_goes_into_root_block_once() {
        let once = with_stanza(&kind_corefile(), Flavour::Upstream)
            .unwrap()
            .unwrap();
        assert!(once.starts_with(".:53 {\n    multicluster clusterset.local\n    errors\n"));
        assert_eq!(once.matches(MULTICLUSTER_LINE).count(), 1);
        assert_eq!(with_stanza(&once, Flavour::Upstream).unwrap(), None);
    }

    #[test]
    fn gke_block_is_appended_once() {
        let once = with_stanza(&kind_corefile(), Flavour::Gke)
            .unwrap()
            .unwrap();
        assert!(once.starts_with(&kind_corefile()));
        assert!(once.ends_with(&stanza(Flavour::Gke)));
        assert_eq!(once.matches(CLUSTERSET_BLOCK_HEADER).count(), 1);
        assert_eq!(with_stanza(&once, Flavour::Gke).unwrap(), None);
    }

    #[test]
    fn missing_root_block_is_an_error() {
        let err = with_stanza("example.org {\n}\n", Flavour::Upstream).unwrap_err();
        assert_eq!(err, CorefileError::NoRootBlock);
    }

    #[test]
    fn digest_is_stable_and_sensitive() {
        assert_eq!(digest("a"), digest("a"));
        assert_ne!(digest("a"), digest("b"));
        assert_eq!(digest("").len(), 16);
    }
}
