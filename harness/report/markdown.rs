//! A Markdown summary for `$GITHUB_STEP_SUMMARY`: a heading with the verdict, a result
//! line, a table `scenario | result | steps | duration | slowest milestone`, a bullet per
//! background probe (`✅`/`❌ scenario · step NN · probe NAME: …` with its samples, success
//! rate, longest outage, answers and budget violations), then one `<details>` block per
//! failed scenario (failure text, diff in a ```` ```diff ```` fence,
//! diagnosis) and per scenario whose cleanup reported problems.
//!
//! Anything that came from a cluster or a scenario file goes into code fences (longer than
//! any backtick run it contains) or is escaped, so it cannot break the page.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use super::record::{RunRecord, ScenarioRecord};
use super::{ReportError, Reporter, text, write_file};
use crate::event::{Event, Failure, Outcome};

/// The preflight table in a `<details>` block (one code-fenced line per cluster).
fn preflight_details(r: &RunRecord) -> String {
    let Some(p) = &r.preflight else {
        return String::new();
    };
    let body = text::preflight_table(p).join("\n");
    format!(
        "\n<details><summary>preflight: {} cluster(s)</summary>\n\n{}</details>\n",
        p.clusters.len(),
        fence("text", &body)
    )
}

/// The Markdown reporter; writes its file on [`Reporter::finish`].
pub struct Markdown {
    path: PathBuf,
    append: bool,
    record: RunRecord,
}

impl Markdown {
    /// Writes (replaces) `path`.
    pub fn new(path: PathBuf) -> Markdown {
        Markdown {
            path,
            append: false,
            record: RunRecord::default(),
        }
    }

    /// Appends to `path` instead, as GitHub expects for `$GITHUB_STEP_SUMMARY` when other
    /// commands of the same step write to it too.
    pub fn appending(path: PathBuf) -> Markdown {
        Markdown {
            append: true,
            ..Markdown::new(path)
        }
    }

    /// The document as it is (or would be) written.
    pub fn render(&self) -> String {
        let r = &self.record;
        let mut md = String::new();
        md.push_str(&heading(r));
        md.push_str("| scenario | result | steps | duration | diagnosis | slowest milestone |\n");
        md.push_str("| --- | --- | --- | --- | --- | --- |\n");
        for s in &r.scenarios {
            md.push_str(&table_row(s));
        }
        md.push_str(&probe_lines(r));
        md.push_str(&preflight_details(r));
        for (scenario, message) in &r.notices {
            let about = scenario
                .as_deref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default();
            md.push_str(&format!(
                "- note: {}\n",
                inline(&format!("{about}{message}"))
            ));
        }
        if let Some((baseline, findings)) = &r.comparison {
            md.push_str("\n#### Comparison\n\n");
            for line in text::comparison(baseline.as_deref(), findings) {
                md.push_str(&format!("- {}\n", inline(line.trim())));
            }
        }
        for s in &r.scenarios {
            if matches!(s.outcome, Some(Outcome::Failed(_))) {
                md.push_str(&failure_details(s));
            }
            if !s.cleanup_problems().is_empty() {
                md.push_str(&cleanup_details(s));
            }
        }
        md
    }
}

