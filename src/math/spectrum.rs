//! The exact spectrum of one canonical partition (docs/conventions.md#entanglement).
//!
//! With W = diag(y), the nonzero eigenvalues of W G_{K^c} W G_K are M²·σ_k²,
//! σ_k the singular values of the matricization [D; K]. Two exact routes:
//!
//! * explicit: when one side has few features (2^|K| ≤ M), its feature
//!   vectors F_K (M × 2^|K|) give G_K = F_K F_Kᵀ and the same nonzero
//!   eigenvalues as the small symmetric matrix (W F_K)ᵀ G_{K^c} (W F_K);
//! * full: otherwise G_K = L Lᵀ (Cholesky; an eigendecomposition if G_K is
//!   numerically singular) and the eigenvalues are those of (W L)ᵀ G_{K^c} (W L).
//!
//! Both are symmetric positive semi-definite problems solved with faer; no
//! jitter is added anywhere.

use std::ops::Range;

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par, Side};

use crate::error::{Error, Result};
use crate::math::eigenvalues::eigenvalues_in_place;
use crate::math::gram::{Buffers, FeatureMap, SymmetricMatrix, hadamard_gram};

/// Entanglement of one partition for one weighting of the rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entanglement {
    /// −Σ p_k ln p_k.
    pub entropy: f64,
    /// sqrt(1 − max_k p_k).
    pub geometric: f64,
}

/// Entropy and geometric entanglement of a spectrum of M²σ² values (any
/// positive scale). Tiny negative round-off is clipped to zero.
pub fn entanglement_of_spectrum(eigenvalues: &[f64]) -> Result<Entanglement> {
    let mut values: Vec<f64> = eigenvalues.iter().map(|&v| v.max(0.0)).collect();
    // Ascending order: small terms are summed first, and the sum does not
    // depend on the order the eigensolver returned.
    values.sort_unstable_by(f64::total_cmp);
    let total: f64 = values.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return Err(Error::Numerical(
            "the data tensor is zero (the label weights cancel out on these rows)".into(),
        ));
    }
    let mut entropy = 0.0;
    for &v in &values {
        if v > 0.0 {
            let p = v / total;
            entropy -= p * p.ln();
        }
    }
    let p_max = values.last().copied().unwrap_or(0.0) / total;
    Ok(Entanglement {
        entropy: entropy.max(0.0),
        geometric: (1.0 - p_max).max(0.0).sqrt(),
    })
}

/// Which exact route a partition takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Explicit feature vectors of the node (2^|K| ≤ M); the node's
    /// descendants follow from the same reduced matrix by partial traces.
    ExplicitNode,
    /// Explicit feature vectors of the complement (2^|K^c| ≤ M).
    ExplicitComplement,
    /// The M × M route.
    Full,
}

/// The route for a node of `size` features out of `features`, with `rows` rows.
pub fn route(size: usize, features: usize, rows: usize) -> Route {
    let fits = |k: usize| k < usize::BITS as usize - 1 && (1usize << k) <= rows;
    if fits(size) {
        Route::ExplicitNode
    } else if fits(features - size) {
        Route::ExplicitComplement
    } else {
        Route::Full
    }
}

/// Solves partitions: holds the feature map, the row weights (one vector per
/// class) and the parallelism of the dense products.
pub struct PartitionSolver<'a> {
    map: &'a FeatureMap,
    weights: &'a [Vec<f64>],
    par: Par,
    /// The M × M work matrices, reused from partition to partition.
    buffers: Buffers,
}

impl<'a> PartitionSolver<'a> {
    pub fn new(map: &'a FeatureMap, weights: &'a [Vec<f64>], par: Par) -> Self {
        for w in weights {
            assert_eq!(w.len(), map.rows(), "one weight per sampled row");
        }
        PartitionSolver {
            map,
            weights,
            par,
            buffers: Buffers::default(),
        }
    }

    /// The pool the solver's work matrices come from, for callers' own M × M
    /// matrices (the profile's complement Grams).
    pub fn buffers(&self) -> &Buffers {
        &self.buffers
    }

