//! The UI modules (src/web/ui) form no import cycle: the state is data and imports none of its
//! siblings, and each module depends only on modules below it. Read from the source, since the
//! UI itself only compiles for wasm.

use std::collections::BTreeMap;

/// Module name → sibling modules it names (`super::name`).
fn graph() -> BTreeMap<String, Vec<String>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/ui");
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_none_or(|e| e != "rs") || name == "mod" {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let mut deps: Vec<String> = source
            .match_indices("super::")
            .map(|(at, _)| source[at + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>())
            .filter(|d| !d.is_empty() && *d != name)
            .collect();
        assert!(!source.contains("super::{"), "{name}: list sibling imports one per `use` so this test sees them");
        deps.sort();
        deps.dedup();
        modules.insert(name, deps);
    }
    modules
}

/// A cycle through `node`, if any (depth-first search, colouring nodes in progress).
fn cycle(graph: &BTreeMap<String, Vec<String>>, node: &str, path: &mut Vec<String>, done: &mut Vec<String>) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|p| p == node) {
        return Some(path[at..].iter().cloned().chain([node.to_string()]).collect());
    }
    if done.iter().any(|d| d == node) {
        return None;
    }
    path.push(node.to_string());
    for dep in graph.get(node).into_iter().flatten() {
        if let Some(c) = cycle(graph, dep, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.push(node.to_string());
    None
}

#[test]
fn the_ui_modules_form_no_cycle_and_the_state_imports_none() {
    let graph = graph();
    assert!(graph.len() > 15, "read the UI modules: {:?}", graph.keys().collect::<Vec<_>>());
    for (name, deps) in &graph {
        println!("{name} → {}", deps.join(", "));
    }
    let mut done = Vec::new();
    for name in graph.keys() {
        if let Some(c) = cycle(&graph, name, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", c.join(" → "));
        }
    }
    assert_eq!(graph["state"], Vec::<String>::new(), "the state is data");
    assert!(!graph["client"].contains(&"events".to_string()), "the worker client is given its event handler");
}
