//! Plain-text rendering shared by the reporters: durations, failures (message and
//! expected-vs-seen diff), the doctor's diagnosis with its table of link checks, and the
//! one-line summary of a background probe. The console prints these lines, JUnit puts them
//! in failure bodies, Markdown in code fences, HTML in its own markup.

use std::time::Duration;

use crate::doctor::{CheckState, Diagnosis, LinkCheck};
use crate::event::{Failure, Outcome, ProbeReport};

use super::record::MilestoneRecord;

/// `845 ms` below ten seconds, `31.2 s` from there on.
pub(crate) fn duration(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Run duration as libtest prints it: `2.31s`.
pub(crate) fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// `ok`, `FAILED` or `skipped`.
pub(crate) fn status(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "ok",
        Outcome::Failed(_) => "FAILED",
        Outcome::Skipped { .. } => "skipped",
    }
}

/// `importSeen (b)`, or just the key when the milestone is not per cluster.
pub(crate) fn milestone_label(m: &MilestoneRecord) -> String {
    match &m.cluster {
        Some(c) => format!("{} ({c})", m.milestone.key()),
        None => m.milestone.key().to_string(),
    }
}

/// Share of successful samples, rounded down to a tenth of a percent so that a run with
/// one failure among thousands never reads `100.0%`: `99.0%`.
pub(crate) fn success_percent(p: &ProbeReport) -> String {
    if p.total == 0 {
        return format!("{:.1}%", p.success_rate * 100.0);
    }
    let ok = p.total.saturating_sub(p.failed);
    let permille = ok * 1000 / p.total;
    format!("{}.{}%", permille / 10, permille % 10)
}

/// `answers a=200 b=204`, or an empty string when no answer named its cluster.
pub(crate) fn probe_answers(p: &ProbeReport) -> String {
    let parts: Vec<String> = p
        .answers_by_cluster
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("answers {}", parts.join(" "))
    }
}

/// One line about a background probe: `probe availability: 412 samples, 99.0% ok, longest
/// outage 300 ms, answers a=200 b=204; violations: success rate 95.0% < 99%`.
pub(crate) fn probe_summary(p: &ProbeReport) -> String {
    let mut line = format!(
        "probe {}: {} samples, {} ok, longest outage {}",
        p.name,
        p.total,
        success_percent(p),
        duration(p.longest_outage)
    );
    let answers = probe_answers(p);
    if !answers.is_empty() {
        line.push_str(", ");
        line.push_str(&answers);
    }
    if !p.violations.is_empty() {
        line.push_str("; violations: ");
        line.push_str(&p.violations.join("; "));
    }
    line
}

/// Prefixes every line with `n` spaces and joins them with newlines (no trailing newline).
pub(crate) fn indent(lines: &[String], n: usize) -> String {
    let pad = " ".repeat(n);
    let indented: Vec<String> = lines
        .iter()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect();
    indented.join("\n")
}

/// The whole story of a failed step: message, mismatch, then each diagnosis (a healthy
/// one says that the expectation, not the fleet, is the suspect).
pub(crate) fn failure_lines(f: &Failure, diagnoses: &[&Diagnosis]) -> Vec<String> {
    let mut lines = vec![f.message.clone()];
    lines.extend(mismatch_lines(f));
    for d in diagnoses {
        let mut block = diagnosis_lines(d);
        if d.is_healthy()
            && let Some(first) = block.first_mut()
        {
            *first = format!("diagnosis: {}", failed_diagnosis_title(d));
        }
        lines.extend(block);
    }
    lines
}

/// What a healthy diagnosis after a failed step means.
pub(crate) const HEALTHY_AFTER_FAILURE: &str = "the fleet looks healthy: check the expectation";

/// The title of a diagnosis attached to a failed step: a healthy chain is not an answer
/// there, the expectation (its values, its timeout) is the suspect.
pub(crate) fn failed_diagnosis_title(d: &Diagnosis) -> String {
    match d.is_healthy() {
        true => format!("healthy — {HEALTHY_AFTER_FAILURE}"),
        false => diagnosis_title(d),
    }
}

