//! The conformance section of the HTML report: the verdict, the fleet, and one row per
//! spec with its KEP link, result, non-conformant reasons and diagnosis. It is put into
//! the run's own `report.html` right before its Summary section (so the verdict is the first
//! thing read), or at the end of the body of a page without one.

use super::report::Report;
use crate::report::html_escape as esc;

/// The `<section id="conformance">` for `r`.
pub fn section(r: &Report) -> String {
    let mut h = String::from("<section id=\"conformance\"><h2>KEP-1645 conformance</h2>\n");
    h.push_str(&format!(
        "<p><strong>{}</strong> — Required {}/{} passed; Optional {}/{} passed ({} failed, {} skipped). Implementation: {}.</p>\n",
        esc(&r.result),
        r.required.passed,
        r.required.selected,
        r.optional.passed,
        r.optional.selected,
        r.optional.failed,
        r.optional.skipped,
        esc(&r.fleet.implementation)
    ));
    h.push_str("<table class=\"summary\"><thead><tr><th>cluster</th><th>context</th><th>server version</th><th>MCS APIs</th></tr></thead><tbody>\n");
    for c in &r.fleet.clusters {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&c.name),
            esc(&c.context),
            esc(c.server_version.as_deref().unwrap_or("unknown")),
            esc(&c.mcs_apis.join(", "))
        ));
    }
    h.push_str("</tbody></table>\n");
    h.push_str("<table class=\"summary\"><thead><tr><th>spec</th><th>level</th><th>result</th><th>what</th><th>KEP</th><th>non-conformant because</th></tr></thead><tbody>\n");
    for s in &r.specs {
        let mut why: Vec<String> = s.non_conformant.iter().map(|l| esc(l)).collect();
        if let Some(d) = &s.diagnosis {
            let at = d
                .cluster
                .as_deref()
                .map(|c| format!(" in {c}"))
                .unwrap_or_default();
            why.push(format!(
                "diagnosis <code>{}</code>{}: {} — {}",
                esc(&d.id),
                esc(&at),
                esc(&d.summary),
                esc(&d.remedy)
            ));
        }
        let anchor = s.kep.rsplit_once('#').map_or("", |(_, a)| a);
        h.push_str(&format!(
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}<br><small>{}</small></td><td><a href=\"{}\">#{}</a></td><td>{}</td></tr>\n",
            esc(&s.result),
            esc(&s.spec),
            esc(&s.conformance),
            esc(&s.result),
            esc(&s.description),
            esc(&s.name),
            esc(&s.kep),
            esc(anchor),
            why.join("<br>")
        ));
    }
    h.push_str("</tbody></table></section>\n");
    h
}

/// `page` with `section` placed before its Summary section, else before `</body>`, else
/// at the end.
pub fn inject(page: &str, section: &str) -> String {
    let at = page
        .find("<section id=\"summary\"")
        .or_else(|| page.rfind("</body>"))
        .unwrap_or(page.len());
    format!("{}{section}{}", &page[..at], &page[at..])
}

#[cfg(test)]
mod tests {
    use super::inject;

    #[test]
    fn goes_before_the_summary_or_the_end_of_the_body() {
        let page = "<body><header/><section id=\"summary\">s</section></body>";
        assert_eq!(
            inject(page, "<c/>"),
            "<body><header/><c/><section id=\"summary\">s</section></body>"
        );
        assert_eq!(inject("<body>x</body>", "<c/>"), "<body>x<c/></body>");
        assert_eq!(inject("x", "<c/>"), "x<c/>");
    }
}
