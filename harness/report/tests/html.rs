//! The HTML report rendered from hand-built runs: structure, escaping, self-containment,
//! waterfall epochs, probe timelines (downsampled) and size.

use super::fixtures::*;
use super::probe_fixtures::*;
use crate::event::{Event, ProbeSample};
use crate::report::{Html, Reporter};

pub(super) fn html_of(events: &[Event]) -> String {
    let mut h = Html::new("unused.html".into());
    feed(&mut h, events);
    h.render()
}

/// The part of `doc` from the first `start` to the next `end` (inclusive).
fn between<'a>(doc: &'a str, start: &str, end: &str) -> &'a str {
    let i = doc
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in page"));
    let j = doc[i..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
    &doc[i..i + j + end.len()]
}

/// The opening tags of `doc` (`<a href="#x">` → `a href="#x"`). All text is escaped, so
/// every `<` starts a tag.
fn tags(doc: &str) -> Vec<&str> {
    doc.split('<')
        .skip(1)
        .filter_map(|t| t.split('>').next())
        .filter(|t| !t.starts_with('/') && !t.starts_with('!'))
        .collect()
}

/// Checks that the page cannot fetch anything: no script, link, import or `url()`, no
/// `src=` at all, every `href` a fragment whose target exists, and no `://` in any tag
/// (`http://` may appear only in escaped text).
pub(super) fn assert_self_contained(doc: &str) {
    for banned in [
        "<script", "<link", "<iframe", "<img", "<object", "<embed", "@import", "url(",
    ] {
        assert!(!doc.contains(banned), "page contains {banned}");
    }
    for tag in tags(doc) {
        assert!(!tag.contains("://"), "tag points outside: <{tag}>");
        assert!(!tag.contains("src="), "tag loads something: <{tag}>");
        if let Some(i) = tag.find("href=\"") {
            let target = &tag[i + 6..];
            let target = &target[..target.find('"').unwrap()];
            let id = target
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("href not a fragment: <{tag}>"));
            assert!(doc.contains(&format!("id=\"{id}\"")), "no element #{id}");
        }
    }
}

fn assert_balanced(doc: &str) {
    for tag in [
        "section", "div", "table", "svg", "g", "pre", "ul", "header", "html",
    ] {
        let open =
            doc.matches(&format!("<{tag} ")).count() + doc.matches(&format!("<{tag}>")).count();
        let close = doc.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close, "unbalanced <{tag}>");
    }
}

#[test]
fn page_has_every_section() {
    let doc = html_of(&html_run());
    assert!(
        doc.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
        "{doc}"
    );
    assert!(doc.contains("<header id=\"run\" class=\"failed\">"));
    assert!(doc.contains("mcs-harness run <code>r-7f3a</code>"));
    assert!(doc.contains("<dd>embedded (clusters a, b)</dd>"));
    assert!(doc.contains("<dd>2026-11-26T10:00:00.000Z</dd><dt>duration</dt><dd>40.00s</dd>"));
    assert!(doc.contains("<dd>1 passed, 1 failed, 1 skipped</dd>"));
    assert!(doc.contains("<section id=\"summary\"><h2>Summary</h2>"));
    assert_eq!(doc.matches("<section class=\"scenario\"").count(), 3);
    assert!(doc.contains("<td><a href=\"#scenario-0-mcs-basic\">mcs-basic</a></td>"));
    let milestones = "<td>import 150 ms · endpoints 220 ms · dns 300 ms · http 200 340 ms · \
                      removed 150 ms</td>";
    assert!(doc.contains(milestones), "{doc}");
    assert!(doc.contains("<td>availability 96.2% ✓</td>"));
    assert_eq!(doc.matches("<svg class=\"waterfall\"").count(), 2);
    assert_eq!(doc.matches("<svg class=\"timeline\"").count(), 2);
    assert!(doc.contains("<h3>Steps</h3>"));
    assert!(doc.contains("<h3>Failures</h3>"));
    assert!(doc.contains("<h3>Cleanup</h3>"));
    assert!(doc.contains(
        "<td>startProbe availability<br><small>startProbe · scenarios/x.yaml:10:5</small></td>"
    ));
    assert_balanced(&doc);
    assert_self_contained(&doc);
}