    /// Entanglement (per class) of the node `leaves` against its complement,
    /// given the complement's Gram matrix.
    pub fn solve(
        &self,
        leaves: Range<usize>,
        complement: &SymmetricMatrix,
    ) -> Result<Vec<Entanglement>> {
        let n = self.map.features();
        let rows = self.map.rows();
        let reduced = match route(leaves.len(), n, rows) {
            Route::ExplicitNode => self.explicit_products(leaves, complement),
            Route::ExplicitComplement => {
                let f = self.map.tensor_features(&[0..leaves.start, leaves.end..n]);
                let mut node = self.buffers.matrix(rows);
                hadamard_gram(self.map, std::slice::from_ref(&leaves), None, &mut node);
                let reduced =
                    self.weighted_products(f.as_ref(), BlockStructure::Rectangular, &node);
                self.buffers.give(node.into_buffer());
                reduced
            }
            Route::Full => {
                let mut factor = self.buffers.matrix(rows);
                let structure = self.square_root(&leaves, &mut factor)?;
                let reduced = self.weighted_products(factor.as_ref(), structure, complement);
                self.buffers.give(factor.into_buffer());
                reduced
            }
        };
        reduced
            .into_iter()
            .map(|mut p| {
                let entanglement = entanglement_of_symmetric(&mut p);
                self.buffers.give(p.into_buffer());
                entanglement
            })
            .collect()
    }

    /// For a node with 2^|K| ≤ M: the reduced matrices P = (W F_K)ᵀ G_{K^c} (W F_K),
    /// one per class (2^|K| square; column index bit t ↔ the node's t-th feature).
    /// The node's spectrum is P's; a descendant's is that of a partial trace of P.
    pub fn explicit_products(
        &self,
        leaves: Range<usize>,
        complement: &SymmetricMatrix,
    ) -> Vec<SymmetricMatrix> {
        let f = self.map.tensor_features(std::slice::from_ref(&leaves));
        self.weighted_products(f.as_ref(), BlockStructure::Rectangular, complement)
    }

    /// (W F)ᵀ G (W F) per class, F of the given structure (rectangular, or
    /// lower triangular from a Cholesky factor); only the lower triangle of
    /// each result is filled.
    fn weighted_products(
        &self,
        factor: MatRef<'_, f64>,
        structure: BlockStructure,
        gram: &SymmetricMatrix,
    ) -> Vec<SymmetricMatrix> {
        let (rows, rank) = (factor.nrows(), factor.ncols());
        // Only classes with weights other than 1 need a scaled copy of F.
        let mut weighted = Vec::new();
        let mut product = self.buffers.zeros(rows * rank);
        let reduced = self
            .weights
            .iter()
            .map(|w| {
                // W F: scaling rows keeps a lower-triangular factor triangular.
                let weighted_factor = if w.iter().all(|&wa| wa == 1.0) {
                    factor
                } else {
                    if weighted.is_empty() {
                        weighted = self.buffers.zeros(rows * rank);
                    }
                    let mut scaled = MatMut::from_column_major_slice_mut(&mut weighted, rows, rank);
                    scaled.copy_from(factor);
                    for (a, &wa) in w.iter().enumerate() {
                        if wa != 1.0 {
                            scaled.as_mut().row_mut(a).iter_mut().for_each(|v| *v *= wa);
                        }
                    }
                    MatRef::from_column_major_slice(&weighted, rows, rank)
                };
                let mut product = MatMut::from_column_major_slice_mut(&mut product, rows, rank);
                // G·(W F): a triangular F halves the product.
                triangular::matmul(
                    product.as_mut(),
                    BlockStructure::Rectangular,
                    Accum::Replace,
                    gram.as_ref(),
                    BlockStructure::Rectangular,
                    weighted_factor,
                    structure,
                    1.0,
                    self.par,
                );
                let mut reduced = self.buffers.matrix(rank);
                triangular::matmul(
                    reduced.as_mut(),
                    BlockStructure::TriangularLower,
                    Accum::Replace,
                    weighted_factor.transpose(),
                    structure.transpose(),
                    product.as_ref(),
                    BlockStructure::Rectangular,
                    1.0,
                    self.par,
                );
                reduced
            })
            .collect();
        if !weighted.is_empty() {
            self.buffers.give(weighted);
        }
        self.buffers.give(product);
        reduced
    }

