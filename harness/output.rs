//! Output conventions shared by every command: how much is logged (`-v`, `-vv`, `-q`,
//! `RUST_LOG`), whether colour is used (`--color`, `NO_COLOR`, a terminal), the version text
//! and errors rendered for people (a Kubernetes API error as its Status message, not Rust's
//! Debug text).
//!
//! Logging (tracing) goes to stderr. By default only the harness's own warnings are shown;
//! the simulated fleet and importer, kube-rs, hyper and rustls are silent, so a passing run
//! prints nothing but its report. `-v` shows the harness's, the sim's and the importer's
//! info lines; `-vv` adds debug lines, kube-rs' included; `-vvv` traces everything. `-q`
//! shows only errors. `RUST_LOG`, when set, replaces all of this (tracing's `EnvFilter`
//! syntax).
//!
//! Colour follows the <https://no-color.org> convention and the usual CLI rule: `--color
//! auto` (default) colours only when the stream is a terminal, `TERM` is not `dumb` and
//! `NO_COLOR` is unset or empty; `always` and `never` force it.

use std::io::IsTerminal;

/// `--color` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour (escape codes even into files and pipes).
    Always,
    /// Never colour.
    Never,
}

/// The global output options (`-v`, `-q`, `--color`), resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// -1 with `-q`, 0 by default, 1 with `-v`, 2 with `-vv`, 3 and more trace.
    pub verbosity: i8,
    /// `--color`.
    pub color: ColorChoice,
}

impl Output {
    /// Whether only failures and the summary are printed (`-q`).
    pub fn quiet(&self) -> bool {
        self.verbosity < 0
    }

    /// Whether text for stdout is coloured.
    pub fn color_stdout(&self) -> bool {
        use_color(self.color, std::io::stdout().is_terminal(), &env_lookup)
    }

    /// Whether text for stderr (log lines) is coloured.
    pub fn color_stderr(&self) -> bool {
        use_color(self.color, std::io::stderr().is_terminal(), &env_lookup)
    }

    /// The tracing filter directives for this verbosity (`RUST_LOG` aside).
    pub fn filter(&self) -> &'static str {
        filter_for(self.verbosity)
    }
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whether to colour a stream: `choice`, whether it is a terminal, and the environment
/// (`NO_COLOR` set and not empty, or `TERM=dumb`, turn `auto` off).
pub fn use_color(
    choice: ColorChoice,
    terminal: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = env("TERM").is_some_and(|t| t == "dumb");
            terminal && !no_color && !dumb
        }
    }
}

/// Tracing directives per verbosity: our crates are `mcs_harness`, `mcs_sim` and
/// `mcs_importer`; everything else (kube-rs, hyper, rustls, tower) is a dependency.
pub fn filter_for(verbosity: i8) -> &'static str {
    match verbosity {
        i8::MIN..=-1 => "off,mcs_harness=error",
        0 => "off,mcs_harness=warn",
        1 => "off,mcs_harness=info,mcs_sim=info,mcs_importer=info",
        2 => {
            "warn,mcs_harness=debug,mcs_sim=debug,mcs_importer=debug,kube=debug,kube_client=debug,kube_runtime=debug"
        }
        _ => "trace",
    }
}

/// Installs the tracing subscriber on stderr: `RUST_LOG` if set, else [`Output::filter`].
pub fn init_tracing(out: &Output) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => tracing_subscriber::EnvFilter::new(v),
        _ => tracing_subscriber::EnvFilter::new(out.filter()),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(out.color_stderr())
        .with_writer(std::io::stderr)
        .init();
}

/// The Kubernetes API versions whose types the client is built with (k8s-openapi 0.29,
/// feature `latest` = v1_37; k8s-openapi 0.29 supports 1.33 to 1.37) and the MCS APIs the
/// harness drives.
pub const KUBERNETES_SUPPORT: &str = "Kubernetes API 1.33 - 1.37 (client types of 1.37)";

/// The MCS APIs the harness speaks.
pub const MCS_SUPPORT: &str = "net.gke.io/v1 (GKE), multicluster.x-k8s.io/v1alpha1 (KEP-1645)";

/// The git commit the binary was built from: set by `build.rs` from `git rev-parse` (or the
/// `MCS_HARNESS_GIT_COMMIT` variable, e.g. a Docker build argument); `unknown` when built
/// from a tree without git history (a source tarball).
pub fn git_commit() -> &'static str {
    option_env!("MCS_HARNESS_GIT_COMMIT").unwrap_or("unknown")
}

