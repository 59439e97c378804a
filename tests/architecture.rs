//! The walls, checked: the crate graph is the one ARCHITECTURE.md draws (the compiler then
//! rejects an arrow that runs the wrong way), the window and the command line cannot reach the
//! store, and no two modules of a crate import each other in a circle.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each workspace crate's normal (non-dev) dependencies, from `cargo metadata`.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn the_crate_graph_is_the_one_drawn_in_architecture_md() {
    let deps = dependencies();
    let ours = |name: &str| -> BTreeSet<String> {
        deps[name]
            .iter()
            .filter(|d| d.starts_with("lightbox"))
            .cloned()
            .collect()
    };
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(ours("lightbox-codec"), set(&[]));
    assert_eq!(ours("lightbox-store"), set(&[]));
    assert_eq!(ours("lightbox-imaging"), set(&["lightbox-codec"]));
    assert_eq!(
        ours("lightbox-domain"),
        set(&["lightbox-codec", "lightbox-imaging", "lightbox-store"])
    );
    assert_eq!(
        ours("lightbox-services"),
        set(&[
            "lightbox-codec",
            "lightbox-domain",
            "lightbox-imaging",
            "lightbox-store"
        ])
    );
    assert_eq!(
        ours("lightbox-ui"),
        set(&["lightbox-domain", "lightbox-imaging"])
    );
    assert_eq!(
        ours("lightbox"),
        set(&[
            "lightbox-domain",
            "lightbox-imaging",
            "lightbox-services",
            "lightbox-ui"
        ])
    );
    // The domain is synchronous and knows no screen, socket runtime or DICOM network.
    for forbidden in ["tokio", "egui", "eframe", "dicom-ul", "socket2"] {
        assert!(
            !deps["lightbox-domain"].contains(forbidden),
            "lightbox-domain depends on {forbidden}"
        );
    }
    // The window has no database, no runtime, no DICOM parser of its own.
    for forbidden in [
        "rusqlite",
        "tokio",
        "dicom-object",
        "dicom-core",
        "dicom-ul",
    ] {
        assert!(
            !deps["lightbox-ui"].contains(forbidden),
            "lightbox-ui depends on {forbidden}"
        );
    }
    // Imaging and the store know nothing of screens or the network.
    for crate_name in ["lightbox-imaging", "lightbox-store", "lightbox-codec"] {
        for forbidden in ["egui", "eframe", "tokio", "dicom-ul"] {
            assert!(
                !deps[crate_name].contains(forbidden),
                "{crate_name} depends on {forbidden}"
            );
        }
    }
    // The program itself (command line, demo, desktop wiring) opens no database.
    for forbidden in ["rusqlite", "rusqlite_migration", "lightbox-store"] {
        assert!(
            !deps["lightbox"].contains(forbidden),
            "lightbox depends on {forbidden}"
        );
    }
}

/// Source files of a crate's `src`, by top-level module.
fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap().flatten() {
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().to_string();
        if file_name == "lib.rs" || file_name == "main.rs" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            let mut stack = vec![path.clone()];
            while let Some(dir) = stack.pop() {
                for e in std::fs::read_dir(&dir).unwrap().flatten() {
                    if e.path().is_dir() {
                        stack.push(e.path());
                    } else if e.path().extension().is_some_and(|x| x == "rs") {
                        files.push(e.path());
                    }
                }
            }
            out.insert(file_name, files);
        } else if let Some(stem) = file_name.strip_suffix(".rs") {
            out.insert(stem.to_string(), vec![path]);
        }
    }
    out
}

/// Which top-level modules each module names through `crate::` (comments and tests aside).
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut graph = BTreeMap::new();
    for (name, files) in &modules {
        let mut uses = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for line in code.lines() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                let mut rest = line;
                while let Some((_, after)) = rest.split_once("crate::") {
                    rest = after;
                    let word: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if word != *name && modules.contains_key(&word) {
                        uses.insert(word);
                    }
                    // `use crate::{a, b::c}`: every name in the braces.
                    if let Some(group) = rest.strip_prefix('{') {
                        for part in group.split('}').next().unwrap_or("").split(',') {
                            let word: String = part
                                .trim()
                                .chars()
                                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                                .collect();
                            if word != *name && modules.contains_key(&word) {
                                uses.insert(word);
                            }
                        }
                    }
                }
            }
        }
        graph.insert(name.clone(), uses);
    }
    graph
}

/// A cycle in `graph`, if there is one (a path that comes back to its start).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in &graph[node] {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_two_modules_of_a_crate_import_each_other_in_a_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![root.join("src")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        sources.push(entry.path().join("src"));
    }
    for src in sources {
        let graph = module_graph(&src);
        assert!(graph.len() > 1 || src.ends_with("src"), "{}", src.display());
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{}: {}", src.display(), cycle.join(" → "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle_it_is_shown() {
    // The check above must be able to fail: a → b → c → a is found, a → b → c is not.
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(find_cycle(&graph(&[("a", "b"), ("b", "c")])), None);
}

#[test]
fn the_domain_and_the_services_do_not_hand_out_the_store() {
    // A crate that depends only on the domain (the window) must not find the store through
    // it: no public re-export of lightbox_store in the domain or the services.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for lib in ["crates/domain/src/lib.rs", "crates/services/src/lib.rs"] {
        let text = std::fs::read_to_string(root.join(lib)).unwrap();
        assert_eq!(
            store_re_exports(&text),
            Vec::<String>::new(),
            "{lib} hands out the store"
        );
    }
}

/// The `pub use lightbox_store…;` statements of a file that hand out the whole crate, a glob,
/// or the `Store` type itself (records such as `StoreError` may pass).
fn store_re_exports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some((_, after)) = rest.split_once("pub use lightbox_store") {
        let (statement, more) = after.split_once(';').unwrap_or((after, ""));
        let tokens: Vec<&str> = statement
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '*'))
            .filter(|t| !t.is_empty())
            .collect();
        let whole_crate = tokens.is_empty() || tokens.first() == Some(&"as");
        if whole_crate || tokens.contains(&"Store") || tokens.contains(&"*") {
            found.push(format!("pub use lightbox_store{statement}"));
        }
        rest = more;
    }
    found
}

#[test]
fn the_store_re_export_check_sees_what_it_should() {
    assert!(store_re_exports("pub use lightbox_store::StoreError;").is_empty());
    assert!(store_re_exports("pub use lightbox_store::{his, ris};").is_empty());
    assert_eq!(
        store_re_exports("pub use lightbox_store as store;").len(),
        1
    );
    assert_eq!(store_re_exports("pub use lightbox_store;").len(), 1);
    assert_eq!(store_re_exports("pub use lightbox_store::Store;").len(), 1);
    assert_eq!(
        store_re_exports("pub use lightbox_store::{his, Store};").len(),
        1
    );
    assert_eq!(store_re_exports("pub use lightbox_store::*;").len(), 1);
}
