//! Writes a synthetic smooth-field dataset as Parquet, for timing the CLI:
//! `cargo run --release --example bench_data -- OUT.parquet ROWS SHAPE [SEED] [shuffled] [array]`
//! (SHAPE like 256 or 16,16). Wide layout: columns f0000, f0001, … in
//! row-major grid order, in row groups of 2^18 rows (with `shuffled`, column j holds a seeded random grid
//! position instead: a scrambled signal to arrange), plus a binary label `label`.
//! With `array`, the features are one FixedSizeList<Float64> column `v` instead.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{ArrayRef, FixedSizeListArray, Float64Array, Int32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use entangle::math::synthetic::smooth_field;

/// Rows per row group of the file written.
const ROW_GROUP_ROWS: usize = 1 << 18;

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
    let n: usize = shape.iter().product();
    let mut position: Vec<usize> = (0..n).collect();
    let flag = |name: &str| args.iter().skip(4).any(|a| a == name);
    let array = flag("array");
    if flag("shuffled") {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        position.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    }
    let item = Arc::new(Field::new("item", DataType::Float64, false));
    let mut fields: Vec<Field> = if array {
        vec![Field::new(
            "v",
            DataType::FixedSizeList(item.clone(), n as i32),
            false,
        )]
    } else {
        (0..n)
            .map(|j| Field::new(format!("f{j:04}"), DataType::Float64, false))
            .collect()
    };
    fields.push(Field::new("label", DataType::Int32, false));
    let schema = Arc::new(Schema::new(fields));
    let mut writer = ArrowWriter::try_new(
        File::create(&args[0]).expect("create OUT"),
        schema.clone(),
        None,
    )
    .expect("writer");
    // Large files are generated and written one row group at a time.
    for (chunk, start) in (0..rows).step_by(ROW_GROUP_ROWS).enumerate() {
        let len = ROW_GROUP_ROWS.min(rows - start);
        let sample = smooth_field(len, &shape, 0.7, seed + chunk as u64);
        let x = sample.as_ref();
        let mut columns: Vec<ArrayRef> = if array {
            let position = &position;
            let values = (0..len).flat_map(|r| (0..n).map(move |j| x[(r, position[j])]));
            vec![Arc::new(FixedSizeListArray::new(
                item.clone(),
                n as i32,
                Arc::new(Float64Array::from_iter_values(values)),
                None,
            ))]
        } else {
            (0..n)
                .map(|j| {
                    Arc::new(Float64Array::from_iter_values(
                        x.col(position[j]).iter().copied(),
                    )) as ArrayRef
                })
                .collect()
        };
        columns.push(Arc::new(Int32Array::from_iter_values(
            (0..len).map(|r| i32::from(x[(r, 0)] > 0.0)),
        )));
        let batch = RecordBatch::try_new(schema.clone(), columns).expect("batch");
        writer.write(&batch).expect("write");
        writer.flush().expect("flush");
    }
    writer.close().expect("close");
}
