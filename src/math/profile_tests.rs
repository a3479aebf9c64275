//! The exact profile against an independent computation: the full 2^N data
//! tensor built explicitly, matricized per partition, and its SVD.

use faer::Mat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::math::labels::LabelSet;
use crate::math::tree::Grid;

fn random_sample(rows: usize, features: usize, seed: u64) -> SampleMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Correlated neighbours so that the spectra are not trivial.
    let mut values = Vec::with_capacity(rows * features);
    for _ in 0..rows {
        let mut prev = 0.0;
        for _ in 0..features {
            prev = 0.6 * prev + rng.random_range(-2.0..2.0);
            values.push(prev * 3.0 + 1.0);
        }
    }
    SampleMatrix {
        rows,
        features,
        values,
    }
}

/// Population standardization, written out independently of the crate's.
fn standardized(sample: &SampleMatrix) -> Vec<Vec<f64>> {
    (0..sample.features)
        .map(|j| {
            let col: Vec<f64> = (0..sample.rows)
                .map(|i| sample.values[i * sample.features + j])
                .collect();
            let m = col.len() as f64;
            let mean = col.iter().sum::<f64>() / m;
            let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m).sqrt();
            col.iter().map(|v| (v - mean) / sd).collect()
        })
        .collect()
}

/// Entropy and geometric entanglement of the partition (K, K^c) from an SVD
/// of the explicitly built tensor D (features in selection order).
fn explicit_entanglement(x: &[Vec<f64>], y: &[f64], theta: f64, k: &[usize]) -> (f64, f64) {
    let n = x.len();
    let m = y.len();
    let phi = |v: f64, bit: usize| {
        let a = std::f64::consts::PI * theta * v;
        if bit == 0 { a.cos() } else { a.sin() }
    };
    let mut d = vec![0.0; 1 << n];
    for (idx, entry) in d.iter_mut().enumerate() {
        *entry = (0..m)
            .map(|r| {
                y[r] * (0..n)
                    .map(|j| phi(x[j][r], (idx >> j) & 1))
                    .product::<f64>()
            })
            .sum::<f64>()
            / m as f64;
    }
    let kc: Vec<usize> = (0..n).filter(|j| !k.contains(j)).collect();
    let a = Mat::from_fn(1 << k.len(), 1 << kc.len(), |r, c| {
        let mut idx = 0;
        for (b, &j) in k.iter().enumerate() {
            idx |= ((r >> b) & 1) << j;
        }
        for (b, &j) in kc.iter().enumerate() {
            idx |= ((c >> b) & 1) << j;
        }
        d[idx]
    });
    let s = a.singular_values().unwrap();
    let total: f64 = s.iter().map(|v| v * v).sum();
    let p: Vec<f64> = s.iter().map(|v| v * v / total).collect();
    let entropy = -p
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|p| p * p.ln())
        .sum::<f64>();
    let p_max = p.iter().cloned().fold(0.0, f64::max);
    (entropy, (1.0 - p_max).max(0.0).sqrt())
}

fn check_against_svd(shape: &[usize], rows: usize, labels: Option<Vec<LabelKey>>, seed: u64) {
    let features: usize = shape.iter().product();
    check_sample_against_svd(&random_sample(rows, features, seed), shape, labels);
}

fn check_sample_against_svd(sample: &SampleMatrix, shape: &[usize], labels: Option<Vec<LabelKey>>) {
    let (rows, features) = (sample.rows, sample.features);
    let tree = CanonicalTree::new(Grid::new(shape.to_vec()).unwrap());
    let levels: Vec<usize> = (1..=tree.depth()).collect();
    let partitions = tree.canonical_partitions(&levels);
    let row_labels: Option<Vec<Option<LabelKey>>> =
        labels.map(|l| (0..rows).map(|i| Some(l[i % l.len()].clone())).collect());
    let scheme = match &row_labels {
        Some(rl) => {
            let mut set = LabelSet::default();
            rl.iter()
                .for_each(|k| set.insert("y", k.as_ref().unwrap()).unwrap());
            LabelScheme::from_labels(Some(&set))
        }
        None => LabelScheme::Unlabeled,
    };
    let weights = match &row_labels {
        Some(rl) => scheme.weights("y", rl).unwrap(),
        None => vec![vec![1.0; rows]],
    };
    let correlation = Mat::<f64>::zeros(features, features);
    let options = ProfileOptions {
        levels: Some(levels.clone()),
        shape: Some(shape.to_vec()),
        ..ProfileOptions::default()
    };
    let profile = compute_profile(
        ProfileInput {
            rows: rows as u64,
            sample,
            labels: row_labels.as_ref().map(|l| ("y", l.as_slice())),
            scheme: &scheme,
            surrogate: &correlation.as_ref(),
            warnings: Vec::new(),
        },
        &options,
        &|_, _| {},
    )
    .unwrap();
    let x = standardized(sample);
    let mut checked = 0;
    for p in &partitions {
        let k: Vec<usize> = tree.leaf_order()[p.leaves.clone()].to_vec();
        let per_class: Vec<(f64, f64)> = weights
            .iter()
            .map(|w| explicit_entanglement(&x, w, options.theta, &k))
            .collect();
        let expected_entropy = per_class.iter().map(|e| e.0).sum::<f64>() / per_class.len() as f64;
        let expected_geometric =
            per_class.iter().map(|e| e.1).sum::<f64>() / per_class.len() as f64;
        let level = profile.levels.iter().find(|l| l.level == p.level).unwrap();
        let got = level
            .partitions
            .iter()
            .find(|q| q.chunk == p.chunk)
            .unwrap();
        assert_eq!(got.size, k.len());
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-3);
        assert!(
            close(got.entropy, expected_entropy),
            "shape {shape:?} level {} chunk {}: entropy {} vs SVD {}",
            p.level,
            p.chunk,
            got.entropy,
            expected_entropy
        );
        assert!(
            close(got.geometric, expected_geometric),
            "geometric {} vs {}",
            got.geometric,
            expected_geometric
        );
        if scheme.class_count() > 1 {
            for (c, class) in profile.classes.iter().enumerate() {
                let level_mean: f64 = class
                    .levels
                    .iter()
                    .find(|l| l.level == p.level)
                    .unwrap()
                    .mean_entropy;
                assert!(level_mean.is_finite() && c < per_class.len());
            }
        }
        checked += 1;
    }
    assert_eq!(checked, partitions.len());
    // The per-class level means agree with the SVD too.
    for (c, class) in profile.classes.iter().enumerate() {
        for cl in &class.levels {
            let parts: Vec<_> = partitions.iter().filter(|p| p.level == cl.level).collect();
            let expected = parts
                .iter()
                .map(|p| {
                    explicit_entanglement(
                        &x,
                        &weights[c],
                        options.theta,
                        &tree.leaf_order()[p.leaves.clone()],
                    )
                    .0
                })
                .sum::<f64>()
                / parts.len() as f64;
            assert!((cl.mean_entropy - expected).abs() <= 1e-9 * expected.max(1e-3));
        }
    }
}

