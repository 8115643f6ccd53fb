//! The doctor's diagnosis ids: one enum, and one table giving each its stable string id (the
//! wire form in JSON reports and `expectFailure.diagnosis`), a title and its remedy. Nothing
//! else lists the ids: the scenario validator, the README check and the remedies all read
//! [`DiagnosisId::ALL`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::remedy::{self, Scope};

/// A broken (or still propagating) link of the MCS chain, in chain order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum DiagnosisId {
    /// The exported Service does not exist.
    ServiceMissing,
    /// The exported Service is of type ExternalName.
    ExternalName,
    /// The Service's selector matches no pod.
    SelectorMatchesNothing,
    /// Pods match but none is ready.
    PodsNotReady,
    /// A cluster does not serve the MCS API (ServiceExport/ServiceImport CRDs absent).
    McsNotEnabled,
    /// No export, or the export is not (yet) exported.
    ExportNotExported,
    /// Exports of the service disagree.
    ExportConflict,
    /// The namespace is missing in an importing cluster.
    NamespaceMissing,
    /// No ServiceImport in a cluster that has the namespace.
    ImportMissing,
    /// The ServiceImport or derived Service disagrees with the exports.
    ImportInconsistent,
    /// The derived Service is missing.
    DerivedServiceMissing,
    /// The imported endpoints are empty.
    EndpointsEmpty,
    /// The imported endpoints differ from what the exporting clusters call for.
    EndpointsStale,
    /// The importer is not running (stale heartbeat, no ready pod).
    ImporterDown,
    /// The importer lacks permissions.
    ImporterPermissionDenied,
    /// clusterset.local DNS answers NXDOMAIN.
    DnsNxdomain,
    /// clusterset.local DNS answers other addresses than the import's.
    DnsWrongAnswer,
    /// The cluster DNS fails (SERVFAIL, timeout).
    DnsFailed,
    /// DNS resolves but HTTP gets no answer.
    Unreachable,
    /// Consistent so far but younger than the propagation window: wait.
    Propagating,
}

/// One row of [`TABLE`].
struct Row {
    id: DiagnosisId,
    name: &'static str,
    title: &'static str,
    remedy: fn(&Scope<'_>) -> String,
}

use DiagnosisId as D;

/// The one table: id, string id, title, remedy. In chain order (the order of
/// [`DiagnosisId::ALL`] and of the scenario validator's error message).
const TABLE: [Row; 20] = [
    row(
        D::ServiceMissing,
        "service-missing",
        "the exported Service does not exist",
        remedy::service_missing,
    ),
    row(
        D::ExternalName,
        "external-name",
        "the exported Service is of type ExternalName",
        remedy::external_name,
    ),
    row(
        D::SelectorMatchesNothing,
        "selector-matches-nothing",
        "the Service's selector matches no pod",
        remedy::selector_matches_nothing,
    ),
    row(
        D::PodsNotReady,
        "pods-not-ready",
        "pods match but none is ready",
        remedy::pods_not_ready,
    ),
    row(
        D::McsNotEnabled,
        "mcs-not-enabled",
        "the cluster does not serve the MCS API",
        remedy::mcs_not_enabled,
    ),
    row(
        D::ExportNotExported,
        "export-not-exported",
        "the Service is not (yet) exported",
        remedy::export_not_exported,
    ),
    row(
        D::ExportConflict,
        "export-conflict",
        "the exports of the Service disagree",
        remedy::export_conflict,
    ),
    row(
        D::NamespaceMissing,
        "namespace-missing",
        "the namespace is missing in the consuming cluster",
        remedy::namespace_missing,
    ),
    row(
        D::ImportMissing,
        "import-missing",
        "no ServiceImport where the namespace exists",
        remedy::importer_work,
    ),
    row(
        D::ImportInconsistent,
        "import-inconsistent",
        "the imported objects disagree with the exports",
        remedy::importer_work,
    ),
    row(
        D::DerivedServiceMissing,
        "derived-service-missing",
        "the derived Service is missing",
        remedy::importer_work,
    ),
    row(
        D::EndpointsEmpty,
        "endpoints-empty",
        "the imported endpoints are empty",
        remedy::endpoints_empty,
    ),
    row(
        D::EndpointsStale,
        "endpoints-stale",
        "the imported endpoints are not what the exporters call for",
        remedy::endpoints_stale,
    ),
    row(
        D::ImporterDown,
        "importer-down",
        "the importer is not running",
        remedy::importer_down,
    ),
    row(
        D::ImporterPermissionDenied,
        "importer-permission-denied",
        "the importer lacks permissions",
        remedy::permission,
    ),
    row(
        D::DnsNxdomain,
        "dns-nxdomain",
        "clusterset.local answers NXDOMAIN",
        remedy::dns_answer,
    ),
    row(
        D::DnsWrongAnswer,
        "dns-wrong-answer",
        "clusterset.local answers other addresses than the import's",
        remedy::dns_answer,
    ),
    row(
        D::DnsFailed,
        "dns-failed",
        "the cluster DNS fails",
        remedy::dns_failed,
    ),
    row(
        D::Unreachable,
        "unreachable",
        "DNS resolves but HTTP gets no answer",
        remedy::unreachable,
    ),
    row(
        D::Propagating,
        "propagating",
        "consistent so far, younger than the propagation window",
        remedy::propagating,
    ),
];

const fn row(
    id: DiagnosisId,
    name: &'static str,
    title: &'static str,
    remedy: fn(&Scope<'_>) -> String,
) -> Row {
    Row {
        id,
        name,
        title,
        remedy,
    }
}

impl DiagnosisId {
    /// Every id, in chain order.
    pub const ALL: [DiagnosisId; 20] = {
        let mut out = [D::ServiceMissing; 20];
        let mut i = 0;
        while i < TABLE.len() {
            out[i] = TABLE[i].id;
            i += 1;
        }
        out
    };

    fn row(self) -> &'static Row {
        // TABLE lists the variants in declaration order (checked by a test).
        &TABLE[self as usize]
    }

    /// The stable string id, e.g. `endpoints-stale`.
    pub fn as_str(self) -> &'static str {
        self.row().name
    }

