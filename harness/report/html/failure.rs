//! Failures and diagnoses in HTML: the message, the expected-vs-seen diff as a `<pre>` with
//! `+`/`-` lines coloured (or expected and seen side by side when there is no diff), and
//! each diagnosis with its summary, evidence table, remedy and the ✓/✗ table of link checks
//! (one row per link, one column per cluster, details as tooltips and listed below for the
//! broken and propagating links).

use crate::doctor::{CheckState, Diagnosis, LinkCheck};
use crate::event::Failure;
use crate::report::text;

use super::escape;

/// One failure block with anchor `id`, heading `title` and the step's diagnoses.
pub(super) fn failure(id: &str, title: &str, f: &Failure, diagnoses: &[&Diagnosis]) -> String {
    let mut out = format!(
        "<div class=\"failure\" id=\"{}\"><h4>{}</h4><p class=\"message\">{}</p>",
        escape(id),
        escape(title),
        escape(&f.message)
    );
    out.push_str(&mismatch(f));
    for d in diagnoses {
        out.push_str(&diagnosis(d, true));
    }
    out.push_str("</div>");
    out
}

/// The diff, or expected and seen side by side, or nothing.
fn mismatch(f: &Failure) -> String {
    if let Some(diff) = &f.diff {
        return format!(
            "<p class=\"label\">diff (expected vs seen)</p>{}",
            diff_pre(diff)
        );
    }
    let parts: Vec<String> = [("expected", &f.expected), ("seen", &f.seen)]
        .into_iter()
        .filter_map(|(label, text)| {
            text.as_ref().map(|t| {
                format!(
                    "<div><p class=\"label\">{label}</p><pre>{}</pre></div>",
                    escape(t)
                )
            })
        })
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!("<div class=\"mismatch\">{}</div>", parts.concat())
}

/// A unified diff with one `<span>` per line, classed by its first character.
pub(super) fn diff_pre(diff: &str) -> String {
    let mut out = String::from("<pre class=\"diff\">");
    for line in diff.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            "meta"
        } else if line.starts_with("@@") {
            "hunk"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else {
            "ctx"
        };
        out.push_str(&format!(
            "<span class=\"{class}\">{}</span>\n",
            escape(line)
        ));
    }
    out.push_str("</pre>");
    out
}

/// A diagnosis block; `after_failure`: it belongs to a failed step (a healthy chain then
/// points at the expectation, and is not shown as good news).
pub(super) fn diagnosis(d: &Diagnosis, after_failure: bool) -> String {
    let (class, title) = match (d.is_healthy(), after_failure) {
        (true, true) => (" healthy-after-failure", text::failed_diagnosis_title(d)),
        (true, false) => (" healthy", text::diagnosis_title(d)),
        _ => ("", text::diagnosis_title(d)),
    };
    let mut out = format!(
        "<div class=\"diagnosis{class}\"><h5>diagnosis: {}</h5><p>{}</p>",
        escape(&title),
        escape(&d.summary)
    );
    if !d.evidence.is_empty() {
        // Every value in full: long or multi-line ones fold into a <details> of their own.
        out.push_str(&format!(
            "<details class=\"evidence\" open><summary>evidence ({})</summary>\
             <table class=\"evidence\"><thead><tr><th>cluster</th><th>object</th>\
             <th>field</th><th>value</th></tr></thead><tbody>",
            d.evidence.len()
        ));
        for e in &d.evidence {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.cluster),
                escape(&e.object),
                escape(&e.field),
                evidence_value(&e.value)
            ));
        }
        out.push_str("</tbody></table></details>");
    }
    if !d.remedy.is_empty() {
        out.push_str(&remedy(&d.remedy));
    }
    if !d.checks.is_empty() {
        out.push_str(&checks_table(&d.checks));
    }
    out.push_str("</div>");
    out
}

/// Values up to this many characters (on one line) are shown inline.
const INLINE_VALUE: usize = 120;

/// An evidence value: inline `<code>`, or folded (its first line as the summary) when long.
fn evidence_value(v: &str) -> String {
    if v.chars().count() <= INLINE_VALUE && !v.contains('\n') {
        return format!("<code>{}</code>", escape(v));
    }
    let head: String = v
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(60)
        .collect();
    format!(
        "<details class=\"value\"><summary><code>{}</code> … ({} characters)</summary>\
         <pre>{}</pre></details>",
        escape(&head),
        v.chars().count(),
        escape(v)
    )
}

/// The remedy: its prose (backticked parts as inline code, no literal backticks), then
/// each command it names in a copyable block.
fn remedy(r: &str) -> String {
    let (parts, commands) = text::remedy_parts(r);
    let prose: String = parts
        .iter()
        .map(|p| match p {
            text::RemedyPart::Text(t) => escape(t),
            text::RemedyPart::Code(c) => format!("<code>{}</code>", escape(c)),
        })
        .collect();
    let mut out = format!("<p class=\"remedy\"><strong>remedy:</strong> {prose}</p>");
    if !commands.is_empty() {
        out.push_str("<pre class=\"commands\"><code>");
        let lines: Vec<String> = commands.iter().map(|c| escape(c)).collect();
        out.push_str(&lines.join("\n"));
        out.push_str("</code></pre>");
    }
    out
}

/// CSS class of a check state.
fn state_class(state: CheckState) -> &'static str {
    match state {
        CheckState::Ok => "ok",
        CheckState::Broken => "broken",
        CheckState::Propagating => "propagating",
        CheckState::Skipped => "skipped",
    }
}

/// The link × cluster table of checks, then the details of broken and propagating links.
fn checks_table(checks: &[LinkCheck]) -> String {
    let (links, clusters) = text::check_axes(checks);
    let mut out = String::from("<table class=\"checks\"><thead><tr><th>link</th>");
    for c in &clusters {
        out.push_str(&format!("<th>{}</th>", escape(c)));
    }
    out.push_str("</tr></thead><tbody>");
    for link in &links {
        out.push_str(&format!("<tr><td>{}</td>", escape(link)));
        for cluster in &clusters {
            match checks
                .iter()
                .find(|c| c.link == *link && c.cluster == *cluster)
            {
                Some(c) => out.push_str(&format!(
                    "<td class=\"{}\" title=\"{}\">{}</td>",
                    state_class(c.state),
                    escape(&c.detail),
                    text::check_symbol(c.state)
                )),
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out.push_str(&check_details(checks));
    out
}

/// The details of broken and propagating links, as a list (empty when all hold).
fn check_details(checks: &[LinkCheck]) -> String {
    let details: Vec<String> = checks
        .iter()
        .filter(|c| matches!(c.state, CheckState::Broken | CheckState::Propagating))
        .map(|c| {
            format!(
                "<li class=\"{}\">{} {} in {}: {}</li>",
                state_class(c.state),
                text::check_symbol(c.state),
                escape(&c.link),
                escape(&c.cluster),
                escape(&c.detail)
            )
        })
        .collect();
    if details.is_empty() {
        return String::new();
    }
    format!("<ul class=\"check-details\">{}</ul>", details.concat())
}