#[test]
fn one_dimensional_unlabeled_matches_svd() {
    // M = 40 rows, N = 12: the level-1 node (6 features) takes the M x M
    // route; the level-2 nodes (3 features) the explicit route, and their
    // descendants come from partial traces of the same reduced matrices.
    check_against_svd(&[12], 40, None, 1);
    check_against_svd(&[7], 30, None, 2);
    // M = 10, N = 7: the level-1 node (4 features, 16 > 10) takes the
    // explicit-complement route (3 features, 8 <= 10).
    check_against_svd(&[7], 10, None, 8);
}

#[test]
fn one_dimensional_binary_matches_svd() {
    check_against_svd(
        &[12],
        40,
        Some(vec![LabelKey::Int(0), LabelKey::Int(1), LabelKey::Int(1)]),
        3,
    );
}

#[test]
fn repeated_rows_match_svd() {
    // Every row twice: the node Grams of the M × M route have rank M/2, so
    // their Cholesky factorisation fails and the eigendecomposition is used.
    let once = random_sample(20, 12, 9);
    let mut values = once.values.clone();
    values.extend_from_slice(&once.values);
    let twice = SampleMatrix {
        rows: 40,
        features: 12,
        values,
    };
    check_sample_against_svd(&twice, &[12], None);
}

#[test]
fn two_dimensional_matches_svd() {
    check_against_svd(&[3, 4], 40, None, 4);
    check_against_svd(
        &[4, 2],
        20,
        Some(vec![LabelKey::Bool(true), LabelKey::Bool(false)]),
        5,
    );
}

#[test]
fn multiclass_matches_svd_per_class() {
    let classes = ["a", "b", "c"].map(|s| LabelKey::Str(s.into())).to_vec();
    check_against_svd(&[10], 36, Some(classes.clone()), 6);
    check_against_svd(&[2, 5], 36, Some(classes), 7);
}

#[test]
fn headline_is_mean_of_level_means_and_is_deterministic() {
    let sample = random_sample(200, 16, 9);
    let correlation = Mat::<f64>::zeros(16, 16);
    let run = || {
        compute_profile(
            ProfileInput {
                rows: 200,
                sample: &sample,
                labels: None,
                scheme: &LabelScheme::Unlabeled,
                surrogate: &correlation.as_ref(),
                warnings: Vec::new(),
            },
            &ProfileOptions::default(),
            &|_, _| {},
        )
        .unwrap()
    };
    let (a, b) = (run(), run());
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let levels: Vec<usize> = a.levels.iter().map(|l| l.level).collect();
    assert_eq!(levels, vec![1, 2, 3, 4]);
    let mean = a.levels.iter().map(|l| l.mean_entropy).sum::<f64>() / 4.0;
    assert!((a.mean_entropy - mean).abs() < 1e-15);
    assert_eq!(a.levels[0].partitions.len(), 1);
    assert_eq!(a.levels[1].partitions.len(), 4);
}

#[test]
fn standardize_handles_constant_columns() {
    let mut c = vec![3.0; 5];
    standardize_in_place(&mut c);
    assert_eq!(c, vec![0.0; 5]);
    let mut c = vec![1.0, 2.0, 3.0, 4.0];
    standardize_in_place(&mut c);
    let var: f64 = c.iter().map(|v| v * v).sum::<f64>() / 4.0;
    assert!((var - 1.0).abs() < 1e-15 && c.iter().sum::<f64>().abs() < 1e-15);
}