/// `--version` text after the program name: version, commit, supported APIs.
pub fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (commit {})\nsupports: {KUBERNETES_SUPPORT}\nMCS APIs: {MCS_SUPPORT}",
            env!("CARGO_PKG_VERSION"),
            git_commit()
        )
    })
}

/// A Kubernetes client error for people: an API error is its Status message with code and
/// reason (`namespaces "x" is forbidden: … (403 Forbidden)`); others their own text.
pub fn kube_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let reason = match s.reason.as_str() {
                "" => String::new(),
                r => format!(" {r}"),
            };
            match s.message.as_str() {
                "" => format!("the API server answered {}{reason}", s.code),
                m => format!("{m} ({}{reason})", s.code),
            }
        }
        other => other.to_string(),
    }
}

/// An error and its causes joined by `: `, each Kubernetes error rendered by
/// [`kube_error`] (its own causes are part of that text), repeats left out.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let kubeconfig = err.downcast_ref::<kube::config::KubeconfigError>();
        let text = match (err.downcast_ref::<kube::Error>(), kubeconfig) {
            (Some(k), _) => kube_error(k),
            // kube-rs writes the path with Debug quotes: `from '"/x"'`.
            (_, Some(kube::config::KubeconfigError::ReadConfig(io, path))) => {
                format!("cannot read {}: {io}", path.display())
            }
            _ => err.to_string(),
        };
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = match (err.downcast_ref::<kube::Error>(), kubeconfig) {
            (Some(kube::Error::Api(_)), _)
            | (_, Some(kube::config::KubeconfigError::ReadConfig(..))) => None,
            _ => err.source(),
        };
    }
    parts.join(": ")
}

/// ANSI SGR colours used on the console.
#[derive(Clone, Copy, Debug)]
pub enum Paint {
    /// Passed.
    Green,
    /// Failed.
    Red,
    /// Skipped.
    Yellow,
}

/// `text` in `paint` when `on`, else unchanged.
pub fn paint(on: bool, paint: Paint, text: &str) -> String {
    if !on {
        return text.to_string();
    }
    let code = match paint {
        Paint::Green => "32",
        Paint::Red => "1;31",
        Paint::Yellow => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let none = env(&[]);
        assert!(use_color(ColorChoice::Auto, true, &none));
        assert!(!use_color(ColorChoice::Auto, false, &none));
        assert!(!use_color(
            ColorChoice::Auto,
            true,
            &env(&[("NO_COLOR", "1")])
        ));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(use_color(
            ColorChoice::Auto,
            true,
            &env(&[("NO_COLOR", "")])
        ));
        assert!(!use_color(
            ColorChoice::Auto,
            true,
            &env(&[("TERM", "dumb")])
        ));
        assert!(use_color(
            ColorChoice::Always,
            false,
            &env(&[("NO_COLOR", "1")])
        ));
        assert!(!use_color(ColorChoice::Never, true, &none));
    }

    #[test]
    fn dependencies_are_silent_unless_very_verbose() {
        for v in [-1, 0, 1] {
            let f = filter_for(v);
            assert!(f.starts_with("off,"), "{v}: {f}");
            assert!(!f.contains("kube"), "{v}: {f}");
        }
        assert!(filter_for(2).contains("kube_client=debug"));
        assert!(filter_for(1).contains("mcs_harness=info"));
        for v in -1..=3 {
            tracing_subscriber::EnvFilter::try_new(filter_for(v)).expect("valid directives");
        }
    }

    #[test]
    fn api_errors_read_as_their_status_message() {
        let status = kube::core::Status::failure("namespaces \"x\" is forbidden", "Forbidden")
            .with_code(403);
        let e = kube::Error::Api(Box::new(status));
        let text = kube_error(&e);
        assert_eq!(text, "namespaces \"x\" is forbidden (403 Forbidden)");
        let chain = error_chain(&e);
        assert_eq!(chain, text);
        assert!(!chain.contains("Status {"), "{chain}");
    }

    #[test]
    fn unreadable_kubeconfig_names_the_path_plainly() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = kube::config::KubeconfigError::ReadConfig(io, "/x/kc".into());
        assert_eq!(error_chain(&e), "cannot read /x/kc: No such file");
    }

    #[test]
    fn version_names_commit_and_apis() {
        let v = long_version();
        assert!(v.contains("commit "), "{v}");
        assert!(v.contains("net.gke.io/v1"), "{v}");
        assert!(v.contains("multicluster.x-k8s.io/v1alpha1"), "{v}");
        assert!(v.contains("1.37"), "{v}");
    }
}