#[test]
fn failure_has_coloured_diff_and_full_diagnosis() {
    let doc = html_of(&html_run());
    let f = between(
        &doc,
        "<div class=\"failure\" id=\"scenario-1-evil-script-alert-1-script-q-failure-1\">",
        "</div></div>",
    );
    assert!(f.contains("<h4>step 01 · expectEndpoints in b</h4>"), "{f}");
    assert!(f.contains(
        "<p class=\"message\">timed out after 30s waiting for Endpoints gke-mcs-7pq in b</p>"
    ));
    assert!(
        f.contains(
            "<pre class=\"diff\"><span class=\"meta\">--- expected</span>\n\
         <span class=\"meta\">+++ seen</span>\n<span class=\"del\">-10.0.0.1</span>\n\
         <span class=\"del\">-10.0.0.2</span>\n<span class=\"add\">+&lt;none&gt;</span>\n</pre>"
        ),
        "{f}"
    );
    for part in [
        "<h5>diagnosis: endpoints-empty (cluster b)</h5>\
         <p>the derived Endpoints in b have no addresses</p>",
        "<tr><td>b</td><td>Endpoints mcs-basic-r1/gke-mcs-7pq</td><td>subsets</td>\
         <td><code>&lt;none&gt;</code></td></tr>",
        "<p class=\"remedy\"><strong>remedy:</strong> check the importer logs in namespace \
         gke-mcs</p>",
    ] {
        assert!(f.contains(part), "missing {part:?} in {f}");
    }
    assert!(f.contains("<thead><tr><th>link</th><th>a</th><th>b</th></tr></thead>"));
    assert!(f.contains(
        "<tr><td>endpoints</td><td></td>\
         <td class=\"broken\" title=\"0 addresses, expected 2\">✗</td></tr>"
    ));
    assert!(
        f.contains("<tr><td>service</td><td class=\"ok\" title=\"port 80\">✓</td><td></td></tr>")
    );
    assert!(f.contains("<li class=\"broken\">✗ endpoints in b: 0 addresses, expected 2</li>"));
    // The step row links to it.
    assert!(doc.contains(
        "<a href=\"#scenario-1-evil-script-alert-1-script-q-failure-1\">timed out after"
    ));
}

#[test]
fn scenario_text_is_escaped_everywhere() {
    let doc = html_of(&html_run());
    let hostile = "evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;";
    assert!(doc.contains(&format!(
        "<h2>{hostile} <span class=\"badge failed\">failed</span></h2>"
    )));
    assert!(doc.contains(&format!(">{hostile}</a></td>")));
    assert!(doc.contains("apply &lt;app&gt; in a, b"));
    assert!(doc.contains("<li>ServiceExport x/app in a: still terminating &lt;1s&gt;</li>"));
    assert!(doc.contains("<li>success rate 96.2% &lt; 99.0%</li>"));
    assert!(!doc.contains("<script") && !doc.contains("<app>"));
}

#[test]
fn waterfall_measures_each_epoch_from_its_export_change() {
    let doc = html_of(&html_run());
    let svg = between(&doc, "<svg class=\"waterfall\"", "</svg>");
    assert_eq!(svg.matches("<g class=\"row").count(), 14);
    assert_eq!(
        svg.matches("<path class=\"mark\"").count(),
        3,
        "two exports and an unexport"
    );
    assert_eq!(svg.matches("<line class=\"epoch\"").count(), 3);
    // First epoch: measured from the export at 0.
    assert!(svg.contains(">dnsCorrect (b)</text>"));
    let title = "<title>dnsCorrect (b) at 2026-11-26T10:00:00.315Z: 300 ms after the export \
                 change</title>";
    assert!(svg.contains(title), "{svg}");
    // Unexport epoch: importRemoved is measured from the unexport (90 ms), not the export.
    assert!(
        svg.contains(">+90 ms</text>") && svg.contains(">+150 ms</text>"),
        "{svg}"
    );
    // Re-export epoch.
    assert!(svg.contains(">+120 ms</text>"));
    assert!(
        svg.contains("<text x=\"200\" y=\"17\">0 ms</text>"),
        "axis starts at the first export: {svg}"
    );
}

