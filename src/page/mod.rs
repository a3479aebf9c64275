//! The report page: one self-contained HTML file per profile, arrangement or
//! applied order (`--html`, and `_repr_html_` in Python). This module turns
//! an analysis, its profiles and an order into the page's data — numbers
//! keyed by where they sit in the `--json` output, rasters of the grid, the
//! |correlation| matrix and sampled rows; [`html`] draws it with no script
//! from the network (inline SVG, PNG data and CSS).

pub mod html;

use crate::analysis::{Analysis, SurrogateWeights};
use crate::error::Result;
use crate::io::rewrite::OrderFile;
use crate::math::profile::{Profile, SurrogateProfile};
use crate::math::tree::{CanonicalTree, Partition};

/// Above this many features a side, matrices are shown as block means.
pub const MATRIX_BINS: usize = 512;
/// Sampled rows drawn in each order.
pub const SAMPLE_ROWS: usize = 3;
/// Largest side of a sampled row's image, and of a level's heat map.
pub(crate) const SAMPLE_SIDE: usize = 256;
const HEAT_SIDE: usize = 64;
/// A 1D strip's most cells (and a trace's most points).
pub(crate) const STRIP_CELLS: usize = 512;
/// The most feature names drawn in the grid of names.
pub const NAME_CELLS: usize = 4096;

/// A number on the page and where the `--json` output holds it (a dotted
/// path such as `after.levels.0.mean_entropy`; empty: not in the JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub key: String,
    pub value: f64,
}

impl Number {
    pub(crate) fn at(key: String, value: f64) -> Self {
        Number { key, value }
    }
    fn derived(value: f64) -> Self {
        Number {
            key: String::new(),
            value,
        }
    }
}

/// One order's numbers per level.
#[derive(Debug, Clone)]
pub struct LevelNumbers {
    pub level: usize,
    /// Mean entanglement entropy (the entanglement report only).
    pub entropy: Option<Number>,
    pub surrogate: Number,
}

/// The numbers of one order (the input order, the arranged order).
#[derive(Debug, Clone)]
pub struct View {
    pub name: &'static str,
    pub levels: Vec<LevelNumbers>,
    pub mean_entropy: Option<Number>,
    pub surrogate: Number,
    pub seams: Number,
}

/// The surrogate a uniformly random order of the same features has on
/// average: a cut of k of N features is expected to hold k(N−k)/(N(N−1)) of
/// Σ_{i≠j} w_ij, a pair of grid neighbours 1/(N(N−1)) of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomOrder {
    pub levels: Vec<(usize, f64)>,
    pub mean: f64,
    pub seams: f64,
}

impl RandomOrder {
    pub fn new(
        total_weight: f64,
        tree: &CanonicalTree,
        partitions: &[Partition],
        levels: &[usize],
    ) -> Self {
        let n = tree.len() as f64;
        let pair = total_weight / (n * (n - 1.0));
        let levels: Vec<(usize, f64)> = levels
            .iter()
            .map(|&level| {
                let sizes: Vec<f64> = partitions
                    .iter()
                    .filter(|p| p.level == level)
                    .map(|p| p.leaves.len() as f64)
                    .collect();
                let mean =
                    sizes.iter().map(|k| k * (n - k) * pair).sum::<f64>() / sizes.len() as f64;
                (level, mean)
            })
            .collect();
        RandomOrder {
            mean: levels.iter().map(|l| l.1).sum::<f64>() / levels.len() as f64,
            seams: tree.grid().adjacent_pairs().count() as f64 * pair,
            levels,
        }
    }
}

/// Values 0–255 on a `width` × `height` raster (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// The range a colour scale spans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub low: f64,
    pub high: f64,
}

impl Scale {
    fn of(values: impl Iterator<Item = f64>) -> Self {
        let (low, high) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
        if low.is_finite() {
            Scale { low, high }
        } else {
            Scale {
                low: 0.0,
                high: 0.0,
            }
        }
    }

