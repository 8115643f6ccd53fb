//! Scenarios: the YAML model, loading with `file:line:col` errors, validation and
//! templating. This module never sees a cluster client and does no I/O besides reading the
//! scenario and its fixture files.
//!
//! A scenario names its logical clusters, flavour, namespace policy, timeouts and steps.
//! Each step is a map with exactly one action key (`apply`, `delete`, `patch`, `scale`,
//! `export`, `unexport`, `wait`, `expectImport`, `expectDns`, `expectHttp`, `expectConnect`, `fault`,
//! `clearFault`, `sleep`, `expectFailure`) plus optional `name` and `timeout`.
//! `sleep` is allowed, but `wait` is preferred: it returns as soon as the condition holds.
//! `expectFailure: {step: {...}, diagnosis: ID}` runs a step that must fail and asserts the
//! doctor's diagnosis id (one of [`crate::doctor::DiagnosisId`]). See [`expr`] for the `wait.for`
//! language and [`template`] for the variables of manifests, names and URLs.

mod bind;
pub mod expr;
mod labels;
pub mod model;
pub mod model_net;
pub mod template;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_net;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use bind::{BindVars, DEFAULT_PROBE_INTERVAL, describe};
pub use expr::Expr;
pub use labels::{is_key as label_key_ok, is_value as label_value_ok};
pub use model::{
    ClearFaultAction, DnsAnswer, ExpectDnsAction, ExpectHttpAction, ExpectImportAction,
    FaultAction, Flavour, ManifestAction, NamespacePolicy, PatchAction, PatchType, RequiresDoc,
    ScaleAction, ScenarioDoc, ServiceAction, StartProbeAction, StopProbeAction, WaitAction,
};
pub use model_net::{DnsType, ExpectConnectAction, Protocol, SrvRecordDoc};
pub use template::{TemplateError, Vars, render};
pub use validate::{DEFAULT_STEP_TIMEOUT, DEFAULT_TIMEOUT};

/// The step kinds (action keys), as written in YAML.
pub const STEP_KINDS: [&str; 17] = [
    "apply",
    "delete",
    "patch",
    "scale",
    "export",
    "unexport",
    "wait",
    "expectImport",
    "expectDns",
    "expectHttp",
    "fault",
    "clearFault",
    "sleep",
    "expectFailure",
    "startProbe",
    "stopProbe",
    "expectConnect",
];

pub use crate::protected::PROTECTED_NAMESPACES;

/// What loading may allow that the defaults refuse.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Protected namespaces the user allowed (`--allow-namespace`).
    pub allow_namespaces: Vec<String>,
    /// Fixture files may lie outside the scenario's project root (`--allow-outside-files`).
    pub allow_outside_files: bool,
}

/// What a scenario needs from the fleet it runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirements {
    /// At least this many clusters.
    pub clusters: usize,
    /// The embedded fleet's Fault API.
    pub faults: bool,
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it came from (file path as given), used in messages.
    pub origin: String,
    /// Directory fixture paths were resolved against.
    pub base_dir: Option<PathBuf>,
    /// Scenario name (DNS-1123 label).
    pub name: String,
    /// Free-text description.
    pub description: Option<String>,
    /// Labels for selection (`--selector`).
    pub labels: std::collections::BTreeMap<String, String>,
    /// Logical cluster names, in declaration order.
    pub clusters: Vec<String>,
    /// Target MCS flavour.
    pub flavour: Flavour,
    /// Namespace policy.
    pub namespace: NamespacePolicy,
    /// Resolved timeouts.
    pub timeouts: Timeouts,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// What it needs from the fleet (its flavour aside).
    pub requires: Requirements,
}

