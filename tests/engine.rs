//! The engine end to end on the embedded fleet, in-process: events and milestones of a
//! passing scenario, the last mismatch of a timed-out wait, cleanup after failure and
//! timeout (zero objects with the run label anywhere), protected namespaces refused, and the
//! network steps of issue 17 (expectConnect, SRV expectDns) failing with what they saw.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use mcs_harness::engine::{self, EventSink, Planned, RunConfig, RunSummary};
use mcs_harness::event::{Event, Milestone, Outcome};
use mcs_harness::fleet::{EmbeddedFleet, EmbeddedOptions};
use mcs_harness::scenario::{self, Scenario};
use tokio_util::sync::CancellationToken;

struct Ran {
    summary: RunSummary,
    events: Vec<Event>,
    run_id: String,
}

/// `yaml` (as if it were scenarios/test.yaml), loaded with `opts`.
fn planned_with(yaml: &str, opts: &scenario::LoadOptions) -> Planned {
    let root = env!("CARGO_MANIFEST_DIR");
    let origin = format!("{root}/scenarios/test.yaml");
    let s: Scenario = scenario::parse_with(yaml, &origin, opts).unwrap();
    Planned::run(Arc::new(s))
}

/// `yaml` (as if it were scenarios/test.yaml).
fn planned(yaml: &str) -> Planned {
    planned_with(yaml, &scenario::LoadOptions::default())
}

/// Runs `plan` on `fleet`'s clusters a and b, shared as a `sim up` fleet would be.
async fn run_plan(
    fleet: &EmbeddedFleet,
    plan: Vec<Planned>,
    cfg: RunConfig,
) -> (RunSummary, tokio::sync::mpsc::UnboundedReceiver<Event>) {
    let names = ["a".to_string(), "b".to_string()];
    let provider = Arc::new(mcs_harness::fleet::shared(fleet, &names).await.unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let summary = engine::run(
        plan,
        provider,
        cfg,
        engine::RunIntro::default(),
        EventSink::new(tx),
        CancellationToken::new(),
    )
    .await;
    (summary, rx)
}

async fn run(fleet: &EmbeddedFleet, yaml: &str, cfg: RunConfig) -> Ran {
    run_loaded(fleet, planned(yaml), cfg).await
}

async fn run_loaded(fleet: &EmbeddedFleet, plan: Planned, cfg: RunConfig) -> Ran {
    let run_id = cfg.run_id.clone();
    let (summary, mut rx) = run_plan(fleet, vec![plan], cfg).await;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    Ran {
        summary,
        events,
        run_id,
    }
}

/// Every object carrying the run label, in every cluster, across the kinds a run creates.
async fn labelled(fleet: &EmbeddedFleet, run_id: &str) -> Vec<String> {
    let kinds = [
        ("", "v1", "Namespace", "namespaces", false),
        ("", "v1", "Pod", "pods", true),
        ("", "v1", "Service", "services", true),
        ("apps", "v1", "Deployment", "deployments", true),
        ("net.gke.io", "v1", "ServiceExport", "serviceexports", true),
        ("sim.mcs-harness.dev", "v1alpha1", "Fault", "faults", false),
    ];
    let lp = ListParams::default().labels(&format!("{}={run_id}", engine::RUN_LABEL));
    let mut out = Vec::new();
    for c in ["a", "b"] {
        let client = fleet.client(c).await.unwrap();
        for (g, v, k, plural, _) in kinds {
            let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, k), plural);
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            for o in api.list(&lp).await.unwrap().items {
                out.push(format!(
                    "{c}: {k} {:?}/{:?}",
                    o.metadata.namespace, o.metadata.name
                ));
            }
        }
    }
    out
}

const BASIC: &str = r#"
name: basic
clusters: [a, b]
steps:
  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}
  - export: {cluster: a, service: whereami}
  - expectImport: {cluster: b, service: whereami, endpointsFrom: [a], derivedService: true}
  - expectDns: {from: b, name: "whereami.{{ namespace }}.svc.clusterset.local", answer: import-ip}
  - expectHttp: {from: b, url: "http://whereami.{{ namespace }}.svc.clusterset.local/", servedBy: [a]}
"#;

