//! Validation: turns a [`ScenarioDoc`] into a [`Scenario`], checking cluster references,
//! durations, expressions, templates, fixture files and the one-action-per-step rule.
//! Every error carries the position of the offending node.

// The one DNS-1123 label rule (cluster names use it too).
use crate::fleet::is_dns_label as is_label;
use serde_saphyr::{Location, Spanned};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::expr::Expr;
use super::model::*;
use super::template::{Vars, render};
use super::{Action, Scenario, ScenarioError, Step, Timeouts};
use crate::doctor::DiagnosisId;
use crate::duration::parse_duration;

#[path = "validate_net.rs"]
mod net;

/// Default for `timeouts.default`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default for `timeouts.step`.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Validation context: where the file is, which clusters it declares, what is allowed.
pub(super) struct Ctx {
    pub origin: String,
    pub base: Option<PathBuf>,
    pub clusters: Vec<String>,
    pub opts: super::LoadOptions,
    /// Fixture files must lie inside this directory (the project root), unless allowed.
    pub root: Option<PathBuf>,
}

impl Ctx {
    pub fn err(&self, loc: &Location, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            origin: self.origin.clone(),
            line: loc.line(),
            column: loc.column(),
            message: message.into(),
        }
    }

    fn cluster(&self, c: &SpannedStr) -> Result<(), ScenarioError> {
        if self.clusters.contains(&c.value) {
            return Ok(());
        }
        let msg = format!(
            "cluster {:?} is not declared in clusters: [{}]; add it there or fix the name",
            c.value,
            self.clusters.join(", ")
        );
        Err(self.err(&c.referenced, msg))
    }

    fn clusters_all(&self, cs: Option<&Vec<SpannedStr>>) -> Result<(), ScenarioError> {
        cs.into_iter().flatten().try_for_each(|c| self.cluster(c))
    }

    fn duration(&self, d: &SpannedStr) -> Result<Duration, ScenarioError> {
        parse_duration(&d.value).map_err(|e| self.err(&d.referenced, e))
    }

    fn template(&self, t: &SpannedStr) -> Result<(), ScenarioError> {
        render(&t.value, &Vars::placeholder())
            .map(drop)
            .map_err(|e| self.err(&t.referenced, e.to_string()))
    }

    /// Checks that a manifest renders to YAML documents with apiVersion, kind and
    /// metadata.name. `at` is where the manifest's first line starts in the scenario
    /// (None for fixture files: positions are then the fixture's own).
    fn manifest_docs(&self, t: &SpannedStr, at: Option<&Location>) -> Result<(), ScenarioError> {
        let text = render(&t.value, &Vars::placeholder())
            .map_err(|e| self.err(&t.referenced, e.to_string()))?;
        let options = serde_saphyr::options! { legacy_octal_numbers: true };
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple_with_options(&text, options)
            .map_err(|e| {
                let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                let raw = e.without_snippet().to_string();
                let suffix = format!(" at line {line}, column {col}");
                let msg = raw.strip_suffix(&suffix).unwrap_or(&raw);
                let (line, column) = match at {
                    Some(a) => (a.line() + line - 1, a.column() - 1 + col),
                    None => (line, col),
                };
                let message = match at {
                    Some(_) => format!("manifest is not valid YAML: {msg}"),
                    None => format!("not valid YAML at its line {line}, column {column}: {msg}"),
                };
                self.err(&t.referenced, message)
                    .at(at.map(|_| (line, column)))
            })?;
        for (i, d) in docs.iter().filter(|d| !d.is_null()).enumerate() {
            let ok = d["apiVersion"].is_string()
                && d["kind"].is_string()
                && d["metadata"]["name"].is_string();
            if !ok {
                let msg = format!(
                    "manifest document {} needs apiVersion, kind and metadata.name",
                    i + 1
                );
                return Err(self.err(&t.referenced, msg));
            }
            let ns = match (d["apiVersion"].as_str(), d["kind"].as_str()) {
                (Some("v1"), Some("Namespace")) => d["metadata"]["name"].as_str(),
                _ => d["metadata"]["namespace"].as_str(),
            };
            if let Some(ns) = ns {
                self.namespace_allowed(ns, &t.referenced)
                    .map_err(|e| e.at(at.map(|a| (a.line(), a.column()))))?;
            }
        }
        Ok(())
    }

    /// Refuses a protected namespace (kube-system, gke-mcs, default) unless allowed.
    fn namespace_allowed(&self, ns: &str, at: &Location) -> Result<(), ScenarioError> {
        let protected = super::PROTECTED_NAMESPACES.contains(&ns);
        if !protected || self.opts.allow_namespaces.iter().any(|a| a == ns) {
            return Ok(());
        }
        let msg = format!(
            "namespace {ns:?} is protected: the harness never touches kube-system, gke-mcs or default; use another namespace, or pass --allow-namespace {ns} if you mean it"
        );
        Err(self.err(at, msg))
    }

    /// Refuses a fixture outside the project root unless `--allow-outside-files`.
    fn inside_root(&self, path: &Path, file: &SpannedStr) -> Result<(), ScenarioError> {
        if self.opts.allow_outside_files {
            return Ok(());
        }
        let Some(root) = &self.root else {
            return Ok(());
        };
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let (path, root) = (canon(path), canon(root));
        // The current directory is the user's choice of project too (fixtures are looked up
        // there last).
        let cwd = std::env::current_dir().ok().map(|d| canon(&d));
        if path.starts_with(&root) || cwd.is_some_and(|d| path.starts_with(d)) {
            return Ok(());
        }
        let msg = format!(
            "fixture file {:?} resolves to {}, outside the scenario's project root {}: keep fixtures inside the project, or pass --allow-outside-files",
            file.value,
            path.display(),
            root.display()
        );
        Err(self.err(&file.referenced, msg))
    }
}

