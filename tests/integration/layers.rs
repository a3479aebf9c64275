//! The library's layers (the map in `src/lib.rs`): a module uses only its own
//! layer and those below, so the mathematics never depends on Arrow readers
//! or engines, and nothing depends on the engine adapters.

use std::path::{Path, PathBuf};

/// The top-level modules, bottom to top.
const LAYERS: [&[&str]; 6] = [
    &["error", "Error", "Result"],
    &["math", "Profile", "ProfileOptions", "compute_profile"],
    &["arrange"],
    &["io"],
    &["analysis", "jobs", "page"],
    &["engines"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|names| names.contains(&module))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules a source file names through `crate::`, including
/// grouped imports (`use crate::{a::b, c}`).
fn crate_references(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.push(name);
            }
        } else {
            names.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut checked = 0;
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str();
        let top = top.to_string_lossy();
        let top = top.trim_end_matches(".rs");
        if top == "cli" || top == "lib" {
            continue; // the binary uses the public API; lib.rs is the map
        }
        let own = layer_of(top).unwrap_or_else(|| panic!("{top} is in no layer of LAYERS"));
        for name in crate_references(&std::fs::read_to_string(file).unwrap()) {
            let used = layer_of(&name)
                .unwrap_or_else(|| panic!("{}: crate::{name} is in no layer", relative.display()));
            if used > own {
                violations.push(format!("{} uses crate::{name}", relative.display()));
            }
        }
        checked += 1;
    }
    assert!(checked > 30, "only {checked} files found under src/");
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn references_are_read_from_plain_and_grouped_imports() {
    let names = crate_references(
        "use crate::io::read::Source;\nuse crate::{Error, math::tree};\nlet x = crate::analysis::f();",
    );
    assert_eq!(names, ["io", "Error", "math", "analysis"]);
}
