//! Synthetic data with known local structure, for benchmarks and tests:
//! Gaussian noise smoothed along every axis of the grid, so neighbouring
//! features are correlated and distant ones are not. Deterministic per seed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::math::profile::SampleMatrix;

/// `rows` samples of a smooth random field on a grid of `shape` (row-major),
/// with correlation `rho` between neighbours along each axis (0 ≤ rho < 1).
pub fn smooth_field(rows: usize, shape: &[usize], rho: f64, seed: u64) -> SampleMatrix {
    let features: usize = shape.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut values = Vec::with_capacity(rows * features);
    let mut field = vec![0.0; features];
    for _ in 0..rows {
        field
            .iter_mut()
            .for_each(|v| *v = StandardNormal.sample(&mut rng));
        let mut stride = 1;
        for &side in shape.iter().rev() {
            smooth_axis(&mut field, side, stride, rho);
            stride *= side;
        }
        values.extend_from_slice(&field);
    }
    SampleMatrix {
        rows,
        features,
        values,
    }
}

/// Forward then backward AR(1) filtering along one axis (given its length
/// and stride in the row-major layout).
fn smooth_axis(field: &mut [f64], side: usize, stride: usize, rho: f64) {
    let block = side * stride;
    for start in (0..field.len()).step_by(block) {
        for offset in 0..stride {
            let at = |k: usize| start + offset + k * stride;
            for k in 1..side {
                field[at(k)] = rho * field[at(k - 1)] + (1.0 - rho * rho).sqrt() * field[at(k)];
            }
            for k in (0..side - 1).rev() {
                field[at(k)] = rho * field[at(k + 1)] + (1.0 - rho * rho).sqrt() * field[at(k)];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_correlate_more_than_distant_features() {
        let s = smooth_field(2000, &[8, 8], 0.5, 1);
        let corr = |i: usize, j: usize| {
            let x = s.as_ref();
            let (a, b) = (x.col(i), x.col(j));
            let m = s.rows as f64;
            let (ma, mb) = (a.iter().sum::<f64>() / m, b.iter().sum::<f64>() / m);
            let cov: f64 = a
                .iter()
                .zip(b.iter())
                .map(|(p, q)| (p - ma) * (q - mb))
                .sum();
            let va: f64 = a.iter().map(|p| (p - ma).powi(2)).sum();
            let vb: f64 = b.iter().map(|q| (q - mb).powi(2)).sum();
            cov / (va * vb).sqrt()
        };
        assert!(corr(0, 1) > 0.5, "right neighbour");
        assert!(corr(0, 8) > 0.5, "lower neighbour");
        let far = corr(0, 63);
        assert!(far.abs() < 0.1, "far corner {far}");
        assert_eq!(
            smooth_field(3, &[5], 0.5, 9).values,
            smooth_field(3, &[5], 0.5, 9).values
        );
    }
}
