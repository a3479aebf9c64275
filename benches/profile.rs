//! Benchmarks of the heavy kernels and of whole profiles (issue #2 targets):
//!
//! * `gemm/faer_m1000`: faer's GEMM at M = 1000 (throughput in flop/s);
//! * `gram/hadamard_gram`: the fused Gram kernel (throughput in flop/s: three
//!   flops per (row pair, feature), lower triangle only);
//! * `comoments/update_*`: one co-moment update of a 65,536 × 256 block in
//!   row-major (list column) and column-major (wide table) layout
//!   (throughput in flop/s: rows·N·(N+1) for the lower triangle);
//! * `neighbours/*_8192x2000`: the blockwise correlations of sparse weights
//!   for 8192 features × 2000 rows: the k = 16 strongest neighbours, and the
//!   exact cuts of every default level for one order (throughput in flop/s of
//!   the tile products: 2·rows per pair of features, both triangles counted
//!   once, diagonal tiles whole);
//! * `sparse_arrange/graph_8192`: the sparse partitioner on that graph;
//! * `partition/full_route`: one M × M partition (Cholesky, two GEMMs, a
//!   symmetric eigenproblem; throughput in nominal flop/s);
//! * `partition/full_route_one_per_core_x2`: two such partitions at once,
//!   one per core, as the profile runs sibling partitions;
//! * `partition/eigenvalues_{seq,2cores}`: that eigenproblem alone (throughput
//!   in flop/s of the tridiagonalisation, 4n³/3), faer's solver beside it
//!   (`eigenvalues_faer_seq`), and its two stages (`tridiagonalize_seq`,
//!   `tridiagonal_eigenvalues`: throughput in eigenvalues/s);
//! * `profile/2d_16x16_m500_levels1-3` (target a, without Parquet read) and
//!   `profile/1d_256_m1000_all_levels` (target b).
//!
//! Run: `cargo bench --bench profile`. Target (c) (32×32, M = 1000) takes
//! seconds per run; it is timed on the release CLI (docs/performance.md#what-an-exact-profile-costs).

#![allow(clippy::single_range_in_vec_init)] // one range is a valid set of ranges

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use faer::{Mat, Par};

use entangle::math::eigenvalues::{
    eigenvalues_in_place, faer_eigenvalues, tridiagonal_eigenvalues, tridiagonalize,
};
use entangle::math::gram::{FeatureMap, SymmetricMatrix, hadamard_gram};
use entangle::math::labels::LabelScheme;
use entangle::math::moments::CoMoments;
use entangle::math::profile::{ProfileInput, ProfileOptions, compute_profile, leaf_columns};
use entangle::math::spectrum::PartitionSolver;
use entangle::math::synthetic::smooth_field;
use entangle::math::tree::{CanonicalTree, Grid};

fn feature_map(rows: usize, shape: &[usize]) -> FeatureMap {
    let sample = smooth_field(rows, shape, 0.7, 1);
    let tree = CanonicalTree::new(Grid::new(shape.to_vec()).unwrap());
    let columns = leaf_columns(&sample, &tree, true);
    FeatureMap::new(columns.iter().map(Vec::as_slice), rows, 0.085)
}

fn gram(c: &mut Criterion) {
    let mut group = c.benchmark_group("gram");
    for rows in [500usize, 1000] {
        let map = feature_map(rows, &[64]);
        let mut out = SymmetricMatrix::zeros(rows);
        let flops = 3 * 64 * rows * (rows + 1) / 2;
        group.throughput(Throughput::Elements(flops as u64));
        group.bench_function(format!("hadamard_gram/m{rows}_64features"), |b| {
            b.iter(|| hadamard_gram(&map, &[0..64], None, &mut out))
        });
    }
    group.finish();
}

