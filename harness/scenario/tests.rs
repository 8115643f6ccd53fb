//! Unit tests: every step kind, the expression language, templating, and the corpus of
//! malformed scenarios in `tests/scenario_errors/`.

use super::*;
use serde_json::json;

const EXAMPLE: &str = r#"# yaml-language-server: $schema=../scenario.schema.json
name: every-step
description: covers every step kind
clusters: [a, b]
flavour: upstream
namespace: {policy: fresh}
timeouts: {default: 30s, step: 1m30s}
steps:
  - name: deploy
    apply:
      cluster: a
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cm-{{ cluster }}, namespace: "{{ namespace }}"}
        data: {mode: 0644, run: "{{ run_id }}"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: two}
  - delete: {cluster: b, manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}
  - patch: {cluster: a, apiVersion: apps/v1, kind: Deployment, name: whereami, type: json,
            patch: [{op: replace, path: /spec/replicas, value: 2}]}
  - scale: {cluster: a, deployment: whereami, replicas: 3}
  - export: {cluster: a, service: whereami}
  - unexport: {cluster: b, service: whereami}
  - wait: {cluster: b, apiVersion: v1, kind: Endpoints, name: whereami,
           for: ".subsets[0].addresses | length == 2", hold: 3}
    timeout: 45s
  - expectImport: {cluster: b, service: whereami, present: true, endpointsFrom: [a],
                   derivedService: true, conditions: {Exported: "True"}}
  - expectDns: {from: b, name: "whereami.{{namespace}}.svc.clusterset.local", answer: import-ip}
  - expectDns: {from: b, name: gone.x, answer: nxdomain}
  - expectDns: {from: b, name: h.x, answer: {podsOf: [a, b]}}
  - expectDns: {from: b, name: ip.x, answer: [10.0.0.1, 10.0.0.2]}
  - expectHttp: {from: b, url: "http://whereami.{{ namespace }}.svc.clusterset.local/",
                 status: 200, servedBy: [a, b], everyBackend: true, hold: 5}
  - fault: {cluster: b, name: cut, spec: {partition: {peers: [a]}}}
  - clearFault: {cluster: b, name: cut}
  - sleep: 2s
  - startProbe: {name: avail, from: [a, b], dns: "w.{{ namespace }}.svc.clusterset.local", interval: 50ms}
  - expectFailure:
      step: {expectImport: {cluster: b, service: whereami, endpointsFrom: [a]}}
      diagnosis: endpoints-empty
  - stopProbe: {name: avail, maxFailed: 3, maxOutage: 1s, allowedClusters: [a]}
  - expectConnect: {from: b, host: "hello.{{ namespace }}.svc.clusterset.local", port: 42}
"#;

