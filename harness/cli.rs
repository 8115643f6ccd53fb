//! Command-line interface definitions (clap). Usage errors exit with code 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// End-to-end test harness for Kubernetes Multi-Cluster Services.
#[derive(Debug, Parser)]
#[command(
    name = "mcs-harness",
    version,
    long_version = crate::output::long_version(),
    about,
    propagate_version = true
)]
pub struct Cli {
    /// Output options of every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes (see `output`).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log lines on stderr: -v the harness's info lines, -vv debug (kube-rs too),
    /// -vvv everything. RUST_LOG, when set, overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print only failures and the summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        global = true,
        value_name = "WHEN"
    )]
    pub color: crate::output::ColorChoice,
}

impl GlobalArgs {
    /// The resolved output options.
    pub fn output(&self) -> crate::output::Output {
        let verbosity = match self.quiet {
            true => -1,
            false => i8::try_from(self.verbose).unwrap_or(i8::MAX),
        };
        crate::output::Output {
            verbosity,
            color: self.color,
        }
    }
}

/// Top-level commands.
// Parsed once per process: the size of `run`'s options does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios (default: every file in scenarios/) on the embedded fleet or on
    /// clusters bound with --cluster NAME=CONTEXT. Exit 0 passed, 1 failed, 2 bad input.
    Run(crate::run_cmd::RunArgs),
    /// Certify a fleet against KEP-1645: run the upstream conformance suite's specs
    /// (scenarios/conformance/) and write a conformance report. Exit 0 when every Required
    /// spec passed, 1 otherwise, 2 usage error.
    Conformance(crate::conformance::ConformanceArgs),
    /// Diagnose one exported Service: walk the MCS chain in every cluster and name the
    /// first broken link with evidence and remedy. Exit 0 healthy, 1 broken, 2 usage error.
    Doctor(crate::doctor_cmd::DoctorArgs),
    /// Two kind clusters wired for MCS: `kind up [--name-prefix mcs] [--flavour gke|upstream]
    /// [--dry-run]`, `kind down`.
    Kind(crate::kind::KindArgs),
    /// The embedded fleet: simulated clusters speaking the Kubernetes API on loopback.
    Sim {
        /// Sim action.
        #[command(subcommand)]
        action: SimAction,
    },
    /// Run the simulated MCS importer against real clusters (e.g. kind) until Ctrl-C.
    Importer(ImporterArgs),
    /// Remove what dead runs left on clusters: namespaces, objects and Faults labelled with a
    /// run id whose run's Lease has expired (never a live run's). Exit 0 done, 1 something
    /// could not be removed, 2 usage error.
    Gc(crate::gc_cmd::GcArgs),
    /// Work with reports: `report merge A.json B.json --junit … --html …` merges the JSON
    /// reports of shards (`run --shard I/N --json …`) into one run.
    Report {
        /// Report action.
        #[command(subcommand)]
        action: crate::report_cmd::ReportAction,
    },
    /// Print the JSON Schema of scenario files (for editors: yaml-language-server), or with
    /// `--report` the JSON Schema of the reports `run --json` writes.
    Schema {
        /// The schema of JSON reports (`run --json`, `report merge --json`) instead.
        #[arg(long)]
        report: bool,
    },
    /// Print a shell completion script: `source <(mcs-harness completions bash)`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The completion script of `shell` for `mcs-harness`.
///
/// clap_complete 4.6's bash script names its per-subcommand cases after the binary with
/// `-` replaced in one place and not in the other, so subcommands of a hyphenated name
/// never complete; the script is generated for `mcs_harness` and only the `complete`
/// lines are pointed at the real name.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let name = match shell {
        clap_complete::Shell::Bash => "mcs_harness",
        _ => "mcs-harness",
    };
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        clap_complete::Shell::Bash => {
            text.lines()
                .map(|l| match l.trim_start().starts_with("complete ") {
                    true => l.replace(" mcs_harness", " mcs-harness"),
                    false => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        }
        _ => text,
    }
}

/// Options of `importer`.
#[derive(Debug, Args)]
pub struct ImporterArgs {
    /// Kubeconfig (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Context of a fleet cluster (repeat; the context name is the cluster name).
    #[arg(long = "context", required = true)]
    pub contexts: Vec<String>,
    /// Which MCS API to play.
    #[arg(long, value_enum, default_value = "gke")]
    pub flavour: mcs_importer::Flavour,
    /// Wait this long after a change before acting (e.g. 30s; GKE takes minutes).
    #[arg(long, default_value = "0", value_parser = crate::duration::parse_duration)]
    pub propagation_delay: std::time::Duration,
    /// Install the MCS CRDs into every cluster first.
    #[arg(long)]
    pub install_crds: bool,
    /// GKE flavour: keep a `clusterset.local` record per ServiceImport IP in the Corefile of
    /// `kube-system/coredns` (between the markers `kind up` adds), so CoreDNS answers
    /// `SVC.NS.svc.clusterset.local` on kind.
    #[arg(long)]
    pub coredns_records: bool,
}

/// `sim` subcommands.
#[derive(Debug, Subcommand)]
pub enum SimAction {
    /// Start a fleet, write a kubeconfig (one context per cluster), serve until Ctrl-C.
    Up(SimUp),
}

/// Options of `sim up`.
#[derive(Debug, Args)]
pub struct SimUp {
    /// Cluster names, comma-separated (each a DNS-1123 label).
    #[arg(long, value_delimiter = ',', default_value = "a,b")]
    pub clusters: Vec<String>,
    /// Where to write the kubeconfig.
    #[arg(long, default_value = "mcs-sim.kubeconfig")]
    pub kubeconfig: PathBuf,
    /// API port on every cluster's address (falls back to a free port when taken).
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
    /// Do not start the simulated MCS importer.
    #[arg(long)]
    pub no_importer: bool,
    /// Which MCS API the importer plays.
    #[arg(long, value_enum, default_value = "gke")]
    pub flavour: mcs_importer::Flavour,
    /// Importer propagation delay (e.g. 30s), to mimic GKE's minutes.
    #[arg(long, default_value = "0", value_parser = crate::duration::parse_duration)]
    pub propagation_delay: std::time::Duration,
    /// Do not serve the Fault API (`faults.sim.mcs-harness.dev`): the fleet then behaves
    /// like real clusters, which cannot be broken on purpose.
    #[arg(long)]
    pub no_faults: bool,
    /// TTL of the cluster DNS records in seconds (CoreDNS `ttl`, 0 to 3600; 30 as in the
    /// kubeadm and kind Corefiles).
    #[arg(long, default_value_t = mcs_sim::dns::DEFAULT_TTL,
        value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub dns_ttl: u32,
    /// GKE flavour: the fleet host project number in membership names
    /// (`projects/N/locations/L/memberships/<cluster>`) and `net.gke.io/export-project`.
    #[arg(long, default_value = mcs_importer::controller::DEFAULT_GKE_PROJECT_NUMBER)]
    pub gke_project_number: String,
    /// GKE flavour: the location of the fleet memberships.
    #[arg(long, default_value = mcs_importer::controller::DEFAULT_GKE_LOCATION)]
    pub gke_location: String,
}