    fn quantise(self, v: f64) -> u8 {
        if self.high <= self.low || !v.is_finite() {
            return 0;
        }
        ((v - self.low) / (self.high - self.low) * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8
    }
}

/// The (rows, columns) a grid is drawn as: a strip for 1D, the first axis
/// against the others for 2D and more.
pub fn drawn_shape(shape: &[usize]) -> (usize, usize) {
    let n: usize = shape.iter().product();
    match shape {
        [_] => (1, n),
        [rows, ..] => (*rows, n / rows.max(&1)),
        [] => (1, n),
    }
}

/// Values over the row-major grid positions drawn as block means on at most
/// `side` cells a side (`strip` cells for one row), quantised on `scale`.
pub fn raster(values: &[f64], shape: &[usize], side: usize, scale: Scale) -> Raster {
    let (rows, cols) = drawn_shape(shape);
    // One block size for both axes keeps the grid's aspect.
    let (fy, fx) = if rows == 1 {
        (1, cols.div_ceil(STRIP_CELLS))
    } else {
        let f = rows.div_ceil(side).max(cols.div_ceil(side));
        (f, f)
    };
    let (height, width) = (rows.div_ceil(fy), cols.div_ceil(fx));
    let mut sums = vec![(0.0, 0usize); width * height];
    for (g, &v) in values.iter().enumerate() {
        let (r, c) = (g / cols, g % cols);
        let cell = &mut sums[(r / fy) * width + c / fx];
        cell.0 += v;
        cell.1 += 1;
    }
    Raster {
        width,
        height,
        pixels: sums
            .iter()
            .map(|&(s, k)| scale.quantise(if k == 0 { f64::NAN } else { s / k as f64 }))
            .collect(),
    }
}

/// One level's canonical partitions drawn on the grid, in each order.
#[derive(Debug, Clone)]
pub struct LevelHeat {
    pub level: usize,
    pub scale: Scale,
    /// (view name, raster, each partition's number in chunk order).
    pub views: Vec<(&'static str, Raster, Vec<Number>)>,
}

/// The |correlation| matrix in each order.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Features per block side (1: every pair shown).
    pub block: usize,
    /// Drawn from each feature's strongest correlations only (sparse weights).
    pub sparse: Option<usize>,
    pub scale: Scale,
    pub views: Vec<(&'static str, Raster)>,
}

/// A sampled row in each order: values over grid positions.
#[derive(Debug, Clone)]
pub struct SampleRow {
    pub scale: Scale,
    pub views: Vec<(&'static str, Vec<f64>)>,
}

/// Everything the page shows.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// "profile", "arrange" or "apply".
    pub command: &'static str,
    /// The header's facts, in order (input, rows, features, …).
    pub facts: Vec<(String, String)>,
    pub verdict: String,
    pub notes: Vec<String>,
    pub shape: Vec<usize>,
    /// "entropy" (the entanglement report) or "surrogate".
    pub measure: &'static str,
    pub views: Vec<View>,
    pub random: Option<RandomOrder>,
    pub heat: Vec<LevelHeat>,
    pub correlation: Option<Correlation>,
    pub samples: Vec<SampleRow>,
    /// Feature names at each arranged grid position (wide tables).
    pub names: Option<Vec<String>>,
    /// The order file's JSON, to download.
    pub order_file: Option<String>,
}

/// The numbers one order was measured by.
#[derive(Clone, Copy)]
pub enum Measured<'a> {
    Entanglement(&'a Profile),
    Surrogate(&'a SurrogateProfile),
}

/// One order of the analysed features and what it measured.
pub struct Measurement<'a> {
    pub name: &'static str,
    /// Where the `--json` output holds its numbers ("before.", "after.", "").
    pub key: &'static str,
    /// `order[g]` = input feature at grid position g; `None`: input order.
    pub order: Option<&'a [usize]>,
    pub measured: Measured<'a>,
}

impl Measurement<'_> {
    fn surrogate(&self) -> &SurrogateProfile {
        match self.measured {
            Measured::Entanglement(p) => &p.surrogate,
            Measured::Surrogate(s) => s,
        }
    }

