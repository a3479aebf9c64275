//! From a row summary to profiles: the sample matrix in processing order, the
//! label scheme and the |correlation| weights of all rows (dense, or the
//! standardized columns for blockwise sparse weights), computed once and used
//! for any number of feature orders (before and after an arrangement).

use std::borrow::Cow;
use std::sync::OnceLock;

use faer::Mat;

use crate::arrange::Choice;
use crate::arrange::dense::arrange;
use crate::arrange::line::{is_line, resplit_partition};
use crate::arrange::neighbours::{
    DEFAULT_NEIGHBOURS, Degrees, NeighbourGraph, OrderedColumns, PassCache, SPARSE_ABOVE,
    Standardized, strongest_neighbours,
};
use crate::arrange::seams::{Placement, SeamWeights, place_for_seams};
use crate::arrange::shrink::{Shrink, shrunk};
use crate::arrange::sparse::{DENSE_BELOW, arrange_sparse};
use crate::error::{Error, Result};
use crate::io::read::FeatureColumns;
use crate::io::summary::{RowSummary, Weights};
use crate::math::labels::{LabelKey, LabelScheme};
use crate::math::moments::{SurrogateCuts, from_fixed};
use crate::math::profile::{
    Profile, ProfileInput, ProfileOptions, SampleMatrix, SurrogateProfile, compute_profile,
    surrogate_profile,
};
use crate::math::tree::CanonicalTree;

/// The surrogate weights of all rows.
pub enum SurrogateWeights {
    /// |Pearson| weights, N × N, input feature order.
    Dense(Mat<f64>),
    /// Standardized columns: weights computed blockwise when needed.
    Sparse(Standardized),
}

/// The inputs of a profile, ready for any feature order.
pub struct Analysis {
    pub rows: u64,
    pub sample: SampleMatrix,
    pub labels: Vec<Option<LabelKey>>,
    pub scheme: LabelScheme,
    pub weights: SurrogateWeights,
    /// Strongest neighbours per feature in the sparse graph.
    neighbours: usize,
    /// The sparse graph, once found (by the first profile or the arrangement).
    graph: OnceLock<NeighbourGraph>,
    /// Every feature's total weight, once found (by the first profile).
    degrees: OnceLock<Degrees>,
    pub label_column: Option<String>,
    /// The columns the features were taken from (empty when the rows came
    /// from an engine's arrays).
    pub feature_columns: FeatureColumns,
    pub warnings: Vec<String>,
}

impl Analysis {
    /// Prepares a summary of at least 2 rows and 2 features for profiling.
    pub fn new(
        summary: &RowSummary,
        label_column: Option<&str>,
        warnings: Vec<String>,
    ) -> Result<Self> {
        let rows = summary.rows();
        let features = summary.features().unwrap_or(0);
        let enough = rows >= 2 && features >= 2;
        let weights = match summary.weights() {
            Weights::Dense(stats) if enough => SurrogateWeights::Dense(stats.correlation_weights()),
            Weights::Sparse(columns) if enough => SurrogateWeights::Sparse(columns.standardize()),
            _ if rows < 2 => {
                return Err(Error::Data(format!("need at least 2 rows, found {rows}")));
            }
            _ => {
                return Err(Error::Data(format!(
                    "need at least 2 features, found {features}"
                )));
            }
        };
        let (sample, labels) = summary.sample_matrix();
        Ok(Analysis {
            rows,
            sample,
            labels,
            scheme: LabelScheme::from_labels(summary.labels()),
            weights,
            neighbours: DEFAULT_NEIGHBOURS,
            graph: OnceLock::new(),
            degrees: OnceLock::new(),
            label_column: label_column.map(str::to_string),
            feature_columns: FeatureColumns::default(),
            warnings,
        })
    }

    pub fn features(&self) -> usize {
        self.sample.features
    }

    /// The weights as a source of surrogate cuts, for the features in the
    /// given order (`None`: input order).
    pub fn surrogate<'a>(&'a self, order: Option<&'a [usize]>) -> Box<dyn SurrogateCuts + 'a> {
        match (&self.weights, order) {
            (SurrogateWeights::Dense(w), None) => Box::new(w.as_ref()),
            (SurrogateWeights::Dense(w), Some(order)) => {
                let n = order.len();
                Box::new(PermutedWeights(Mat::from_fn(n, n, |i, j| {
                    w[(order[i], order[j])]
                })))
            }
            (SurrogateWeights::Sparse(columns), order) => Box::new(OrderedColumns {
                columns,
                order,
                cache: Some(PassCache {
                    neighbours: self.neighbours,
                    graph: &self.graph,
                    degrees: &self.degrees,
                }),
            }),
        }
    }

    /// The same analysis keeping `k` strongest neighbours per feature in the
    /// sparse graph (default [`DEFAULT_NEIGHBOURS`]).
    pub fn with_neighbours(mut self, k: usize) -> Self {
        self.neighbours = k;
        self.graph = OnceLock::new();
        self.degrees = OnceLock::new();
        self
    }

