//! Generates the sample datasets in `sample_data/` (deterministic, seeded):
//!
//! * `signals_1d.parquet`: 2000 smooth 1D signals of 64 samples (`x00`..`x63`),
//!   a binary label `spike` (does the signal hold a sharp local peak?), an `id`
//!   and a `split` column.
//! * `signals_1d_shuffled.parquet`: the same table with the 64 feature columns
//!   in a fixed random order (names and values kept).
//! * `images_2d.parquet`: 1000 16×16 images of a smooth Gaussian random field
//!   in one FixedSizeList<Float32, 256> column `pixels` (row-major), a binary
//!   label `bright_blob` (does a 3×3 patch stand out?), and an `id`.
//! * `images_2d_shuffled.parquet`: the same images with their pixels in a
//!   fixed random order.
//! * `sensors_multiclass.parquet`: 600 rows of 32 smooth sensor readings
//!   (`s00`..`s31`) with a three-class string label `regime`.
//! * `textures_2d.parquet`: 3000 16×16 textures (`pixels`, row-major), streaks
//!   at 0°, 60° or 120° (label `texture` 0/1/2) with random contrast and
//!   brightness; `textures_2d_shuffled.parquet` with the pixels shuffled.
//! * `bursts_1d.parquet`: 3000 smooth signals of 64 samples (`t00`..`t63`)
//!   holding one short oscillating burst of period 4, 6 or 10 (label `burst`
//!   0/1/2); `bursts_1d_shuffled.parquet` with the columns shuffled.
//! * `templates_1d.parquet`: 3000 series of 40 time steps (`s00`..`s39`), each
//!   one of 10 smooth class templates (label `class` 0..9, Int64) shifted in
//!   time by up to ±6 steps, scaled in amplitude and with Gaussian noise
//!   added; `templates_1d_shuffled.parquet` with the columns shuffled.
//!
//! The textures, bursts and templates are for `benches/model_check.py`: their
//! labels depend on local structure only, which a CNN sees in the natural
//! order.
//!
//! Run: `cargo run --release --example generate_sample_data [-- OUT_DIR]`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn main() {
    let out: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("sample_data"));
    std::fs::create_dir_all(&out).expect("output directory");
    signals(&out);
    images(&out);
    sensors(&out);
    textures(&out);
    bursts(&out);
    templates(&out);
}

fn write(path: &Path, batch: RecordBatch) {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(9).unwrap()))
        .set_max_row_group_row_count(Some(500))
        .build();
    let mut writer = ArrowWriter::try_new(
        File::create(path).expect("create"),
        batch.schema(),
        Some(props),
    )
    .expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    println!("wrote {} ({} rows)", path.display(), batch.num_rows());
}

/// A smooth random 1D signal: a few Gaussian bumps on AR(1) noise.
fn smooth_signal(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let mut x = vec![0.0; n];
    let mut ar = 0.0;
    for v in x.iter_mut() {
        ar = 0.9 * ar + 0.3 * rng.sample::<f64, _>(StandardNormal);
        *v = ar;
    }
    for _ in 0..3 {
        let centre = rng.random_range(0.0..n as f64);
        let width = rng.random_range(2.0..8.0);
        let height = rng.random_range(-1.5..1.5);
        for (i, v) in x.iter_mut().enumerate() {
            *v += height * (-(i as f64 - centre).powi(2) / (2.0 * width * width)).exp();
        }
    }
    x
}

