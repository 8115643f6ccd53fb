//! `status.conditions` of the ServiceExports: the condition types each flavour owns, the
//! KEP-1645 reasons, the conditions an export's [`ExportState`] (from
//! `crate::conflict::resolve`) maps to per flavour, and how a desired set is written into
//! an object's list the way apimachinery's `meta.SetStatusCondition` does (transition time
//! kept while the status is unchanged), so reconciles are idempotent and never flap
//! `lastTransitionTime`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::{gke, upstream};

/// Condition types the upstream flavour manages on a ServiceExport.
pub const UPSTREAM_CONDITION_TYPES: [&str; 3] = [
    upstream::CONDITION_VALID,
    upstream::CONDITION_READY,
    upstream::CONDITION_CONFLICT,
];

/// Condition types the GKE flavour manages on a ServiceExport.
pub const GKE_CONDITION_TYPES: [&str; 3] = [
    gke::CONDITION_INITIALIZED,
    gke::CONDITION_EXPORTED,
    gke::CONDITION_CONFLICT,
];

/// A condition an object should carry; [`apply_conditions`] turns it into a `Condition`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredCondition {
    /// Condition type, e.g. `Valid`.
    pub type_: &'static str,
    /// `True` or `False`.
    pub status: bool,
    /// CamelCase reason (several conflict reasons are joined with commas, as the KEP allows).
    pub reason: String,
    /// Human-readable details.
    pub message: String,
}

/// KEP-1645 `Conflict` condition reasons, with the strings and order of mcs-api v0.5
/// (`pkg/apis/v1beta1/serviceexport.go`, `ServiceExportReason*Conflict`: a fact).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConflictReason {
    /// Ports collide (same name or same port/protocol, different definition), or (upstream
    /// rules) the port sets are not identical.
    Port,
    /// Headless and non-headless exports.
    Type,
    /// Different `sessionAffinity`.
    SessionAffinity,
    /// Different `sessionAffinityConfig.clientIP.timeoutSeconds`.
    SessionAffinityConfig,
    /// Different ServiceExport `spec.exportedAnnotations` (upstream rules only).
    Annotations,
    /// Different ServiceExport `spec.exportedLabels` (upstream rules only).
    Labels,
    /// Different `internalTrafficPolicy` (upstream rules only).
    InternalTrafficPolicy,
    /// Different `trafficDistribution` (upstream rules only).
    TrafficDistribution,
}

impl ConflictReason {
    /// The condition reason string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Port => "PortConflict",
            Self::Type => "TypeConflict",
            Self::SessionAffinity => "SessionAffinityConflict",
            Self::SessionAffinityConfig => "SessionAffinityConfigConflict",
            Self::Annotations => "AnnotationsConflict",
            Self::Labels => "LabelsConflict",
            Self::InternalTrafficPolicy => "InternalTrafficPolicyConflict",
            Self::TrafficDistribution => "TrafficDistributionConflict",
        }
    }
}

/// One disagreement between the exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Which property disagrees.
    pub reason: ConflictReason,
    /// What disagrees, which clusters, and which value won.
    pub message: String,
}

/// How one export fared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportState {
    /// No Service of the export's name in its cluster (`Valid=False`, `NoService`).
    NoService,
    /// The Service cannot be exported, i.e. ExternalName (`InvalidServiceType`).
    InvalidServiceType {
        /// The Service's `spec.type`.
        service_type: String,
    },
    /// Part of the import; `conflicts` lists every disagreement among the valid exports
    /// (KEP: raised on all constituent exports), empty when they agree.
    Exported {
        /// Disagreements, in [`ConflictReason`] order.
        conflicts: Vec<Conflict>,
    },
}

fn cond(type_: &'static str, status: bool, reason: &str, message: &str) -> DesiredCondition {
    DesiredCondition {
        type_,
        status,
        reason: reason.to_string(),
        message: message.to_string(),
    }
}

fn invalid_reason(state: &ExportState) -> Option<(&'static str, String)> {
    match state {
        ExportState::NoService => Some(("NoService", "Service doesn't exist".to_string())),
        ExportState::InvalidServiceType { service_type } => Some((
            "InvalidServiceType",
            format!("Service type {service_type} is not supported"),
        )),
        ExportState::Exported { .. } => None,
    }
}

/// `(reasons joined by ",", messages joined by " ")`, or `None` without conflicts.
fn conflict_summary(state: &ExportState) -> Option<(String, String)> {
    let ExportState::Exported { conflicts } = state else {
        return None;
    };
    if conflicts.is_empty() {
        return None;
    }
    let reasons: Vec<&str> = conflicts.iter().map(|c| c.reason.as_str()).collect();
    let messages: Vec<&str> = conflicts.iter().map(|c| c.message.as_str()).collect();
    Some((reasons.join(","), messages.join(" ")))
}

/// Upstream conditions: `Valid` (`Valid` / `NoService` / `InvalidServiceType`), `Ready`
/// (`Ready` / `Pending`) and, for valid exports, `Conflict` (KEP reasons / `NoConflicts`).
pub fn upstream_conditions(state: &ExportState) -> Vec<DesiredCondition> {
    if let Some((reason, message)) = invalid_reason(state) {
        return vec![
            cond(upstream::CONDITION_VALID, false, reason, &message),
            cond(
                upstream::CONDITION_READY,
                false,
                "Pending",
                "ServiceExport is not valid",
            ),
        ];
    }
    let conflict = match conflict_summary(state) {
        Some((reasons, messages)) => cond(upstream::CONDITION_CONFLICT, true, &reasons, &messages),
        None => cond(
            upstream::CONDITION_CONFLICT,
            false,
            "NoConflicts",
            "ServiceExport has no conflicts",
        ),
    };
    vec![
        cond(
            upstream::CONDITION_VALID,
            true,
            "Valid",
            "ServiceExport is valid",
        ),
        cond(
            upstream::CONDITION_READY,
            true,
            "Ready",
            "ServiceExport is ready",
        ),
        conflict,
    ]
}