/// Validates the whole document.
pub(super) fn scenario(
    doc: ScenarioDoc,
    origin: &str,
    base: Option<PathBuf>,
    opts: &super::LoadOptions,
) -> Result<Scenario, ScenarioError> {
    let root = base.as_deref().map(project_root);
    let mut ctx = Ctx {
        origin: origin.to_string(),
        base,
        clusters: Vec::new(),
        opts: opts.clone(),
        root,
    };
    label(&ctx, &doc.name, "scenario name")?;
    ctx.clusters = clusters(&ctx, &doc.clusters)?;
    let labels = super::labels::validate(&ctx, doc.labels.as_ref())?;
    let duration = |d: &Option<SpannedStr>, dflt| {
        d.as_ref()
            .map(|d| ctx.duration(d))
            .transpose()
            .map(|d| d.unwrap_or(dflt))
    };
    let timeouts = Timeouts {
        default: duration(&doc.timeouts.default, DEFAULT_TIMEOUT)?,
        step: duration(&doc.timeouts.step, DEFAULT_STEP_TIMEOUT)?,
    };
    if let Some(ns) = &doc.namespace
        && let NamespacePolicy::Fixed { name } = &ns.value
        && !is_label(name)
    {
        let msg = format!(
            "namespace {name:?} is not a DNS-1123 label: use lowercase letters, digits and '-'"
        );
        return Err(ctx.err(&ns.referenced, msg));
    }
    if let Some(ns) = &doc.namespace
        && let NamespacePolicy::Fixed { name } = &ns.value
    {
        ctx.namespace_allowed(name, &ns.referenced)?;
    }
    if let Some(ns) = &doc.namespace
        && let NamespacePolicy::Fresh {
            create_in: Some(cs),
        } = &ns.value
        && let Some(bad) = cs.iter().find(|c| !ctx.clusters.contains(c))
    {
        let msg = format!(
            "namespace.createIn names cluster {bad:?}, which is not declared in clusters: [{}]",
            ctx.clusters.join(", ")
        );
        return Err(ctx.err(&ns.referenced, msg));
    }
    if doc.steps.value.is_empty() {
        return Err(ctx.err(
            &doc.steps.referenced,
            "steps is empty: add at least one step, e.g. `- apply: {cluster: a, file: ...}`",
        ));
    }
    let steps = doc
        .steps
        .value
        .into_iter()
        .map(|s| step(&ctx, s, false))
        .collect::<Result<Vec<_>, _>>()?;
    probe_order(&ctx, &steps)?;
    let requires = requirements(&ctx, doc.requires.as_ref(), &steps)?;
    Ok(Scenario {
        origin: ctx.origin,
        base_dir: ctx.base,
        name: doc.name.value,
        description: doc.description,
        labels,
        clusters: ctx.clusters,
        flavour: doc.flavour,
        namespace: doc.namespace.map(|n| n.value).unwrap_or_default(),
        timeouts,
        steps,
        requires,
    })
}