/// Sharpest local peak: max over i of x[i] − (x[i−2] + x[i+2]) / 2.
fn sharpness(x: &[f64]) -> f64 {
    (2..x.len() - 2)
        .map(|i| x[i] - 0.5 * (x[i - 2] + x[i + 2]))
        .fold(f64::MIN, f64::max)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn signals(out: &Path) {
    const ROWS: usize = 2000;
    const N: usize = 64;
    let mut rng = ChaCha8Rng::seed_from_u64(2023);
    let mut signals: Vec<Vec<f64>> = (0..ROWS).map(|_| smooth_signal(&mut rng, N)).collect();
    // Half of the signals get a narrow spike somewhere: a local pattern.
    for s in signals.iter_mut() {
        if rng.random_bool(0.5) {
            let at = rng.random_range(3..N - 3);
            s[at] += rng.random_range(0.8..1.6);
            s[at - 1] += 0.3;
            s[at + 1] += 0.3;
        }
    }
    let sharp: Vec<f64> = signals.iter().map(|s| sharpness(s)).collect();
    let threshold = median(&sharp);
    let spike: Vec<i32> = sharp.iter().map(|&s| i32::from(s > threshold)).collect();
    let names: Vec<String> = (0..N).map(|i| format!("x{i:02}")).collect();
    let columns: Vec<ArrayRef> = (0..N)
        .map(|j| {
            Arc::new(Float64Array::from(
                signals
                    .iter()
                    .map(|s| (s[j] * 1e4).round() / 1e4)
                    .collect::<Vec<_>>(),
            )) as ArrayRef
        })
        .collect();
    let split: Vec<&str> = (0..ROWS)
        .map(|i| if i % 5 == 4 { "test" } else { "train" })
        .collect();
    let after: Vec<(Field, ArrayRef)> = vec![
        (
            Field::new("spike", DataType::Int32, false),
            Arc::new(Int32Array::from(spike)),
        ),
        (
            Field::new("split", DataType::Utf8, false),
            Arc::new(StringArray::from(split)),
        ),
    ];
    let build = |order: &[usize]| wide_table(ROWS, &names, &columns, order, &after);
    write_both(out, "signals_1d", N, 7, build);
}

/// A table `id`, the feature columns taken in `order`, then `after`.
fn wide_table(
    rows: usize,
    names: &[String],
    columns: &[ArrayRef],
    order: &[usize],
    after: &[(Field, ArrayRef)],
) -> RecordBatch {
    let mut fields = vec![Field::new("id", DataType::Int64, false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(0..rows as i64))];
    for &j in order {
        fields.push(Field::new(&names[j], DataType::Float64, false));
        arrays.push(columns[j].clone());
    }
    for (field, array) in after {
        fields.push(field.clone());
        arrays.push(array.clone());
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("batch")
}

/// Writes `{stem}.parquet` (features in natural order) and
/// `{stem}_shuffled.parquet` (in a fixed random order drawn from `seed`).
/// Column j of the rows, each value rounded to 4 decimals.
fn rounded_columns(rows: &[Vec<f64>], n: usize) -> Vec<ArrayRef> {
    (0..n)
        .map(|j| {
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|s| (s[j] * 1e4).round() / 1e4),
            )) as ArrayRef
        })
        .collect()
}

fn write_both(
    out: &Path,
    stem: &str,
    n: usize,
    seed: u64,
    build: impl Fn(&[usize]) -> RecordBatch,
) {
    let natural: Vec<usize> = (0..n).collect();
    let mut shuffled = natural.clone();
    shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    write(&out.join(format!("{stem}.parquet")), build(&natural));
    write(
        &out.join(format!("{stem}_shuffled.parquet")),
        build(&shuffled),
    );
}

