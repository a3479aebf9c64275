//! `--html`: the report pages of `profile`, `arrange` and `apply` hold the
//! `--json` output's numbers (read back from the page by their keys), every
//! section, the order file, and nothing fetched from the network. The
//! browser test (python/tests/test_report_page.py) renders them in Chromium.

use std::path::Path;

use serde_json::Value;

use crate::common::{entangle_err, entangle_ok, path_str, signal_table, write_parquet};

/// Every (data-key, data-value) pair on a page.
fn keyed_numbers(page: &str) -> Vec<(String, f64)> {
    let attribute = |text: &str, name: &str| -> Option<String> {
        let start = text.find(&format!("{name}=\""))? + name.len() + 2;
        Some(text[start..start + text[start..].find('"')?].to_string())
    };
    page.split("<td class=\"num\"")
        .skip(1)
        .filter_map(|cell| {
            let cell = &cell[..cell.find('>').unwrap()];
            let key = attribute(cell, "data-key")?;
            let value = attribute(cell, "data-value").unwrap().parse().unwrap();
            Some((key, value))
        })
        .collect()
}

/// The value at a dotted path (`after.levels.0.mean_entropy`) of the JSON.
fn at_path<'a>(json: &'a Value, key: &str) -> &'a Value {
    key.split('.')
        .fold(json, |v, part| match part.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[part],
        })
}

/// Checks every keyed number against the JSON, bit for bit; returns how many.
fn numbers_match(page: &str, json: &Value) -> usize {
    let numbers = keyed_numbers(page);
    for (key, value) in &numbers {
        let expected = at_path(json, key)
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is not a number in the JSON"));
        assert_eq!(value.to_bits(), expected.to_bits(), "{key}");
    }
    numbers.len()
}

fn sections(page: &str) -> Vec<&str> {
    page.split("<section id=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect()
}

/// Nothing on the page is fetched: no URL but SVG's namespace name.
fn self_contained(page: &str) {
    let urls = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!urls.contains("http://") && !urls.contains("https://"));
    assert!(!urls.contains("src=\"//") && !urls.contains("@import"));
}

fn embedded_order(page: &str) -> Value {
    let start = page.find("id=\"order-file\">").unwrap() + "id=\"order-file\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn arrange_and_profile_pages_hold_the_json_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &signal_table(120, 16), 1000);
    let (out, order, page) = (
        dir.path().join("out.parquet"),
        dir.path().join("order.json"),
        dir.path().join("arrange.html"),
    );
    let json: Value = serde_json::from_str(&entangle_ok(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&out),
        "--features-prefix",
        "f",
        "--label",
        "label",
        "--order-out",
        path_str(&order),
        "--html",
        path_str(&page),
        "--json",
    ]))
    .unwrap();
    let text = read(&page);
    assert!(text.starts_with("<!DOCTYPE html>") && text.ends_with("</html>\n"));
    self_contained(&text);
    assert_eq!(
        sections(&text),
        [
            "summary",
            "profile",
            "grid",
            "correlation",
            "samples",
            "names",
            "order"
        ]
    );
    // 16 features on a line: levels 1–4, with 1 + 4 + 8 + 16 partitions
    // (level 1's two halves are one cut); per level an entropy and a
    // surrogate, then the mean entropy, the surrogate's mean and the seams.
    let levels = json["before"]["levels"].as_array().unwrap().len();
    assert_eq!(levels, 4);
    let per_order = 2 * levels + 3 + (1 + 4 + 8 + 16);
    assert_eq!(numbers_match(&text, &json), 2 * per_order);
    assert_eq!(
        embedded_order(&text),
        serde_json::from_str::<Value>(&read(&order)).unwrap()
    );
    // The grid of names: each arranged position's name, titled with its position.
    let names: Vec<String> = json["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("f{:02}", i.as_u64().unwrap()))
        .collect();
    for (g, name) in names.iter().enumerate() {
        assert!(
            text.contains(&format!("<td title=\"{name} — position {g}\">{name}</td>")),
            "{name} at {g}"
        );
    }
    assert!(
        text.contains("label</dt><dd>label</dd>"),
        "the label is named"
    );

    let profile_page = dir.path().join("profile.html");
    let profile: Value = serde_json::from_str(&entangle_ok(&[
        "profile",
        path_str(&input),
        "--features-prefix",
        "f",
        "--label",
        "label",
        "--html",
        path_str(&profile_page),
        "--json",
    ]))
    .unwrap();
    let text = read(&profile_page);
    self_contained(&text);
    assert_eq!(
        sections(&text),
        ["summary", "profile", "grid", "correlation", "samples"]
    );
    assert_eq!(numbers_match(&text, &profile), per_order);
    // The input order's numbers are the arrangement's "before".
    assert_eq!(profile["levels"], json["before"]["levels"]);

    let applied = dir.path().join("applied.parquet");
    let apply_page = dir.path().join("apply.html");
    entangle_ok(&[
        "apply",
        path_str(&input),
        "--order",
        path_str(&order),
        "-o",
        path_str(&applied),
        "--html",
        path_str(&apply_page),
    ]);
    let text = read(&apply_page);
    self_contained(&text);
    assert_eq!(sections(&text), ["summary", "names", "order"]);
    assert_eq!(
        embedded_order(&text),
        serde_json::from_str::<Value>(&read(&order)).unwrap()
    );
}

#[test]
fn surrogate_report_pages_say_what_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &signal_table(90, 32), 1000);
    let (out, page) = (
        dir.path().join("out.parquet"),
        dir.path().join("arrange.html"),
    );
    let json: Value = serde_json::from_str(&entangle_ok(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&out),
        "--features-prefix",
        "f",
        "--report",
        "surrogate",
        "--weights",
        "sparse",
        "--html",
        path_str(&page),
        "--json",
    ]))
    .unwrap();
    let text = read(&page);
    assert!(
        text.contains("what the surrogate report"),
        "the page says so"
    );
    assert!(
        text.contains("strongest"),
        "the sparse matrix says what it shows"
    );
    // Levels 1–5 of 32: per order, a mean per level, mean, seams and
    // 1 + 4 + 8 + 16 + 32 partitions.
    assert_eq!(numbers_match(&text, &json), 2 * (5 + 2 + 61));
    assert!(!text.contains("entropy, input"), "no entropies are shown");
}

#[test]
fn a_page_that_cannot_be_written_fails_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &signal_table(40, 8), 1000);
    let out = dir.path().join("out.parquet");
    let page = dir.path().join("missing").join("page.html");
    let stderr = entangle_err(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&out),
        "--features-prefix",
        "f",
        "--html",
        path_str(&page),
    ]);
    assert!(stderr.contains("page.html"), "{stderr}");
    assert!(!out.exists(), "nothing was written");
}