    fn view(&self) -> View {
        let k = self.key;
        let surrogate = self.surrogate();
        let (sk, entropy) = match self.measured {
            Measured::Entanglement(p) => (format!("{k}surrogate."), Some(p)),
            Measured::Surrogate(_) => (k.to_string(), None),
        };
        View {
            name: self.name,
            levels: surrogate
                .levels
                .iter()
                .enumerate()
                .map(|(i, l)| LevelNumbers {
                    level: l.level,
                    entropy: entropy.map(|p| {
                        Number::at(
                            format!("{k}levels.{i}.mean_entropy"),
                            p.levels[i].mean_entropy,
                        )
                    }),
                    surrogate: Number::at(format!("{sk}levels.{i}.mean"), l.mean),
                })
                .collect(),
            mean_entropy: entropy.map(|p| Number::at(format!("{k}mean_entropy"), p.mean_entropy)),
            surrogate: Number::at(format!("{sk}mean"), surrogate.mean),
            seams: Number::at(format!("{sk}seams"), surrogate.seams),
        }
    }

    /// Each partition's number at the level with index `i`, in chunk order.
    fn partition_numbers(&self, i: usize) -> Vec<(usize, Number)> {
        let k = self.key;
        let (field, values): (&str, Vec<(usize, f64)>) = match self.measured {
            Measured::Entanglement(p) => (
                "entropy",
                p.levels[i]
                    .partitions
                    .iter()
                    .map(|q| (q.chunk, q.entropy))
                    .collect(),
            ),
            Measured::Surrogate(s) => (
                "cut",
                s.levels[i]
                    .partitions
                    .iter()
                    .map(|q| (q.chunk, q.cut))
                    .collect(),
            ),
        };
        let mut numbers: Vec<(usize, Number)> = values
            .into_iter()
            .enumerate()
            .map(|(j, (chunk, value))| {
                let key = format!("{k}levels.{i}.partitions.{j}.{field}");
                (chunk, Number::at(key, value))
            })
            .collect();
        numbers.sort_by_key(|n| n.0);
        numbers
    }
}

/// What a page of an analysis is made of.
pub struct Analysed<'a> {
    pub command: &'static str,
    pub facts: Vec<(String, String)>,
    pub analysis: &'a Analysis,
    pub tree: &'a CanonicalTree,
    pub levels: &'a [usize],
    pub measurements: Vec<Measurement<'a>>,
    pub order_file: Option<&'a OrderFile>,
}

impl Page {
    /// The page of a profile (one measurement) or an arrangement (before, after).
    pub fn of_analysis(input: Analysed<'_>) -> Result<Page> {
        let Analysed {
            command,
            facts,
            analysis,
            tree,
            levels,
            measurements,
            order_file,
        } = input;
        let partitions = tree.canonical_partitions(levels);
        let random = analysis
            .total_weight()
            .map(|total| RandomOrder::new(total, tree, &partitions, levels));
        let views: Vec<View> = measurements.iter().map(Measurement::view).collect();
        let measure = match measurements[0].measured {
            Measured::Entanglement(_) => "entropy",
            Measured::Surrogate(_) => "surrogate",
        };
        let mut notes = Vec::new();
        if measure == "surrogate" {
            notes.push(
                "The exact entanglement entropies were not computed (the surrogate report, \
                 the default above 4096 features): this page shows what the surrogate report \
                 holds — the surrogate per level and partition, the seam score, the order."
                    .to_string(),
            );
        }
        let page = Page {
            command,
            verdict: verdict(&views, random.as_ref()),
            facts: with_shape(facts, tree.grid().shape()),
            notes,
            shape: tree.grid().shape().to_vec(),
            measure,
            heat: level_heat(tree, levels, &measurements),
            correlation: Some(correlation(analysis, &measurements)),
            samples: sample_rows(analysis, &measurements),
            names: order_file.and_then(arranged_names),
            order_file: order_file.map(order_json).transpose()?,
            views,
            random,
        };
        Ok(page)
    }