/// What the scenario needs: `requires` as written, checked against what its steps imply.
fn requirements(
    ctx: &Ctx,
    doc: Option<&Spanned<RequiresDoc>>,
    steps: &[Step],
) -> Result<super::Requirements, ScenarioError> {
    let uses_faults = steps.iter().any(Step::uses_faults);
    let named = ctx.clusters.len();
    let Some(doc) = doc else {
        return Ok(super::Requirements {
            clusters: named,
            faults: uses_faults,
        });
    };
    let clusters = match doc.value.clusters {
        Some(n) if (n as usize) < named => {
            let msg = format!(
                "requires.clusters is {n}, but the scenario names {named} clusters: remove it or raise it to at least {named}"
            );
            return Err(ctx.err(&doc.referenced, msg));
        }
        Some(n) => n as usize,
        None => named,
    };
    if doc.value.faults == Some(false) && uses_faults {
        return Err(ctx.err(
            &doc.referenced,
            "requires.faults is false, but the scenario has fault steps: remove `faults: false`",
        ));
    }
    Ok(super::Requirements {
        clusters,
        faults: uses_faults || doc.value.faults == Some(true),
    })
}

/// The project root of a scenario directory: the nearest ancestor (itself included) that
/// holds a `fixtures/` directory, else the directory itself.
fn project_root(base: &Path) -> PathBuf {
    base.ancestors()
        .find(|d| d.join("fixtures").is_dir())
        .unwrap_or(base)
        .to_path_buf()
}

/// Checks `clusters`: at least one, DNS-1123 labels, no duplicates.
fn clusters(ctx: &Ctx, list: &Spanned<Vec<SpannedStr>>) -> Result<Vec<String>, ScenarioError> {
    if list.value.is_empty() {
        return Err(ctx.err(
            &list.referenced,
            "clusters is empty: declare at least one logical cluster, e.g. [a, b]",
        ));
    }
    let mut seen = HashSet::new();
    for c in &list.value {
        label(ctx, c, "cluster name")?;
        if !seen.insert(c.value.as_str()) {
            let msg = format!(
                "cluster {:?} is declared twice; remove the duplicate",
                c.value
            );
            return Err(ctx.err(&c.referenced, msg));
        }
    }
    Ok(list.value.iter().map(|c| c.value.clone()).collect())
}

fn label(ctx: &Ctx, s: &SpannedStr, what: &str) -> Result<(), ScenarioError> {
    if is_label(&s.value) {
        return Ok(());
    }
    let msg = format!(
        "{what} {:?} is not a DNS-1123 label: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
        s.value
    );
    Err(ctx.err(&s.referenced, msg))
}

/// An action before validation.
enum Raw {
    Act(Box<Action>),
    Sleep(SpannedStr),
    Failure(ExpectFailureAction),
}

/// Splits a step into its action keys.
fn actions(d: StepDoc) -> Vec<(&'static str, Raw)> {
    let mut v = Vec::new();
    let mut add =
        |k: &'static str, a: Option<Action>| v.extend(a.map(|a| (k, Raw::Act(Box::new(a)))));
    add("apply", d.apply.map(Action::Apply));
    add("delete", d.delete.map(Action::Delete));
    add("patch", d.patch.map(Action::Patch));
    add("scale", d.scale.map(Action::Scale));
    add("export", d.export.map(Action::Export));
    add("unexport", d.unexport.map(Action::Unexport));
    add("wait", d.wait.map(Action::Wait));
    add("expectImport", d.expect_import.map(Action::ExpectImport));
    add("expectDns", d.expect_dns.map(Action::ExpectDns));
    add("expectHttp", d.expect_http.map(Action::ExpectHttp));
    add("expectConnect", d.expect_connect.map(Action::ExpectConnect));
    add("fault", d.fault.map(Action::Fault));
    add("clearFault", d.clear_fault.map(Action::ClearFault));
    add("startProbe", d.start_probe.map(Action::StartProbe));
    add("stopProbe", d.stop_probe.map(Action::StopProbe));
    v.extend(d.sleep.map(|s| ("sleep", Raw::Sleep(s))));
    v.extend(d.expect_failure.map(|f| ("expectFailure", Raw::Failure(f))));
    v
}

/// Validates one step (`nested`: inside `expectFailure`).
fn step(ctx: &Ctx, s: Spanned<StepDoc>, nested: bool) -> Result<Step, ScenarioError> {
    let loc = s.referenced;
    let name = s.value.name.clone();
    let timeout = s
        .value
        .timeout
        .as_ref()
        .map(|t| ctx.duration(t))
        .transpose()?;
    let mut acts = actions(s.value);
    let (key, action) = match (acts.pop(), acts.is_empty()) {
        (Some(a), true) => a,
        (None, _) => {
            return Err(ctx.err(
                &loc,
                format!(
                    "step has no action: add exactly one of {}",
                    super::STEP_KINDS.join(", ")
                ),
            ));
        }
        (Some((k, _)), false) => {
            let keys: Vec<_> = acts.iter().map(|(k, _)| *k).chain([k]).collect();
            return Err(ctx.err(&loc, format!("step has {} actions ({}): a step has exactly one action, split it into several steps", keys.len(), keys.join(", "))));
        }
    };
    if nested && key == "startProbe" {
        return Err(ctx.err(&loc, "startProbe cannot be inside expectFailure: start the probe in its own step (a `stopProbe` may be expected to fail)"));
    }
    if nested && key == "expectFailure" {
        return Err(ctx.err(
            &loc,
            "expectFailure cannot be nested: put the failing step directly under `step:`",
        ));
    }
    let action = self::action(ctx, action)?;
    Ok(Step {
        name,
        timeout,
        line: loc.line(),
        column: loc.column(),
        action,
    })
}