impl Scenario {
    /// Applies `--default-timeout` (replaces `timeouts.default`; the step cap is raised to
    /// it when lower) and then `--timeout-scale` (multiplies every timeout: the default, the
    /// step cap and each step's own, `expectFailure`'s inner step included). Sleeps, `hold`
    /// counts and probe budgets are not timeouts and stay as written.
    pub fn adjust_timeouts(&mut self, default: Option<Duration>, scale: f64) {
        if let Some(d) = default {
            self.timeouts.default = d;
            self.timeouts.step = self.timeouts.step.max(d);
        }
        if scale == 1.0 {
            return;
        }
        let f = |d: Duration| d.mul_f64(scale);
        self.timeouts.default = f(self.timeouts.default);
        self.timeouts.step = f(self.timeouts.step);
        fn steps(s: &mut Step, f: &dyn Fn(Duration) -> Duration) {
            s.timeout = s.timeout.map(f);
            if let Action::ExpectFailure { step, .. } = &mut s.action {
                steps(step, f);
            }
        }
        for s in &mut self.steps {
            steps(s, &f);
        }
    }
}

/// Resolved default timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For waits and assertions without their own timeout.
    pub default: Duration,
    /// Upper bound for any single step.
    pub step: Duration,
}

/// A validated step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Optional name from the file.
    pub name: Option<String>,
    /// The step's own timeout, if any.
    pub timeout: Option<Duration>,
    /// Line of the step in the scenario file (1-based).
    pub line: u64,
    /// Column of the step in the scenario file (1-based).
    pub column: u64,
    /// What the step does.
    pub action: Action,
}

impl Step {
    /// The YAML key of the step's action (`apply`, `expectDns`, ...).
    pub fn kind(&self) -> &'static str {
        self.action.kind()
    }

    /// The step's own timeout, falling back to `timeouts.default`.
    pub fn effective_timeout(&self, t: &Timeouts) -> Duration {
        self.timeout.unwrap_or(t.default)
    }

    /// Whether the step installs or removes a sim Fault (also inside `expectFailure`).
    pub fn uses_faults(&self) -> bool {
        match &self.action {
            Action::Fault(_) | Action::ClearFault(_) => true,
            Action::ExpectFailure { step, .. } => step.uses_faults(),
            _ => false,
        }
    }
}

/// The action of a step. `wait.expr`, `apply/delete.resolved_file` and `fixture_text` are
/// filled in; [`Scenario::bind`] turns it into the engine's [`crate::engine::op::Op`].
#[derive(Debug, Clone)]
pub enum Action {
    /// Apply manifests.
    Apply(ManifestAction),
    /// Delete manifests' objects.
    Delete(ManifestAction),
    /// Patch one object.
    Patch(PatchAction),
    /// Scale a Deployment.
    Scale(ScaleAction),
    /// Export a Service.
    Export(ServiceAction),
    /// Unexport a Service.
    Unexport(ServiceAction),
    /// Wait for an expression on an object.
    Wait(WaitAction),
    /// Assert a ServiceImport.
    ExpectImport(ExpectImportAction),
    /// Assert a DNS answer.
    ExpectDns(ExpectDnsAction),
    /// Assert HTTP responses.
    ExpectHttp(ExpectHttpAction),
    /// Install a sim fault.
    Fault(FaultAction),
    /// Remove a sim fault.
    ClearFault(ClearFaultAction),
    /// Sleep (prefer `wait`).
    Sleep(Duration),
    /// A step that must fail with the given diagnosis.
    ExpectFailure {
        /// The step expected to fail.
        step: Box<Step>,
        /// Expected diagnosis id.
        diagnosis: String,
    },
    /// Start a background probe.
    StartProbe(StartProbeAction),
    /// Stop a background probe and check its budget.
    StopProbe(StopProbeAction),
    /// Assert a TCP/UDP exchange with `nc`.
    ExpectConnect(ExpectConnectAction),
}

impl Action {
    /// The YAML key of this action.
    pub fn kind(&self) -> &'static str {
        let i = match self {
            Action::Apply(_) => 0,
            Action::Delete(_) => 1,
            Action::Patch(_) => 2,
            Action::Scale(_) => 3,
            Action::Export(_) => 4,
            Action::Unexport(_) => 5,
            Action::Wait(_) => 6,
            Action::ExpectImport(_) => 7,
            Action::ExpectDns(_) => 8,
            Action::ExpectHttp(_) => 9,
            Action::Fault(_) => 10,
            Action::ClearFault(_) => 11,
            Action::Sleep(_) => 12,
            Action::ExpectFailure { .. } => 13,
            Action::StartProbe(_) => 14,
            Action::StopProbe(_) => 15,
            Action::ExpectConnect(_) => 16,
        };
        STEP_KINDS[i]
    }
}

