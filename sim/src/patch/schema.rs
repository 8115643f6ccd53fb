//! Merge-key schema: the `patchStrategy`/`patchMergeKey` struct tags (strategic
//! merge patch) and `listType`/`listMapKey`/`mapType` markers (server-side
//! apply) of the Kubernetes types this project uses, as lookup tables.
//!
//! A field is addressed by its path of field names from the object root, list
//! indices skipped (`spec.template.spec.containers.ports`). Adding a rule is a
//! one-line change to one of the tables below. Anything not listed is a
//! granular map (objects) or an atomic, replace-on-patch list (arrays).

use super::KindContext;

/// How a field merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// List of objects merged by key: `smp` is the strategic-merge `patchMergeKey`,
    /// `ssa` the server-side-apply `listMapKey`s.
    Keyed {
        smp: &'static str,
        ssa: &'static [&'static str],
    },
    /// List of scalars with set semantics (`patchStrategy: merge`, `listType: set`).
    Set,
    /// Struct with `patchStrategy: retainKeys`; merges like a map, and clients
    /// send `$retainKeys` for it.
    RetainKeys,
    /// Map or struct that server-side apply owns as a whole (`mapType`/`structType: atomic`).
    Atomic,
}

/// Builds a [`Rule::Keyed`] whose SSA keys default to the SMP merge key.
macro_rules! by {
    ($key:literal) => {
        Rule::Keyed {
            smp: $key,
            ssa: &[$key],
        }
    };
    ($key:literal, [$($ssa:literal),+]) => {
        Rule::Keyed {
            smp: $key,
            ssa: &[$($ssa),+],
        }
    };
}

/// ObjectMeta: applies to every object, built-in or custom.
const META: &[(&str, Rule)] = &[
    ("metadata.ownerReferences", by!("uid")),
    ("metadata.finalizers", Rule::Set),
];

/// Applies to every built-in kind.
const BUILTIN: &[(&str, Rule)] = &[("status.conditions", by!("type"))];

/// Per built-in kind: (group, kind, path, rule).
const KINDS: &[(&str, &str, &str, Rule)] = &[
    (
        "",
        "Service",
        "spec.ports",
        by!("port", ["port", "protocol"]),
    ),
    ("", "Service", "spec.selector", Rule::Atomic),
    ("", "Node", "status.addresses", by!("type")),
    ("apps", "Deployment", "spec.strategy", Rule::RetainKeys),
    ("apps", "Deployment", "spec.selector", Rule::Atomic),
    ("apps", "ReplicaSet", "spec.selector", Rule::Atomic),
    ("apps", "StatefulSet", "spec.selector", Rule::Atomic),
    ("apps", "DaemonSet", "spec.selector", Rule::Atomic),
    ("batch", "Job", "spec.selector", Rule::Atomic),
];

/// Where a PodSpec sits inside each built-in kind: (group, kind, prefix).
const POD_SPEC_ROOTS: &[(&str, &str, &str)] = &[
    ("", "Pod", "spec"),
    ("", "PodTemplate", "template.spec"),
    ("", "ReplicationController", "spec.template.spec"),
    ("apps", "Deployment", "spec.template.spec"),
    ("apps", "ReplicaSet", "spec.template.spec"),
    ("apps", "StatefulSet", "spec.template.spec"),
    ("apps", "DaemonSet", "spec.template.spec"),
    ("batch", "Job", "spec.template.spec"),
    ("batch", "CronJob", "spec.jobTemplate.spec.template.spec"),
];

/// PodSpec fields, relative to the PodSpec.
const POD_SPEC: &[(&str, Rule)] = &[
    ("containers", by!("name")),
    ("initContainers", by!("name")),
    ("ephemeralContainers", by!("name")),
    ("volumes", by!("name")),
    ("imagePullSecrets", by!("name")),
    ("hostAliases", by!("ip")),
    (
        "topologySpreadConstraints",
        by!("topologyKey", ["topologyKey", "whenUnsatisfiable"]),
    ),
    ("resourceClaims", by!("name")),
    ("schedulingGates", by!("name")),
    ("nodeSelector", Rule::Atomic),
];

/// The PodSpec lists whose items are containers.
const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// Container fields, relative to one container.
const CONTAINER: &[(&str, Rule)] = &[
    ("ports", by!("containerPort", ["containerPort", "protocol"])),
    ("env", by!("name")),
    ("volumeMounts", by!("mountPath")),
    ("volumeDevices", by!("devicePath")),
    ("resizePolicy", by!("resourceName")),
];