    /// A short title, e.g. "the imported endpoints are empty".
    pub fn title(self) -> &'static str {
        self.row().title
    }

    /// What to do about it in `scope`.
    pub fn remedy(self, scope: &Scope<'_>) -> String {
        (self.row().remedy)(scope)
    }

    /// Every string id joined with ", " (for error messages).
    pub fn list() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|d| d.as_str()).collect();
        names.join(", ")
    }
}

impl fmt::Display for DiagnosisId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a diagnosis id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown diagnosis {0:?}: expected one of {list}", list = DiagnosisId::list())]
pub struct UnknownDiagnosis(pub String);

impl FromStr for DiagnosisId {
    type Err = UnknownDiagnosis;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TABLE
            .iter()
            .find(|r| r.name == s)
            .map(|r| r.id)
            .ok_or_else(|| UnknownDiagnosis(s.to_string()))
    }
}

impl TryFrom<String> for DiagnosisId {
    type Error = UnknownDiagnosis;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<DiagnosisId> for &'static str {
    fn from(d: DiagnosisId) -> Self {
        d.as_str()
    }
}

impl From<DiagnosisId> for String {
    fn from(d: DiagnosisId) -> Self {
        d.as_str().to_string()
    }
}

impl PartialEq<str> for DiagnosisId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for DiagnosisId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<DiagnosisId> for String {
    fn eq(&self, other: &DiagnosisId) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<DiagnosisId> for &str {
    fn eq(&self, other: &DiagnosisId) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_declaration_order_and_ids_are_unique() {
        for (i, r) in TABLE.iter().enumerate() {
            assert_eq!(r.id as usize, i, "{} out of place", r.name);
            assert_eq!(r.name.parse::<DiagnosisId>(), Ok(r.id));
            assert!(!r.title.is_empty());
        }
        let unique: std::collections::BTreeSet<&str> = TABLE.iter().map(|r| r.name).collect();
        assert_eq!(unique.len(), TABLE.len());
        assert!("healthy".parse::<DiagnosisId>().is_err());
    }

    #[test]
    fn serde_uses_the_string_ids() {
        let json = serde_json::to_string(&DiagnosisId::EndpointsStale).expect("json");
        assert_eq!(json, "\"endpoints-stale\"");
        let back: DiagnosisId = serde_json::from_str("\"dns-nxdomain\"").expect("parse");
        assert_eq!(back, DiagnosisId::DnsNxdomain);
        assert!(serde_json::from_str::<DiagnosisId>("\"nope\"").is_err());
        assert_eq!(DiagnosisId::ImporterDown.to_string(), "importer-down");
    }
}