/// A scenario that cannot be loaded; `Display` is the complete user-facing line.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{origin}: cannot read scenario: {source}")]
    Read {
        /// The path as given.
        origin: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// YAML syntax or shape error (from the parser).
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// The path as given.
        origin: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// A validation error.
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid {
        /// The path as given.
        origin: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong and what to do.
        message: String,
    },
}

/// Loads and validates a scenario file with the default [`LoadOptions`].
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &LoadOptions::default())
}

/// Loads and validates a scenario file.
pub fn load_with(path: &Path, opts: &LoadOptions) -> Result<Scenario, ScenarioError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        origin: origin.clone(),
        source,
    })?;
    parse_with(&text, &origin, opts)
}

/// Parses and validates scenario text with the default [`LoadOptions`].
pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    parse_with(text, origin, &LoadOptions::default())
}

/// Parses and validates scenario text; `origin` names it in errors, and its parent
/// directory (made absolute, so that `cd scenarios && run .` still finds the project's
/// fixtures) is where fixture files are looked up first.
pub fn parse_with(text: &str, origin: &str, opts: &LoadOptions) -> Result<Scenario, ScenarioError> {
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    let doc: ScenarioDoc =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| syntax_error(&e, origin))?;
    let base = Path::new(origin).parent().map(|p| {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
    });
    validate::scenario(doc, origin, base, opts)
}

/// Converts a parser error into `origin:line:col: message` with a hint.
fn syntax_error(e: &serde_saphyr::Error, origin: &str) -> ScenarioError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let plain = e.without_snippet().to_string();
    let suffix = format!(" at line {line}, column {column}");
    let raw = plain.strip_suffix(&suffix).unwrap_or(&plain);
    ScenarioError::Syntax {
        origin: origin.to_string(),
        line,
        column,
        message: explain(raw),
    }
}

/// Rewrites serde's messages into the harness's wording, with what to do.
fn explain(raw: &str) -> String {
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(", expected ")
            .trim_start_matches("one of ");
        let what = if expected.contains("expectDns") {
            "step"
        } else {
            "key"
        };
        return format!("unknown {what} {key:?}: expected one of {expected}");
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        return format!("missing required key {key:?}: add it");
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(", expected ")
            .trim_start_matches("one of ");
        return format!("unknown value {value:?}: expected one of {expected}");
    }
    if let Some(rest) = raw.strip_prefix("duplicate mapping key") {
        // serde-saphyr: "duplicate mapping key: K, set DuplicateKeyPolicy in Options …"
        let key = rest
            .trim_start_matches(": ")
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or_default()
            .trim();
        return match key {
            "" => "a key appears twice in this mapping: keep one".to_string(),
            k => format!("key {k:?} appears twice in this mapping: keep one"),
        };
    }
    if let Some(rest) = raw.strip_prefix("budget breached: ") {
        // serde-saphyr's limits (e.g. `Nodes { nodes: 250001 }`): name the limit in words.
        let what = match rest.split([' ', '{']).next().unwrap_or_default() {
            "Nodes" => "nodes",
            "Events" => "parser events",
            "Aliases" => "aliases",
            "Anchors" => "anchors",
            "Depth" => "nesting depth",
            "Documents" => "documents",
            _ => "size",
        };
        return format!(
            "the file exceeds the YAML parser's limit on {what}: a scenario is small; split it, or \
             remove aliases that expand into huge documents"
        );
    }
    if let Some(ty) = raw.strip_prefix("invalid ")
        && let Some(kind) = scalar_kind(ty)
    {
        return format!("expected {kind} here: fix the value");
    }
    format!("{raw}: fix the YAML here (see the scenario format in the README)")
}

/// Words for serde-saphyr's scalar type names (`invalid u32`).
fn scalar_kind(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number from 0 up",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "bool" => "true or false",
        "char" => "a single character",
        _ => return None,
    })
}

/// The JSON Schema of scenario files (for `mcs-harness schema` and editor modelines).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(ScenarioDoc);
    serde_json::to_value(&schema).unwrap_or(serde_json::Value::Null)
}
