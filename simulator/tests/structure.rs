//! The import structure of the crate, read from its sources: no module imports one
//! that imports it back (at the top level, and among the modules of each top-level
//! module), and the layers stay in their lanes: the rig imports nothing of the crate
//! but itself, and the core (clock, catalogue, engine, metrics, exposition) nothing of
//! the lab, its servers, the battery or the command line.
//!
//! Test code (`#[cfg(test)]` onwards in a file) and comments are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CORE: &[&str] = &["clock", "catalogue", "engine", "metrics", "exposition"];
const ABOVE_CORE: &[&str] = &[
    "scenario", "lab", "server", "gateway", "bench", "logs", "cli",
];

/// Every source file's module path (`rig::plan`) and the module paths it names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut out = BTreeMap::new();
    let mut test_modules = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let is_mod = matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        );
        if is_mod {
            parts.pop();
        }
        let module = parts.join("::");
        let parent = if is_mod {
            module.clone()
        } else {
            parts[..parts.len() - 1].join("::")
        };
        let text = std::fs::read_to_string(&file).unwrap();
        // `#[cfg(test)] mod golden;` makes golden.rs test code.
        for after in text.split("#[cfg(test)]").skip(1) {
            if let Some(name) = after.trim_start().strip_prefix("mod ") {
                let name = name.split(';').next().unwrap_or_default().trim();
                test_modules.insert(
                    [parent.as_str(), name]
                        .join("::")
                        .trim_start_matches("::")
                        .to_owned(),
                );
            }
        }
        let code = text.split("#[cfg(test)]").next().unwrap();
        let mut named = BTreeSet::new();
        for line in code.lines() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for (prefix, base) in [("crate::", String::new()), ("super::", parent.clone())] {
                for piece in line.split(prefix).skip(1) {
                    let path: Vec<&str> = piece
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                        .next()
                        .unwrap_or_default()
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .collect();
                    if let Some(first) = path.first() {
                        let mut full: Vec<String> = Vec::new();
                        if !base.is_empty() {
                            full.push(base.clone());
                        }
                        full.extend(path.iter().take(2).map(|s| (*s).to_owned()));
                        named.insert(full.join("::"));
                        let _ = first;
                    }
                }
            }
        }
        out.insert(module, named);
    }
    out.retain(|module, _| {
        !test_modules
            .iter()
            .any(|t| module == t || module.starts_with(&format!("{t}::")))
    });
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first `depth` segments of `path`.
fn prefix(path: &str, depth: usize) -> String {
    path.split("::").take(depth).collect::<Vec<_>>().join("::")
}

/// The edges between distinct modules `depth` segments deep that share their first
/// `depth - 1` segments (siblings).
fn sibling_edges(
    imports: &BTreeMap<String, BTreeSet<String>>,
    depth: usize,
) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    for (module, named) in imports {
        if module.split("::").count() < depth {
            continue;
        }
        let from = prefix(module, depth);
        for target in named {
            if target.split("::").count() < depth {
                continue;
            }
            let to = prefix(target, depth);
            if to != from
                && prefix(&to, depth - 1) == prefix(&from, depth - 1)
                && imports.keys().any(|m| prefix(m, depth) == to)
            {
                edges.insert((from.clone(), to));
            }
        }
    }
    edges
}

/// A cycle among `edges`, if there is one.
fn cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().push(b);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| *n == node) {
            return Some(
                path[i..]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .chain([node.to_owned()])
                    .collect(),
            );
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for n in next.get(node).into_iter().flatten() {
            if let Some(c) = visit(n, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in next.keys() {
        if let Some(c) = visit(node, &next, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let imports = imports();
    for depth in [1, 2] {
        let edges = sibling_edges(&imports, depth);
        assert!(!edges.is_empty(), "no imports found at depth {depth}");
        if let Some(c) = cycle(&edges) {
            panic!("import cycle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_layers_stay_in_their_lanes() {
    let imports = imports();
    let mut wrong = Vec::new();
    for (module, named) in &imports {
        let top = prefix(module, 1);
        for target in named {
            let to = prefix(target, 1);
            if to == top || !imports.keys().any(|m| prefix(m, 1) == to) {
                continue;
            }
            let rig_leaks = top == "rig";
            let core_climbs = CORE.contains(&top.as_str()) && ABOVE_CORE.contains(&to.as_str());
            if rig_leaks || core_climbs {
                wrong.push(format!("{module} imports {target}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The checks see real imports: a made-up cycle is caught.
#[test]
fn a_cycle_is_caught() {
    let edges = BTreeSet::from([
        ("a".to_owned(), "b".to_owned()),
        ("b".to_owned(), "c".to_owned()),
        ("c".to_owned(), "a".to_owned()),
    ]);
    assert_eq!(cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
    let imports = imports();
    assert!(
        imports["lab"].contains("metrics::gateway"),
        "{:?}",
        imports["lab"]
    );
}