/// faer's GEMM at the size of the M x M route (2·M³ flops), both cores.
fn gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    let m = 1000usize;
    let a = Mat::<f64>::from_fn(m, m, |i, j| ((i * 7 + j * 3) % 13) as f64 - 6.0);
    let mut out = Mat::<f64>::zeros(m, m);
    group.throughput(Throughput::Elements(2 * (m * m * m) as u64));
    group.bench_function("faer_m1000", |b| {
        b.iter(|| {
            faer::linalg::matmul::matmul(
                out.as_mut(),
                faer::Accum::Replace,
                a.as_ref(),
                a.as_ref(),
                1.0,
                Par::rayon(0),
            )
        })
    });
    group.finish();
}

/// The surrogate's streamed statistics: centring plus the symmetric product.
fn comoments(c: &mut Criterion) {
    let mut group = c.benchmark_group("comoments");
    group.sample_size(10);
    let (rows, n) = (65_536usize, 256usize);
    let values: Vec<f64> = (0..rows * n)
        .map(|k| ((k * 7919) % 1009) as f64 * 1e-3)
        .collect();
    let column_major = Mat::<f64>::from_fn(rows, n, |i, j| values[i * n + j]);
    group.throughput(Throughput::Elements((rows * n * (n + 1)) as u64));
    group.bench_function("update_row_major_65536x256", |b| {
        let batch = faer::MatRef::from_row_major_slice(&values, rows, n);
        b.iter(|| CoMoments::new(n).update(batch, Par::rayon(0)))
    });
    group.bench_function("update_column_major_65536x256", |b| {
        b.iter(|| CoMoments::new(n).update(column_major.as_ref(), Par::rayon(0)))
    });
    group.finish();
}

