//! The canonical tree over the features: the tree of a locally connected
//! network, whose nodes are the canonical partitions
//! (docs/conventions.md#canonical-partitions).
//!
//! The root is the whole grid. A node's children cut every axis of length ≥ 2
//! at `start + ceil(len / 2)`, in row-major order of the halves; a single
//! position is a leaf. Reading the leaves depth first makes every node a
//! contiguous range of positions, which is what the Gram reuse relies on.

use std::ops::Range;

use crate::error::{Error, Result};

/// The shape of the feature grid: `[N]` in 1D, `[H, W]` in 2D, any number of axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    shape: Vec<usize>,
}

impl Grid {
    /// A grid of the given shape; every side must be at least 1 and the grid
    /// must hold at least 2 positions.
    pub fn new(shape: Vec<usize>) -> Result<Self> {
        if shape.is_empty() || shape.contains(&0) {
            return Err(Error::option(
                "shape",
                format!("every side must be at least 1, got {shape:?}"),
            ));
        }
        let grid = Grid { shape };
        if grid.len() < 2 {
            return Err(Error::Data(format!(
                "need at least 2 features, the grid {:?} has {}",
                grid.shape,
                grid.len()
            )));
        }
        Ok(grid)
    }

    /// The 1D grid `[n]`.
    pub fn line(n: usize) -> Result<Self> {
        Grid::new(vec![n])
    }

    /// The grid for `n` features: `shape` when given (it must hold exactly `n`
    /// positions), else the 1D grid `[n]`.
    pub fn for_features(n: usize, shape: Option<&[usize]>) -> Result<Self> {
        if n < 2 {
            return Err(Error::Data(format!("need at least 2 features, found {n}")));
        }
        match shape {
            None => Grid::line(n),
            Some(shape) => {
                let grid = Grid::new(shape.to_vec())?;
                if grid.len() != n {
                    return Err(Error::option(
                        "shape",
                        format!(
                            "{} has {} positions but {n} features were selected",
                            shape
                                .iter()
                                .map(|s| s.to_string())
                                .collect::<Vec<_>>()
                                .join("x"),
                            grid.len()
                        ),
                    ));
                }
                Ok(grid)
            }
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of positions (features).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every pair of grid-adjacent positions (row-major indices, the smaller
    /// first), once: neighbours along each axis, every axis alike (the
    /// 4-neighbourhood in 2D, consecutive positions in 1D).
    pub fn adjacent_pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let axes = self.shape.len();
        (0..axes).flat_map(move |axis| {
            let stride: usize = self.shape[axis + 1..].iter().product();
            let side = self.shape[axis];
            (0..self.len())
                .filter(move |g| (g / stride) % side + 1 < side)
                .map(move |g| (g, g + stride))
        })
    }

    /// Row-major index of a coordinate.
    fn row_major(&self, coord: &[usize]) -> usize {
        coord
            .iter()
            .zip(&self.shape)
            .fold(0, |acc, (&c, &side)| acc * side + c)
    }
}

/// One node of the canonical tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    /// Depth below the root (root = 0); level `l` is the nodes at depth `l`.
    pub depth: usize,
    /// The node's positions as a range of the depth-first leaf order.
    pub leaves: Range<usize>,
    /// Indices of the children in [`CanonicalTree::nodes`].
    pub children: Vec<usize>,
    /// The side lengths of the node's box (its subtree is the tree of a grid of this shape).
    pub shape: Vec<usize>,
}

impl TreeNode {
    /// Number of features in the node (`size` in the JSON output).
    pub fn size(&self) -> usize {
        self.leaves.len()
    }
}

/// One canonical partition: a node against its complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub level: usize,
    /// Index of the node among the nodes of its level, left to right.
    pub chunk: usize,
    /// Index of the node in [`CanonicalTree::nodes`].
    pub node: usize,
    /// The node's positions in depth-first leaf order.
    pub leaves: Range<usize>,
}

/// The canonical tree of a grid.
#[derive(Debug, Clone)]
pub struct CanonicalTree {
    grid: Grid,
    /// Nodes in preorder; index 0 is the root.
    nodes: Vec<TreeNode>,
    /// `leaf_order[p]` = row-major grid index of the p-th leaf read depth first.
    leaf_order: Vec<usize>,
    depth: usize,
}

impl CanonicalTree {
    pub fn new(grid: Grid) -> Self {
        let mut tree = CanonicalTree {
            nodes: Vec::new(),
            leaf_order: Vec::with_capacity(grid.len()),
            depth: 0,
            grid,
        };
        let start = vec![0; tree.grid.shape.len()];
        let len = tree.grid.shape.clone();
        tree.build(&start, &len, 0);
        tree
    }

