//! The cost of the polars expressions over calling the core directly (issue
//! #5): a 100,000-row × 256-feature frame held as one Array[f64, 256] column
//! in 4 chunks, reduced by `entanglement` (default options: a bottom-k sample
//! of 1000 rows, exact profile) and `surrogate_entanglement` (co-moments of
//! every row). `core/*` feeds the same Arrow buffers to the reducer the
//! expressions use; `polars/*` runs `df.lazy().select([expr]).collect()`.
//! The ratio polars/core is the overhead.
//!
//! Run: `cargo bench --bench polars`.

use std::sync::Arc;

use arrow::array::{ArrayRef, FixedSizeListArray, Float64Array};
use arrow::datatypes::{DataType as ArrowType, Field};
use criterion::{Criterion, criterion_group, criterion_main};
use polars::prelude::*;

use entangle::engines::polars::bridge::arrow_to_series;
use entangle::engines::polars::{EntangleOptions, entanglement, surrogate_entanglement};
use entangle::engines::reduce::{Reduction, SummaryReducer};
use entangle::math::synthetic::smooth_field;
use entangle::options::FunctionOptions;

const ROWS: usize = 100_000;
const FEATURES: usize = 256;
const CHUNKS: usize = 4;

/// The frame's column as arrow-rs chunks (what polars will hold).
fn arrow_chunks() -> Vec<ArrayRef> {
    let per_chunk = ROWS / CHUNKS;
    (0..CHUNKS)
        .map(|c| {
            let sample = smooth_field(per_chunk, &[FEATURES], 0.7, c as u64);
            let values = Arc::new(Float64Array::from(sample.values));
            let field = Arc::new(Field::new("item", ArrowType::Float64, false));
            Arc::new(FixedSizeListArray::new(
                field,
                FEATURES as i32,
                values,
                None,
            )) as ArrayRef
        })
        .collect()
}

fn frame(chunks: &[ArrayRef]) -> DataFrame {
    let mut series = arrow_to_series("x", &chunks[0]).unwrap();
    for c in &chunks[1..] {
        series.append(&arrow_to_series("x", c).unwrap()).unwrap();
    }
    assert_eq!(series.n_chunks(), CHUNKS);
    DataFrame::new_infer_height(vec![series.into_column()]).unwrap()
}

fn core(chunks: &[ArrayRef], function: &'static str, kind: Reduction) -> f64 {
    let options = FunctionOptions::resolve(&Default::default(), function, kind.keys()).unwrap();
    let mut reducer = SummaryReducer::new(
        function,
        kind,
        options,
        "x".into(),
        None,
        Box::new(entangle::io::summary::Budget::machine()),
    );
    for c in chunks {
        reducer.add(c, None).unwrap();
    }
    let value = reducer.evaluate().unwrap();
    arrow::array::AsArray::as_primitive::<arrow::datatypes::Float64Type>(&value).value(0)
}

fn expression(df: &DataFrame, expr: Expr) -> f64 {
    let out = df
        .clone()
        .lazy()
        .select([expr.alias("v")])
        .collect()
        .unwrap();
    out.column("v").unwrap().f64().unwrap().get(0).unwrap()
}

fn bench(c: &mut Criterion) {
    let chunks = arrow_chunks();
    let df = frame(&chunks);
    let options = EntangleOptions::default();
    // Same numbers both ways, bit for bit.
    let e = entanglement(col("x"), None, &options).unwrap();
    let s = surrogate_entanglement(col("x"), &options).unwrap();
    assert_eq!(
        core(&chunks, "entanglement", Reduction::Entanglement).to_bits(),
        expression(&df, e.clone()).to_bits()
    );
    assert_eq!(
        core(&chunks, "surrogate_entanglement", Reduction::Surrogate).to_bits(),
        expression(&df, s.clone()).to_bits()
    );
    let mut g = c.benchmark_group("polars_overhead_100k_x_256");
    g.sample_size(10);
    g.bench_function("core/entanglement", |b| {
        b.iter(|| core(&chunks, "entanglement", Reduction::Entanglement))
    });
    g.bench_function("polars/entanglement", |b| {
        b.iter(|| expression(&df, e.clone()))
    });
    g.bench_function("core/surrogate_entanglement", |b| {
        b.iter(|| core(&chunks, "surrogate_entanglement", Reduction::Surrogate))
    });
    g.bench_function("polars/surrogate_entanglement", |b| {
        b.iter(|| expression(&df, s.clone()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