fn action(ctx: &Ctx, raw: Raw) -> Result<Action, ScenarioError> {
    let a = match raw {
        Raw::Act(a) => *a,
        Raw::Sleep(d) => return Ok(Action::Sleep(ctx.duration(&d)?)),
        Raw::Failure(f) => return failure(ctx, f),
    };
    Ok(match a {
        Action::Apply(m) => Action::Apply(manifest(ctx, m)?),
        Action::Delete(m) => Action::Delete(manifest(ctx, m)?),
        Action::Patch(p) => {
            ctx.cluster(&p.cluster)?;
            ctx.template(&p.name)?;
            if p.patch_type == PatchType::Json && !p.patch.value.is_array() {
                return Err(ctx.err(&p.patch.referenced, "a `type: json` patch must be a list of operations, e.g. [{op: replace, path: /spec/replicas, value: 2}]"));
            }
            Action::Patch(p)
        }
        Action::Wait(mut w) => {
            ctx.cluster(&w.cluster)?;
            ctx.template(&w.name)?;
            w.expr = Some(
                Expr::parse(&w.condition.value).map_err(|e| ctx.err(&w.condition.referenced, e))?,
            );
            Action::Wait(w)
        }
        Action::StartProbe(mut p) => {
            label(ctx, &p.name, "probe name")?;
            ctx.clusters_all(Some(&p.from))?;
            if p.from.is_empty() {
                return Err(ctx.err(
                    &p.name.referenced,
                    "startProbe.from is empty: name the clusters that probe",
                ));
            }
            if p.dns.is_none() && p.url.is_none() {
                return Err(ctx.err(
                    &p.name.referenced,
                    "startProbe needs `dns: NAME` and/or `url: URL` to probe",
                ));
            }
            for t in p.dns.iter().chain(p.url.iter()) {
                ctx.template(t)?;
            }
            p.period = p.interval.as_ref().map(|d| ctx.duration(d)).transpose()?;
            if let (Some(d), Some(t)) = (p.period, &p.interval)
                && d.is_zero()
            {
                return Err(ctx.err(
                    &t.referenced,
                    "startProbe.interval must be longer than 0s: probing without a pause floods the clusters; use e.g. 100ms",
                ));
            }
            Action::StartProbe(p)
        }
        Action::StopProbe(mut p) => {
            ctx.clusters_all(p.allowed_clusters.as_ref())?;
            p.outage = p.max_outage.as_ref().map(|d| ctx.duration(d)).transpose()?;
            Action::StopProbe(p)
        }
        other => check_refs(ctx, other)?,
    })
}

/// Background probes: names unique, stopped after they start, every one stopped.
fn probe_order(ctx: &Ctx, steps: &[Step]) -> Result<(), ScenarioError> {
    let mut running: Vec<(&SpannedStr, &Step)> = Vec::new();
    for s in steps {
        let action = match &s.action {
            Action::ExpectFailure { step, .. } => &step.action,
            other => other,
        };
        match action {
            Action::StartProbe(p) => {
                if running.iter().any(|(n, _)| n.value == p.name.value) {
                    let msg = format!(
                        "probe {:?} is already running: give it another name",
                        p.name.value
                    );
                    return Err(ctx.err(&p.name.referenced, msg));
                }
                running.push((&p.name, s));
            }
            Action::StopProbe(p) => {
                let Some(i) = running.iter().position(|(n, _)| n.value == p.name.value) else {
                    let msg = format!(
                        "no running probe {:?} to stop: start it with an earlier `startProbe`",
                        p.name.value
                    );
                    return Err(ctx.err(&p.name.referenced, msg));
                };
                running.remove(i);
            }
            _ => {}
        }
    }
    match running.first() {
        Some((n, _)) => Err(ctx.err(
            &n.referenced,
            format!(
                "probe {:?} is never stopped: add a `stopProbe: {{name: {}}}` step",
                n.value, n.value
            ),
        )),
        None => Ok(()),
    }
}