    /// Appends the subtree of the box `start .. start + len` in preorder and
    /// returns the index of its root.
    fn build(&mut self, start: &[usize], len: &[usize], depth: usize) -> usize {
        let index = self.nodes.len();
        let first_leaf = self.leaf_order.len();
        self.depth = self.depth.max(depth);
        self.nodes.push(TreeNode {
            depth,
            leaves: first_leaf..first_leaf,
            children: Vec::new(),
            shape: len.to_vec(),
        });
        if len.iter().all(|&l| l == 1) {
            self.leaf_order.push(self.grid.row_major(start));
        } else {
            // The halves of each axis; an axis of length 1 keeps one "half".
            let halves: Vec<Vec<(usize, usize)>> = start
                .iter()
                .zip(len)
                .map(|(&s, &l)| {
                    if l >= 2 {
                        let cut = l.div_ceil(2);
                        vec![(s, cut), (s + cut, l - cut)]
                    } else {
                        vec![(s, l)]
                    }
                })
                .collect();
            let mut children = Vec::new();
            for_each_combination(&halves, &mut |boxes: &[(usize, usize)]| {
                let child_start: Vec<usize> = boxes.iter().map(|b| b.0).collect();
                let child_len: Vec<usize> = boxes.iter().map(|b| b.1).collect();
                children.push(self.build(&child_start, &child_len, depth + 1));
            });
            self.nodes[index].children = children;
        }
        self.nodes[index].leaves = first_leaf..self.leaf_order.len();
        index
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    pub fn nodes(&self) -> &[TreeNode] {
        &self.nodes
    }

    /// Sizes of a node's children, in order: the group sizes its split must have.
    pub fn child_sizes(&self, node: usize) -> Vec<usize> {
        self.nodes[node]
            .children
            .iter()
            .map(|&c| self.nodes[c].size())
            .collect()
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.leaf_order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaf_order.is_empty()
    }

    /// `leaf_order()[p]` = row-major grid index of the feature at depth-first
    /// leaf position `p`.
    pub fn leaf_order(&self) -> &[usize] {
        &self.leaf_order
    }

    /// Depth of the deepest leaf: the largest allowed level.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The default levels: 1 ..= min over axes (of length ≥ 2) of
    /// floor(log2 side), the levels at which every node exists.
    pub fn default_levels(&self) -> Vec<usize> {
        let max = self
            .grid
            .shape
            .iter()
            .filter(|&&side| side >= 2)
            .map(|&side| side.ilog2() as usize)
            .min()
            .unwrap_or(1);
        (1..=max).collect()
    }

    /// Checks that every level is between 1 and the tree's depth; the error
    /// names `--levels`.
    pub fn check_levels(&self, levels: &[usize]) -> Result<()> {
        if levels.is_empty() {
            return Err(Error::option("levels", "no level given"));
        }
        for &level in levels {
            if level < 1 || level > self.depth {
                return Err(Error::option(
                    "levels",
                    format!(
                        "level {level} is out of range: the tree over {:?} has levels 1..{}",
                        self.grid.shape, self.depth
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The nodes at depth `level`, left to right.
    pub fn level_nodes(&self, level: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].depth == level)
            .collect()
    }

    /// The canonical partitions of the given levels, in level order then left
    /// to right. When the root has exactly two children, they are each other's
    /// complement, so level 1 has a single partition.
    pub fn canonical_partitions(&self, levels: &[usize]) -> Vec<Partition> {
        let mut partitions = Vec::new();
        for &level in levels {
            let nodes = self.level_nodes(level);
            let take = if level == 1 && self.nodes[0].children.len() == 2 {
                1
            } else {
                nodes.len()
            };
            for (chunk, &node) in nodes.iter().take(take).enumerate() {
                partitions.push(Partition {
                    level,
                    chunk,
                    node,
                    leaves: self.nodes[node].leaves.clone(),
                });
            }
        }
        partitions
    }
}

/// Calls `f` with every combination of one item per list, the first list
/// varying slowest (row-major order).
fn for_each_combination<T: Copy>(lists: &[Vec<T>], f: &mut dyn FnMut(&[T])) {
    fn go<T: Copy>(lists: &[Vec<T>], prefix: &mut Vec<T>, f: &mut dyn FnMut(&[T])) {
        match lists.split_first() {
            None => f(prefix),
            Some((first, rest)) => {
                for &item in first {
                    prefix.push(item);
                    go(rest, prefix, f);
                    prefix.pop();
                }
            }
        }
    }
    go(lists, &mut Vec::with_capacity(lists.len()), f);
}

/// Parses a grid shape, `"16,16"` or `"16x16"`; `None` when a side is not a
/// whole number (sides of 0 are [`Grid::new`]'s error).
pub fn parse_shape(text: &str) -> Option<Vec<usize>> {
    text.split([',', 'x', 'X'])
        .map(|side| side.trim().parse().ok())
        .collect()
}

/// Parses a level list: `"1,2,3"`, `"1..3"` (inclusive), `"2"`, or a mix such
/// as `"1..2,4"`, sorted and deduplicated. The error names the `levels` option.
pub fn parse_levels(text: &str) -> Result<Vec<usize>> {
    let bad = |why: String| Error::option("levels", why);
    let mut levels = Vec::new();
    for part in text.split(',').map(str::trim) {
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("'{s}' is not a level number in '{text}'")))
        };
        if let Some((a, b)) = part.split_once("..") {
            let (a, b) = (number(a)?, number(b.trim_start_matches('='))?);
            if a > b {
                return Err(bad(format!("empty range '{part}'")));
            }
            levels.extend(a..=b);
        } else {
            levels.push(number(part)?);
        }
    }
    levels.sort_unstable();
    levels.dedup();
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(shape: &[usize]) -> CanonicalTree {
        CanonicalTree::new(Grid::new(shape.to_vec()).unwrap())
    }

    /// Grid indices of each node of a level, sorted.
    fn level_sets(t: &CanonicalTree, level: usize) -> Vec<Vec<usize>> {
        t.level_nodes(level)
            .into_iter()
            .map(|n| {
                let mut v: Vec<usize> = t.leaf_order()[t.nodes()[n].leaves.clone()].to_vec();
                v.sort_unstable();
                v
            })
            .collect()
    }

    fn sizes(t: &CanonicalTree, level: usize) -> Vec<usize> {
        t.level_nodes(level)
            .into_iter()
            .map(|n| t.nodes()[n].size())
            .collect()
    }

    /// numpy.array_split(range(n), parts): the first n % parts chunks get one more.
    fn array_split(n: usize, parts: usize) -> Vec<Vec<usize>> {
        let (q, r) = (n / parts, n % parts);
        let mut out = Vec::new();
        let mut start = 0;
        for i in 0..parts {
            let len = q + usize::from(i < r);
            out.push((start..start + len).collect());
            start += len;
        }
        out
    }

    #[test]
    fn one_dimensional_power_of_two_matches_array_split() {
        for n in [64usize, 256] {
            let t = tree(&[n]);
            assert_eq!(t.depth(), n.ilog2() as usize);
            assert_eq!(t.leaf_order(), (0..n).collect::<Vec<_>>());
            for level in 1..=t.depth() {
                assert_eq!(
                    level_sets(&t, level),
                    array_split(n, 1 << level),
                    "n={n} level={level}"
                );
            }
        }
    }

    /// The paper's recursive-quadrant flattening: at level l the chunks are
    /// (side / 2^l)² blocks, chunk j's quadrant path given by its base-4 digits.
    fn quadrant_blocks(side: usize, level: usize) -> Vec<Vec<usize>> {
        let block = side >> level;
        (0..1usize << (2 * level))
            .map(|j| {
                let (mut row, mut col) = (0, 0);
                for d in (0..level).rev() {
                    let digit = (j >> (2 * d)) & 3;
                    row = row * 2 + digit / 2;
                    col = col * 2 + digit % 2;
                }
                let mut v: Vec<usize> = (0..block)
                    .flat_map(|r| {
                        (0..block).map(move |c| (row * block + r) * side + col * block + c)
                    })
                    .collect();
                v.sort_unstable();
                v
            })
            .collect()
    }

    #[test]
    fn two_dimensional_power_of_two_matches_recursive_quadrants() {
        for side in [8usize, 32] {
            let t = tree(&[side, side]);
            assert_eq!(t.depth(), side.ilog2() as usize);
            assert_eq!(
                t.default_levels(),
                (1..=side.ilog2() as usize).collect::<Vec<_>>()
            );
            for level in 1..=t.depth() {
                assert_eq!(
                    level_sets(&t, level),
                    quadrant_blocks(side, level),
                    "side={side} level={level}"
                );
            }
        }
        // Depth-first leaf order of 4x4: quadrant by quadrant, row-major inside.
        assert_eq!(
            tree(&[4, 4]).leaf_order(),
            &[0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]
        );
    }

    #[test]
    fn levels_nest_for_other_sizes() {
        let t = tree(&[30]);
        assert_eq!(t.default_levels(), vec![1, 2, 3, 4]);
        assert_eq!(t.depth(), 5);
        assert_eq!(sizes(&t, 1), vec![15, 15]);
        assert_eq!(sizes(&t, 2), vec![8, 7, 8, 7]);
        assert_eq!(sizes(&t, 3), vec![4, 4, 4, 3, 4, 4, 4, 3]);
        assert_eq!(
            sizes(&t, 4),
            vec![2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2, 1]
        );

        let t = tree(&[180]);
        assert_eq!(t.default_levels(), (1..=7).collect::<Vec<_>>());
        assert_eq!(sizes(&t, 1), vec![90, 90]);
        assert_eq!(sizes(&t, 2), vec![45, 45, 45, 45]);
        assert_eq!(sizes(&t, 3), vec![23, 22, 23, 22, 23, 22, 23, 22]);

        let t = tree(&[617]);
        assert_eq!(t.default_levels(), (1..=9).collect::<Vec<_>>());
        assert_eq!(t.depth(), 10);
        assert_eq!(sizes(&t, 1), vec![309, 308]);
        assert_eq!(sizes(&t, 2), vec![155, 154, 154, 154]);
        assert_eq!(sizes(&t, 3), vec![78, 77, 77, 77, 77, 77, 77, 77]);

        // 6x10: rows cut 3|3, columns 5|5; then rows 2|1, columns 3|2; ...
        let t = tree(&[6, 10]);
        assert_eq!(t.default_levels(), vec![1, 2]);
        assert_eq!(t.depth(), 4);
        assert_eq!(sizes(&t, 1), vec![15; 4]);
        assert_eq!(sizes(&t, 2), [6, 4, 3, 2].repeat(4));
        // Level 3 under the first 2x3 block: rows 1|1, columns 2|1.
        assert_eq!(&sizes(&t, 3)[..4], &[2, 1, 2, 1]);
        assert_eq!(
            level_sets(&t, 1)[1],
            vec![5, 6, 7, 8, 9, 15, 16, 17, 18, 19, 25, 26, 27, 28, 29]
        );
    }

    #[test]
    fn every_node_is_a_contiguous_range_and_nests() {
        for shape in [vec![30], vec![6, 10], vec![3, 5, 7], vec![2, 2]] {
            let t = tree(&shape);
            let mut seen = t.leaf_order().to_vec();
            seen.sort_unstable();
            assert_eq!(seen, (0..t.len()).collect::<Vec<_>>());
            for node in t.nodes() {
                let mut next = node.leaves.start;
                for &c in &node.children {
                    assert_eq!(t.nodes()[c].leaves.start, next);
                    assert_eq!(t.nodes()[c].depth, node.depth + 1);
                    next = t.nodes()[c].leaves.end;
                }
                if !node.children.is_empty() {
                    assert_eq!(next, node.leaves.end);
                }
            }
        }
    }

    #[test]
    fn partitions_per_level() {
        let t = tree(&[8]);
        let p = t.canonical_partitions(&[1, 2, 3]);
        assert_eq!(p.iter().filter(|p| p.level == 1).count(), 1);
        assert_eq!(p.iter().filter(|p| p.level == 2).count(), 4);
        assert_eq!(p.iter().filter(|p| p.level == 3).count(), 8);
        assert_eq!(p[0].leaves, 0..4);
        let t = tree(&[16, 16]);
        assert_eq!(t.canonical_partitions(&[1, 2, 3]).len(), 84);
        let t = tree(&[256]);
        assert_eq!(t.canonical_partitions(&t.default_levels()).len(), 509);
    }

    #[test]
    fn levels_are_parsed_and_checked() {
        assert_eq!(parse_levels("1..3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_levels("3, 1,2").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_levels("2").unwrap(), vec![2]);
        assert_eq!(parse_levels("1..2,4").unwrap(), vec![1, 2, 4]);
        assert_eq!(parse_shape("16, 16"), Some(vec![16, 16]));
        assert_eq!(parse_shape("4x8X2"), Some(vec![4, 8, 2]));
        assert_eq!(parse_shape("4by4"), None);
        let e = parse_levels("1..x").unwrap_err().to_string();
        assert!(e.starts_with("levels:") && e.contains("'x'"), "{e}");
        let e = parse_levels("3..1").unwrap_err().to_string();
        assert!(e.contains("empty range"), "{e}");
        let t = tree(&[64]);
        let e = t.check_levels(&[7]).unwrap_err().to_string();
        assert!(
            e.starts_with("levels:") && e.contains("level 7 is out of range"),
            "{e}"
        );
        assert!(t.check_levels(&[0]).is_err());
        assert!(t.check_levels(&[6]).is_ok());
    }

    #[test]
    fn shape_must_match_feature_count() {
        let e = Grid::for_features(64, Some(&[8, 9]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "shape: 8x9 has 72 positions but 64 features were selected"
        );
        let e = Grid::for_features(1, None).unwrap_err().to_string();
        assert_eq!(e, "need at least 2 features, found 1");
    }
}
