//! Writes a synthetic smooth-field dataset as Parquet, for timing the CLI:
//! `cargo run --release --example bench_data -- OUT.parquet ROWS SHAPE [SEED]`
//! (SHAPE like 256 or 16,16). Wide layout: columns f0000, f0001, … in
//! row-major grid order, plus a binary label `label`.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use entangle::synthetic::smooth_field;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: bench_data OUT.parquet ROWS SHAPE [SEED]");
        std::process::exit(2);
    }
    let rows: usize = args[1].parse().expect("ROWS is a number");
    let shape: Vec<usize> = args[2]
        .split([',', 'x'])
        .map(|s| s.parse().expect("SHAPE like 16,16"))
        .collect();
    let seed: u64 = args
        .get(3)
        .map_or(0, |s| s.parse().expect("SEED is a number"));
    let sample = smooth_field(rows, &shape, 0.7, seed);
    let n = sample.features;
    let x = sample.as_ref();
    let mut fields: Vec<Field> = (0..n)
        .map(|j| Field::new(format!("f{j:04}"), DataType::Float64, false))
        .collect();
    let mut columns: Vec<ArrayRef> = (0..n)
        .map(|j| Arc::new(Float64Array::from_iter_values(x.col(j).iter().copied())) as ArrayRef)
        .collect();
    fields.push(Field::new("label", DataType::Int32, false));
    columns.push(Arc::new(Int32Array::from_iter_values(
        (0..rows).map(|r| i32::from(x[(r, 0)] > 0.0)),
    )));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
    let mut writer = ArrowWriter::try_new(
        File::create(&args[0]).expect("create OUT"),
        batch.schema(),
        None,
    )
    .expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}