    /// The page of `apply`: the order it applied.
    pub fn of_order(
        facts: Vec<(String, String)>,
        file: &OrderFile,
        shape: &[usize],
    ) -> Result<Page> {
        Ok(Page {
            command: "apply",
            verdict: format!(
                "Applied a saved order of {} features: the entanglement it was chosen for is on \
                 the page of the `arrange` that wrote it.",
                file.order.len()
            ),
            facts: with_shape(facts, shape),
            shape: shape.to_vec(),
            names: arranged_names(file),
            order_file: Some(order_json(file)?),
            ..Page::default()
        })
    }
}

/// The facts with the grid's shape after the number of features.
fn with_shape(mut facts: Vec<(String, String)>, shape: &[usize]) -> Vec<(String, String)> {
    let text: Vec<String> = shape.iter().map(usize::to_string).collect();
    let at = facts
        .iter()
        .position(|f| f.0 == "features")
        .map_or(facts.len(), |i| i + 1);
    facts.insert(at, ("grid".to_string(), text.join(" × ")));
    facts
}

fn order_json(file: &OrderFile) -> Result<String> {
    serde_json::to_string(file).map_err(|e| crate::error::Error::Data(e.to_string()))
}

/// The feature names at each arranged grid position, for wide tables.
fn arranged_names(file: &OrderFile) -> Option<Vec<String>> {
    let names = file.features.as_ref()?;
    Some(file.order.iter().map(|&i| names[i].clone()).collect())
}

fn percent_change(before: f64, after: f64) -> String {
    if before == 0.0 {
        return String::new();
    }
    format!(" ({:+.0}%)", (after - before) / before * 100.0)
}

/// The verdict in one sentence (two with a random order to compare with).
fn verdict(views: &[View], random: Option<&RandomOrder>) -> String {
    let short = |v: f64| html::short(v);
    let random_text = |value: f64| match random {
        Some(r) if r.mean > 0.0 => format!(
            "; a random order of the same features averages {} (this order: {:.0}% of random)",
            short(r.mean),
            value / r.mean * 100.0
        ),
        _ => String::new(),
    };
    match views {
        [one] => {
            let entropy = one.mean_entropy.as_ref().map_or(String::new(), |e| {
                format!(
                    "Mean entanglement entropy {} across the canonical cuts. ",
                    short(e.value)
                )
            });
            format!(
                "{entropy}Surrogate entanglement (mean Σ|correlation| across the cuts) {}{}. \
                 Lower suits locally connected networks (CNNs, RNNs) better.",
                short(one.surrogate.value),
                random_text(one.surrogate.value)
            )
        }
        [before, after, ..] => {
            let entropy = match (&before.mean_entropy, &after.mean_entropy) {
                (Some(b), Some(a)) => format!(
                    "Mean entanglement entropy {} in the input order → {} arranged{}. ",
                    short(b.value),
                    short(a.value),
                    percent_change(b.value, a.value)
                ),
                _ => String::new(),
            };
            format!(
                "{entropy}Surrogate entanglement (mean Σ|correlation| across the canonical cuts) \
                 {} → {}{}{}. Lower suits locally connected networks (CNNs, RNNs) better.",
                short(before.surrogate.value),
                short(after.surrogate.value),
                percent_change(before.surrogate.value, after.surrogate.value),
                random_text(after.surrogate.value)
            )
        }
        [] => String::new(),
    }
}

