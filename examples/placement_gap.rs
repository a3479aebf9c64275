//! How far the default placement is from the best that a long search finds:
//! arranges a Parquet file's features as `entangle arrange` does, then places
//! the partitioner's order with no kicks (greedy passes alone), the default
//! number and a long search, and prints each one's seam score and time.
//! The seams are those of the weights the placement sees: with sparse
//! weights (above 4096 features) the strongest-neighbour graph, so they are
//! below the |correlation| seams that `entangle arrange` reports.
//!
//! `cargo run --release --example placement_gap -- FILE (--array COL | --features-prefix P) [--shape H,W] [--kicks N]`
//!
//! On a line the placement is exact and the kicks do not apply: the example
//! then prints the exact placement's seams beside the greedy passes' of the
//! grid code, and (dense weights) what re-splitting the partition's small
//! odd nodes again costs; the partition printed first already has them.

use std::path::PathBuf;
use std::time::Instant;

use entangle::arrange::dense::surrogate_objective;
use entangle::arrange::line::{is_line, place_exactly, resplit_partition};
use entangle::arrange::neighbours::Weighting;
use entangle::arrange::seams::{SeamWeights, place_with_kicks};
use entangle::io::read::FeatureSelection;
use entangle::jobs::{Measure, Quiet, Selection, analyse};
use entangle::math::moments::seam_score;
use entangle::math::profile::ProfileOptions;
use entangle::math::tree::{CanonicalTree, Grid};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(file), Some(features)) = (
        args.first(),
        value("--array")
            .map(FeatureSelection::Array)
            .or_else(|| value("--features-prefix").map(FeatureSelection::Prefix)),
    ) else {
        eprintln!(
            "usage: placement_gap FILE (--array COL | --features-prefix P) [--shape H,W] [--kicks N]"
        );
        std::process::exit(2);
    };
    let shape: Option<Vec<usize>> = value("--shape").map(|s| {
        s.split([',', 'x'])
            .map(|v| v.parse().expect("--shape like 16,16"))
            .collect()
    });
    let long: usize = value("--kicks").map_or(20_000, |k| k.parse().expect("--kicks N"));
    let selection = Selection {
        features,
        label: None,
        skip_null_rows: false,
    };
    let measure = Measure {
        options: ProfileOptions::default(),
        weighting: Weighting::Auto,
        neighbours: entangle::arrange::neighbours::DEFAULT_NEIGHBOURS,
    };
    let analysis =
        analyse(&[PathBuf::from(file)], &selection, &measure, &Quiet).expect("readable input");
    let grid = Grid::for_features(analysis.features(), shape.as_deref()).expect("shape");
    let tree = CanonicalTree::new(grid);
    let levels = tree.default_levels();
    let partitioned = analysis.partition(&tree, &levels, 0, 0.0);
    let weights = analysis.seam_weights();
    let weight = |a: usize, b: usize| weights.weight(a, b);
    let seams = |order: &[usize]| seam_score(tree.grid(), |g, h| weight(order[g], order[h]));
    println!("partitioner's placement: seams {:.4}", seams(&partitioned));
    let mut runs: Vec<(String, usize)> = vec![("greedy passes".into(), 0)];
    if !is_line(&tree) {
        runs.push(("default (50 kicks)".into(), 50));
        runs.push((format!("long search ({long} kicks)"), long));
    }
    for (name, kicks) in runs {
        let started = Instant::now();
        let placed = place_with_kicks(&tree, &partitioned, &weight, kicks);
        println!(
            "{name}: seams {:.4} in {:.3} s",
            seams(&placed),
            started.elapsed().as_secs_f64()
        );
    }
    if is_line(&tree) {
        let started = Instant::now();
        let placed = place_exactly(&tree, &partitioned, &weights);
        println!(
            "exact: seams {:.4} in {:.3} s",
            seams(&placed),
            started.elapsed().as_secs_f64()
        );
        if let SeamWeights::Dense(w) = weights {
            let objective = |o: &[usize]| surrogate_objective(w, &tree, &levels, o);
            let started = Instant::now();
            let resplit = resplit_partition(&tree, &partitioned, w, &levels);
            let took = started.elapsed().as_secs_f64();
            let placed_resplit = place_exactly(&tree, &resplit, &weights);
            println!(
                "  surrogate objective {:.6}; re-splits again: seams {:.4}, objective {:.6}, in {took:.3} s",
                objective(&placed),
                seams(&placed_resplit),
                objective(&placed_resplit)
            );
        }
    }
}
