//! The entanglement profile: every canonical partition's entropy and geometric
//! entanglement, per-level means, the headline mean, and the surrogate.
//!
//! The tree is walked depth first. A child's complement Gram matrix is its
//! parent's complement times the Grams of its siblings (which sit next to it
//! in leaf order), so no complement is ever rebuilt from N − |K| features, and
//! memory is one M × M matrix per tree level.

use std::collections::BTreeMap;

use faer::{MatRef, Par};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::math::gram::{FeatureMap, SymmetricMatrix, hadamard_gram};
use crate::math::labels::{LabelKey, LabelScheme};
use crate::math::moments::SurrogateCuts;
use crate::math::spectrum::{
    Entanglement, PartitionSolver, Route, entanglement_of_symmetric, partial_trace, route,
};
use crate::math::tree::{CanonicalTree, Partition};

/// Default theta of the feature map.
pub const DEFAULT_THETA: f64 = 0.085;
/// Default number of rows used.
pub const DEFAULT_MAX_SAMPLES: usize = 1000;

/// Options of a profile (docs/conventions.md#the-measure).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileOptions {
    pub theta: f64,
    pub standardize: bool,
    /// `None`: the tree's default levels.
    pub levels: Option<Vec<usize>>,
    pub max_samples: usize,
    pub seed: u64,
    /// The grid shape; `None` is 1D.
    pub shape: Option<Vec<usize>>,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            theta: DEFAULT_THETA,
            standardize: true,
            levels: None,
            max_samples: DEFAULT_MAX_SAMPLES,
            seed: 0,
            shape: None,
        }
    }
}

impl ProfileOptions {
    /// Checks the numeric options; errors name the option.
    pub fn validate(&self) -> Result<()> {
        if !(self.theta.is_finite() && self.theta > 0.0) {
            return Err(Error::option(
                "theta",
                format!("must be a positive number, got {}", self.theta),
            ));
        }
        if self.max_samples < 2 {
            return Err(Error::option(
                "max_samples",
                format!("must be at least 2, got {}", self.max_samples),
            ));
        }
        Ok(())
    }

    /// The levels to report for this tree, checked.
    pub fn levels_for(&self, tree: &CanonicalTree) -> Result<Vec<usize>> {
        let levels = self.levels.clone().unwrap_or_else(|| tree.default_levels());
        tree.check_levels(&levels)?;
        Ok(levels)
    }
}

/// The sampled rows, in processing order, as a row-major M × N matrix in
/// selection order.
#[derive(Debug, Clone)]
pub struct SampleMatrix {
    pub rows: usize,
    pub features: usize,
    pub values: Vec<f64>,
}

impl SampleMatrix {
    pub fn as_ref(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.values, self.rows, self.features)
    }
}

/// The sample's feature columns in depth-first leaf order, standardized to
/// zero mean and unit population variance when asked (a constant feature
/// becomes all zeros).
pub fn leaf_columns(
    sample: &SampleMatrix,
    tree: &CanonicalTree,
    standardize: bool,
) -> Vec<Vec<f64>> {
    let x = sample.as_ref();
    tree.leaf_order()
        .iter()
        .map(|&j| {
            let mut column: Vec<f64> = x.col(j).iter().copied().collect();
            if standardize {
                standardize_in_place(&mut column);
            }
            column
        })
        .collect()
}

/// Refuses a theta that makes the feature map degenerate on these values
/// (after standardization, if on): a phase pi·theta·x beyond 2^52, where f64
/// holds no fraction of a period and cos/sin say nothing about x, or a
/// kernel cos(pi·theta·(a − b)) equal to 1 to machine precision for every
/// pair of values (|phase difference| below 2^-26), so that every entropy is 0.
fn check_theta(columns: &[Vec<f64>], theta: f64) -> Result<()> {
    let largest = columns
        .iter()
        .flatten()
        .fold(0.0f64, |m, &x| m.max(x.abs()));
    if largest == 0.0 {
        return Ok(()); // every feature constant: nothing the map can distort
    }
    let phase = std::f64::consts::PI * theta * largest;
    let periodic_limit = 2f64.powi(52);
    if !phase.is_finite() || phase > periodic_limit {
        return Err(Error::option(
            "theta",
            format!(
                "{theta:e} puts pi·theta·x at {phase:e} for |x| up to {largest} (the values the \
                 feature map sees), past 2^52, where cos and sin no longer depend on x; use a \
                 theta below {:e}",
                periodic_limit / (std::f64::consts::PI * largest)
            ),
        ));
    }
    let flat_limit = 2f64.powi(-26);
    if 2.0 * phase < flat_limit {
        return Err(Error::option(
            "theta",
            format!(
                "{theta:e} is so small that cos(pi·theta·(a − b)) is 1 to machine precision for \
                 every pair of values (|x| up to {largest}), so every entropy would be 0; use a \
                 theta above {:e}",
                flat_limit / (2.0 * std::f64::consts::PI * largest)
            ),
        ));
    }
    Ok(())
}