/// Each level's partitions on the grid, on one scale per level for all orders.
fn level_heat(
    tree: &CanonicalTree,
    levels: &[usize],
    measurements: &[Measurement<'_>],
) -> Vec<LevelHeat> {
    let leaf_order = tree.leaf_order();
    let shape = tree.grid().shape();
    levels
        .iter()
        .enumerate()
        .map(|(i, &level)| {
            let numbers: Vec<Vec<(usize, Number)>> = measurements
                .iter()
                .map(|m| m.partition_numbers(i))
                .collect();
            // The level's range in both orders (from 0, a level's blocks often
            // differ by a few percent and would all look alike); the legend
            // says what the ends are.
            let scale = Scale::of(numbers.iter().flatten().map(|n| n.1.value));
            let views = measurements
                .iter()
                .zip(numbers)
                .map(|(m, numbers)| {
                    let mut cells = vec![f64::NAN; tree.len()];
                    for (chunk, node) in tree.level_nodes(level).into_iter().enumerate() {
                        // Level 1 of two halves is one cut: both halves show it.
                        let value = match numbers.iter().find(|n| n.0 == chunk) {
                            Some(n) => n.1.value,
                            None if numbers.len() == 1 => numbers[0].1.value,
                            None => f64::NAN,
                        };
                        for leaf in tree.nodes()[node].leaves.clone() {
                            cells[leaf_order[leaf]] = value;
                        }
                    }
                    let raster = raster(&cells, shape, HEAT_SIDE, scale);
                    (m.name, raster, numbers.into_iter().map(|n| n.1).collect())
                })
                .collect();
            LevelHeat {
                level,
                scale,
                views,
            }
        })
        .collect()
}

/// The |correlation| matrix in each order, as block means on at most
/// [`MATRIX_BINS`] blocks a side (the diagonal counts as 1).
fn correlation(analysis: &Analysis, measurements: &[Measurement<'_>]) -> Correlation {
    let n = analysis.features();
    let bins = n.min(MATRIX_BINS);
    let bin = |g: usize| g * bins / n;
    let mut counts = vec![0usize; bins];
    for g in 0..n {
        counts[bin(g)] += 1;
    }
    let means = |order: Option<&[usize]>| -> Vec<f64> {
        let mut sums = vec![0.0; bins * bins];
        let position: Vec<usize> = match order {
            Some(order) => {
                let mut position = vec![0; n];
                for (g, &f) in order.iter().enumerate() {
                    position[f] = g;
                }
                position
            }
            None => (0..n).collect(),
        };
        for g in 0..n {
            sums[bin(g) * bins + bin(g)] += 1.0;
        }
        match (&analysis.weights, analysis.kept_graph()) {
            (SurrogateWeights::Dense(w), _) => {
                for i in 0..n {
                    let row = bin(position[i]) * bins;
                    for (j, &v) in w.col(i).iter().enumerate() {
                        sums[row + bin(position[j])] += v;
                    }
                }
            }
            (SurrogateWeights::Sparse(_), Some(graph)) => {
                for i in 0..n {
                    let row = bin(position[i]) * bins;
                    for (j, v) in graph.neighbours(i) {
                        sums[row + bin(position[j])] += v;
                    }
                }
            }
            (SurrogateWeights::Sparse(_), None) => {}
        }
        sums.iter()
            .enumerate()
            .map(|(c, s)| s / (counts[c / bins] * counts[c % bins]) as f64)
            .collect()
    };
    let matrices: Vec<(&'static str, Vec<f64>)> = measurements
        .iter()
        .map(|m| (m.name, means(m.order)))
        .collect();
    // Block means of weak correlations are small: the scale spans what is there.
    let scale = Scale {
        low: 0.0,
        high: Scale::of(matrices.iter().flat_map(|m| m.1.iter().copied()))
            .high
            .max(f64::MIN_POSITIVE),
    };
    Correlation {
        block: n.div_ceil(bins),
        sparse: match &analysis.weights {
            SurrogateWeights::Sparse(_) => Some(analysis.neighbours()),
            SurrogateWeights::Dense(_) => None,
        },
        scale,
        views: matrices
            .into_iter()
            .map(|(name, m)| (name, raster(&m, &[bins, bins], MATRIX_BINS, scale)))
            .collect(),
    }
}

/// The first sampled rows, over grid positions in each order.
fn sample_rows(analysis: &Analysis, measurements: &[Measurement<'_>]) -> Vec<SampleRow> {
    let sample = analysis.sample.as_ref();
    (0..analysis.sample.rows.min(SAMPLE_ROWS))
        .map(|r| {
            let row = sample.row(r);
            let views: Vec<(&'static str, Vec<f64>)> = measurements
                .iter()
                .map(|m| {
                    let values = match m.order {
                        Some(order) => order.iter().map(|&f| row[f]).collect(),
                        None => row.iter().copied().collect(),
                    };
                    (m.name, values)
                })
                .collect();
            SampleRow {
                scale: Scale::of(views[0].1.iter().copied()),
                views,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::tree::Grid;

    /// The random order's expected cuts, against the mean over every
    /// permutation of 5 features on a line (120 orders, exactly).
    #[test]
    fn random_order_is_the_mean_over_all_permutations() {
        let n = 5;
        let w = |i: usize, j: usize| {
            if i == j {
                0.0
            } else {
                ((i * 7 + j * 7 + i * j) % 11) as f64 / 10.0
            }
        };
        let tree = CanonicalTree::new(Grid::for_features(n, None).unwrap());
        let levels = tree.default_levels();
        let partitions = tree.canonical_partitions(&levels);
        let total: f64 = (0..n).flat_map(|i| (0..n).map(move |j| w(i, j))).sum();
        let random = RandomOrder::new(total, &tree, &partitions, &levels);
        let leaf_order = tree.leaf_order();
        let mut orders: Vec<Vec<usize>> = vec![vec![]];
        for _ in 0..n {
            let mut longer = Vec::new();
            for o in &orders {
                for f in (0..n).filter(|f| !o.contains(f)) {
                    let mut o = o.clone();
                    o.push(f);
                    longer.push(o);
                }
            }
            orders = longer;
        }
        assert_eq!(orders.len(), 120);
        let mut level_sums = vec![0.0; levels.len()];
        let mut seams = 0.0;
        for order in &orders {
            for (l, &level) in levels.iter().enumerate() {
                let parts: Vec<&Partition> =
                    partitions.iter().filter(|p| p.level == level).collect();
                let cut = |p: &Partition| {
                    let inside: Vec<usize> =
                        p.leaves.clone().map(|q| order[leaf_order[q]]).collect();
                    let mut sum = 0.0;
                    for &i in &inside {
                        for j in (0..n).filter(|j| !inside.contains(j)) {
                            sum += w(i, j);
                        }
                    }
                    sum
                };
                level_sums[l] += parts.iter().map(|p| cut(p)).sum::<f64>() / parts.len() as f64;
            }
            seams += tree
                .grid()
                .adjacent_pairs()
                .map(|(g, h)| w(order[g], order[h]))
                .sum::<f64>();
        }
        for (l, &(level, mean)) in random.levels.iter().enumerate() {
            assert_eq!(level, levels[l]);
            assert!(
                (mean - level_sums[l] / 120.0).abs() < 1e-12,
                "level {level}"
            );
        }
        assert!((random.seams - seams / 120.0).abs() < 1e-12);
    }

    #[test]
    fn rasters_are_block_means_on_the_scale() {
        let values: Vec<f64> = (0..16).map(f64::from).collect();
        let scale = Scale {
            low: 0.0,
            high: 15.0,
        };
        let full = raster(&values, &[4, 4], 4, scale);
        assert_eq!((full.width, full.height), (4, 4));
        assert_eq!(full.pixels[5], 85);
        let half = raster(&values, &[4, 4], 2, scale);
        assert_eq!((half.width, half.height), (2, 2));
        // Block (0, 0) holds 0, 1, 4, 5: mean 2.5.
        assert_eq!(half.pixels[0], scale.quantise(2.5));
        let strip = raster(&values, &[16], 2, scale);
        assert_eq!((strip.width, strip.height), (16, 1));
        assert_eq!(strip.pixels[15], 255);
        // 2 × 8 on at most 2 a side: blocks of 4 × 4, the aspect kept.
        let wide = raster(&values, &[2, 8], 2, scale);
        assert_eq!((wide.width, wide.height), (2, 1));
        assert_eq!(
            wide.pixels[0],
            scale.quantise((0..4).chain(8..12).sum::<i32>() as f64 / 8.0)
        );
    }
}
