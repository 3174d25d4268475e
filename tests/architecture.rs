//! The layout is part of the design: this test reads every crate's sources
//! and fails when modules import each other in a circle, when a compiler
//! stage imports a later stage (load → eval → link → emit), or when the
//! plan crate depends on the compiler.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules of one crate: module path (`eval::render`, `` for the root)
/// → the module paths it refers to.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeMap::new();
    collect(src, src, &mut files);
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, text) in &files {
        let code = without_tests_and_comments(text);
        let mut deps = BTreeSet::new();
        for path in referenced_paths(&code, module, &modules) {
            // The longest prefix that is a module is the one referred to.
            let mut parts: Vec<&str> = path.split("::").collect();
            while !parts.is_empty() && !modules.contains(&parts.join("::")) {
                parts.pop();
            }
            let target = parts.join("::");
            if target != *module && !parts.is_empty() {
                deps.insert(target);
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            out.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
}

fn without_tests_and_comments(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap();
    code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Absolute module paths named in `code`: `crate::a::b`, `super::x`, and
/// paths through the module's own children (`child::item`), with `use`
/// groups (`crate::{a, b::c}`) expanded.
fn referenced_paths(code: &str, module: &str, modules: &BTreeSet<String>) -> Vec<String> {
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let children: BTreeSet<&str> = modules
        .iter()
        .filter_map(|m| {
            let rest = if module.is_empty() { Some(m.as_str()) } else { m.strip_prefix(&format!("{module}::")) };
            rest.filter(|r| !r.is_empty() && !r.contains("::"))
        })
        .collect();
    let join = |base: &str, rest: &str| if base.is_empty() { rest.to_string() } else { format!("{base}::{rest}") };
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let word_start =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        let rest = &code[i..];
        if word_start {
            for (prefix, base) in [("crate::", String::new()), ("super::", parent.to_string())] {
                if let Some(tree) = rest.strip_prefix(prefix) {
                    for p in use_tree(tree) {
                        out.push(join(&base, &p));
                    }
                }
            }
            for child in &children {
                if rest.starts_with(&format!("{child}::")) {
                    out.push(join(module, child));
                }
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    out
}

/// The paths of a use tree: `a::b`, `{a, b::{c, d}}`.
fn use_tree(text: &str) -> Vec<String> {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut items = Vec::new();
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&inner[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return items.into_iter().filter(|s| !s.trim().is_empty()).flat_map(use_tree).collect();
    }
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(text.len());
    let path = text[..end].trim_end_matches(':');
    if text[end..].starts_with('{') {
        return use_tree(&text[end..]).into_iter().map(|p| format!("{path}::{p}")).collect();
    }
    vec![path.to_string()]
}

/// One cycle of the graph, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == next).unwrap();
                    return Some(stack[at..].to_vec());
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node)
            && let Some(c) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

const CRATES: &[&str] = &[
    "src",
    "crates/infra-syntax/src",
    "crates/infra-k8s/src",
    "crates/infra-compiler/src",
    "crates/infra-plan/src",
    "crates/infra-import/src",
];

/// The infra crates a crate's Cargo.toml depends on, short (`k8s`).
fn infra_dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let deps = text.split("[dependencies]").nth(1).unwrap_or_default();
    let deps = deps.split("\n[").next().unwrap_or_default();
    deps.lines()
        .filter_map(|l| l.trim().strip_prefix("infra-"))
        .filter_map(|l| l.split([' ', '=']).next())
        .map(str::to_string)
        .collect()
}

/// The crate table of docs/architecture.md is the real dependency graph:
/// each row's "depends on" is what its Cargo.toml says, and every crate
/// has a row.
#[test]
fn the_documented_crates_are_the_real_ones() {
    let doc = std::fs::read_to_string(common::root().join("docs/architecture.md")).unwrap();
    let mut rows = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `infra")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let name = cells[0].trim_start_matches("| ").split(' ').next().unwrap().trim_matches('`').to_string();
        let deps: BTreeSet<String> = cells[cells.len() - 1]
            .trim_end_matches(" |")
            .split(", ")
            .filter(|d| *d != "—")
            .map(str::to_string)
            .collect();
        rows.insert(name, deps);
    }
    let mut real = BTreeMap::new();
    real.insert("infra".to_string(), infra_dependencies(&common::root().join("Cargo.toml")));
    for entry in std::fs::read_dir(common::root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        real.insert(name, infra_dependencies(&dir.join("Cargo.toml")));
    }
    assert_eq!(rows, real, "docs/architecture.md's crate table and the Cargo.toml files");
}

#[test]
fn no_module_imports_itself_through_others() {
    for src in CRATES {
        let graph = module_graph(&common::root().join(src));
        assert!(graph.len() > 1, "{src}: no modules found");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{src}: a module cycle: {} -> {}", cycle.join(" -> "), cycle[0]);
        }
    }
}

#[test]
fn no_compiler_stage_imports_a_later_one() {
    let graph = module_graph(&common::root().join("crates/infra-compiler/src"));
    let stages = ["load", "eval", "link", "emit"];
    let stage = |m: &str| stages.iter().position(|s| m == *s || m.starts_with(&format!("{s}::")));
    let mut seen = 0;
    for (module, deps) in &graph {
        let Some(from) = stage(module) else { continue };
        for dep in deps {
            if let Some(to) = stage(dep) {
                seen += 1;
                assert!(to <= from, "{module} (stage {}) imports {dep}, a later stage", stages[from]);
            }
        }
    }
    assert!(seen > 10, "the stages hardly import each other ({seen}); is the graph read?");
}

#[test]
fn plan_needs_no_compiler() {
    let manifest = std::fs::read_to_string(common::root().join("crates/infra-plan/Cargo.toml")).unwrap();
    assert!(!manifest.contains("infra-compiler"), "infra diff must work without the compiler");
    let k8s = std::fs::read_to_string(common::root().join("crates/infra-k8s/Cargo.toml")).unwrap();
    assert!(!k8s.contains("infra-compiler") && !k8s.contains("infra-plan"));
}

#[test]
fn the_checker_finds_cycles() {
    // The checker itself: a made-up crate with a cycle through a re-export.
    let dir = common::TempDir::new("arch");
    dir.write("lib.rs", "pub mod a;\npub mod b;\n");
    dir.write("a/mod.rs", "pub mod inner;\npub use inner::X;\n");
    dir.write("a/inner.rs", "use crate::b::{self, Y};\npub struct X;\n");
    dir.write("b.rs", "use super::a::X;\npub struct Y;\n");
    let graph = module_graph(dir.path());
    assert_eq!(graph["a"], BTreeSet::from(["a::inner".to_string()]));
    assert!(graph["a::inner"].contains("b"));
    let cycle = find_cycle(&graph).expect("a -> a::inner -> b -> a");
    assert_eq!(cycle.len(), 3, "{cycle:?}");
}
