//! Run-wide options of the engine.

/// Run-wide options.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Run id: label value on everything created, part of fresh namespace names.
    pub run_id: String,
    /// Keep what the run created (for debugging); cleanup is skipped.
    pub keep: bool,
    /// Protected namespaces the user explicitly allowed.
    pub allow_namespaces: Vec<String>,
    /// Probe pod image.
    pub probe_image: String,
    /// Scenarios run concurrently.
    pub jobs: usize,
    /// Start no scenario after one has failed (`--fail-fast`); the rest are skipped.
    pub fail_fast: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            run_id: super::new_run_id(),
            keep: false,
            allow_namespaces: Vec::new(),
            probe_image: crate::probe::DEFAULT_PROBE_IMAGE.to_string(),
            jobs: 1,
            fail_fast: false,
        }
    }
}