/// A smooth 16×16 Gaussian random field: white noise blurred with a Gaussian.
fn random_field(rng: &mut ChaCha8Rng, side: usize, sigma: f64) -> Vec<f64> {
    let pad = 6;
    let big = side + 2 * pad;
    let noise: Vec<f64> = (0..big * big).map(|_| rng.sample(StandardNormal)).collect();
    let radius = 6isize;
    let kernel: Vec<f64> = (-radius..=radius)
        .map(|d| (-(d * d) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let blur = |src: &[f64], horizontal: bool| {
        let mut dst = vec![0.0; big * big];
        for r in 0..big {
            for c in 0..big {
                let mut acc = 0.0;
                for (k, w) in kernel.iter().enumerate() {
                    let d = k as isize - radius;
                    let (rr, cc) = if horizontal {
                        (r as isize, c as isize + d)
                    } else {
                        (r as isize + d, c as isize)
                    };
                    if rr >= 0 && cc >= 0 && (rr as usize) < big && (cc as usize) < big {
                        acc += w * src[rr as usize * big + cc as usize];
                    }
                }
                dst[r * big + c] = acc;
            }
        }
        dst
    };
    let smooth = blur(&blur(&noise, true), false);
    (0..side * side)
        .map(|k| smooth[(k / side + pad) * big + k % side + pad])
        .collect()
}

fn images(out: &Path) {
    const ROWS: usize = 1000;
    const SIDE: usize = 16;
    let mut rng = ChaCha8Rng::seed_from_u64(1303);
    let mut images: Vec<Vec<f64>> = (0..ROWS)
        .map(|_| random_field(&mut rng, SIDE, 2.0))
        .collect();
    // Half of the images get a bright 3×3 blob: a local pattern.
    for img in images.iter_mut() {
        if rng.random_bool(0.5) {
            let (r, c) = (rng.random_range(1..SIDE - 1), rng.random_range(1..SIDE - 1));
            for dr in 0..3 {
                for dc in 0..3 {
                    img[(r + dr - 1) * SIDE + c + dc - 1] += 1.5;
                }
            }
        }
    }
    let blob_score: Vec<f64> = images
        .iter()
        .map(|img| {
            let mut best = f64::MIN;
            for r in 1..SIDE - 1 {
                for c in 1..SIDE - 1 {
                    let patch: f64 = (0..9)
                        .map(|k| img[(r + k / 3 - 1) * SIDE + c + k % 3 - 1])
                        .sum::<f64>()
                        / 9.0;
                    best = best.max(patch);
                }
            }
            best
        })
        .collect();
    let threshold = median(&blob_score);
    let label: Vec<i32> = blob_score
        .iter()
        .map(|&s| i32::from(s > threshold))
        .collect();
    let build = |order: &[usize]| pixel_table(&images, SIDE, order, "bright_blob", &label);
    write_both(out, "images_2d", SIDE * SIDE, 11, build);
}

/// A table `id`, `pixels` (FixedSizeList<Float32>, the images' pixels taken
/// in `order`) and an Int32 label column.
fn pixel_table(
    images: &[Vec<f64>],
    side: usize,
    order: &[usize],
    label_name: &str,
    label: &[i32],
) -> RecordBatch {
    let values: Vec<f32> = images
        .iter()
        .flat_map(|img| order.iter().map(move |&k| img[k] as f32))
        .collect();
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let pixels = FixedSizeListArray::new(
        item.clone(),
        (side * side) as i32,
        Arc::new(Float32Array::from(values)),
        None,
    );
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "pixels",
            DataType::FixedSizeList(item, (side * side) as i32),
            false,
        ),
        Field::new(label_name, DataType::Int32, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from_iter_values(0..images.len() as i64)),
            Arc::new(pixels),
            Arc::new(Int32Array::from(label.to_vec())),
        ],
    )
    .expect("batch")
}

