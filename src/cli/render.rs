//! What the commands print: profile tables, the before/after comparison,
//! per-phase times, and stdout that a closed pipe ends quietly.

use std::path::Path;
use std::time::Instant;

use entangle::error::{Error, Result};
use entangle::io::read::FeatureColumns;
use entangle::math::profile::{Profile, SurrogateProfile};
use entangle::page::Page;

/// Writes to stdout; a closed pipe (`entangle … | head`) ends quietly.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Data(format!("cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}

/// What a profile was computed on, in one line.
pub fn data_line(p: &Profile) -> String {
    let shape: Vec<String> = p.shape.iter().map(|s| s.to_string()).collect();
    format!(
        "rows {} (used {}, seed {}) · features {} · grid {} · theta {} · {}",
        p.rows,
        p.samples_used,
        p.seed,
        p.features,
        shape.join("x"),
        p.theta,
        if p.standardize {
            "standardized"
        } else {
            "raw values"
        }
    )
}

/// Which columns the features were taken from, in one line: a column taken
/// by default is seen (the first and last few of many).
pub fn columns_line(columns: &FeatureColumns) -> String {
    let names = &columns.columns;
    let shown = if names.len() <= 8 {
        names.join(", ")
    } else {
        format!(
            "{}, … , {}",
            names[..4].join(", "),
            names[names.len() - 3..].join(", ")
        )
    };
    let what = match columns.selected_by {
        "array" => "array column".to_string(),
        by => format!("{} columns, {by}", names.len()),
    };
    format!("feature columns ({what}): {shown}")
}

/// The human-readable profile table.
pub fn render_profile(name: &str, columns: &FeatureColumns, p: &Profile) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{name}");
    let _ = writeln!(out, "{}", columns_line(columns));
    let _ = writeln!(out, "{}", data_line(p));
    if let Some(label) = &p.label {
        let values: Vec<String> = label.values.iter().map(|v| v.to_string()).collect();
        let _ = match label.scheme {
            "binary" => writeln!(
                out,
                "label '{}': binary, {} → −1, {} → +1",
                label.column, values[0], values[1]
            ),
            scheme => writeln!(
                out,
                "label '{}': {scheme} over {}",
                label.column,
                values.join(", ")
            ),
        };
    } else {
        let _ = writeln!(out, "no label (every row weighted +1)");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "level  partitions   size  mean entropy  mean geometric   surrogate"
    );
    for (level, surrogate) in p.levels.iter().zip(&p.surrogate.levels) {
        let sizes: Vec<usize> = level.partitions.iter().map(|q| q.size).collect();
        let (lo, hi) = (
            sizes.iter().min().copied().unwrap_or(0),
            sizes.iter().max().copied().unwrap_or(0),
        );
        let size = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        };
        let _ = writeln!(
            out,
            "{:>5}  {:>10}  {:>5}  {:>12.6}  {:>14.6}  {:>10.4}",
            level.level,
            level.partitions.len(),
            size,
            level.mean_entropy,
            level.mean_geometric,
            surrogate.mean
        );
    }
    let _ = writeln!(
        out,
        "{:>5}  {:>10}  {:>5}  {:>12.6}  {:>14}  {:>10.4}",
        "mean", "", "", p.mean_entropy, "", p.surrogate.mean
    );
    let _ = writeln!(
        out,
        "seams {:.4} (|correlation| summed over grid neighbours)",
        p.surrogate.seams
    );
    for class in &p.classes {
        let _ = writeln!(
            out,
            "  class {} vs rest: mean entropy {:.6}",
            class.label, class.mean_entropy
        );
    }
    out
}

/// The before/after table of `arrange`.
pub fn render_comparison(
    (input, output): (&str, &str),
    columns: &FeatureColumns,
    before: &Profile,
    after: &Profile,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{input} → {output}");
    let _ = writeln!(out, "{}", columns_line(columns));
    let _ = writeln!(out, "{}", data_line(before));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "level   entropy before   entropy after   surrogate before   surrogate after"
    );
    let rows = before
        .levels
        .iter()
        .zip(&after.levels)
        .zip(before.surrogate.levels.iter().zip(&after.surrogate.levels));
    for ((b, a), (sb, sa)) in rows {
        let _ = writeln!(
            out,
            "{:>5}   {:>14.6}   {:>13.6}   {:>16.4}   {:>15.4}",
            b.level, b.mean_entropy, a.mean_entropy, sb.mean, sa.mean
        );
    }
    let _ = writeln!(
        out,
        "{:>5}   {:>14.6}   {:>13.6}   {:>16.4}   {:>15.4}",
        "mean",
        before.mean_entropy,
        after.mean_entropy,
        before.surrogate.mean,
        after.surrogate.mean
    );
    let _ = writeln!(
        out,
        "{}",
        seams_line(before.surrogate.seams, after.surrogate.seams)
    );
    out
}

/// The seam scores before and after (no canonical cut sees them; a CNN does).
fn seams_line(before: f64, after: f64) -> String {
    format!("seams {before:.4} → {after:.4} (|correlation| summed over grid neighbours)")
}

/// The before/after table of `arrange --report surrogate`: the per-level
/// mean cut weight over all rows, no entropies.
pub fn render_surrogate_comparison(
    (input, output): (&str, &str),
    columns: &FeatureColumns,
    (rows, features, shape): (u64, usize, &[usize]),
    before: &SurrogateProfile,
    after: &SurrogateProfile,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let shape: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
    let _ = writeln!(out, "{input} → {output}");
    let _ = writeln!(out, "{}", columns_line(columns));
    let _ = writeln!(
        out,
        "rows {rows} (all) · features {features} · grid {} · surrogate report (no entropies)",
        shape.join("x")
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "level   surrogate before   surrogate after");
    for (b, a) in before.levels.iter().zip(&after.levels) {
        let _ = writeln!(out, "{:>5}   {:>16.4}   {:>15.4}", b.level, b.mean, a.mean);
    }
    let _ = writeln!(
        out,
        "{:>5}   {:>16.4}   {:>15.4}",
        "mean", before.mean, after.mean
    );
    let _ = writeln!(out, "{}", seams_line(before.seams, after.seams));
    out
}

/// Writes a report page with the run's time so far in its header.
pub fn write_page(mut page: Page, path: &Path, start: Instant) -> Result<()> {
    page.facts.push((
        "time".to_string(),
        format!("{:.2} s", start.elapsed().as_secs_f64()),
    ));
    page.write(path)
}
