//! Engine unit tests (pure parts); end-to-end behaviour is tested against the embedded
//! fleet in `tests/engine.rs` and `tests/scenarios.rs`.

use super::new_run_id;

#[test]
fn run_ids_are_short_distinct_labels() {
    let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_run_id()).collect();
    assert_eq!(ids.len(), 1000);
    for id in &ids {
        assert_eq!(id.len(), 8);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}

/// The engine's modules (file stem → the sibling modules it uses), from `use super::…`,
/// `super::x::` paths and `crate::engine::x` paths outside `#[cfg(test)] mod tests`.
fn module_graph() -> std::collections::BTreeMap<String, Vec<String>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("harness/engine");
    let mut files = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        if p.extension().is_some_and(|x| x == "rs") && stem != "mod" {
            let text = std::fs::read_to_string(&p).unwrap();
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            files.insert(stem, code);
        }
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut graph = std::collections::BTreeMap::new();
    for (m, code) in &files {
        let mut deps = std::collections::BTreeSet::new();
        for prefix in ["super::", "crate::engine::"] {
            for (i, _) in code.match_indices(prefix) {
                let rest = &code[i + prefix.len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group[..group.find('}').unwrap_or(0)]
                        .split(|c: char| !word(c))
                        .collect(),
                    None => vec![&rest[..rest.find(|c| !word(c)).unwrap_or(rest.len())]],
                };
                deps.extend(
                    names
                        .into_iter()
                        .filter(|n| *n != m && files.contains_key(*n))
                        .map(str::to_string),
                );
            }
        }
        graph.insert(m.clone(), deps.into_iter().collect());
    }
    graph
}

#[test]
fn engine_modules_form_no_import_circle() {
    let graph = module_graph();
    assert!(graph.len() > 10, "{graph:?}");
    assert!(graph["steps"].contains(&"context".to_string()), "{graph:?}");
    // Depth-first search; a module met again while on the stack closes a circle.
    fn visit(
        m: &str,
        g: &std::collections::BTreeMap<String, Vec<String>>,
        state: &mut std::collections::HashMap<String, bool>,
        stack: &mut Vec<String>,
    ) {
        match state.get(m) {
            Some(true) => panic!("import circle: {} -> {m}", stack.join(" -> ")),
            Some(false) => return,
            None => {}
        }
        state.insert(m.to_string(), true);
        stack.push(m.to_string());
        for d in &g[m] {
            visit(d, g, state, stack);
        }
        stack.pop();
        state.insert(m.to_string(), false);
    }
    let mut state = std::collections::HashMap::new();
    for m in graph.keys() {
        visit(m, &graph, &mut state, &mut Vec::new());
    }
    // The state types are leaves (they use only other leaves).
    for leaf in [
        "identity",
        "ledger",
        "milestones",
        "pool",
        "clusters",
        "sampler",
        "op",
    ] {
        for d in &graph[leaf] {
            assert!(
                ["sync", "events", "error", "op"].contains(&d.as_str()),
                "{leaf} uses {d}"
            );
        }
    }
}

#[test]
fn the_engine_sees_no_yaml_model_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("harness/engine");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for banned in ["Spanned", "scenario::model", "Action::", "SpannedStr"] {
            assert!(!text.contains(banned), "{} uses {banned}", p.display());
        }
    }
}