/// Zero mean, unit population variance (ddof = 0); constant → zeros.
pub fn standardize_in_place(column: &mut [f64]) {
    let m = column.len() as f64;
    let (min, max) = column
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if min == max {
        column.fill(0.0);
        return;
    }
    let mean = column.iter().sum::<f64>() / m;
    let var = column.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m;
    let scale = 1.0 / var.sqrt();
    column.iter_mut().for_each(|v| *v = (*v - mean) * scale);
}

/// Exact entanglement of every partition, one entry per class (see
/// [`LabelScheme::weights`]). `progress` is called once per partition solved.
pub fn entanglement_of_partitions(
    map: &FeatureMap,
    weights: &[Vec<f64>],
    tree: &CanonicalTree,
    partitions: &[Partition],
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<Vec<Entanglement>>> {
    let walker = TreeWalker {
        tree,
        map,
        solver: PartitionSolver::new(map, weights, Par::rayon(0)),
        wanted: partitions
            .iter()
            .enumerate()
            .map(|(i, p)| (solved_node(tree, map, p.node), i))
            .collect(),
        deepest: partitions.iter().map(|p| p.level).max().unwrap_or(0),
        progress,
    };
    let mut results: Vec<Option<Vec<Entanglement>>> = vec![None; partitions.len()];
    for (slot, value) in walker.visit(0, None)? {
        results[slot] = Some(value);
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every wanted node is visited"))
        .collect())
}

/// The node whose side a partition is solved from. When the root has two
/// children of one shape they are each other's complement, and the one
/// holding the canonically first feature is solved, so that swapping them
/// (a placement move) leaves the bits unchanged.
fn solved_node(tree: &CanonicalTree, map: &FeatureMap, node: usize) -> usize {
    let nodes = tree.nodes();
    match nodes[0].children[..] {
        [first, second] if node == first && nodes[first].shape == nodes[second].shape => {
            let holds_first = |n: usize| nodes[n].leaves.clone().any(|p| map.rank(p) == 0);
            if holds_first(first) { first } else { second }
        }
        _ => node,
    }
}

struct TreeWalker<'a> {
    tree: &'a CanonicalTree,
    map: &'a FeatureMap,
    solver: PartitionSolver<'a>,
    /// Node index → index of its partition in the output.
    wanted: BTreeMap<usize, usize>,
    deepest: usize,
    progress: &'a (dyn Fn() + Sync),
}

type Solved = Vec<(usize, Vec<Entanglement>)>;

impl TreeWalker<'_> {
    /// Solves the wanted nodes in the subtree of `node`, given the node's
    /// complement Gram matrix (`None` for the root). Children run in parallel.
    fn visit(&self, node: usize, complement: Option<&SymmetricMatrix>) -> Result<Solved> {
        let info = &self.tree.nodes()[node];
        if let Some(complement) = complement
            && route(info.size(), self.map.features(), self.map.rows()) == Route::ExplicitNode
        {
            return self.visit_explicit(node, complement);
        }
        let mut solved = Vec::new();
        if let Some(&slot) = self.wanted.get(&node) {
            let complement = complement.expect("the root is never a partition");
            solved.push((slot, self.solver.solve(info.leaves.clone(), complement)?));
            (self.progress)();
        }
        if info.depth >= self.deepest {
            return Ok(solved);
        }
        let parent = info.leaves.clone();
        let children: Vec<Solved> = info
            .children
            .par_iter()
            .map(|&child| {
                let leaves = &self.tree.nodes()[child].leaves;
                // The child's complement: the parent's complement and the siblings.
                let siblings = [parent.start..leaves.start, leaves.end..parent.end];
                let buffers = self.solver.buffers();
                let mut buffer = buffers.matrix(self.map.rows());
                hadamard_gram(self.map, &siblings, complement, &mut buffer);
                let visited = self.visit(child, Some(&buffer));
                buffers.give(buffer.into_buffer());
                visited
            })
            .collect::<Result<_>>()?;
        solved.extend(children.into_iter().flatten());
        Ok(solved)
    }

    /// A node with 2^|K| ≤ M: one reduced matrix per class gives its spectrum
    /// and, by partial traces, those of all its descendants, with no further
    /// M-sized work.
    fn visit_explicit(&self, node: usize, complement: &SymmetricMatrix) -> Result<Solved> {
        let root = &self.tree.nodes()[node];
        let mut wanted_below = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            let info = &self.tree.nodes()[n];
            if let Some(&slot) = self.wanted.get(&n) {
                wanted_below.push((slot, info.leaves.clone()));
            }
            if info.depth < self.deepest {
                stack.extend(&info.children);
            }
        }
        if wanted_below.is_empty() {
            return Ok(Vec::new());
        }
        let reduced = self
            .solver
            .explicit_products(root.leaves.clone(), complement);
        let bits = root.size();
        // The tensor's bits follow the canonical order of the node's features.
        let canonical = self.map.canonical(std::slice::from_ref(&root.leaves));
        wanted_below
            .into_par_iter()
            .map(|(slot, leaves)| {
                let keep: Vec<usize> = (0..bits)
                    .filter(|&t| leaves.contains(&canonical[t]))
                    .collect();
                let per_class = reduced
                    .iter()
                    .map(|p| {
                        if keep.len() == bits {
                            entanglement_of_symmetric(&mut p.clone())
                        } else {
                            entanglement_of_symmetric(&mut partial_trace(p.as_ref(), &keep, bits))
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                (self.progress)();
                Ok((slot, per_class))
            })
            .collect()
    }
}

/// One partition in the profile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PartitionProfile {
    pub chunk: usize,
    pub size: usize,
    pub entropy: f64,
    pub geometric: f64,
}

