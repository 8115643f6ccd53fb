//! The JUnit report is valid for Jenkins' junit-10.xsd (xunit-plugin's schema, which CI
//! tools validate with): a run with a passed, a failed and a skipped scenario is checked
//! element by element against the schema's rules — which attributes each element may carry
//! and must carry, which children it may have, the `time` pattern — and, where `xmllint`
//! (Debian's libxml2-utils, installed by .ci/run) is on PATH, for well-formedness. The
//! schema file itself is not vendored: its rules are restated here.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use quick_xml::events::Event;

/// (allowed attributes, required attributes, allowed children) of an element, as
/// junit-10.xsd declares them.
type Rule = (Vec<&'static str>, Vec<&'static str>, Vec<&'static str>);

fn rules() -> BTreeMap<&'static str, Rule> {
    let text = ["type", "message"];
    BTreeMap::from([
        (
            "testsuites",
            (
                vec!["name", "time", "tests", "failures", "errors"],
                vec![],
                vec!["testsuite"],
            ),
        ),
        (
            "testsuite",
            (
                vec![
                    "name",
                    "tests",
                    "failures",
                    "errors",
                    "group",
                    "time",
                    "skipped",
                    "timestamp",
                    "hostname",
                    "id",
                    "package",
                    "file",
                    "log",
                    "url",
                ],
                vec!["name", "tests", "failures", "errors"],
                vec![
                    "testsuite",
                    "properties",
                    "testcase",
                    "system-out",
                    "system-err",
                ],
            ),
        ),
        ("properties", (vec![], vec![], vec!["property"])),
        (
            "property",
            (vec!["name", "value"], vec!["name", "value"], vec![]),
        ),
        (
            "testcase",
            (
                vec!["name", "time", "classname", "group"],
                vec!["name"],
                vec![
                    "skipped",
                    "error",
                    "failure",
                    "rerunFailure",
                    "rerunError",
                    "flakyFailure",
                    "flakyError",
                    "system-out",
                    "system-err",
                ],
            ),
        ),
        ("failure", (text.to_vec(), vec![], vec![])),
        ("error", (text.to_vec(), vec![], vec![])),
        ("skipped", (text.to_vec(), vec![], vec![])),
        ("system-out", (vec![], vec![], vec![])),
        ("system-err", (vec![], vec![], vec![])),
    ])
}

/// Every violation of the rules in `xml`.
fn violations(xml: &str) -> Vec<String> {
    let rules = rules();
    let time = regex::Regex::new(r"^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$").unwrap();
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                stack.pop();
                continue;
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(err) => {
                out.push(format!("not XML: {err}"));
                break;
            }
        };
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        match stack.last() {
            None if name != "testsuites" && name != "testsuite" => {
                out.push(format!("root <{name}>"))
            }
            Some(parent)
                if !rules
                    .get(parent.as_str())
                    .is_some_and(|r| r.2.contains(&name.as_str())) =>
            {
                out.push(format!("<{name}> inside <{parent}>"));
            }
            _ => {}
        }
        let Some((allowed, required, _)) = rules.get(name.as_str()) else {
            out.push(format!("unknown element <{name}>"));
            continue;
        };
        let mut seen = Vec::new();
        for a in e.attributes().flatten() {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let value = String::from_utf8_lossy(&a.value).into_owned();
            if !allowed.contains(&key.as_str()) {
                out.push(format!("<{name}> has attribute {key}={value:?}"));
            }
            if key == "time" && !time.is_match(&value) {
                out.push(format!("<{name}> time {value:?} is not a SUREFIRE_TIME"));
            }
            seen.push(key);
        }
        for r in required {
            if !seen.iter().any(|s| s == r) {
                out.push(format!("<{name}> lacks {r}"));
            }
        }
        if !empty {
            stack.push(name);
        }
    }
    out
}

#[test]
fn junit_report_follows_junit_10_xsd() {
    let dir = tempfile::tempdir().unwrap();
    let fail = "name: a-fail\nclusters: [a]\nsteps:\n  - name: never\n    wait: {cluster: a, \
                apiVersion: v1, kind: Namespace, name: never-created, for: .metadata.name \
                exists}\n    timeout: 200ms\n  - sleep: 1ms\n";
    let pass = "name: b-pass\nclusters: [a]\nsteps:\n  - apply:\n      cluster: a\n      \
                manifest: |\n        apiVersion: v1\n        kind: ConfigMap\n        \
                metadata: {name: x}\n";
    std::fs::write(dir.path().join("a-fail.yaml"), fail).unwrap();
    std::fs::write(dir.path().join("b-pass.yaml"), pass).unwrap();
    std::fs::write(
        dir.path().join("c-pass.yaml"),
        pass.replace("b-pass", "c-pass"),
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    // One at a time: b-pass passes, a-fail fails (its second step is skipped), c-pass is
    // skipped by --fail-fast.
    let out = Command::new(support::harness_bin())
        .current_dir(dir.path())
        .args([
            "run",
            "-q",
            "--jobs",
            "1",
            "--fail-fast",
            "b-pass.yaml",
            "a-fail.yaml",
        ])
        .args(["c-pass.yaml", "--junit"])
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    for want in [
        "<failure",
        "<skipped",
        "<properties>",
        "<testcase name=\"00 apply",
    ] {
        assert!(xml.contains(want), "{want} missing:\n{xml}");
    }
    let bad = violations(&xml);
    assert!(bad.is_empty(), "{}\n{xml}", bad.join("\n"));
    // The checker is not blind: what quick-junit writes by default is rejected.
    let raw = xml.replacen(
        "<testsuites ",
        "<testsuites timestamp=\"2026-01-01T00:00:00Z\" ",
        1,
    );
    let raw = raw.replacen("<testsuite ", "<testsuite disabled=\"0\" ", 1);
    assert_eq!(violations(&raw).len(), 2, "{:?}", violations(&raw));
    match Command::new("xmllint").arg("--noout").arg(&junit).output() {
        Ok(lint) => assert!(
            lint.status.success(),
            "xmllint: {}",
            String::from_utf8_lossy(&lint.stderr)
        ),
        Err(e) => eprintln!("xmllint not run ({e}); .ci/run installs libxml2-utils"),
    }
}