fn neighbours(c: &mut Criterion) {
    use entangle::arrange::neighbours::{
        FeatureColumns, TILE, neighbours_and_cuts, ordered_cuts, strongest_neighbours,
    };
    use entangle::arrange::sparse::{DENSE_BELOW, arrange_sparse};
    let mut group = c.benchmark_group("neighbours");
    group.sample_size(10);
    let (rows, n) = (2000usize, 8192usize);
    let sample = smooth_field(rows, &[n], 0.7, 1);
    let x = sample.as_ref();
    let mut columns = FeatureColumns::new(n);
    let values: Vec<Vec<f64>> = (0..n).map(|j| x.col(j).iter().copied().collect()).collect();
    columns.extend_columns(&values.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let standardized = columns.standardize();
    let tiles = n.div_ceil(TILE);
    let flops = 2 * rows * TILE * TILE * tiles * (tiles + 1) / 2;
    group.throughput(Throughput::Elements(flops as u64));
    group.bench_function("strongest_16_8192x2000", |b| {
        b.iter(|| strongest_neighbours(&standardized, 16))
    });
    let tree = CanonicalTree::new(Grid::new(vec![n]).unwrap());
    let levels = tree.default_levels();
    let partitions = tree.canonical_partitions(&levels);
    let order: Vec<usize> = (0..n).collect();
    group.bench_function("ordered_cuts_8192x2000", |b| {
        b.iter(|| ordered_cuts(&standardized, &order, &tree, &partitions, None))
    });
    // With the first pass's degrees: only the pairs inside the two halves
    // (the same flop count is reported, so the rate reads as the saving).
    let (_, _, degrees) = neighbours_and_cuts(&standardized, 16, &tree, &partitions);
    group.bench_function("ordered_cuts_given_degrees_8192x2000", |b| {
        b.iter(|| ordered_cuts(&standardized, &order, &tree, &partitions, Some(&degrees)))
    });
    group.finish();
    let graph = strongest_neighbours(&standardized, 16);
    let mut group = c.benchmark_group("sparse_arrange");
    group.sample_size(10);
    group.bench_function("graph_8192", |b| {
        b.iter(|| arrange_sparse(&graph, &tree, &levels, 0, DENSE_BELOW))
    });
    group.finish();
}

fn partition(c: &mut Criterion) {
    let mut group = c.benchmark_group("partition");
    group.sample_size(10);
    for rows in [500usize, 1000] {
        let map = feature_map(rows, &[256]);
        let mut complement = SymmetricMatrix::zeros(rows);
        hadamard_gram(&map, &[64..256], None, &mut complement);
        let weights = vec![vec![1.0; rows]];
        let solver = PartitionSolver::new(&map, &weights, Par::rayon(0));
        // Cholesky n³/3, G·L n³ (triangular), Lᵀ·Y n³/3 (lower result), tridiagonalization 4n³/3.
        let m = rows as u64;
        group.throughput(Throughput::Elements(3 * m * m * m));
        group.bench_function(format!("full_route/m{rows}"), |b| {
            b.iter(|| solver.solve(0..64, &complement).unwrap())
        });
        // Two partitions at once, one per core (`Par::Seq` inside), as the
        // profile runs siblings: the throughput is per partition.
        let sequential = PartitionSolver::new(&map, &weights, Par::Seq);
        group.throughput(Throughput::Elements(2 * 3 * m * m * m));
        group.bench_function(format!("full_route_one_per_core_x2/m{rows}"), |b| {
            b.iter(|| {
                rayon::join(
                    || sequential.solve(0..64, &complement).unwrap(),
                    || sequential.solve(64..128, &complement).unwrap(),
                )
            })
        });
        // The eigenvalue stage on an M × M Gram matrix: ours (tridiagonal
        // reduction, then root-free QL), its two stages, and faer's solver.
        group.throughput(Throughput::Elements(4 * m * m * m / 3));
        for (name, par) in [("seq", Par::Seq), ("2cores", Par::rayon(2))] {
            group.bench_function(format!("eigenvalues_{name}/m{rows}"), |b| {
                b.iter_batched(
                    || complement.clone(),
                    |mut matrix| eigenvalues_in_place(&mut matrix, par).unwrap(),
                    BatchSize::LargeInput,
                )
            });
        }
        group.bench_function(format!("eigenvalues_faer_seq/m{rows}"), |b| {
            b.iter(|| faer_eigenvalues(complement.as_ref(), Par::Seq).unwrap())
        });
        group.bench_function(format!("tridiagonalize_seq/m{rows}"), |b| {
            b.iter_batched(
                || complement.clone(),
                |mut matrix| tridiagonalize(matrix.columns_mut(), rows, Par::Seq).unwrap(),
                BatchSize::LargeInput,
            )
        });
        let tridiagonal = tridiagonalize(complement.clone().columns_mut(), rows, Par::Seq).unwrap();
        group.throughput(Throughput::Elements(m));
        group.bench_function(format!("tridiagonal_eigenvalues/m{rows}"), |b| {
            b.iter_batched(
                || tridiagonal.clone(),
                |(mut d, mut e)| tridiagonal_eigenvalues(&mut d, &mut e).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn profile(rows: usize, shape: &[usize], levels: Option<Vec<usize>>) -> f64 {
    let sample = smooth_field(rows, shape, 0.7, 2);
    let n = sample.features;
    let correlation = Mat::<f64>::zeros(n, n);
    let options = ProfileOptions {
        levels,
        shape: Some(shape.to_vec()),
        ..ProfileOptions::default()
    };
    compute_profile(
        ProfileInput {
            rows: rows as u64,
            sample: &sample,
            labels: None,
            scheme: &LabelScheme::Unlabeled,
            surrogate: &correlation.as_ref(),
            warnings: Vec::new(),
        },
        &options,
        &|_, _| {},
    )
    .unwrap()
    .mean_entropy
}

fn profiles(c: &mut Criterion) {
    let mut group = c.benchmark_group("profile");
    group.sample_size(10);
    group.bench_function("2d_16x16_m500_levels1-3", |b| {
        b.iter(|| profile(500, &[16, 16], Some(vec![1, 2, 3])))
    });
    group.bench_function("1d_256_m1000_all_levels", |b| {
        b.iter(|| profile(1000, &[256], Some((1..=8).collect())))
    });
    group.finish();
}

criterion_group!(
    benches, gemm, gram, comoments, neighbours, partition, profiles
);
criterion_main!(benches);