fn failure(ctx: &Ctx, f: ExpectFailureAction) -> Result<Action, ScenarioError> {
    if let Err(unknown) = f.diagnosis.value.parse::<DiagnosisId>() {
        return Err(ctx.err(&f.diagnosis.referenced, unknown.to_string()));
    }
    let step = Box::new(step(ctx, *f.step, true)?);
    Ok(Action::ExpectFailure {
        step,
        diagnosis: f.diagnosis.value,
    })
}

/// Cluster references and templates of the remaining actions.
fn check_refs(ctx: &Ctx, a: Action) -> Result<Action, ScenarioError> {
    match &a {
        Action::Scale(s) => {
            ctx.cluster(&s.cluster)?;
            if !(0..=i64::from(i32::MAX)).contains(&s.replicas.value) {
                let msg = format!(
                    "replicas {} is out of range: spec.replicas is an int32, use 0 to 2147483647",
                    s.replicas.value
                );
                return Err(ctx.err(&s.replicas.referenced, msg));
            }
        }
        Action::Export(s) | Action::Unexport(s) => ctx.cluster(&s.cluster)?,
        Action::ExpectImport(i) => {
            ctx.cluster(&i.cluster)?;
            ctx.clusters_all(i.endpoints_from.as_ref())?;
        }
        Action::ExpectDns(d) => net::expect_dns(ctx, d)?,
        Action::ExpectConnect(c) => net::expect_connect(ctx, c)?,
        Action::ExpectHttp(h) => {
            ctx.cluster(&h.from)?;
            ctx.template(&h.url)?;
            ctx.clusters_all(h.served_by.as_ref())?;
        }
        Action::Fault(f) => ctx.cluster(&f.cluster)?,
        Action::ClearFault(f) => ctx.cluster(&f.cluster)?,
        _ => {}
    }
    Ok(a)
}

fn manifest(ctx: &Ctx, mut m: ManifestAction) -> Result<ManifestAction, ScenarioError> {
    ctx.cluster(&m.cluster)?;
    match (&m.file, &m.manifest) {
        (Some(_), Some(inline)) => Err(ctx.err(
            &inline.referenced,
            "give either `file` or `manifest`, not both",
        )),
        (None, None) => Err(ctx.err(
            &m.cluster.referenced,
            "missing manifest: add `file: fixtures/...` or an inline `manifest: |`",
        )),
        (None, Some(inline)) => ctx
            .manifest_docs(inline, Some(&inline.referenced))
            .map(|()| m),
        (Some(file), None) => {
            let path = resolve(ctx.base.as_deref(), &file.value).ok_or_else(|| {
                let msg = format!("fixture file {:?} not found (looked relative to the scenario's directory and the project root); check the path", file.value);
                ctx.err(&file.referenced, msg)
            })?;
            ctx.inside_root(&path, file)?;
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ctx.err(
                    &file.referenced,
                    format!("cannot read fixture {}: {e}", path.display()),
                )
            })?;
            m.fixture_text = Some(text.clone());
            let body = Spanned::new(text, file.referenced, file.defined);
            ctx.template(&body).map_err(|e| prefix(e, &path))?;
            ctx.manifest_docs(&body, None)
                .map_err(|e| prefix(e, &path))?;
            m.resolved_file = Some(path);
            Ok(m)
        }
    }
}

impl ScenarioError {
    /// The same error at another position (when given).
    fn at(self, pos: Option<(u64, u64)>) -> ScenarioError {
        match (self, pos) {
            (
                ScenarioError::Invalid {
                    origin, message, ..
                },
                Some((line, column)),
            ) => ScenarioError::Invalid {
                origin,
                line,
                column,
                message,
            },
            (e, _) => e,
        }
    }
}

fn prefix(e: ScenarioError, path: &Path) -> ScenarioError {
    match e {
        ScenarioError::Invalid {
            origin,
            line,
            column,
            message,
        } => ScenarioError::Invalid {
            origin,
            line,
            column,
            message: format!("in fixture {}: {message}", path.display()),
        },
        other => other,
    }
}

/// Finds a fixture: relative to the scenario's directory, then to each ancestor (the
/// project root), then to the current directory.
pub(super) fn resolve(base: Option<&Path>, file: &str) -> Option<PathBuf> {
    let rel = Path::new(file);
    if rel.is_absolute() {
        return rel.is_file().then(|| rel.to_path_buf());
    }
    let dirs = base
        .into_iter()
        .flat_map(Path::ancestors)
        .map(Path::to_path_buf);
    dirs.chain(std::env::current_dir().ok())
        .map(|d| d.join(rel))
        .find(|p| p.is_file())
}