/// The one-line diagnosis of a scenario for summary tables: its first failed step's first
/// diagnosis, `—` when there is none.
pub(crate) fn summary_diagnosis(s: &super::record::ScenarioRecord) -> String {
    let Some(st) = s.first_failed_step() else {
        return "—".to_string();
    };
    match s.diagnoses_of(st.info.index).first() {
        Some(d) => failed_diagnosis_title(d),
        None => "—".to_string(),
    }
}

/// Programs whose invocations in a remedy are commands to run.
const COMMANDS: [&str; 6] = ["kubectl", "gcloud", "mcs-harness", "kind", "docker", "helm"];

/// A remedy split for rendering: the prose, with each `backticked` part marked as code
/// (`Code`) or text, and the commands among them (backticked parts starting with a known
/// program), to be shown as copyable blocks.
pub(crate) fn remedy_parts(remedy: &str) -> (Vec<RemedyPart>, Vec<String>) {
    let mut parts = Vec::new();
    let mut commands = Vec::new();
    for (i, piece) in remedy.split('`').enumerate() {
        if piece.is_empty() {
            continue;
        }
        // Odd pieces sit between backticks (an unpaired backtick leaves the rest as code).
        if i % 2 == 1 {
            if COMMANDS
                .iter()
                .any(|c| piece.split_whitespace().next() == Some(c))
            {
                commands.push(piece.to_string());
            }
            parts.push(RemedyPart::Code(piece.to_string()));
        } else {
            parts.push(RemedyPart::Text(piece.to_string()));
        }
    }
    // Commands written without backticks, in parentheses: `(kubectl … apply -f x.yaml)`.
    for piece in remedy.split(['(', ')']) {
        let p = piece.trim();
        if COMMANDS
            .iter()
            .any(|c| p.split_whitespace().next() == Some(c))
            && !p.contains('`')
            && !commands.iter().any(|c| c == p)
        {
            commands.push(p.to_string());
        }
    }
    (parts, commands)
}

/// A piece of a remedy's prose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RemedyPart {
    /// Plain text.
    Text(String),
    /// Text that was between backticks.
    Code(String),
}

/// The diff of expected vs seen when there is one, else whichever of them is known.
pub(crate) fn mismatch_lines(f: &Failure) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(diff) = &f.diff {
        lines.push("diff (expected vs seen):".to_string());
        lines.extend(diff.lines().map(|l| format!("  {l}")));
        return lines;
    }
    for (label, text) in [("expected:", &f.expected), ("seen:", &f.seen)] {
        if let Some(text) = text {
            lines.push(label.to_string());
            lines.extend(text.lines().map(|l| format!("  {l}")));
        }
    }
    lines
}

/// The heading of a diagnosis: `endpoints-empty (cluster b)`.
pub(crate) fn diagnosis_title(d: &Diagnosis) -> String {
    match &d.cluster {
        Some(c) => format!("{} (cluster {c})", d.id),
        None => d.id.clone(),
    }
}

/// A diagnosis: `diagnosis: ID (cluster C)` followed by its indented body.
pub(crate) fn diagnosis_lines(d: &Diagnosis) -> Vec<String> {
    let mut lines = vec![format!("diagnosis: {}", diagnosis_title(d))];
    lines.extend(diagnosis_body(d).into_iter().map(|l| format!("  {l}")));
    lines
}