    /// Writes into `gram` (M × M storage; the result is not symmetric) a
    /// factor L of the node's Gram matrix G_K = L Lᵀ and returns its
    /// structure: the lower-triangular Cholesky factor when G_K is numerically
    /// positive definite, else the full U·sqrt(max(Λ, 0)) of its
    /// eigendecomposition.
    fn square_root(
        &self,
        leaves: &Range<usize>,
        gram: &mut SymmetricMatrix,
    ) -> Result<BlockStructure> {
        let rows = self.map.rows();
        hadamard_gram(self.map, std::slice::from_ref(leaves), None, gram);
        let params = Default::default();
        let mut scratch = MemBuffer::new(
            faer::linalg::cholesky::llt::factor::cholesky_in_place_scratch::<f64>(
                rows, self.par, params,
            ),
        );
        let cholesky = faer::linalg::cholesky::llt::factor::cholesky_in_place(
            gram.as_mut(),
            Default::default(),
            self.par,
            MemStack::new(&mut scratch),
            params,
        );
        if cholesky.is_ok() {
            // Clear the (stale) strict upper triangle so the factor is exactly L.
            let mut l = gram.as_mut();
            for j in 1..rows {
                for i in 0..j {
                    l[(i, j)] = 0.0;
                }
            }
            return Ok(BlockStructure::TriangularLower);
        }
        // Numerically singular (rare: repeated rows): the failed factorisation
        // overwrote G_K, which is rebuilt rather than copied for every node.
        hadamard_gram(self.map, std::slice::from_ref(leaves), None, gram);
        let eigen = gram.as_ref().self_adjoint_eigen(Side::Lower).map_err(|e| {
            Error::Numerical(format!("eigendecomposition of a Gram matrix failed: {e:?}"))
        })?;
        let (u, s) = (eigen.U(), eigen.S());
        let scale: Vec<f64> = s
            .column_vector()
            .iter()
            .map(|&v| v.max(0.0).sqrt())
            .collect();
        let mut l = gram.as_mut();
        for j in 0..rows {
            for i in 0..rows {
                l[(i, j)] = u[(i, j)] * scale[j];
            }
        }
        Ok(BlockStructure::Rectangular)
    }
}

/// The partial trace of a reduced matrix over every tensor factor whose bit
/// is not in `keep` (increasing bit positions, of `bits` in all):
/// S[p, q] = Σ_j P[(p, j), (q, j)], bit t of p standing for bit `keep[t]`.
/// Reads and fills the lower triangle only.
pub fn partial_trace(reduced: MatRef<'_, f64>, keep: &[usize], bits: usize) -> SymmetricMatrix {
    assert_eq!(reduced.nrows(), 1 << bits);
    assert!(keep.windows(2).all(|w| w[0] < w[1]) && keep.iter().all(|&b| b < bits));
    let rest: Vec<usize> = (0..bits).filter(|b| !keep.contains(b)).collect();
    // Indices of P with only the kept (or only the traced) bits set.
    let spread = |chosen: &[usize]| -> Vec<usize> {
        (0..1usize << chosen.len())
            .map(|v| {
                chosen
                    .iter()
                    .enumerate()
                    .filter(|&(t, _)| v >> t & 1 == 1)
                    .fold(0, |acc, (_, &b)| acc | 1 << b)
            })
            .collect()
    };
    let (kept, traced) = (spread(keep), spread(&rest));
    let size = kept.len();
    let mut result = SymmetricMatrix::zeros(size);
    let mut sum = result.as_mut();
    for &base in &traced {
        for q in 0..size {
            let column = base | kept[q];
            for p in q..size {
                sum[(p, q)] += reduced[(base | kept[p], column)];
            }
        }
    }
    result
}

