//! How diagnoses read in the reports: the summary's diagnosis column, remedies with their
//! commands as blocks, evidence in full (folded when long), and a healthy diagnosis after a
//! failed step pointing at the expectation.

use super::fixtures::*;
use super::html::html_of;
use crate::doctor::{Diagnosis, Evidence};
use crate::event::Event;
use crate::report::ConsoleMode;
use crate::report::text::{RemedyPart, remedy_parts};

/// `failing_run` with its diagnosis replaced by `d`.
fn failing_with(d: Diagnosis) -> Vec<Event> {
    let mut ev = failing_run();
    for e in &mut ev {
        if let Event::Diagnosis { diagnosis, .. } = e {
            *diagnosis = d.clone();
        }
    }
    ev
}

fn long_evidence() -> Diagnosis {
    let mut d = endpoints_diagnosis();
    d.remedy = "grant the importer access: `gcloud projects add-iam-policy-binding P \
                --role roles/container.viewer` then restart it (kubectl --context b -n \
                gke-mcs rollout restart deployment gke-mcs-importer); see `serviceimports`"
        .into();
    d.evidence.push(Evidence {
        cluster: "b".into(),
        object: "Pod gke-mcs/gke-mcs-importer-1".into(),
        field: "log".into(),
        value: format!("E1204 forbidden: {} END-OF-LINE", "x".repeat(400)),
    });
    d
}

#[test]
fn remedies_name_their_commands() {
    let (parts, commands) = remedy_parts(&long_evidence().remedy);
    assert_eq!(
        commands,
        [
            "gcloud projects add-iam-policy-binding P --role roles/container.viewer",
            "kubectl --context b -n gke-mcs rollout restart deployment gke-mcs-importer"
        ]
    );
    assert!(parts.contains(&RemedyPart::Code("serviceimports".into())));
    assert!(
        parts
            .iter()
            .all(|p| !matches!(p, RemedyPart::Text(t) if t.contains('`')))
    );
}

#[test]
fn html_folds_long_evidence_and_blocks_commands() {
    let page = html_of(&failing_with(long_evidence()));
    assert!(page.contains("END-OF-LINE"), "evidence is not truncated");
    assert!(
        page.contains("<details class=\"value\">"),
        "long value folded"
    );
    assert!(page.contains("<details class=\"evidence\" open><summary>evidence (2)</summary>"));
    assert!(page.contains(
        "<pre class=\"commands\"><code>gcloud projects add-iam-policy-binding P --role \
         roles/container.viewer\nkubectl --context b"
    ));
    assert!(
        !page.contains("remedy:</strong> grant the importer access: `"),
        "no literal backticks"
    );
    // The summary table has a diagnosis column naming the first broken link.
    assert!(page.contains("<th>diagnosis</th>"));
    assert!(
        page.contains("<td>endpoints-empty (cluster b)</td>"),
        "{page}"
    );
}

#[test]
fn markdown_folds_evidence_and_fences_commands() {
    let md = markdown_of(&failing_with(long_evidence()));
    assert!(md.contains("END-OF-LINE"));
    assert!(md.contains("<details><summary>evidence (2)</summary>"));
    assert!(
        md.contains("```sh\ngcloud projects add-iam-policy-binding P"),
        "{md}"
    );
    assert!(md.contains("<code>serviceimports</code>"), "{md}");
}

#[test]
fn a_healthy_fleet_after_a_failed_step_points_at_the_expectation() {
    let mut healthy = endpoints_diagnosis();
    healthy.id = Diagnosis::HEALTHY.into();
    healthy.cluster = None;
    healthy.evidence.clear();
    let ev = failing_with(healthy);
    let console = console_output(&ev, ConsoleMode::Plain);
    assert!(
        console.contains("diagnosis: healthy — the fleet looks healthy: check the expectation"),
        "{console}"
    );
    let page = html_of(&ev);
    assert!(
        page.contains("diagnosis healthy-after-failure"),
        "not a green box"
    );
    assert!(page.contains("the fleet looks healthy: check the expectation"));
    let md = markdown_of(&ev);
    assert!(
        md.contains("| healthy — the fleet looks healthy: check the expectation |"),
        "{md}"
    );
    let (xml, _) = junit_of(&ev);
    assert!(xml.contains("check the expectation"), "{xml}");
}
