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
    &["analysis", "jobs", "page", "options"],
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

/// The data-format and engine crates that the mathematics and the
/// arrangement (layers 1 and 2, on plain slices and faer matrices) must not
/// name: their inputs come from any reader. A name covers its component
/// crates (`arrow` covers `arrow_array`, `polars` covers `polars_arrow`).
const FORMAT_AND_ENGINE_CRATES: [&str; 8] = [
    "arrow",
    "parquet",
    "polars",
    "datafusion",
    "ballista",
    "pyo3",
    "tokio",
    "clap",
];

/// The crates a source file's code (not its comments) names as `name::` or
/// `name_component::` (`arrow_array::`).
fn named_crates<'a>(source: &str, crates: &[&'a str]) -> Vec<&'a str> {
    let mut named = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("::") {
            let path: String = code[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if code[..at - path.len()].ends_with("::") {
                continue; // not the path's first segment
            }
            for &krate in crates {
                let component = path
                    .strip_prefix(krate)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'));
                if component && !named.contains(&krate) {
                    named.push(krate);
                }
            }
        }
    }
    named
}

#[test]
fn the_mathematics_and_the_arrangement_name_no_data_format_or_engine() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("math"), &mut files);
    rust_files(&src.join("arrange"), &mut files);
    files.sort();
    assert!(files.len() > 15, "only {} files found", files.len());
    let violations: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let named = named_crates(
                &std::fs::read_to_string(file).unwrap(),
                &FORMAT_AND_ENGINE_CRATES,
            );
            (!named.is_empty()).then(|| {
                format!(
                    "{} names {}",
                    file.strip_prefix(&src).unwrap().display(),
                    named.join(", ")
                )
            })
        })
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn crates_are_read_from_code_not_comments() {
    let source = "use arrow::datatypes::i256;\nlet a = arrow_array::Int32Array::from(v);\n\
                  // parquet::file is only mentioned\nuse faer::Mat; let p = polars_core::x;\n\
                  use crate::math::arrow_like::f;";
    assert_eq!(
        named_crates(source, &FORMAT_AND_ENGINE_CRATES),
        ["arrow", "polars"]
    );
}

/// The modules a `mod.rs` (or `lib.rs`) declares, `pub mod name;` and `mod name;`
/// outside tests.
fn declared_modules(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_string)
        })
        .collect()
}

/// Whether the architecture page lists `src/<stem>.rs` or the folder `src/<stem>/`.
fn on_the_page(page: &str, stem: &str) -> bool {
    page.contains(&format!("src/{stem}.rs")) || page.contains(&format!("src/{stem}/"))
}

#[test]
fn every_module_is_on_the_map_and_in_the_architecture_page() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let page = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let mut missing = Vec::new();
    let mut checked = 0;
    for dir in ["math", "arrange", "io", "engines", "page"] {
        let source = std::fs::read_to_string(root.join("src").join(dir).join("mod.rs")).unwrap();
        let row = map
            .lines()
            .find(|l| l.contains(&format!("[`{dir}`]")))
            .unwrap_or_else(|| panic!("src/lib.rs's map has no row for {dir}"));
        for module in declared_modules(&source) {
            checked += 1;
            // A submodule of a layer's row is listed as `name` (page's own
            // module `html` is part of the row's [`page`]).
            if dir != "page" && !row.contains(&format!("`{module}`")) {
                missing.push(format!("src/lib.rs's map: {dir}::{module}"));
            }
            if !on_the_page(&page, &format!("{dir}/{module}")) {
                missing.push(format!("docs/architecture.md: src/{dir}/{module}"));
            }
        }
    }
    for module in declared_modules(&map) {
        if !map.contains(&format!("[`{module}`]")) {
            missing.push(format!("src/lib.rs's map: {module}"));
        }
        if !on_the_page(&page, &module) {
            missing.push(format!("docs/architecture.md: src/{module}"));
        }
    }
    assert!(checked > 25, "only {checked} modules found");
    assert!(missing.is_empty(), "not listed: {missing:#?}");
}

#[test]
fn references_are_read_from_plain_and_grouped_imports() {
    let names = crate_references(
        "use crate::io::read::Source;\nuse crate::{Error, math::tree};\nlet x = crate::analysis::f();",
    );
    assert_eq!(names, ["io", "Error", "math", "analysis"]);
}