#[test]
fn timeline_shows_lanes_outage_and_answers() {
    let doc = html_of(&html_run());
    let probe = between(
        &doc,
        "<div class=\"probe\" id=\"scenario-0-mcs-basic-probe-0\">",
        "</div>",
    );
    assert!(
        probe.contains(
            "<h4>probe availability <span class=\"badge passed\">within budget</span></h4>"
        )
    );
    let facts = "400 samples · 96.2% ok · longest outage 300 ms · answers a=92 b=93 · ran \
                 4000 ms from 2026-11-26T10:00:00.100Z · stopped by step 01 stopProbe \
                 availability";
    assert!(probe.contains(facts), "{probe}");
    assert!(probe.contains(">b · http</text>") && probe.contains(">a · dns</text>"));
    assert!(probe.contains(">185/200 ok</text>") && probe.contains(">200/200 ok</text>"));
    assert!(
        probe.contains("<title>outage 300 ms (15 failed) from +1.2 s</title>"),
        "{probe}"
    );
    assert!(
        probe.contains(
            "<title>15 of 15 samples failed, +1.2 s to +1.48 s: connection refused</title>"
        ),
        "{probe}"
    );
    assert!(
        probe.contains("<title>a 92 (49%)</title>") && probe.contains("<title>b 93 (50%)</title>")
    );
    // 400 samples, but only a few shapes: ok, fail, ok in one lane, ok in the other.
    assert_eq!(probe.matches("<rect class=\"ok\"").count(), 3);
    assert_eq!(probe.matches("<rect class=\"fail\"").count(), 1);
    let failed = between(&doc, "<div class=\"probe\" id=\"scenario-1-", "</div>");
    assert!(failed.contains("<span class=\"badge failed\">budget violated</span>"));
    assert!(failed.contains(
        "<ul class=\"violations\"><li>success rate 96.2% &lt; 99.0%</li>\
         <li>longest outage 300 ms &gt; 200 ms</li></ul>"
    ));
}

#[test]
fn flapping_probe_stays_small() {
    let mut report = probe_report("flap", 60_000, (0, 0));
    report.samples = (0..20_000u64)
        .map(|i| ProbeSample {
            offset: ms(i * 3),
            latency: ms(1),
            from: "b".into(),
            kind: "http".into(),
            ok: i % 2 == 0,
            served_by: None,
            detail: "x".into(),
        })
        .collect();
    let mut ev = probe_run();
    ev.retain(|e| !matches!(e, Event::ProbeReport { .. }));
    ev.insert(5, probe_event("upgrade", 1, report));
    let doc = html_of(&ev);
    let svg = between(&doc, "<svg class=\"timeline\"", "</svg>");
    assert!(
        svg.matches("<rect").count() <= 330,
        "{} rects",
        svg.matches("<rect").count()
    );
    assert!(doc.len() < 150_000, "{} bytes", doc.len());
}

#[test]
fn shipped_suite_sized_run_is_well_under_a_megabyte() {
    let doc = html_of(&suite_run(10));
    assert_eq!(doc.matches("<section class=\"scenario\"").count(), 10);
    assert!(doc.len() < 1_000_000, "{} bytes", doc.len());
    assert!(
        doc.len() < 300_000,
        "expected compact output, got {} bytes",
        doc.len()
    );
    assert_self_contained(&doc);
    assert_balanced(&doc);
}

#[test]
fn unfinished_run_and_empty_run_render() {
    let mut ev = failing_run();
    ev.truncate(6);
    let doc = html_of(&ev);
    assert!(doc.contains("<span class=\"badge unfinished\">did not finish</span>"));
    assert!(doc.contains("last seen after 1000 ms: 0 of 2 addresses"));
    let empty = html_of(&[]);
    assert!(empty.contains("<section id=\"summary\">"));
    assert_balanced(&empty);
    assert_self_contained(&empty);
}

#[test]
fn finish_writes_the_rendered_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/report.html");
    let mut h = Html::new(path.clone());
    feed(&mut h, &html_run());
    h.finish().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), h.render());
}