/// Oriented texture: white noise smeared along the angle `theta` (an
/// anisotropic Gaussian kernel, long along theta, thin across it).
fn oriented_texture(rng: &mut ChaCha8Rng, side: usize, theta: f64) -> Vec<f64> {
    let radius = 6isize;
    let big = side + 2 * radius as usize;
    let noise: Vec<f64> = (0..big * big).map(|_| rng.sample(StandardNormal)).collect();
    let (along, across) = (2.0f64, 0.8f64);
    let (c, s) = (theta.cos(), theta.sin());
    let mut kernel = Vec::new();
    for dr in -radius..=radius {
        for dc in -radius..=radius {
            let (x, y) = (dc as f64, dr as f64);
            let (u, v) = (x * c + y * s, -x * s + y * c);
            let w = (-(u * u) / (2.0 * along * along) - (v * v) / (2.0 * across * across)).exp();
            if w > 1e-4 {
                kernel.push((dr, dc, w));
            }
        }
    }
    let mut img: Vec<f64> = (0..side * side)
        .map(|k| {
            let (r, col) = ((k / side) as isize + radius, (k % side) as isize + radius);
            kernel
                .iter()
                .map(|&(dr, dc, w)| w * noise[((r + dr) as usize) * big + (col + dc) as usize])
                .sum()
        })
        .collect();
    let mean = img.iter().sum::<f64>() / img.len() as f64;
    let sd = (img.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / img.len() as f64).sqrt();
    // Contrast and brightness vary per image, so only the texture tells the class.
    let (gain, offset) = (rng.random_range(0.5..1.5), rng.random_range(-1.0..1.0));
    for v in img.iter_mut() {
        let pixel_noise: f64 = rng.sample(StandardNormal);
        // Two decimals, as an 8-bit-like sensor would give (and small files).
        *v = ((gain * (*v - mean) / sd + offset + 0.8 * pixel_noise) * 100.0).round() / 100.0;
    }
    img
}

/// Three textures, streaks at 0°, 60° and 120° (± 12°), 16×16: only the local
/// structure tells them apart.
fn textures(out: &Path) {
    const ROWS: usize = 3000;
    const SIDE: usize = 16;
    let mut rng = ChaCha8Rng::seed_from_u64(4242);
    let label: Vec<i32> = (0..ROWS).map(|i| (i % 3) as i32).collect();
    let images: Vec<Vec<f64>> = label
        .iter()
        .map(|&c| {
            let jitter: f64 = rng.random_range(-12.0..12.0);
            let theta = (60.0 * c as f64 + jitter).to_radians();
            oriented_texture(&mut rng, SIDE, theta)
        })
        .collect();
    let build = |order: &[usize]| pixel_table(&images, SIDE, order, "texture", &label);
    write_both(out, "textures_2d", SIDE * SIDE, 17, build);
}

/// Smooth signals of 64 samples, each with a short oscillating burst of
/// period 4, 6 or 10 samples (the label) at a random place: a 1D CNN reads
/// the period from neighbouring samples.
fn bursts(out: &Path) {
    const ROWS: usize = 3000;
    const N: usize = 64;
    const PERIODS: [f64; 3] = [4.0, 6.0, 10.0];
    let mut rng = ChaCha8Rng::seed_from_u64(777);
    let label: Vec<i32> = (0..ROWS).map(|i| (i % 3) as i32).collect();
    let signals: Vec<Vec<f64>> = label
        .iter()
        .map(|&c| {
            let mut x = smooth_signal(&mut rng, N);
            let centre = rng.random_range(10.0..N as f64 - 10.0);
            let amplitude = rng.random_range(1.0..2.0);
            let phase = rng.random_range(0.0..std::f64::consts::TAU);
            let period = PERIODS[c as usize];
            for (i, v) in x.iter_mut().enumerate() {
                let t = i as f64 - centre;
                let window = (-(t * t) / (2.0 * 6.0 * 6.0)).exp();
                *v += amplitude * window * (std::f64::consts::TAU * t / period + phase).sin();
            }
            x
        })
        .collect();
    let names: Vec<String> = (0..N).map(|i| format!("t{i:02}")).collect();
    let columns = rounded_columns(&signals, N);
    let after: Vec<(Field, ArrayRef)> = vec![(
        Field::new("burst", DataType::Int32, false),
        Arc::new(Int32Array::from(label)),
    )];
    let build = |order: &[usize]| wide_table(ROWS, &names, &columns, order, &after);
    write_both(out, "bursts_1d", N, 23, build);
}

