//! The workspace's structure, read from its sources and from `cargo metadata`.
//!
//! The compiler forbids cycles between crates; inside each crate no module imports
//! one that imports it back (at the top level, and among the modules of each
//! top-level module). The lanes are the crates' dependencies: the rig names no other
//! crate of the workspace, and the core pulls in no async runtime or HTTP stack, not
//! even indirectly.
//!
//! Test code (`#[cfg(test)]` onwards in a file) and comments are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's library crates and the binary's, by source directory.
const CRATES: &[&str] = &["crates/core", "crates/rig", "crates/lab", "simulator"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Every source file of the crate in `dir`, by its module path (`scenario::validate`),
/// and the module paths of the same crate it names.
fn imports(dir: &str) -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join(dir).join("src");
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
    for dir in CRATES {
        let imports = imports(dir);
        for depth in [1, 2] {
            let edges = sibling_edges(&imports, depth);
            if let Some(c) = cycle(&edges) {
                panic!("{dir}: import cycle: {}", c.join(" -> "));
            }
        }
    }
}

/// Each workspace package's dependencies (normal ones, transitively), from
/// `cargo metadata`.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    // This platform's dependencies only: the others' need not be downloaded.
    let host = Command::new("rustc")
        .args(["--print", "host-tuple"])
        .output()
        .unwrap();
    let host = String::from_utf8(host.stdout).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", host.trim()])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of = |id: &serde_json::Value| {
        let package = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == *id)
            .unwrap();
        package["name"].as_str().unwrap().to_owned()
    };
    let nodes = meta["resolve"]["nodes"].as_array().unwrap();
    let direct: BTreeMap<String, Vec<String>> = nodes
        .iter()
        .map(|node| {
            let normal = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| name_of(&d["pkg"]))
                .collect();
            (name_of(&node["id"]), normal)
        })
        .collect();
    let mut all = BTreeMap::new();
    for member in meta["workspace_members"].as_array().unwrap() {
        let name = name_of(member);
        let mut seen = BTreeSet::new();
        let mut todo = direct[&name].clone();
        while let Some(next) = todo.pop() {
            if seen.insert(next.clone()) {
                todo.extend(direct[&next].iter().cloned());
            }
        }
        all.insert(name, seen);
    }
    all
}

#[test]
fn the_crates_stay_in_their_lanes() {
    let deps = dependencies();
    let workspace: BTreeSet<&String> = deps.keys().collect();
    let rig: Vec<_> = deps["vllm-sim-rig"]
        .iter()
        .filter(|d| workspace.contains(d))
        .collect();
    assert!(rig.is_empty(), "the rig depends on {rig:?}");
    let core: Vec<_> = deps["vllm-sim-core"]
        .iter()
        .filter(|d| ["tokio", "hyper", "hyper-util", "ureq"].contains(&d.as_str()))
        .collect();
    assert!(core.is_empty(), "the core depends on {core:?}");
    assert!(deps["vllm-sim-core"].contains("prometheus-client"));
    // The lab stands on both.
    assert!(deps["vllm-sim-lab"].contains("vllm-sim-core"));
    assert!(deps["vllm-sim-lab"].contains("vllm-sim-rig"));
    assert!(deps["vllm-sim-lab"].contains("tokio"));
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
    let imports = imports("crates/lab");
    assert!(
        imports["lab"].contains("scenario::GATEWAY_JOB"),
        "{:?}",
        imports["lab"]
    );
    assert!(!sibling_edges(&imports, 1).is_empty());
    assert!(!sibling_edges(&imports, 2).is_empty());
}