impl Reporter for Markdown {
    fn event(&mut self, e: &Event) -> Result<(), ReportError> {
        self.record.apply(e);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        let doc = self.render();
        if !self.append {
            return write_file(&self.path, &doc);
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(doc.as_bytes()))
            .map_err(|source| ReportError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

fn heading(r: &RunRecord) -> String {
    let Some(t) = r.totals else {
        return "## mcs-harness: did not finish\n\n".to_string();
    };
    let verdict = if t.failed > 0 {
        "❌ FAILED"
    } else {
        "✅ passed"
    };
    format!(
        "## mcs-harness: {verdict}\n\n**{} passed, {} failed, {} skipped** in {} · run `{}` · \
         provider {}\n\n",
        t.passed,
        t.failed,
        t.skipped,
        text::seconds(t.duration),
        cell(&r.run_id),
        cell(&r.provider)
    )
}

fn result_label(outcome: Option<&Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Passed) => "✅ passed",
        Some(Outcome::Failed(_)) => "❌ failed",
        Some(Outcome::Skipped { .. }) => "⏭️ skipped",
        None => "❔ did not finish",
    }
}

fn table_row(s: &ScenarioRecord) -> String {
    let mut result = result_label(s.outcome.as_ref()).to_string();
    if !s.cleanup_problems().is_empty() {
        result.push_str(" ⚠️ cleanup");
    }
    let passed = s.count_steps(|o| matches!(o, Outcome::Passed));
    let total = s.planned_steps.max(s.steps.len());
    let duration = s.duration.map_or_else(|| "—".to_string(), text::duration);
    let slowest = match s.slowest_milestone() {
        Some((m, d)) => format!("{} {}", text::milestone_label(m), text::duration(d)),
        None => "—".to_string(),
    };
    format!(
        "| {} | {result} | {passed}/{total} | {duration} | {} | {} |\n",
        cell(&s.name),
        cell(&text::summary_diagnosis(s)),
        cell(&slowest)
    )
}

/// `**Background probes**` and one bullet per probe report, or nothing when there are none.
fn probe_lines(r: &RunRecord) -> String {
    let mut md = String::new();
    for s in &r.scenarios {
        for (index, p) in &s.probes {
            let mark = if p.violations.is_empty() {
                "✅"
            } else {
                "❌"
            };
            let line = format!("{} · step {index:02} · {}", s.name, text::probe_summary(p));
            md.push_str(&format!("- {mark} {}\n", inline(&line)));
        }
    }
    if md.is_empty() {
        return md;
    }
    format!("\n**Background probes**\n\n{md}")
}

/// A diagnosis of a failed step: title, summary, evidence (every value in full, folded),
/// the remedy as prose with each command it names in a `sh` block, the checks table.
fn diagnosis_md(d: &crate::doctor::Diagnosis) -> String {
    let mut md = format!(
        "**Diagnosis:** {}\n\n{}\n\n",
        inline(&text::failed_diagnosis_title(d)),
        inline(&d.summary)
    );
    if !d.evidence.is_empty() {
        let lines: Vec<String> = d
            .evidence
            .iter()
            .map(|e| format!("{}: {} {} = {}", e.cluster, e.object, e.field, e.value))
            .collect();
        md.push_str(&format!(
            "<details><summary>evidence ({})</summary>\n\n{}</details>\n\n",
            d.evidence.len(),
            fence("text", &lines.join("\n"))
        ));
    }
    if !d.remedy.is_empty() {
        let (parts, commands) = text::remedy_parts(&d.remedy);
        let prose: String = parts
            .iter()
            .map(|p| match p {
                text::RemedyPart::Text(t) => inline(t),
                text::RemedyPart::Code(c) => format!("<code>{}</code>", inline(c)),
            })
            .collect();
        md.push_str(&format!("**Remedy:** {prose}\n\n"));
        if !commands.is_empty() {
            md.push_str(&fence("sh", &commands.join("\n")));
        }
    }
    if !d.checks.is_empty() {
        md.push_str(&fence("text", &text::checks_table(&d.checks).join("\n")));
    }
    md
}

fn failure_details(s: &ScenarioRecord) -> String {
    let mut failures: Vec<(String, &Failure, Vec<&crate::doctor::Diagnosis>)> = s
        .steps
        .iter()
        .filter_map(|st| match &st.outcome {
            Some(Outcome::Failed(f)) => {
                let title = format!("step {:02} {}", st.info.index, st.info.name);
                Some((title, f, s.diagnoses_of(st.info.index)))
            }
            _ => None,
        })
        .collect();
    if let (Some(Outcome::Failed(f)), true) = (&s.outcome, failures.is_empty()) {
        failures.push(("scenario".to_string(), f, Vec::new()));
    }
    let mut md = String::new();
    for (title, f, diagnoses) in failures {
        let summary = html(&format!("❌ {} — {title}", s.name));
        md.push_str(&format!("\n<details>\n<summary>{summary}</summary>\n\n"));
        md.push_str(&fence("text", &f.message));
        match &f.diff {
            Some(diff) => md.push_str(&fence("diff", diff)),
            None => {
                let lines = text::mismatch_lines(f);
                if !lines.is_empty() {
                    md.push_str(&fence("text", &lines.join("\n")));
                }
            }
        }
        for d in diagnoses {
            md.push_str(&diagnosis_md(d));
        }
        md.push_str("</details>\n");
    }
    md
}

fn cleanup_details(s: &ScenarioRecord) -> String {
    let summary = html(&format!("⚠️ {} — cleanup problems", s.name));
    format!(
        "\n<details>\n<summary>{summary}</summary>\n\n{}</details>\n",
        fence("text", &s.cleanup_problems().join("\n"))
    )
}

/// A fenced code block whose fence is longer than any backtick run in `body`.
fn fence(lang: &str, body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let ticks = "`".repeat(longest.max(2) + 1);
    format!(
        "{ticks}{lang}\n{}\n{ticks}\n\n",
        body.trim_end_matches('\n')
    )
}

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text safe in running Markdown: no emphasis, links, code spans or HTML from it.
fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    html(&out).replace(['\n', '\r'], " ")
}

/// Text safe inside HTML.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