    /// The arrangement (`order[g]` = input feature at grid position g) and
    /// the τ its weights were shrunk by: for each τ of `shrink`, the
    /// partition of the features among the tree nodes, then every node's
    /// children placed as `placement` says; of several, the order with the
    /// highest seam score (ties, to 1e-9: the first). `phases` times the partitioner
    /// as "arrange" and the rest as "placement".
    pub fn arrange(
        &self,
        tree: &CanonicalTree,
        levels: &[usize],
        seed: u64,
        placement: Placement,
        shrink: Shrink,
        phases: &mut Phases,
    ) -> (Vec<usize>, f64) {
        let candidates = shrink.candidates();
        let mut best: Option<(f64, f64, Vec<usize>)> = None;
        for &tau in &candidates {
            let order = phases.time("arrange", || self.partition(tree, levels, seed, tau));
            let order = phases.time("placement", || self.place(tree, &order, placement));
            if candidates.len() == 1 {
                return (order, tau);
            }
            let seams = phases.time("placement", || {
                self.surrogate(Some(&order)).seams(tree.grid())
            });
            // Orders differing only by a symmetry sum their seams in another
            // order; a real gain is above that round-off.
            if best
                .as_ref()
                .is_none_or(|(most, _, _)| seams > most + 1e-9 * most.abs().max(1.0))
            {
                best = Some((seams, tau, order));
            }
        }
        let (_, tau, order) = best.expect("at least one candidate");
        (order, tau)
    }

    /// Which features sit in which tree node: the dense partitioner, or for
    /// sparse weights the partitioner on each feature's strongest
    /// correlations; on weights shrunk by `tau` (0: as they are). With dense
    /// weights on a line, the splits of small odd-sized nodes are chosen for
    /// seams within [`crate::arrange::line::RESPLIT_TOLERANCE`] of the
    /// objective.
    pub fn partition(
        &self,
        tree: &CanonicalTree,
        levels: &[usize],
        seed: u64,
        tau: f64,
    ) -> Vec<usize> {
        // On a line, the splits of small odd-sized nodes are then chosen so
        // that the nodes can read as runs.
        let for_seams = |partition: Vec<usize>, w: &Mat<f64>| match is_line(tree) {
            true => resplit_partition(tree, &partition, w.as_ref(), levels),
            false => partition,
        };
        match &self.weights {
            SurrogateWeights::Dense(w) if tau > 0.0 => for_seams(
                arrange(shrunk(w.as_ref(), tau).as_ref(), tree, levels, seed),
                w,
            ),
            SurrogateWeights::Dense(w) => for_seams(arrange(w.as_ref(), tree, levels, seed), w),
            SurrogateWeights::Sparse(_) if tau > 0.0 => {
                arrange_sparse(&self.graph().shrunk(tau), tree, levels, seed, DENSE_BELOW)
            }
            SurrogateWeights::Sparse(_) => {
                arrange_sparse(self.graph(), tree, levels, seed, DENSE_BELOW)
            }
        }
    }

    /// The order with every node's children placed as `placement` says; for
    /// seams, on the (rounded) weights the partitioner saw.
    pub fn place(&self, tree: &CanonicalTree, order: &[usize], placement: Placement) -> Vec<usize> {
        match placement {
            Placement::Tree => order.to_vec(),
            Placement::Seams => place_for_seams(tree, order, &self.seam_weights()),
        }
    }