/// Ten classes of smooth templates, 40 time steps, as a 1D benchmark of
/// spatial inductive bias: each row is its class's template shifted by up to
/// ±6 steps (a window of a template drawn on 52 steps, so no wrap-around),
/// scaled by U(0.7, 1.3) and with i.i.d. Gaussian noise added. A shift moves
/// every feature, so a model must recognise the shape where it sits.
fn templates(out: &Path) {
    const ROWS: usize = 3000;
    const N: usize = 40;
    const CLASSES: usize = 10;
    const SHIFT: usize = 6;
    // The noise's standard deviation (the templates have 1): the small CNN of
    // benches/model_check.py reaches about 88% in the natural order.
    const NOISE: f64 = 0.5;
    let support = N + 2 * SHIFT;
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    // Each template: three Gaussian bumps and a slow sinusoid, then scaled to
    // unit standard deviation so that no class stands out by its energy.
    let templates: Vec<Vec<f64>> = (0..CLASSES)
        .map(|_| {
            let mut x = vec![0.0; support];
            for _ in 0..3 {
                let centre = rng.random_range(0.0..support as f64);
                let width = rng.random_range(1.5..4.0);
                let height = rng.random_range(-1.5..1.5);
                for (i, v) in x.iter_mut().enumerate() {
                    *v += height * (-(i as f64 - centre).powi(2) / (2.0 * width * width)).exp();
                }
            }
            let amplitude = rng.random_range(0.2..0.6);
            let period = rng.random_range(12.0..30.0);
            let phase = rng.random_range(0.0..std::f64::consts::TAU);
            for (i, v) in x.iter_mut().enumerate() {
                *v += amplitude * (std::f64::consts::TAU * i as f64 / period + phase).sin();
            }
            let mean = x.iter().sum::<f64>() / support as f64;
            let sd =
                (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / support as f64).sqrt();
            x.iter().map(|v| (v - mean) / sd).collect()
        })
        .collect();
    let label: Vec<i64> = (0..ROWS).map(|i| (i % CLASSES) as i64).collect();
    let series: Vec<Vec<f64>> = label
        .iter()
        .map(|&c| {
            let start = rng.random_range(0..=2 * SHIFT);
            let scale = rng.random_range(0.7..1.3);
            templates[c as usize][start..start + N]
                .iter()
                .map(|&v| scale * v + NOISE * rng.sample::<f64, _>(StandardNormal))
                .collect()
        })
        .collect();
    let names: Vec<String> = (0..N).map(|i| format!("s{i:02}")).collect();
    let columns = rounded_columns(&series, N);
    let after: Vec<(Field, ArrayRef)> = vec![(
        Field::new("class", DataType::Int64, false),
        Arc::new(Int64Array::from(label)),
    )];
    let build = |order: &[usize]| wide_table(ROWS, &names, &columns, order, &after);
    write_both(out, "templates_1d", N, 29, build);
}

fn sensors(out: &Path) {
    const ROWS: usize = 600;
    const N: usize = 32;
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let regimes = ["idle", "load", "fault"];
    let mut columns: Vec<Vec<f64>> = (0..N).map(|_| Vec::with_capacity(ROWS)).collect();
    let mut regime = Vec::with_capacity(ROWS);
    for i in 0..ROWS {
        let class = i % 3;
        let mut s = smooth_signal(&mut rng, N);
        match class {
            1 => s
                .iter_mut()
                .enumerate()
                .for_each(|(k, v)| *v += 0.05 * k as f64),
            2 => {
                let at = rng.random_range(4..N - 4);
                (at - 2..at + 2).for_each(|k| s[k] += 1.2);
            }
            _ => {}
        }
        for (j, v) in s.into_iter().enumerate() {
            columns[j].push((v * 1e4).round() / 1e4);
        }
        regime.push(regimes[class]);
    }
    let mut fields: Vec<Field> = (0..N)
        .map(|j| Field::new(format!("s{j:02}"), DataType::Float64, false))
        .collect();
    let mut arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
        .collect();
    fields.push(Field::new("regime", DataType::Utf8, false));
    arrays.push(Arc::new(StringArray::from(regime)));
    write(
        &out.join("sensors_multiclass.parquet"),
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("batch"),
    );
}