/// One level in the profile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LevelProfile {
    pub level: usize,
    pub mean_entropy: f64,
    pub mean_geometric: f64,
    pub partitions: Vec<PartitionProfile>,
}

/// The surrogate of one partition.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SurrogatePartition {
    pub chunk: usize,
    pub size: usize,
    pub cut: f64,
}

/// The surrogate of one level.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SurrogateLevel {
    pub level: usize,
    pub mean: f64,
    pub partitions: Vec<SurrogatePartition>,
}

/// The surrogate profile: per-level mean cut weight and their mean.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SurrogateProfile {
    pub levels: Vec<SurrogateLevel>,
    pub mean: f64,
    /// The seam score: Σ w over grid-adjacent positions
    /// (docs/conventions.md#placement-and-seams), which no canonical cut sees
    /// and a CNN's overlapping kernels do.
    pub seams: f64,
}

/// Per-class values of a one-vs-rest profile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassProfile {
    pub label: LabelKey,
    pub mean_entropy: f64,
    pub levels: Vec<ClassLevel>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassLevel {
    pub level: usize,
    pub mean_entropy: f64,
}

/// How the label was used.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LabelInfo {
    pub column: String,
    /// "binary", "one-vs-rest" or "constant".
    pub scheme: &'static str,
    /// The distinct labels, smallest first (for binary: −1 then +1).
    pub values: Vec<LabelKey>,
}

/// A complete profile, serialized as the `--json` output (docs/conventions.md#json-profile).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Profile {
    pub rows: u64,
    pub samples_used: usize,
    pub features: usize,
    pub shape: Vec<usize>,
    pub theta: f64,
    pub standardize: bool,
    pub max_samples: usize,
    pub seed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelInfo>,
    pub levels: Vec<LevelProfile>,
    pub mean_entropy: f64,
    pub surrogate: SurrogateProfile,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassProfile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Everything a profile is computed from: the sample (processing order), its
/// labels, the surrogate weights over all rows.
pub struct ProfileInput<'a> {
    pub rows: u64,
    pub sample: &'a SampleMatrix,
    /// The label column's name and the label of each sampled row.
    pub labels: Option<(&'a str, &'a [Option<LabelKey>])>,
    pub scheme: &'a LabelScheme,
    /// The |Pearson| weights over all rows, for the order profiled.
    pub surrogate: &'a dyn SurrogateCuts,
    pub warnings: Vec<String>,
}

/// The surrogate of each partition, each level's mean and their mean over
/// levels (the same aggregation as `mean_entropy`).
pub fn surrogate_profile(
    weights: &dyn SurrogateCuts,
    tree: &CanonicalTree,
    partitions: &[Partition],
    levels: &[usize],
) -> SurrogateProfile {
    let cuts = weights.cuts(tree, partitions);
    let levels: Vec<SurrogateLevel> = levels
        .iter()
        .map(|&level| {
            let parts: Vec<SurrogatePartition> = (0..partitions.len())
                .filter(|&i| partitions[i].level == level)
                .map(|i| SurrogatePartition {
                    chunk: partitions[i].chunk,
                    size: partitions[i].leaves.len(),
                    cut: cuts[i],
                })
                .collect();
            SurrogateLevel {
                level,
                mean: mean_of(parts.iter().map(|p| p.cut)),
                partitions: parts,
            }
        })
        .collect();
    SurrogateProfile {
        mean: mean_of(levels.iter().map(|l| l.mean)),
        levels,
        seams: weights.seams(tree.grid()),
    }
}