/// Entanglement of the spectrum of a symmetric positive semi-definite matrix
/// given by its lower triangle (overwritten).
pub fn entanglement_of_symmetric(matrix: &mut SymmetricMatrix) -> Result<Entanglement> {
    // Sequential: partitions run in parallel instead (one per core).
    entanglement_of_spectrum(&eigenvalues_in_place(matrix, Par::Seq)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn entropy_of_simple_spectra() {
        let e = entanglement_of_spectrum(&[1.0, 1.0, 0.0, -1e-18]).unwrap();
        assert!((e.entropy - 2f64.ln()).abs() < 1e-15);
        assert!((e.geometric - 0.5f64.sqrt()).abs() < 1e-15);
        let e = entanglement_of_spectrum(&[3.0]).unwrap();
        assert_eq!((e.entropy, e.geometric), (0.0, 0.0));
        let e = entanglement_of_spectrum(&[0.0, 0.0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("data tensor is zero"), "{e}");
    }

    #[test]
    fn partial_trace_sums_over_the_other_factors() {
        // P over 3 bits; keep bit 1.
        let p = Mat::from_fn(8, 8, |i, j| (i * 8 + j) as f64);
        let s = partial_trace(p.as_ref(), &[1], 3);
        let s = s.as_ref();
        // S[1,0] = Σ_{b0,b2} P[(b0,1,b2),(b0,0,b2)] = P[2,0]+P[3,1]+P[6,4]+P[7,5].
        let expected = p[(2, 0)] + p[(3, 1)] + p[(6, 4)] + p[(7, 5)];
        assert_eq!(s[(1, 0)], expected);
        assert_eq!(s[(0, 0)], p[(0, 0)] + p[(1, 1)] + p[(4, 4)] + p[(5, 5)]);
        // Keeping everything is the identity.
        let all = partial_trace(p.as_ref(), &[0, 1, 2], 3);
        assert_eq!(all.as_ref()[(5, 2)], p[(5, 2)]);
        // Keep bits 0 and 2: S[(1,1), (0,1)] = Σ_{b1} P[(1,b1,1), (0,b1,1)].
        let outer = partial_trace(p.as_ref(), &[0, 2], 3);
        assert_eq!(outer.as_ref()[(3, 2)], p[(5, 4)] + p[(7, 6)]);
    }

    #[test]
    fn singular_node_grams_are_factored_by_their_eigendecomposition() {
        // 24 distinct rows, each twice: G_K has rank 24 < M = 48.
        let distinct: Vec<Vec<f64>> = (0..12)
            .map(|j| {
                (0..24)
                    .map(|r| ((r * 7 + j * 5) % 11) as f64 - 5.0)
                    .collect()
            })
            .collect();
        let columns: Vec<Vec<f64>> = distinct.iter().map(|c| [&c[..], &c[..]].concat()).collect();
        let map = FeatureMap::new(columns.iter().map(|c| c.as_slice()), 48, 0.3);
        let weights = vec![vec![1.0; 48]];
        let solver = PartitionSolver::new(&map, &weights, Par::Seq);
        let leaves = 0..6;
        let mut factor = solver.buffers().matrix(48);
        let structure = solver.square_root(&leaves, &mut factor).unwrap();
        assert!(
            matches!(structure, BlockStructure::Rectangular),
            "{structure:?}"
        );
        let mut gram = SymmetricMatrix::zeros(48);
        hadamard_gram(&map, std::slice::from_ref(&leaves), None, &mut gram);
        let l = factor.as_ref();
        let rebuilt = l * l.transpose();
        let error = (&rebuilt - gram.as_ref()).norm_max();
        assert!(error < 1e-12 * gram.as_ref().norm_max(), "{error}");
    }

    #[test]
    fn routes_follow_the_smaller_side() {
        assert_eq!(route(3, 20, 8), Route::ExplicitNode);
        assert_eq!(route(4, 20, 8), Route::Full);
        assert_eq!(route(17, 20, 8), Route::ExplicitComplement);
        assert_eq!(route(100, 200, 1000), Route::Full);
    }
}