fn example() -> Scenario {
    match parse(EXAMPLE, "scenarios/every-step.yaml") {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn background_probe_steps() {
    let s = example();
    let n = s.steps.len();
    let Action::StartProbe(p) = &s.steps[n - 4].action else {
        panic!("startProbe expected")
    };
    assert_eq!(p.period, Some(Duration::from_millis(50)));
    assert_eq!(p.status, 200);
    let Action::StopProbe(p) = &s.steps[n - 2].action else {
        panic!("stopProbe expected")
    };
    assert_eq!(
        (p.max_failed, p.outage),
        (Some(3), Some(Duration::from_secs(1)))
    );
}

#[test]
fn example_covers_every_step_kind() {
    let s = example();
    let kinds: std::collections::BTreeSet<_> = s.steps.iter().map(Step::kind).collect();
    assert_eq!(kinds.len(), STEP_KINDS.len(), "{kinds:?}");
    assert_eq!(s.name, "every-step");
    assert_eq!(s.clusters, ["a", "b"]);
    assert_eq!(s.flavour, Flavour::Upstream);
    assert_eq!(s.namespace, NamespacePolicy::Fresh { create_in: None });
    assert_eq!(s.timeouts.default, Duration::from_secs(30));
    assert_eq!(s.timeouts.step, Duration::from_secs(90));
    assert_eq!((s.steps[0].line, s.steps[0].column), (9, 5));
    assert_eq!(s.steps[0].name.as_deref(), Some("deploy"));
}

#[test]
fn manifest_steps() {
    let s = example();
    let Action::Apply(m) = &s.steps[0].action else {
        panic!()
    };
    let text = m
        .manifest
        .as_ref()
        .map(|m| m.value.clone())
        .unwrap_or_default();
    assert!(
        text.contains("---") && text.contains("{{ cluster }}"),
        "{text}"
    );
    let vars = Vars {
        namespace: "ns1".into(),
        cluster: "a".into(),
        run_id: "r1".into(),
    };
    let out = render(&text, &vars).unwrap();
    assert!(out.contains("cm-a") && out.contains("\"ns1\"") && out.contains("\"r1\""));
    assert!(matches!(&s.steps[1].action, Action::Delete(d) if d.cluster.value == "b"));
}

#[test]
fn patch_scale_export_steps() {
    let s = example();
    let Action::Patch(p) = &s.steps[2].action else {
        panic!()
    };
    assert_eq!(
        (p.patch_type, p.kind.as_str(), p.api_version.as_str()),
        (PatchType::Json, "Deployment", "apps/v1")
    );
    assert_eq!(
        p.patch.value,
        json!([{"op": "replace", "path": "/spec/replicas", "value": 2}])
    );
    assert!(
        matches!(&s.steps[3].action, Action::Scale(x) if x.replicas.value == 3 && x.deployment == "whereami")
    );
    assert!(matches!(&s.steps[4].action, Action::Export(x) if x.service == "whereami"));
    assert!(matches!(&s.steps[5].action, Action::Unexport(x) if x.cluster.value == "b"));
}

#[test]
fn wait_step() {
    let s = example();
    let Action::Wait(w) = &s.steps[6].action else {
        panic!()
    };
    assert_eq!(w.hold, Some(3));
    assert_eq!(s.steps[6].timeout, Some(Duration::from_secs(45)));
    let e = w.expr.as_ref().unwrap();
    assert!(e.eval(&json!({"subsets": [{"addresses": [{}, {}]}]})));
    assert!(!e.eval(&json!({"subsets": []})));
}

#[test]
fn expectation_steps() {
    let s = example();
    let Action::ExpectImport(i) = &s.steps[7].action else {
        panic!()
    };
    assert!(i.present && i.derived_service == Some(true));
    assert_eq!(
        i.conditions.get("Exported").map(String::as_str),
        Some("True")
    );
    let answers: Vec<_> = s.steps[8..12]
        .iter()
        .map(|st| match &st.action {
            Action::ExpectDns(d) => d.answer.value.clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(answers[0], DnsAnswer::Keyword("import-ip".into()));
    assert_eq!(answers[1], DnsAnswer::Keyword("nxdomain".into()));
    assert_eq!(
        answers[2],
        DnsAnswer::PodsOf {
            pods_of: vec!["a".into(), "b".into()]
        }
    );
    assert_eq!(
        answers[3],
        DnsAnswer::Ips(vec!["10.0.0.1".into(), "10.0.0.2".into()])
    );
    let Action::ExpectHttp(h) = &s.steps[12].action else {
        panic!()
    };
    assert!(h.every_backend && h.status == 200 && h.hold == Some(5));
    assert_eq!(h.served_by.as_ref().map(Vec::len), Some(2));
}

#[test]
fn fault_sleep_and_expect_failure_steps() {
    let s = example();
    assert!(
        matches!(&s.steps[13].action, Action::Fault(f) if f.spec == json!({"partition": {"peers": ["a"]}}))
    );
    assert!(matches!(&s.steps[14].action, Action::ClearFault(f) if f.name == "cut"));
    assert!(matches!(s.steps[15].action, Action::Sleep(d) if d == Duration::from_secs(2)));
    let Action::ExpectFailure { step, diagnosis } = &s.steps[17].action else {
        panic!()
    };
    assert_eq!(diagnosis, "endpoints-empty");
    assert_eq!(step.kind(), "expectImport");
}

#[test]
fn defaults_and_fixed_namespace() {
    let s = parse(
        "name: x\nclusters: [a]\nnamespace: {policy: fixed, name: demo}\nsteps:\n  - sleep: 1s\n",
        "x.yaml",
    )
    .unwrap();
    assert_eq!(s.flavour, Flavour::Gke);
    assert_eq!(
        s.namespace,
        NamespacePolicy::Fixed {
            name: "demo".into()
        }
    );
    assert_eq!(
        s.timeouts,
        Timeouts {
            default: DEFAULT_TIMEOUT,
            step: DEFAULT_STEP_TIMEOUT
        }
    );
}

#[test]
fn fixture_files_resolve_and_render() {
    let dir = std::env::temp_dir().join(format!("mcs-scn-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("fixtures")).unwrap();
    std::fs::write(
        dir.join("fixtures/app.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: '{{ namespace }}'}\n",
    )
    .unwrap();
    let text = "name: x\nclusters: [a]\nsteps:\n  - apply: {cluster: a, file: fixtures/app.yaml}\n";
    let origin = dir.join("scenario.yaml").display().to_string();
    let s = parse(text, &origin).unwrap();
    let Action::Apply(m) = &s.steps[0].action else {
        panic!()
    };
    assert_eq!(
        m.resolved_file.as_deref(),
        Some(dir.join("fixtures/app.yaml").as_path())
    );
    std::fs::write(dir.join("fixtures/app.yaml"), "x: '{{ nope }}'\n").unwrap();
    let err = parse(text, &origin).unwrap_err().to_string();
    assert!(
        err.contains(":4:31: in fixture") && err.contains("undefined variable nope"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn expressions_parse_and_evaluate() {
    let obj = json!({"status": {"replicas": 3, "conditions": [{"type": "Ready", "status": "True"}]},
                     "metadata": {"labels": {"app.kubernetes.io/name": "w"}}});
    let cases = [
        (".status.replicas == 3", true),
        (".status.replicas >= 2", true),
        (".status.replicas < 3", false),
        (".status.replicas != 3", false),
        (".status.conditions[type=Ready].status == True", true),
        (
            ".status.conditions[type=\"Ready\"].status == \"True\"",
            true,
        ),
        (".status.conditions[0].type == Ready", true),
        (".status.conditions | length == 1", true),
        (".metadata.labels[\"app.kubernetes.io/name\"] == w", true),
        (".status.loadBalancer absent", true),
        (".status.loadBalancer exists", false),
        (".status exists", true),
        (".missing != 1", true),
        (".missing == 1", false),
    ];
    for (text, want) in cases {
        let e = Expr::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(e.eval(&obj), want, "{text}");
        assert_eq!(e.to_string(), text);
    }
    assert_eq!(
        Expr::parse(".status.replicas == 3").unwrap().observe(&obj),
        Some(json!(3))
    );
    // `.` says whether the object exists (an absent object is handed over as null).
    for (text, present, absent) in [(". exists", true, false), (". absent", false, true)] {
        let e = Expr::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(e.eval(&obj), present, "{text} on an object");
        assert_eq!(
            e.eval(&serde_json::Value::Null),
            absent,
            "{text} on no object"
        );
    }
}

#[test]
fn expression_errors() {
    for (text, msg) in [
        (".a.b", "no operator"),
        ("status == 1", "must start with `.`"),
        (".a | count == 1", "unknown filter"),
        (".a ==", "missing value"),
        (".a exists 3", "take no value"),
        (".a > x", "need a number"),
        (".a[ == 1", "no operator"),
        (".a[-x] == 1", "invalid selector"),
        (".a..b == 1", "invalid field"),
    ] {
        let err = Expr::parse(text).unwrap_err();
        assert!(err.contains(msg), "{text}: {err}");
    }
}

#[test]
fn templating() {
    let vars = Vars {
        namespace: "n".into(),
        cluster: "c".into(),
        run_id: "r".into(),
    };
    assert_eq!(
        render("{{namespace}}/{{ cluster }}/{{run_id}}\n", &vars).unwrap(),
        "n/c/r\n"
    );
    assert_eq!(render("plain: text", &vars).unwrap(), "plain: text");
    let e = render("a\n{{ nope }}", &vars).unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e.to_string().contains("undefined variable nope"), "{e}");
    assert!(
        render("{{ namespace", &vars)
            .unwrap_err()
            .message
            .contains("syntax")
    );
}

#[test]
fn schema_names_every_step_kind() {
    let schema = json_schema().to_string();
    for kind in STEP_KINDS {
        assert!(schema.contains(&format!("\"{kind}\"")), "{kind}");
    }
    assert!(!schema.contains("resolvedFile") && !schema.contains("\"expr\""));
}

#[test]
fn load_reads_files_and_reports_missing_ones() {
    let err = load(Path::new("/nonexistent/x.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/nonexistent/x.yaml: cannot read scenario"),
        "{err}"
    );
}

/// Every file in `tests/scenario_errors/` starts with `# expect: LINE:COL SUBSTRING`.
#[test]
fn malformed_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenario_errors");
    let mut failures = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "corpus too small: {}", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let spec = first
            .strip_prefix("# expect: ")
            .unwrap_or_else(|| panic!("{}: no `# expect:` line", path.display()));
        let (pos, want) = spec.split_once(' ').unwrap_or((spec, ""));
        let err = match load(&path) {
            Ok(_) => panic!("{}: loaded without error", path.display()),
            Err(e) => e.to_string(),
        };
        let prefix = format!("{}:{pos}: ", path.display());
        if !err.starts_with(&prefix) || !err.contains(want) {
            failures.push(format!("expected {prefix}…{want}…\n     got {err}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn labels_are_checked_and_parser_messages_read_for_people() {
    let base = "name: x\nclusters: [a]\nsteps:\n  - sleep: 1s\n";
    let s = parse(
        &format!("labels: {{suite: basic, faults: required}}\n{base}"),
        "x.yaml",
    )
    .unwrap();
    assert_eq!(s.labels.get("suite").map(String::as_str), Some("basic"));
    let err = parse(&format!("labels: {{\"bad key\": x}}\n{base}"), "x.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("x.yaml:1:"), "{err}");
    assert!(
        err.contains("label key \"bad key\" is not a Kubernetes label key"),
        "{err}"
    );
    // serde-saphyr's wording ("set DuplicateKeyPolicy in Options", "invalid u32") is
    // rewritten into what to do.
    let err = parse(&format!("{base}name: y\n"), "x.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("key \"name\" appears twice"), "{err}");
    assert!(!err.contains("DuplicateKeyPolicy"), "{err}");
    let text =
        "name: x\nclusters: [a]\nsteps:\n  - scale: {cluster: a, deployment: d, replicas: -1}\n";
    let err = parse(text, "x.yaml").unwrap_err().to_string();
    assert!(
        !err.contains("invalid u32") && !err.contains("invalid i32"),
        "{err}"
    );
}

#[test]
fn timeouts_scale_and_default_override() {
    let mut s = example();
    let own: Vec<Option<std::time::Duration>> = s.steps.iter().map(|st| st.timeout).collect();
    let step_cap = s.timeouts.step;
    s.adjust_timeouts(Some(std::time::Duration::from_secs(200)), 2.0);
    assert_eq!(s.timeouts.default, std::time::Duration::from_secs(400));
    assert_eq!(
        s.timeouts.step,
        step_cap.max(std::time::Duration::from_secs(200)) * 2
    );
    for (st, before) in s.steps.iter().zip(own) {
        assert_eq!(st.timeout, before.map(|d| d * 2));
    }
}