#[tokio::test]
async fn passing_scenario_reports_milestones_and_cleans_up() {
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let r = run(&fleet, BASIC, RunConfig::default()).await;
    assert_eq!(r.summary.passed, 1, "{:#?}", r.summary.outcomes);
    let milestones: Vec<(Milestone, Option<String>)> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Milestone {
                milestone,
                cluster,
                since_export,
                ..
            } => {
                if *milestone != Milestone::ExportApplied {
                    assert!(
                        since_export.is_some(),
                        "{milestone:?} measured from the export"
                    );
                }
                Some((*milestone, cluster.clone()))
            }
            _ => None,
        })
        .collect();
    for want in [
        (Milestone::ExportApplied, Some("a".to_string())),
        (Milestone::ImportSeen, Some("b".to_string())),
        (Milestone::EndpointsCorrect, Some("b".to_string())),
        (Milestone::DnsCorrect, Some("b".to_string())),
        (Milestone::FirstHttp200, Some("b".to_string())),
    ] {
        assert!(
            milestones.contains(&want),
            "{want:?} missing from {milestones:?}"
        );
    }
    let steps = r
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::StepFinished {
                    outcome: Outcome::Passed,
                    ..
                }
            )
        })
        .count();
    assert_eq!(steps, 5);
    // Step names show the names used, not the scenario's template text.
    let names: Vec<&str> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::StepFinished { step, .. } => Some(step.name.as_str()),
            _ => None,
        })
        .collect();
    let ns = r
        .events
        .iter()
        .find_map(|e| match e {
            Event::ScenarioStarted { namespace, .. } => Some(namespace.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        names.contains(&format!("expectDns whereami.{ns}.svc.clusterset.local from b").as_str()),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.contains("{{")), "{names:?}");
    assert!(matches!(
        r.events.last(),
        Some(Event::RunFinished {
            passed: 1,
            failed: 0,
            ..
        })
    ));
    assert_eq!(labelled(&fleet, &r.run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn timed_out_wait_reports_last_mismatch_and_cleans_up() {
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let yaml = r#"
name: no-export
clusters: [a, b]
steps:
  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}
  - fault: {cluster: b, name: noop, spec: {dns: {mode: ServFail}}}
  - name: never exported
    expectImport: {cluster: b, service: whereami, endpointsFrom: [a]}
    timeout: 700ms
  - sleep: 1s
"#;
    let r = run(&fleet, yaml, RunConfig::default()).await;
    assert_eq!(r.summary.failed, 1);
    let Outcome::Failed(f) = &r.summary.outcomes[0].1 else {
        panic!("failed expected")
    };
    assert!(f.message.contains("timed out after 700ms"), "{}", f.message);
    assert!(
        f.message
            .contains("expected serviceImport: present, seen serviceImport: absent"),
        "{}",
        f.message
    );
    let diff = f.diff.as_deref().unwrap_or_default();
    assert!(
        diff.contains("-serviceImport: present") && diff.contains("+serviceImport: absent"),
        "{diff}"
    );
    let skipped = r.events.iter().any(|e| matches!(e, Event::StepFinished { step, outcome: Outcome::Skipped { .. }, .. } if step.kind == "sleep"));
    assert!(skipped, "steps after a failure are skipped");
    let cleaned = r.events.iter().find_map(|e| match e {
        Event::CleanupFinished {
            deleted, problems, ..
        } => Some((*deleted, problems.clone())),
        _ => None,
    });
    // Two namespaces and one cluster-scoped Fault.
    assert_eq!(cleaned, Some((3, Vec::new())));
    assert_eq!(labelled(&fleet, &r.run_id).await, Vec::<String>::new());
    let faults = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("sim.mcs-harness.dev", "v1alpha1", "Fault"),
        "faults",
    );
    let b = fleet.client("b").await.unwrap();
    assert!(
        Api::<DynamicObject>::all_with(b, &faults)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn failing_mutation_fails_the_step_and_cleans_up() {
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let yaml = r#"
name: bad-apply
clusters: [a, b]
steps:
  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}
  - apply:
      cluster: b
      manifest: |
        apiVersion: v1
        kind: Service
        metadata: {name: broken}
        spec: {type: NoSuchType, ports: [{port: 80}]}
"#;
    let r = run(&fleet, yaml, RunConfig::default()).await;
    assert_eq!(r.summary.failed, 1);
    let Outcome::Failed(f) = &r.summary.outcomes[0].1 else {
        panic!()
    };
    assert!(
        f.message.contains("apply Service broken in b"),
        "{}",
        f.message
    );
    assert_eq!(labelled(&fleet, &r.run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn keep_leaves_objects_for_debugging() {
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let yaml = "name: kept\nclusters: [a, b]\nsteps:\n  - apply: {cluster: a, file: fixtures/mcs-basic/app.yaml}\n";
    let cfg = RunConfig {
        keep: true,
        ..RunConfig::default()
    };
    let r = run(&fleet, yaml, cfg).await;
    assert_eq!(r.summary.passed, 1);
    let left = labelled(&fleet, &r.run_id).await;
    assert!(left.iter().any(|l| l.contains("Deployment")), "{left:?}");
    assert_eq!(
        left.iter().filter(|l| l.contains("Namespace")).count(),
        2,
        "{left:?}"
    );
}

#[tokio::test]
async fn protected_namespaces_are_refused_unless_allowed() {
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let yaml = r#"
name: system
clusters: [a, b]
namespace: {policy: fixed, name: kube-system}
steps:
  - apply:
      cluster: a
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: harness-was-here}
"#;
    // Loading refuses it with the position of the namespace policy...
    let root = env!("CARGO_MANIFEST_DIR");
    let e = scenario::parse(yaml, &format!("{root}/scenarios/test.yaml")).unwrap_err();
    assert!(
        e.to_string()
            .contains("test.yaml:4:12: namespace \"kube-system\" is protected"),
        "{e}"
    );
    // ... and the engine refuses it again at run time, when only loading allowed it.
    let opts = scenario::LoadOptions {
        allow_namespaces: vec!["kube-system".into()],
        ..Default::default()
    };
    let r = run_loaded(&fleet, planned_with(yaml, &opts), RunConfig::default()).await;
    let Outcome::Failed(f) = &r.summary.outcomes[0].1 else {
        panic!("refused expected")
    };
    assert!(
        f.message
            .contains("refusing to touch namespace \"kube-system\""),
        "{}",
        f.message
    );
    let a = fleet.client("a").await.unwrap();
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(a.clone(), "kube-system");
    assert!(cms.get_opt("harness-was-here").await.unwrap().is_none());
    // Allowed explicitly: the ConfigMap is created, then deleted again; kube-system stays.
    let cfg = RunConfig {
        allow_namespaces: vec!["kube-system".into()],
        ..RunConfig::default()
    };
    let r = run_loaded(&fleet, planned_with(yaml, &opts), cfg).await;
    assert_eq!(r.summary.passed, 1, "{:#?}", r.summary.outcomes);
    assert!(cms.get_opt("harness-was-here").await.unwrap().is_none());
    assert!(
        Api::<Namespace>::all(a)
            .get_opt("kube-system")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn scenarios_run_concurrently_in_their_own_namespaces() {
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let plan = (0..4).map(|_| planned(BASIC)).collect();
    let cfg = RunConfig {
        jobs: 4,
        ..RunConfig::default()
    };
    let run_id = cfg.run_id.clone();
    let (summary, mut rx) = run_plan(&fleet, plan, cfg).await;
    assert_eq!(summary.passed, 4, "{:#?}", summary.outcomes);
    let mut namespaces = std::collections::BTreeSet::new();
    while let Ok(e) = rx.try_recv() {
        if let Event::ScenarioStarted { namespace, .. } = e {
            namespaces.insert(namespace);
        }
    }
    assert_eq!(namespaces.len(), 4, "{namespaces:?}");
    assert_eq!(labelled(&fleet, &run_id).await, Vec::<String>::new());
    let _ = Duration::ZERO;
}

/// The conformance suite's hello Service and pods in a, ready, then one failing step.
fn hello_then(step: &str) -> String {
    format!(
        r#"
name: net-fails
clusters: [a, b]
steps:
  - apply: {{cluster: a, file: fixtures/conformance/hello-service.yaml}}
  - apply: {{cluster: a, file: fixtures/conformance/hello-deployment.yaml}}
  - wait: {{cluster: a, apiVersion: apps/v1, kind: Deployment, name: hello, for: .status.readyReplicas == 1}}
{step}
"#
    )
}

#[tokio::test]
async fn connect_and_srv_steps_fail_with_what_they_saw() {
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let host = "hello.{{ namespace }}.svc.cluster.local";
    let cases = [
        (
            format!(
                "  - expectConnect: {{from: a, host: \"{host}\", port: 42, contains: pod ip, servedBy: [b]}}\n    timeout: 2s"
            ),
            "served by: a (pod hello-",
        ),
        (
            format!(
                "  - expectConnect: {{from: a, host: \"{host}\", port: 42, protocol: UDP, contains: pod ip, reachable: false, hold: 20}}\n    timeout: 20s"
            ),
            "expected no a reply containing \"pod ip\", got reply \"pod ip ",
        ),
        (
            format!(
                "  - expectDns: {{from: a, name: \"{host}\", type: SRV, answer: {{count: 5, port: 42}}}}\n    timeout: 2s"
            ),
            "expected records: 5, seen records: 1 [42 hello.",
        ),
    ];
    for (step, want) in cases {
        let r = run(&fleet, &hello_then(&step), RunConfig::default()).await;
        let Outcome::Failed(f) = &r.summary.outcomes[0].1 else {
            panic!("{step}: failed expected, got {:?}", r.summary.outcomes)
        };
        assert!(f.message.contains(want), "{step}: {}", f.message);
    }
}

/// Milestones come from the cluster's timeline, not from step order: in the JSON report of
/// `mcs-basic`, within each propagation (from one export change to the next) and for every
/// cluster, importSeen ≤ endpointsCorrect ≤ dnsCorrect ≤ firstHttp200, each labelled with
/// where its time comes from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcs_basic_milestones_follow_propagation_order() {
    use mcs_harness::report::{Json, Reporter};
    let fleet = EmbeddedFleet::start(&EmbeddedOptions::default())
        .await
        .unwrap();
    let path = format!("{}/scenarios/mcs-basic.yaml", env!("CARGO_MANIFEST_DIR"));
    let s = scenario::load(std::path::Path::new(&path)).unwrap();
    let r = run_loaded(&fleet, Planned::run(Arc::new(s)), RunConfig::default()).await;
    assert_eq!(r.summary.passed, 1, "{:#?}", r.summary.outcomes);
    let mut json = Json::new(std::env::temp_dir().join("unused.json"));
    for e in &r.events {
        json.event(e).unwrap();
    }
    let doc = json.render();
    let milestones = doc["scenarios"][0]["milestones"]
        .as_array()
        .unwrap()
        .clone();
    let order = [
        "importSeen",
        "endpointsCorrect",
        "dnsCorrect",
        "firstHttp200",
    ];
    // Split at every export change: sinceExportMs is measured from the latest one.
    let mut segments: Vec<Vec<&serde_json::Value>> = vec![Vec::new()];
    for m in &milestones {
        if matches!(
            m["milestone"].as_str(),
            Some("exportApplied" | "unexported")
        ) {
            segments.push(Vec::new());
            assert_eq!(m["source"], "step", "{m}");
            continue;
        }
        let want = match m["milestone"].as_str() {
            Some("dnsCorrect" | "firstHttp200") => "probe",
            _ => "watch",
        };
        assert_eq!(m["source"], want, "{m}");
        segments.last_mut().unwrap().push(m);
    }
    let mut compared = 0;
    for seg in &segments {
        for cluster in ["a", "b"] {
            let times: Vec<(usize, f64)> = seg
                .iter()
                .filter(|m| m["cluster"] == cluster)
                .filter_map(|m| {
                    let i = order.iter().position(|k| m["milestone"] == *k)?;
                    Some((i, m["sinceExportMs"].as_f64().unwrap()))
                })
                .collect();
            let mut sorted = times.clone();
            sorted.sort_by_key(|(i, _)| *i);
            for w in sorted.windows(2) {
                compared += 1;
                assert!(
                    w[0].1 <= w[1].1,
                    "cluster {cluster}: {} at +{}ms after {} at +{}ms: {milestones:#?}",
                    order[w[0].0],
                    w[0].1,
                    order[w[1].0],
                    w[1].1
                );
            }
        }
    }
    // The first propagation reaches all four in b (so the comparison is not vacuous).
    let first_b: Vec<&str> = segments[1]
        .iter()
        .filter(|m| m["cluster"] == "b")
        .filter_map(|m| m["milestone"].as_str())
        .collect();
    for k in order {
        assert!(first_b.contains(&k), "{k} missing in b: {milestones:#?}");
    }
    assert!(compared >= 5, "{compared} comparisons");
}
