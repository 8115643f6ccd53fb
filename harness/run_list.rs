//! `run`'s selection step and `run --list`: which loaded scenarios the selection flags take
//! (see [`crate::select`]), and, for `--list`, what would run and why each other scenario
//! would not — left out by a flag, or skipped because the fleet lacks a capability.
//!
//! `--list` opens the embedded fleet or the `--cluster` contexts (preflight is read-only)
//! to tell capability skips; it never opens `--provider kind|k3s`, which would create
//! clusters, and says so.

use std::io::Write;

use crate::fleet::ProviderKind;
use crate::run_cmd::{RunArgs, RunCmdError};
use crate::scenario::Scenario;
use crate::select::Selection;

/// Scenarios the selection leaves out: `(name, why)`.
pub type LeftOut = Vec<(String, String)>;

/// Splits the loaded scenarios into those the selection takes and `(name, why not)` for
/// the others. No scenario taken is an error, except in a shard that got none (more shards
/// than scenarios: the others run them all).
pub fn apply(
    scenarios: Vec<Scenario>,
    selection: &Selection,
) -> Result<(Vec<Scenario>, LeftOut), RunCmdError> {
    let keys: Vec<(&str, &std::collections::BTreeMap<String, String>)> = scenarios
        .iter()
        .map(|s| (s.name.as_str(), &s.labels))
        .collect();
    let verdicts = selection.decide(&keys);
    let (mut taken, mut left_out) = (Vec::new(), Vec::new());
    for (s, why) in scenarios.into_iter().zip(verdicts) {
        match why {
            None => taken.push(s),
            Some(why) => left_out.push((s.name, why)),
        }
    }
    let sharded_away = left_out.iter().any(|(_, w)| w.starts_with("in shard"));
    if taken.is_empty() && !sharded_away {
        let lines: Vec<String> = left_out
            .iter()
            .map(|(n, why)| format!("  {n}: {why}"))
            .collect();
        return Err(RunCmdError::NoneSelected(lines.join("\n")));
    }
    Ok((taken, left_out))
}

/// Prints what would run and why the others would not; exit code 0.
pub async fn list(
    args: &RunArgs,
    scenarios: &[Scenario],
    left_out: &[(String, String)],
) -> Result<i32, RunCmdError> {
    let opts = crate::run_cmd::provider_options(args);
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let header;
    match opts.kind {
        ProviderKind::Kind | ProviderKind::K3s => {
            header = "note: capabilities of --provider kind/k3s are not checked by --list (it \
                      would create clusters)\n"
                .to_string();
            for s in scenarios {
                rows.push((s.name.clone(), "run".into(), describe(s)));
            }
        }
        ProviderKind::Embedded | ProviderKind::Contexts(_) => {
            let (provider, _) = crate::fleet::open(&opts).await?;
            header = format!("provider {}\n", provider.describe());
            for s in scenarios {
                match provider.fit(s)? {
                    None => rows.push((s.name.clone(), "run".into(), describe(s))),
                    Some(why) => rows.push((s.name.clone(), "skip".into(), why)),
                }
            }
        }
    }
    rows.extend(
        left_out
            .iter()
            .map(|(n, why)| (n.clone(), "skip".into(), why.clone())),
    );
    let runs = rows.iter().filter(|(_, v, _)| v == "run").count();
    let width = rows.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    let mut text = header;
    text.push_str(&format!(
        "{runs} of {} scenario(s) would run{}:\n",
        rows.len(),
        match args.repeat {
            1 => String::new(),
            n => format!(" ({n} times each)"),
        }
    ));
    for (name, verdict, detail) in &rows {
        text.push_str(&format!("  {verdict:<4}  {name:<width$}  {detail}\n"));
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}

/// `scenarios/x.yaml  labels a=b,c=`, for a scenario that runs.
fn describe(s: &Scenario) -> String {
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    match labels.is_empty() {
        true => s.origin.clone(),
        false => format!("{}  labels {}", s.origin, labels.join(",")),
    }
}