/// GKE conditions: `Initialized`, `Exported` (False with the upstream reasons when the
/// Service is missing or ExternalName) and `Conflict` only while exports disagree.
pub fn gke_conditions(state: &ExportState) -> Vec<DesiredCondition> {
    let initialized = cond(
        gke::CONDITION_INITIALIZED,
        true,
        "Initialized",
        "ServiceExport is initialized",
    );
    if let Some((reason, message)) = invalid_reason(state) {
        return vec![
            initialized,
            cond(gke::CONDITION_EXPORTED, false, reason, &message),
        ];
    }
    let mut out = vec![
        initialized,
        cond(
            gke::CONDITION_EXPORTED,
            true,
            "Exported",
            "Service is exported",
        ),
    ];
    if let Some((reasons, messages)) = conflict_summary(state) {
        out.push(cond(gke::CONDITION_CONFLICT, true, &reasons, &messages));
    }
    out
}

/// Makes `conditions` carry exactly `desired` among the `managed` types (conditions of other
/// types are left alone), keeping `lastTransitionTime` while a condition's status is
/// unchanged. Returns whether anything changed (i.e. whether a status write is needed).
pub fn apply_conditions(
    conditions: &mut Vec<Condition>,
    managed: &[&str],
    desired: &[DesiredCondition],
    now: &Time,
    generation: Option<i64>,
) -> bool {
    let before = conditions.clone();
    conditions.retain(|c| {
        !managed.contains(&c.type_.as_str()) || desired.iter().any(|d| d.type_ == c.type_)
    });
    for want in desired {
        let status = if want.status { "True" } else { "False" };
        match conditions.iter_mut().find(|c| c.type_ == want.type_) {
            Some(existing) => {
                if existing.status != status {
                    existing.status = status.to_string();
                    existing.last_transition_time = now.clone();
                }
                existing.reason.clone_from(&want.reason);
                existing.message.clone_from(&want.message);
                existing.observed_generation = generation;
            }
            None => conditions.push(Condition {
                last_transition_time: now.clone(),
                message: want.message.clone(),
                observed_generation: generation,
                reason: want.reason.clone(),
                status: status.to_string(),
                type_: want.type_.to_string(),
            }),
        }
    }
    *conditions != before
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap())
    }

    fn want(type_: &'static str, status: bool, reason: &str) -> DesiredCondition {
        let (reason, message) = (reason.to_string(), format!("{type_} is {status}"));
        DesiredCondition {
            type_,
            status,
            reason,
            message,
        }
    }

    #[test]
    fn keeps_transition_time_and_foreign_types() {
        let foreign = Condition {
            last_transition_time: at(0),
            message: String::new(),
            observed_generation: None,
            reason: "X".into(),
            status: "True".into(),
            type_: "Other".into(),
        };
        let mut conditions = vec![foreign.clone()];
        let mut apply = |desired: &[DesiredCondition], now: i64, generation: i64| {
            let managed = UPSTREAM_CONDITION_TYPES;
            apply_conditions(
                &mut conditions,
                &managed,
                desired,
                &at(now),
                Some(generation),
            )
        };
        let fine = [
            want("Valid", true, "Valid"),
            want("Ready", true, "Ready"),
            want("Conflict", false, "NoConflicts"),
        ];
        assert!(apply(&fine, 1, 1));
        assert!(!apply(&fine, 2, 1), "same desired state: no change");
        let invalid = [
            want("Valid", false, "NoService"),
            want("Ready", false, "Pending"),
        ];
        assert!(apply(&invalid, 3, 2));

        let types: Vec<_> = conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            types,
            ["Other", "Valid", "Ready"],
            "Conflict removed, foreign kept"
        );
        let valid = &conditions[1];
        assert_eq!(
            (valid.status.as_str(), &valid.last_transition_time),
            ("False", &at(3))
        );
        assert_eq!(valid.observed_generation, Some(2));
        assert_eq!(conditions[0], foreign);
    }

    #[test]
    fn message_change_alone_keeps_transition_time() {
        let mut conditions = Vec::new();
        let managed = GKE_CONDITION_TYPES;
        let first = [want("Exported", true, "Exported")];
        apply_conditions(&mut conditions, &managed, &first, &at(1), None);
        let mut second = first.clone();
        second[0].message = "changed".to_string();
        assert!(apply_conditions(
            &mut conditions,
            &managed,
            &second,
            &at(2),
            None
        ));
        assert_eq!(
            (
                conditions[0].message.as_str(),
                &conditions[0].last_transition_time
            ),
            ("changed", &at(1))
        );
    }

    #[test]
    fn condition_sets_per_flavour() {
        let fine = ExportState::Exported { conflicts: vec![] };
        let upstream: Vec<_> = upstream_conditions(&fine)
            .iter()
            .map(|c| (c.type_, c.status))
            .collect();
        assert_eq!(
            upstream,
            [("Valid", true), ("Ready", true), ("Conflict", false)]
        );
        let gke: Vec<_> = gke_conditions(&fine)
            .iter()
            .map(|c| (c.type_, c.status))
            .collect();
        assert_eq!(gke, [("Initialized", true), ("Exported", true)]);
        let conflicted = ExportState::Exported {
            conflicts: vec![Conflict {
                reason: ConflictReason::Type,
                message: "m".to_string(),
            }],
        };
        let gke = gke_conditions(&conflicted);
        assert_eq!(
            (gke[2].type_, gke[2].reason.as_str()),
            ("Conflict", "TypeConflict")
        );
    }
}