/// Defaults of list-map key fields, used when an item omits the key.
const KEY_DEFAULTS: &[(&str, &str)] = &[("protocol", "TCP")];

/// The rule for the field at `path` (field names from the object root), if any.
pub(crate) fn lookup(ctx: &KindContext, path: &[String]) -> Option<Rule> {
    if path.is_empty() {
        return None;
    }
    let joined = path.join(".");
    let found = find(META, &joined);
    if found.is_some() || !ctx.builtin {
        return found;
    }
    find(BUILTIN, &joined)
        .or_else(|| {
            KINDS
                .iter()
                .find(|(g, k, p, _)| *g == ctx.group && *k == ctx.kind && *p == joined)
                .map(|(_, _, _, rule)| *rule)
        })
        .or_else(|| lookup_pod_spec(ctx, &joined))
}

/// The default value of list-map key field `field`, if it has one.
pub(crate) fn key_default(field: &str) -> Option<&'static str> {
    KEY_DEFAULTS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, value)| *value)
}

fn find(table: &[(&str, Rule)], path: &str) -> Option<Rule> {
    table
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, rule)| *rule)
}

fn lookup_pod_spec(ctx: &KindContext, joined: &str) -> Option<Rule> {
    POD_SPEC_ROOTS
        .iter()
        .filter(|(g, k, _)| *g == ctx.group && *k == ctx.kind)
        .find_map(|(_, _, prefix)| {
            let rel = joined.strip_prefix(prefix)?.strip_prefix('.')?;
            find(POD_SPEC, rel).or_else(|| {
                CONTAINER_LISTS.iter().find_map(|list| {
                    let field = rel.strip_prefix(list)?.strip_prefix('.')?;
                    find(CONTAINER, field)
                })
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(group: &'a str, kind: &'a str, builtin: bool) -> KindContext<'a> {
        KindContext {
            group,
            version: "v1",
            kind,
            builtin,
        }
    }

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn pod_spec_rules_apply_under_every_template_root() {
        let cases = [
            (ctx("", "Pod", true), "spec.containers"),
            (
                ctx("apps", "Deployment", true),
                "spec.template.spec.containers",
            ),
            (
                ctx("batch", "CronJob", true),
                "spec.jobTemplate.spec.template.spec.containers",
            ),
        ];
        for (c, p) in cases {
            assert_eq!(lookup(&c, &path(p)), Some(by!("name")), "{p}");
        }
        let deploy = ctx("apps", "Deployment", true);
        assert_eq!(
            lookup(&deploy, &path("spec.template.spec.initContainers.ports")),
            Some(by!("containerPort", ["containerPort", "protocol"]))
        );
        assert_eq!(
            lookup(&deploy, &path("spec.template.spec.containers.env")),
            Some(by!("name"))
        );
        assert_eq!(
            lookup(&deploy, &path("spec.template.spec.volumes")),
            Some(by!("name"))
        );
        assert_eq!(lookup(&deploy, &path("spec.containers")), None);
    }

    #[test]
    fn kind_specific_and_generic_rules() {
        let svc = ctx("", "Service", true);
        assert_eq!(
            lookup(&svc, &path("spec.ports")),
            Some(by!("port", ["port", "protocol"]))
        );
        assert_eq!(lookup(&svc, &path("spec.selector")), Some(Rule::Atomic));
        assert_eq!(lookup(&svc, &path("status.conditions")), Some(by!("type")));
        let deploy = ctx("apps", "Deployment", true);
        assert_eq!(
            lookup(&deploy, &path("spec.strategy")),
            Some(Rule::RetainKeys)
        );
        assert_eq!(
            lookup(&deploy, &path("metadata.finalizers")),
            Some(Rule::Set)
        );
        assert_eq!(lookup(&deploy, &path("spec.replicas")), None);
    }

    #[test]
    fn custom_resources_only_get_object_meta_rules() {
        let cr = ctx("example.com", "Deployment", false);
        assert_eq!(
            lookup(&cr, &path("metadata.ownerReferences")),
            Some(by!("uid"))
        );
        assert_eq!(lookup(&cr, &path("status.conditions")), None);
        assert_eq!(lookup(&cr, &path("spec.template.spec.containers")), None);
    }

    #[test]
    fn protocol_defaults_to_tcp() {
        assert_eq!(key_default("protocol"), Some("TCP"));
        assert_eq!(key_default("name"), None);
    }
}