/// The mean, summed in increasing order so that it does not depend on the
/// order of the values (a placement reorders a level's partitions).
fn mean_of(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_unstable_by(f64::total_cmp);
    values.iter().sum::<f64>() / values.len() as f64
}

/// Computes the profile.
pub fn compute_profile(
    input: ProfileInput<'_>,
    options: &ProfileOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Profile> {
    options.validate()?;
    let sample = input.sample;
    if sample.rows < 2 {
        return Err(Error::Data(format!(
            "need at least 2 rows, found {}",
            sample.rows
        )));
    }
    let grid = crate::math::tree::Grid::for_features(sample.features, options.shape.as_deref())?;
    let tree = CanonicalTree::new(grid);
    let levels = options.levels_for(&tree)?;
    let partitions = tree.canonical_partitions(&levels);

    let (label_column, row_labels) = match input.labels {
        Some((c, l)) => (c, Some(l)),
        None => ("", None),
    };
    let weights = match row_labels {
        Some(l) => input.scheme.weights(label_column, l)?,
        None => vec![vec![1.0; sample.rows]],
    };
    let mut warnings = input.warnings;
    if let LabelScheme::Constant(value) = input.scheme {
        warnings.push(format!(
            "label column '{label_column}' has a single value ({value}); every row is weighted +1"
        ));
    }

    let columns = leaf_columns(sample, &tree, options.standardize);
    check_theta(&columns, options.theta)?;
    let map = FeatureMap::new(
        columns.iter().map(Vec::as_slice),
        sample.rows,
        options.theta,
    );
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = partitions.len();
    let per_partition = entanglement_of_partitions(&map, &weights, &tree, &partitions, &|| {
        let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(d, total);
    })?;
    let surrogate = surrogate_profile(input.surrogate, &tree, &partitions, &levels);

    let mean = |v: &mut dyn Iterator<Item = f64>| mean_of(v);
    let classes = weights.len();
    let class_mean = |e: &[Entanglement], f: fn(&Entanglement) -> f64| mean(&mut e.iter().map(f));

    let mut level_profiles = Vec::new();
    for &level in &levels {
        let in_level: Vec<usize> = (0..partitions.len())
            .filter(|&i| partitions[i].level == level)
            .collect();
        let parts: Vec<PartitionProfile> = in_level
            .iter()
            .map(|&i| PartitionProfile {
                chunk: partitions[i].chunk,
                size: partitions[i].leaves.len(),
                entropy: class_mean(&per_partition[i], |e| e.entropy),
                geometric: class_mean(&per_partition[i], |e| e.geometric),
            })
            .collect();
        level_profiles.push(LevelProfile {
            level,
            mean_entropy: mean(&mut parts.iter().map(|p| p.entropy)),
            mean_geometric: mean(&mut parts.iter().map(|p| p.geometric)),
            partitions: parts,
        });
    }

    let class_profiles = if classes > 1 {
        input
            .scheme
            .classes()
            .iter()
            .enumerate()
            .map(|(c, label)| {
                let levels: Vec<ClassLevel> = levels
                    .iter()
                    .map(|&level| ClassLevel {
                        level,
                        mean_entropy: mean(
                            &mut (0..partitions.len())
                                .filter(|&i| partitions[i].level == level)
                                .map(|i| per_partition[i][c].entropy),
                        ),
                    })
                    .collect();
                ClassProfile {
                    label: label.clone(),
                    mean_entropy: mean(&mut levels.iter().map(|l| l.mean_entropy)),
                    levels,
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    let label = input.labels.map(|(column, _)| LabelInfo {
        column: column.to_string(),
        scheme: match input.scheme {
            LabelScheme::Binary { .. } => "binary",
            LabelScheme::OneVsRest(_) => "one-vs-rest",
            _ => "constant",
        },
        values: match input.scheme {
            LabelScheme::Binary { negative, positive } => vec![negative.clone(), positive.clone()],
            LabelScheme::OneVsRest(classes) => classes.clone(),
            LabelScheme::Constant(v) => vec![v.clone()],
            LabelScheme::Unlabeled => Vec::new(),
        },
    });

    Ok(Profile {
        rows: input.rows,
        samples_used: sample.rows,
        features: sample.features,
        shape: tree.grid().shape().to_vec(),
        theta: options.theta,
        standardize: options.standardize,
        max_samples: options.max_samples,
        seed: options.seed,
        label,
        mean_entropy: mean(&mut level_profiles.iter().map(|l| l.mean_entropy)),
        levels: level_profiles,
        surrogate,
        classes: class_profiles,
        warnings,
    })
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
