//! Templating of manifests, names and URLs with minijinja.
//!
//! Variables: `{{ namespace }}`, `{{ cluster }}` (the logical cluster a manifest is applied
//! to, empty where no cluster applies) and `{{ run_id }}`. Undefined variables are errors.

use minijinja::{Environment, UndefinedBehavior};
use std::fmt;

/// Template variables of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    /// The run's namespace.
    pub namespace: String,
    /// The logical cluster the text is used for.
    pub cluster: String,
    /// The run id (also the value of the run label).
    pub run_id: String,
}

impl Vars {
    /// Placeholder values used to check templates at load time.
    pub fn placeholder() -> Vars {
        Vars {
            namespace: "mcs-check".into(),
            cluster: "check".into(),
            run_id: "check".into(),
        }
    }
}

/// A template that does not render; `line` is 1-based within the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Line within the template text, when known.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self
            .line
            .map(|l| format!(" (template line {l})"))
            .unwrap_or_default();
        write!(
            f,
            "bad template{at}: {}; available variables: {}",
            self.message,
            VARIABLES.join(", ")
        )
    }
}

/// The variables templates may use.
pub const VARIABLES: [&str; 3] = ["namespace", "cluster", "run_id"];

impl std::error::Error for TemplateError {}

/// Renders `template` with `vars`; unknown variables and syntax errors are errors.
pub fn render(template: &str, vars: &Vars) -> Result<String, TemplateError> {
    if !template.contains("{{") && !template.contains("{%") && !template.contains("{#") {
        return Ok(template.to_string());
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let ctx = minijinja::context! {
        namespace => vars.namespace.as_str(),
        cluster => vars.cluster.as_str(),
        run_id => vars.run_id.as_str(),
    };
    let convert = |e: minijinja::Error| {
        let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
        TemplateError {
            line: e.line(),
            message: format!("{}{detail}", e.kind()),
        }
    };
    let tmpl = env.template_from_str(template).map_err(convert)?;
    let mut unknown: Vec<_> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !VARIABLES.contains(&v.as_str()))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        let line = template
            .lines()
            .position(|l| l.contains(unknown[0].as_str()))
            .map(|i| i + 1);
        let message = format!("undefined variable {}", unknown.join(", "));
        return Err(TemplateError { line, message });
    }
    tmpl.render(ctx).map_err(convert)
}