    /// The weights whose seams the placement maximises: the dense
    /// |correlations|, or the sparse graph of the strongest ones.
    pub fn seam_weights(&self) -> SeamWeights<'_> {
        match &self.weights {
            SurrogateWeights::Dense(w) => SeamWeights::Dense(w.as_ref()),
            SurrogateWeights::Sparse(_) => SeamWeights::Sparse(self.graph()),
        }
    }

    /// Σ_{i≠j} w_ij over every ordered pair of features: what a random
    /// order's expected cuts are made of. Sparse weights know it once a
    /// surrogate of the input order has been computed (`None` before).
    pub fn total_weight(&self) -> Option<f64> {
        match &self.weights {
            SurrogateWeights::Dense(w) => {
                Some((0..w.ncols()).map(|j| w.col(j).iter().sum::<f64>()).sum())
            }
            SurrogateWeights::Sparse(_) => self
                .degrees
                .get()
                .map(|d| from_fixed(d.iter().sum::<u128>())),
        }
    }

    /// Strongest neighbours kept per feature with sparse weights.
    pub fn neighbours(&self) -> usize {
        self.neighbours
    }

    /// The sparse graph of the strongest correlations, once the arrangement
    /// or a profile has found it (`None` for dense weights).
    pub fn kept_graph(&self) -> Option<&NeighbourGraph> {
        self.graph.get()
    }

    /// The sparse graph of each feature's strongest neighbours (found once).
    fn graph(&self) -> &NeighbourGraph {
        let SurrogateWeights::Sparse(columns) = &self.weights else {
            unreachable!("the graph is only built for sparse weights")
        };
        self.graph
            .get_or_init(|| strongest_neighbours(columns, self.neighbours))
    }

    /// The surrogate alone (all rows) of the features in the given order:
    /// the cheap report of `arrange` for wide data.
    pub fn surrogate_profile(
        &self,
        tree: &CanonicalTree,
        levels: &[usize],
        order: Option<&[usize]>,
    ) -> SurrogateProfile {
        let partitions = tree.canonical_partitions(levels);
        surrogate_profile(self.surrogate(order).as_ref(), tree, &partitions, levels)
    }

    /// The profile of the features in the given order (`order[g]` = input
    /// feature at grid position g); `None` keeps the input order.
    /// `progress(done, total)` counts solved partitions.
    pub fn profile(
        &self,
        options: &ProfileOptions,
        order: Option<&[usize]>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Profile> {
        let n = self.features();
        let sample = match order {
            None => Cow::Borrowed(&self.sample),
            Some(order) => {
                let x = self.sample.as_ref();
                let values = (0..self.sample.rows)
                    .flat_map(|r| order.iter().map(move |&j| x[(r, j)]))
                    .collect();
                Cow::Owned(SampleMatrix {
                    rows: self.sample.rows,
                    features: n,
                    values,
                })
            }
        };
        let surrogate = self.surrogate(order);
        compute_profile(
            ProfileInput {
                rows: self.rows,
                sample: &sample,
                labels: self
                    .label_column
                    .as_deref()
                    .map(|c| (c, self.labels.as_slice())),
                scheme: &self.scheme,
                surrogate: surrogate.as_ref(),
                warnings: self.warnings.clone(),
            },
            options,
            progress,
        )
    }
}

/// Seconds spent per named phase, in the order they first ran.
#[derive(Debug, Clone, Default)]
pub struct Phases(pub Vec<(&'static str, f64)>);

impl Phases {
    pub fn time<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let start = std::time::Instant::now();
        let out = f();
        let seconds = start.elapsed().as_secs_f64();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += seconds,
            None => self.0.push((name, seconds)),
        }
        out
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(n, s)| format!("{n} {s:.2} s"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Dense weights permuted into an order.
struct PermutedWeights(Mat<f64>);

impl SurrogateCuts for PermutedWeights {
    fn cuts(&self, tree: &CanonicalTree, partitions: &[crate::math::tree::Partition]) -> Vec<f64> {
        self.0.as_ref().cuts(tree, partitions)
    }
    fn seams(&self, grid: &crate::math::tree::Grid) -> f64 {
        self.0.as_ref().seams(grid)
    }
}

/// What `arrange` reports before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Both exact profiles, on the rows `profile` would use.
    Entanglement,
    /// The surrogate alone, on all rows.
    Surrogate,
}

impl Report {
    /// The default for `features` features: exact up to the boundary of
    /// `weights=auto` (4096), the surrogate above it, where two exact
    /// profiles would cost minutes.
    pub fn auto(features: usize) -> Report {
        if features > SPARSE_ABOVE {
            Report::Surrogate
        } else {
            Report::Entanglement
        }
    }
}

/// The `report` option: a [`Report`], or `auto` to let the width decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportChoice {
    /// [`Report::auto`].
    #[default]
    Auto,
    Entanglement,
    Surrogate,
}

impl ReportChoice {
    /// The report for `features` features.
    pub fn resolve(self, features: usize) -> Report {
        match self {
            ReportChoice::Auto => Report::auto(features),
            ReportChoice::Entanglement => Report::Entanglement,
            ReportChoice::Surrogate => Report::Surrogate,
        }
    }
}

impl Choice for ReportChoice {
    const ALL: &'static [Self] = &[
        ReportChoice::Auto,
        ReportChoice::Entanglement,
        ReportChoice::Surrogate,
    ];

    fn name(self) -> &'static str {
        match self {
            ReportChoice::Auto => "auto",
            ReportChoice::Entanglement => "entanglement",
            ReportChoice::Surrogate => "surrogate",
        }
    }
}

impl<'de> serde::Deserialize<'de> for ReportChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::arrange::deserialize_choice(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_report_is_exact_up_to_4096_features() {
        assert_eq!(Report::auto(2), Report::Entanglement);
        assert_eq!(Report::auto(4096), Report::Entanglement);
        assert_eq!(Report::auto(4097), Report::Surrogate);
        assert_eq!(Report::auto(50_000), Report::Surrogate);
        assert_eq!(ReportChoice::Auto.resolve(4097), Report::Surrogate);
        assert_eq!(
            ReportChoice::Entanglement.resolve(50_000),
            Report::Entanglement
        );
        assert_eq!(
            ReportChoice::parse("surrogate"),
            Ok(ReportChoice::Surrogate)
        );
    }
}