/// Summary, evidence (`cluster: object field = value`), remedy and the checks table.
pub(crate) fn diagnosis_body(d: &Diagnosis) -> Vec<String> {
    let mut lines = vec![d.summary.clone()];
    if !d.evidence.is_empty() {
        lines.push("evidence:".to_string());
        for e in &d.evidence {
            let (c, o, f, v) = (&e.cluster, &e.object, &e.field, &e.value);
            lines.push(format!("  {c}: {o} {f} = {v}"));
        }
    }
    if !d.remedy.is_empty() {
        lines.push(format!("remedy: {}", d.remedy));
    }
    if !d.checks.is_empty() {
        lines.push("checks (✓ ok, ✗ broken, … propagating, - skipped):".to_string());
        lines.extend(
            checks_table(&d.checks)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    lines
}

/// Symbol of a check state in the table.
pub(crate) fn check_symbol(state: CheckState) -> &'static str {
    match state {
        CheckState::Ok => "✓",
        CheckState::Broken => "✗",
        CheckState::Propagating => "…",
        CheckState::Skipped => "-",
    }
}

/// The rows (links, chain order) and columns (clusters) of the doctor's table, in the order
/// the checks first name them.
pub(crate) fn check_axes(checks: &[LinkCheck]) -> (Vec<&str>, Vec<&str>) {
    let mut links: Vec<&str> = Vec::new();
    let mut clusters: Vec<&str> = Vec::new();
    for c in checks {
        if !links.contains(&c.link.as_str()) {
            links.push(&c.link);
        }
        if !clusters.contains(&c.cluster.as_str()) {
            clusters.push(&c.cluster);
        }
    }
    (links, clusters)
}

/// The doctor's table: one row per link (chain order), one column per cluster, followed by
/// the details of broken and propagating links.
pub(crate) fn checks_table(checks: &[LinkCheck]) -> Vec<String> {
    let (links, clusters) = check_axes(checks);
    let link_w = links
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut header = format!("{:<link_w$}", "link");
    for c in &clusters {
        header.push_str(&format!("  {c}"));
    }
    let mut lines = vec![header.trim_end().to_string()];
    for link in &links {
        let mut row = format!("{link:<link_w$}");
        for cluster in &clusters {
            let symbol = checks
                .iter()
                .find(|c| c.link == *link && c.cluster == *cluster)
                .map_or(" ", |c| check_symbol(c.state));
            let w = cluster.chars().count();
            row.push_str(&format!("  {symbol}{}", " ".repeat(w.saturating_sub(1))));
        }
        lines.push(row.trim_end().to_string());
    }
    for c in checks {
        if matches!(c.state, CheckState::Broken | CheckState::Propagating) {
            let symbol = check_symbol(c.state);
            lines.push(format!(
                "{symbol} {} in {}: {}",
                c.link, c.cluster, c.detail
            ));
        }
    }
    lines
}

/// A notice as one sentence: `scenario NAME MESSAGE`, or the message alone.
pub(crate) fn notice(scenario: Option<&str>, message: &str) -> String {
    match scenario {
        Some(s) => format!("scenario {s} {message}"),
        None => message.to_string(),
    }
}

/// The preflight table: one line per cluster (what it is, what it serves, whether it is
/// fine), then one line per problem.
pub(crate) fn preflight_table(r: &crate::fleet::PreflightReport) -> Vec<String> {
    let mut lines = vec![format!(
        "preflight: {} cluster(s) checked in {}",
        r.clusters.len(),
        duration(r.took)
    )];
    for c in &r.clusters {
        lines.push(format!("  {}", preflight_line(c)));
    }
    for p in r.problems() {
        lines.push(format!("  problem: {p}"));
    }
    lines
}

/// `a  context=a  https://127.1.1.1:6443  v1.33.0  user=admin  mcs=net.gke.io/v1  faults  permissions ok (17)  ok  3 ms`.
pub(crate) fn preflight_line(c: &crate::fleet::preflight::ClusterCheck) -> String {
    let mut parts = vec![c.cluster.clone(), format!("context={}", c.location)];
    if !c.server.is_empty() {
        parts.push(c.server.clone());
    }
    parts.push(c.version.clone().unwrap_or_else(|| "version ?".into()));
    if let Some(u) = &c.user {
        parts.push(format!("user={u}"));
    }
    parts.push(match c.mcs_apis.is_empty() {
        true => "mcs=none".to_string(),
        false => format!("mcs={}", c.mcs_apis.join(",")),
    });
    if c.faults {
        parts.push("faults".into());
    }
    parts.push(match c.permissions_checked {
        Some(n) => format!("permissions checked ({n})"),
        None => "permissions not checked (no SelfSubjectAccessReview)".into(),
    });
    parts.push(match c.problems.len() {
        0 => "ok".to_string(),
        n => format!("{n} problem(s)"),
    });
    parts.push(duration(c.took));
    parts.join("  ")
}

/// The comparison with a baseline (`--baseline`) and across repeats: a headline when there
/// was a baseline, then one line per finding (`REGRESSION …`, `BROKEN …`, `FLAKY …`).
pub(crate) fn comparison(
    baseline: Option<&str>,
    findings: &crate::compare::Findings,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = baseline {
        out.push(format!(
            "\ncompared with baseline {p}: {}",
            match findings.is_empty() {
                true => "no regressions".to_string(),
                false => format!("{} finding(s)", findings.lines().len()),
            }
        ));
    }
    out.extend(findings.lines());
    out
}
