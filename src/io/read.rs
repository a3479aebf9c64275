//! Reading Parquet and CSV through arrow-rs into the core: feature selection
//! (wide columns or one array column), validation with errors that name the
//! column, and one streaming pass that builds the bottom-k sample, the
//! co-moments of all rows and the set of labels.
//!
//! Float64 columns without nulls are read in place (their Arrow buffers are
//! the slices the core reads); other numeric types are cast to Float64.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, GenericListArray, OffsetSizeTrait,
    RecordBatch,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, Float64Type, Int64Type, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};

use crate::arrange::neighbours::Weighting;
use crate::error::{Error, Result};
use crate::io::block::FeatureBlock;
use crate::io::summary::{Budget, RowSummary};
use crate::math::labels::LabelKey;

/// Rows per record batch read.
const BATCH_ROWS: usize = 8192;

/// Which columns hold the features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSelection {
    /// These columns, in this order (`--features a,b,c`).
    Columns(Vec<String>),
    /// Every numeric column whose name starts with the prefix, in file order,
    /// except the label (`--features-prefix p`; an empty prefix takes all).
    Prefix(String),
    /// The elements of one FixedSizeList/List column (`--array col`).
    Array(String),
}

/// What to read and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub selection: FeatureSelection,
    pub label: Option<String>,
    pub max_samples: usize,
    pub seed: u64,
    /// Drop rows with a null feature value instead of failing.
    pub skip_null_rows: bool,
    /// Dense co-moments or sparse (blockwise) weights.
    pub weighting: Weighting,
}

/// The top-level columns a selection took, and how: front ends show them,
/// so that a column taken by default (a numeric `id`) is seen.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FeatureColumns {
    /// `"columns"` (named), `"prefix"`, `"every numeric column"` (no
    /// selection given: every numeric column but the label) or `"array"`.
    pub selected_by: &'static str,
    /// The columns, in selection order (one for an array column).
    pub columns: Vec<String>,
    /// Integer columns taken by a prefix whose names look like row
    /// identifiers (`id`, `row_id`, `index`, ...).
    pub identifier_like: Vec<String>,
}

impl FeatureColumns {
    /// What `selection` took from `schema`, resolved as `features`.
    pub fn of(selection: &FeatureSelection, features: &ResolvedFeatures, schema: &Schema) -> Self {
        let selected_by = match selection {
            FeatureSelection::Columns(_) => "columns",
            FeatureSelection::Prefix(p) if p.is_empty() => "every numeric column",
            FeatureSelection::Prefix(_) => "prefix",
            FeatureSelection::Array(_) => "array",
        };
        let columns: Vec<String> = match features {
            ResolvedFeatures::Wide(cols) => cols.iter().map(|(_, name)| name.clone()).collect(),
            ResolvedFeatures::Array(_, name) => vec![name.clone()],
        };
        let identifier_like = match (selection, features) {
            (FeatureSelection::Prefix(_), ResolvedFeatures::Wide(cols)) => cols
                .iter()
                .filter(|(i, name)| {
                    schema.field(*i).data_type().is_integer() && looks_like_identifier(name)
                })
                .map(|(_, name)| name.clone())
                .collect(),
            _ => Vec::new(),
        };
        FeatureColumns {
            selected_by,
            columns,
            identifier_like,
        }
    }

    /// The warning about identifier-like columns taken, if any.
    pub fn warning(&self) -> Option<String> {
        (!self.identifier_like.is_empty()).then(|| {
            let names: Vec<String> = self
                .identifier_like
                .iter()
                .map(|n| format!("'{n}'"))
                .collect();
            format!(
                "integer column {} looks like a row identifier but was taken as a feature \
                 ({}); name the features, or the prefix they share, to leave it out",
                names.join(", "),
                self.selected_by
            )
        })
    }
}

/// Whether a column name reads as a row identifier: `id`, `ID`, `row_id`,
/// `userId`, `index`, `__index_level_0__` (pandas), `key`, `row`, `idx`.
fn looks_like_identifier(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // `userId`, `customerID`: "Id"/"ID" after a lowercase letter (not `VALID`, `GRID`).
    let camel_id = (name.ends_with("Id") || name.ends_with("ID"))
        && name[..name.len() - 2]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_lowercase());
    camel_id
        || words.iter().any(|w| {
            matches!(
                *w,
                "id" | "idx" | "index" | "key" | "row" | "rowid" | "uuid"
            )
        })
}

/// The result of one pass over the input.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The columns the selection took (in the first file).
    pub feature_columns: FeatureColumns,
    /// Rows dropped for null features (`skip_null_rows`).
    pub skipped_rows: u64,
    /// Feature names in selection order (`col[i]` for an array column).
    pub feature_names: Vec<String>,
    /// The sample, co-moments and labels of all rows read.
    pub summary: RowSummary,
}

impl Scan {
    /// Rows read (after skipped rows).
    pub fn rows(&self) -> u64 {
        self.summary.rows()
    }

    /// Warnings about the data worth showing a user.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self.feature_columns.warning().into_iter().collect();
        warnings.extend(constant_feature_warnings(&self.summary, &|j| {
            self.feature_names[j].clone()
        }));
        if self.skipped_rows > 0 {
            warnings.push(format!(
                "skipped {} rows with null feature values",
                self.skipped_rows
            ));
        }
        warnings
    }
}

/// A warning for each constant feature (`name(j)` names feature j).
pub fn constant_feature_warnings(
    summary: &RowSummary,
    name: &dyn Fn(usize) -> String,
) -> Vec<String> {
    (0..summary.features().unwrap_or(0))
        .filter(|&j| summary.is_constant(j))
        .map(|j| {
            format!(
                "feature '{}' is constant; it carries no information (surrogate weight 0)",
                name(j)
            )
        })
        .collect()
}

/// The input files: a file, every .parquet/.csv file of a directory in name
/// order, or the files a glob pattern matches.
/// A path that does not exist but holds `*`, `?` or `[` is a glob pattern
/// (`data/part-*.parquet`), matching files in name order.
pub fn input_files(path: &Path) -> Result<Vec<PathBuf>> {
    let text = path.to_string_lossy();
    if !path.exists() && text.contains(['*', '?', '[']) {
        let pattern = glob::glob(&text)
            .map_err(|e| Error::file(path, format!("not a valid glob pattern: {e}")))?;
        let mut files = Vec::new();
        for entry in pattern {
            let file = entry.map_err(|e| Error::file(path, e))?;
            if file.is_file() && format_of(&file).is_some() {
                files.push(file);
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(Error::file(
                path,
                "the pattern matches no .parquet or .csv file",
            ));
        }
        return Ok(files);
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::file(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::file(path, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| format_of(p).is_some() && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::file(
            path,
            "directory holds no .parquet or .csv file",
        ));
    }
    Ok(files)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Parquet,
    Csv,
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "parquet" | "pq" | "parq" => Some(Format::Parquet),
        "csv" => Some(Format::Csv),
        _ => None,
    }
}

/// Rows of a CSV file its column types are inferred from (DataFusion's
/// `schema_infer_max_rec` does the same): opening a file reads no further.
pub const CSV_SCHEMA_ROWS: usize = 1000;

type Batches = Box<dyn Iterator<Item = Result<RecordBatch>>>;

/// What a [`Source`] reads from, with what opening it learned.
enum Content {
    /// A Parquet file and its footer, parsed once.
    Parquet(ArrowReaderMetadata),
    /// A CSV file, its schema inferred from its first rows.
    Csv,
    /// Record batches in memory (a Python frame).
    Memory(Vec<RecordBatch>),
}

/// One input opened for reading: a file, or record batches in memory (a
/// Python frame), which errors name by `path`. A file is opened once per
/// run: every later read uses what opening it learned.
pub struct Source {
    path: PathBuf,
    schema: SchemaRef,
    /// Number of rows when the format says so up front (Parquet, memory).
    rows: Option<u64>,
    content: Content,
}

impl Source {
    /// Each file, opened.
    pub fn open_all(files: &[PathBuf]) -> Result<Vec<Self>> {
        files.iter().map(|f| Source::open(f)).collect()
    }

    pub fn open(path: &Path) -> Result<Self> {
        let format = format_of(path).unwrap_or_else(|| {
            // Unknown extension: Parquet if the magic says so, else CSV.
            let mut magic = [0u8; 4];
            let is_parquet = File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                .is_ok()
                && &magic == b"PAR1";
            if is_parquet {
                Format::Parquet
            } else {
                Format::Csv
            }
        });
        let file = File::open(path).map_err(|e| Error::file(path, e))?;
        let (schema, rows, content) = match format {
            Format::Parquet => {
                let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
                    .map_err(|e| Error::file(path, format!("not a readable Parquet file: {e}")))?;
                let rows = metadata.metadata().file_metadata().num_rows() as u64;
                (
                    metadata.schema().clone(),
                    Some(rows),
                    Content::Parquet(metadata),
                )
            }
            Format::Csv => {
                let (schema, _) = arrow::csv::reader::Format::default()
                    .with_header(true)
                    .infer_schema(file, Some(CSV_SCHEMA_ROWS))
                    .map_err(|e| Error::file(path, format!("not a readable CSV file: {e}")))?;
                (Arc::new(schema), None, Content::Csv)
            }
        };
        Ok(Source {
            path: path.to_path_buf(),
            schema,
            rows,
            content,
        })
    }

    /// Record batches already in memory (sharing their buffers), named
    /// `name` in errors.
    pub fn from_batches(name: &str, schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Source {
            path: PathBuf::from(name),
            schema,
            rows: Some(batches.iter().map(|b| b.num_rows() as u64).sum()),
            content: Content::Memory(batches),
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A Parquet file's footer, as opening it parsed it.
    pub fn parquet_metadata(&self) -> Option<&ArrowReaderMetadata> {
        match &self.content {
            Content::Parquet(metadata) => Some(metadata),
            Content::Csv | Content::Memory(_) => None,
        }
    }

    /// A Parquet file's footer with its page indexes, where it has them:
    /// only they are read (a rewrite that moves whole columns keeps them).
    pub fn parquet_metadata_with_page_indexes(&self) -> Result<Option<ArrowReaderMetadata>> {
        let Some(metadata) = self.parquet_metadata() else {
            return Ok(None);
        };
        let error = |e: ParquetError| Error::file(&self.path, e);
        let mut reader =
            ParquetMetaDataReader::new_with_metadata(metadata.metadata().as_ref().clone())
                .with_page_index_policy(PageIndexPolicy::Optional);
        reader.read_page_indexes(&self.file()?).map_err(error)?;
        let footer = reader.finish().map_err(error)?;
        ArrowReaderMetadata::try_new(Arc::new(footer), ArrowReaderOptions::new())
            .map(Some)
            .map_err(error)
    }

    /// Number of rows, when known without reading the data.
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }

    /// The file, opened again for one more pass.
    pub fn file(&self) -> Result<File> {
        File::open(&self.path).map_err(|e| Error::file(&self.path, e))
    }

    /// Reads the given top-level columns, batch by batch.
    pub fn batches(&self, columns: &[usize]) -> Result<Batches> {
        let path = self.path.clone();
        let file_error = move |e: ArrowError| Error::file(&path, e);
        match &self.content {
            Content::Memory(batches) => {
                let projected: Vec<Result<RecordBatch>> = batches
                    .iter()
                    .map(|b| b.project(columns).map_err(&file_error))
                    .collect();
                Ok(Box::new(projected.into_iter()))
            }
            Content::Parquet(metadata) => {
                let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
                    self.file()?,
                    metadata.clone(),
                );
                let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
                let reader = builder
                    .with_projection(mask)
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .map_err(|e| Error::file(&self.path, e))?;
                Ok(Box::new(reader.map(move |b| b.map_err(&file_error))))
            }
            Content::Csv => {
                let reader = arrow::csv::ReaderBuilder::new(self.schema.clone())
                    .with_header(true)
                    .with_batch_size(BATCH_ROWS)
                    .with_projection(columns.to_vec())
                    .build(self.file()?)
                    .map_err(|e| Error::file(&self.path, e))?;
                // A value that does not parse as its column's type: the type
                // came from the first rows, which the error says.
                let csv_error = move |e| {
                    file_error(match e {
                        ArrowError::ParseError(text) => ArrowError::ParseError(format!(
                            "{text} (column types are inferred from the first \
                             {CSV_SCHEMA_ROWS} rows)"
                        )),
                        e => e,
                    })
                };
                Ok(Box::new(reader.map(move |b| b.map_err(&csv_error))))
            }
        }
    }
}

/// Whether a type can be cast to f64 as a feature value.
pub fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_integer()
        || data_type.is_floating()
        || matches!(
            data_type,
            DataType::Decimal128(..) | DataType::Decimal256(..)
        )
}

/// Whether a type can hold a row's features: a (fixed-size) list of numbers.
pub fn is_numeric_list(t: &DataType) -> bool {
    matches!(
        t,
        DataType::FixedSizeList(f, _) | DataType::List(f) | DataType::LargeList(f)
            if is_numeric(f.data_type())
    )
}

/// Whether a type can hold a row's features as named fields: a struct of
/// numbers (`struct(f1, f2, ...)` costs no copy, unlike `make_array`).
pub fn is_numeric_struct(t: &DataType) -> bool {
    matches!(t, DataType::Struct(fields)
        if !fields.is_empty() && fields.iter().all(|f| is_numeric(f.data_type())))
}

/// One features argument as a batch of columns and their resolution: a list
/// column of numbers (`name` names it) is one array column; a struct of
/// numbers gives one wide feature per field, named by the field, sharing its
/// buffers. A null struct row counts as a null in every feature.
pub fn feature_columns(array: &ArrayRef, name: &str) -> Result<(RecordBatch, ResolvedFeatures)> {
    let error = |e: ArrowError| Error::column(name, e.to_string());
    let t = array.data_type();
    if is_numeric_list(t) {
        let batch = RecordBatch::try_from_iter([(name, array.clone())]).map_err(error)?;
        return Ok((batch, ResolvedFeatures::Array(0, name.to_string())));
    }
    if !is_numeric_struct(t) {
        return Err(Error::column(
            name,
            format!("has type {t}; features must be a list, fixed-size list or struct of numbers"),
        ));
    }
    let (fields, columns, row_nulls) = array.as_struct().clone().into_parts();
    let columns = columns
        .into_iter()
        .map(|c| match &row_nulls {
            Some(rows) if rows.null_count() > 0 => {
                let nulls = NullBuffer::union(Some(rows), c.nulls());
                c.to_data()
                    .into_builder()
                    .nulls(nulls)
                    .build()
                    .map(arrow::array::make_array)
            }
            _ => Ok(c),
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(error)?;
    let names = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (i, f.name().clone()));
    let features = ResolvedFeatures::Wide(names.collect());
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema, columns).map_err(error)?;
    Ok((batch, features))
}

/// The features resolved against a schema.
#[derive(Debug, Clone)]
pub enum ResolvedFeatures {
    /// Column indices and names, in selection order.
    Wide(Vec<(usize, String)>),
    /// The array column's index and name.
    Array(usize, String),
}

impl ResolvedFeatures {
    /// The top-level columns holding features.
    pub fn columns(&self) -> Vec<usize> {
        match self {
            ResolvedFeatures::Wide(cols) => cols.iter().map(|c| c.0).collect(),
            ResolvedFeatures::Array(i, _) => vec![*i],
        }
    }
}

/// Resolves a selection against a schema; errors name the column.
pub fn resolve_features(
    schema: &Schema,
    selection: &FeatureSelection,
    label: Option<&str>,
) -> Result<ResolvedFeatures> {
    let find = |name: &str| {
        schema.index_of(name).map_err(|_| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            Error::column(
                name,
                format!("not found (columns are: {})", names.join(", ")),
            )
        })
    };
    let resolved = match selection {
        FeatureSelection::Columns(names) => {
            let mut cols = Vec::with_capacity(names.len());
            for name in names {
                let i = find(name)?;
                let t = schema.field(i).data_type();
                if !is_numeric(t) {
                    return Err(Error::column(
                        name,
                        format!("has type {t}; features must be numeric"),
                    ));
                }
                if cols.iter().any(|(j, _)| *j == i) {
                    return Err(Error::column(name, "is selected twice"));
                }
                cols.push((i, name.clone()));
            }
            ResolvedFeatures::Wide(cols)
        }
        FeatureSelection::Prefix(prefix) => {
            let cols: Vec<(usize, String)> = schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    f.name().starts_with(prefix.as_str())
                        && Some(f.name().as_str()) != label
                        && is_numeric(f.data_type())
                })
                .map(|(i, f)| (i, f.name().clone()))
                .collect();
            if cols.is_empty() {
                return Err(Error::option(
                    "features_prefix",
                    format!("no numeric column starts with '{prefix}'"),
                ));
            }
            ResolvedFeatures::Wide(cols)
        }
        FeatureSelection::Array(name) => {
            let i = find(name)?;
            match schema.field(i).data_type() {
                t if is_numeric_list(t) => ResolvedFeatures::Array(i, name.clone()),
                t => {
                    return Err(Error::column(
                        name,
                        format!(
                            "has type {t}; an array column must be a FixedSizeList or List of numbers"
                        ),
                    ));
                }
            }
        }
    };
    if let Some(label) = label {
        let i = find(label).map_err(|_| Error::label(label, "not found"))?;
        if resolved.columns().contains(&i) {
            return Err(Error::label(label, "is also selected as a feature"));
        }
        check_label_type(label, schema.field(i).data_type())?;
    }
    Ok(resolved)
}

/// One rule for labels, in every front end: integer, boolean or string, or a
/// dictionary of those. A float column is refused whatever its values (a
/// continuous column was probably meant as a feature; class labels held as
/// floats are cast explicitly).
pub fn is_label_type(t: &DataType) -> bool {
    fn plain(t: &DataType) -> bool {
        t.is_integer()
            || matches!(
                t,
                DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
    }
    match t {
        DataType::Dictionary(_, values) => plain(values),
        t => plain(t),
    }
}

/// What an error about a float label column adds; `cast` shows the cast in
/// the caller's own idiom (`CAST(col AS BIGINT)` in SQL,
/// `pl.col("y").cast(pl.Int64)` in Python polars).
pub fn float_label_hint(cast: &str) -> String {
    format!(
        "; a float column is not taken as class labels: cast it to an integer or a string \
         ({cast}) if its values are classes, or select it as a feature"
    )
}

/// What an error about a label column of type `t` adds: how to fix a float
/// one (`cast` as for [`float_label_hint`]).
pub fn label_type_hint(t: &DataType, cast: &str) -> String {
    let float = t.is_floating() || matches!(t, DataType::Dictionary(_, v) if v.is_floating());
    if float {
        float_label_hint(cast)
    } else {
        String::new()
    }
}

fn check_label_type(column: &str, t: &DataType) -> Result<()> {
    if is_label_type(t) {
        return Ok(());
    }
    Err(Error::label(
        column,
        format!(
            "has type {t}; labels must be integer, boolean or string{}",
            label_type_hint(t, "e.g. to Int64 in the file or frame")
        ),
    ))
}

/// How a batch's rows are numbered in errors: from 1 within their file (or
/// within what a SQL or polars function has received), counting the rows
/// that `skip_null_rows` dropped before the batch was validated.
#[derive(Debug, Clone, Default)]
pub struct RowNumbers {
    /// Rows before the batch's first.
    before: u64,
    /// Each validated row's position in the batch as read, when rows were
    /// dropped.
    kept: Option<Vec<usize>>,
}

impl RowNumbers {
    /// The rows of a batch that follows `before` rows, none dropped.
    pub fn after(before: u64) -> Self {
        RowNumbers { before, kept: None }
    }

    /// The rows that `keep` kept of a batch that follows `before` rows.
    pub fn kept(before: u64, keep: &BooleanArray) -> Self {
        RowNumbers {
            before,
            kept: Some(keep.values().set_indices().collect()),
        }
    }

    /// The number of the validated batch's row `r`.
    pub fn of(&self, r: usize) -> u64 {
        self.before + 1 + self.kept.as_ref().map_or(r, |kept| kept[r]) as u64
    }
}

/// The labels of one batch, one per row.
pub fn batch_labels(column: &str, array: &ArrayRef, rows: &RowNumbers) -> Result<Vec<LabelKey>> {
    let null_at = |i: usize| {
        Error::label(
            column,
            format!(
                "null at row {} (labels must be present on every row)",
                rows.of(i)
            ),
        )
    };
    check_label_type(column, array.data_type())?;
    if let Some(i) = first_null(array, 0..array.len()) {
        return Err(null_at(i));
    }
    let t = array.data_type();
    let cast_to = |to: &DataType| cast(array, to).map_err(|e| Error::label(column, e.to_string()));
    Ok(
        if t.is_integer() || matches!(t, DataType::Dictionary(_, v) if v.is_integer()) {
            let ints = cast_to(&DataType::Int64)?;
            let ints = ints.as_primitive::<Int64Type>();
            if let Some(i) = first_null(ints, 0..ints.len()) {
                return Err(Error::label(
                    column,
                    format!("value at row {} does not fit a 64-bit integer", rows.of(i)),
                ));
            }
            ints.values().iter().map(|&v| LabelKey::Int(v)).collect()
        } else if matches!(t, DataType::Boolean) {
            let bools: &BooleanArray = array.as_boolean();
            bools.values().iter().map(LabelKey::Bool).collect()
        } else {
            let strings = cast_to(&DataType::Utf8)?;
            strings
                .as_string::<i32>()
                .iter()
                .map(|s| LabelKey::Str(s.unwrap_or_default().to_string()))
                .collect()
        },
    )
}

/// Reads and validates one features array (see [`feature_columns`]; `rows`
/// numbers its rows in errors).
pub fn feature_block_of(array: &ArrayRef, name: &str, rows: &RowNumbers) -> Result<FeatureBlock> {
    let (batch, features) = feature_columns(array, name)?;
    feature_block(&batch, &features, rows)
}

/// Casts a numeric array to Float64 without copying when it already is one.
fn to_f64(array: &ArrayRef, column: &str) -> Result<Float64Array> {
    if let Some(a) = array.as_primitive_opt::<Float64Type>() {
        return Ok(a.clone());
    }
    let cast = cast(array, &DataType::Float64)
        .map_err(|e| Error::column(column, format!("cannot be read as numbers: {e}")))?;
    Ok(cast.as_primitive::<Float64Type>().clone())
}

/// Errors on NaN or infinite values, naming the column and the row.
fn check_finite(
    values: &[f64],
    column: &dyn Fn(usize) -> String,
    rows: &RowNumbers,
    row_of: &dyn Fn(usize) -> usize,
) -> Result<()> {
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        let what = if values[k].is_nan() {
            "NaN"
        } else {
            "an infinite value"
        };
        return Err(Error::column(
            column(k),
            format!("{what} at row {}", rows.of(row_of(k))),
        ));
    }
    Ok(())
}

/// The first index in `range` at which `array` is null (physical nulls, as
/// `Array::is_null`), without a dynamic call per element.
fn first_null(array: &dyn Array, mut range: Range<usize>) -> Option<usize> {
    let nulls = array.nulls().filter(|n| n.null_count() > 0)?;
    range.find(|&k| nulls.is_null(k))
}

/// Rows of `batch` whose features hold no null (for `skip_null_rows`).
pub fn rows_without_nulls(batch: &RecordBatch, features: &ResolvedFeatures) -> BooleanArray {
    let rows = batch.num_rows();
    let mut keep = vec![true; rows];
    match features {
        ResolvedFeatures::Wide(cols) => {
            for (pos, _) in cols.iter().enumerate() {
                if let Some(nulls) = batch.column(pos).nulls() {
                    for (keep, valid) in keep.iter_mut().zip(nulls.iter()) {
                        *keep &= valid;
                    }
                }
            }
        }
        ResolvedFeatures::Array(..) => {
            let a = batch.column(0);
            let rows = ListRows::of(a.as_ref());
            for (r, keep) in keep.iter_mut().enumerate() {
                if a.is_null(r) {
                    *keep = false;
                } else if let Some(rows) = &rows {
                    *keep = first_null(rows.values.as_ref(), rows.range(r)).is_none();
                }
            }
        }
    }
    BooleanArray::from(keep)
}

/// A list-like column (FixedSizeList, List or LargeList) as its child values
/// and each row's range of them: the one reading of list offsets that the
/// reader, the rewriter and the engines share, generic over the offset size.
pub struct ListRows {
    /// The child values (of every row, null rows' placeholders included).
    pub values: ArrayRef,
    /// Row r's values are `values[offsets[r]..offsets[r + 1]]`.
    offsets: Vec<usize>,
    /// A FixedSizeList's width.
    pub width: Option<usize>,
}

impl ListRows {
    /// The rows of `array`, or `None` when it is not list-like.
    pub fn of(array: &dyn Array) -> Option<ListRows> {
        fn offsets<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> Vec<usize> {
            list.value_offsets().iter().map(|o| o.as_usize()).collect()
        }
        let (values, offsets, width) = match array.data_type() {
            DataType::FixedSizeList(_, width) => {
                let list = array.as_fixed_size_list();
                let width = *width as usize;
                let first = if list.is_empty() {
                    0
                } else {
                    list.value_offset(0) as usize
                };
                let offsets = (0..=list.len()).map(|r| first + r * width).collect();
                (list.values().clone(), offsets, Some(width))
            }
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                (list.values().clone(), offsets(list), None)
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                (list.values().clone(), offsets(list), None)
            }
            _ => return None,
        };
        Some(ListRows {
            values,
            offsets,
            width,
        })
    }

    /// Row `row`'s range of [`ListRows::values`].
    pub fn range(&self, row: usize) -> Range<usize> {
        self.offsets[row]..self.offsets[row + 1]
    }

    /// The offsets of a List or LargeList holding the same rows over values
    /// that start at 0.
    pub fn rebased<O: OffsetSizeTrait>(&self) -> OffsetBuffer<O> {
        let first = self.offsets[0];
        OffsetBuffer::new(
            self.offsets
                .iter()
                .map(|&o| O::usize_as(o - first))
                .collect::<Vec<O>>()
                .into(),
        )
    }
}

/// Streams one or more files: validates every row, keeps the bottom-k sample,
/// accumulates co-moments of all rows and the distinct labels.
/// `progress(rows_done, rows_total_if_known)` is called after each batch.
pub fn scan(
    files: &[PathBuf],
    options: &ScanOptions,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<Scan> {
    scan_sources(&Source::open_all(files)?, options, progress)
}

/// [`scan`] of sources already open (files or memory).
pub fn scan_sources(
    sources: &[Source],
    options: &ScanOptions,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<Scan> {
    let total_rows: Option<u64> = sources.iter().map(|s| s.rows()).sum();
    let mut feature_names: Option<Vec<String>> = None;
    let mut feature_columns: Option<FeatureColumns> = None;
    let mut summary = RowSummary::new(options.max_samples, options.seed, options.label.is_some())
        .with_weighting(options.weighting);
    let mut budget = Budget::machine();
    let (mut rows, mut skipped) = (0u64, 0u64);

    for source in sources {
        let features = resolve_features(
            source.schema(),
            &options.selection,
            options.label.as_deref(),
        )
        .map_err(|e| in_file(e, source.path(), sources.len()))?;
        feature_columns.get_or_insert_with(|| {
            FeatureColumns::of(&options.selection, &features, source.schema())
        });
        let mut columns = features.columns();
        let label_position = options.label.as_ref().map(|l| {
            columns.push(source.schema().index_of(l).expect("resolved above"));
            columns.len() - 1
        });
        // A projection returns columns in file order; map ours onto it.
        let mut sorted = columns.clone();
        sorted.sort_unstable();
        let position = |c: usize| sorted.binary_search(&c).expect("projected");
        let feature_positions: Vec<usize> =
            features.columns().iter().map(|&c| position(c)).collect();
        let label_index = label_position.map(|p| position(columns[p]));

        // Rows of this file read so far: errors number rows within their file.
        let mut file_rows = 0u64;
        let in_this_file = |e| in_file(e, source.path(), sources.len());
        for batch in source.batches(&sorted)? {
            let batch = batch?;
            let batch = reorder(&batch, &feature_positions, label_index);
            let read = batch.num_rows() as u64;
            let (batch, numbers) = if options.skip_null_rows {
                let keep = rows_without_nulls(&batch, &features);
                let kept = keep.true_count();
                skipped += (batch.num_rows() - kept) as u64;
                if kept == batch.num_rows() {
                    (batch, RowNumbers::after(file_rows))
                } else {
                    let filtered = filter_record_batch(&batch, &keep)
                        .map_err(|e| Error::file(source.path(), e))?;
                    (filtered, RowNumbers::kept(file_rows, &keep))
                }
            } else {
                (batch, RowNumbers::after(file_rows))
            };
            file_rows += read;
            let block = feature_block(&batch, &features, &numbers).map_err(in_this_file)?;
            let names = feature_names.get_or_insert_with(|| block_names(&features, &block));
            let row_labels = match (&options.label, label_index) {
                (Some(name), Some(_)) => Some((
                    name.as_str(),
                    batch_labels(name, batch.column(batch.num_columns() - 1), &numbers)
                        .map_err(in_this_file)?,
                )),
                _ => None,
            };
            if block.width() != names.len() {
                return Err(Error::column(
                    features_label(&features),
                    format!(
                        "{} has {} features, earlier input had {}",
                        source.path().display(),
                        block.width(),
                        names.len()
                    ),
                ));
            }
            summary
                .add_within(
                    &mut budget,
                    &block,
                    &features_label(&features),
                    row_labels.as_ref().map(|(n, k)| (*n, k.as_slice())),
                )
                .map_err(in_this_file)?;
            rows += block.rows() as u64;
            progress(rows + skipped, total_rows);
        }
    }
    let feature_names = feature_names.unwrap_or_default();
    if rows < 2 {
        return Err(Error::Data(format!("need at least 2 rows, found {rows}")));
    }
    if feature_names.len() < 2 {
        return Err(Error::Data(format!(
            "need at least 2 features, found {}",
            feature_names.len()
        )));
    }
    Ok(Scan {
        feature_columns: feature_columns.unwrap_or_default(),
        skipped_rows: skipped,
        feature_names,
        summary,
    })
}

fn in_file(e: Error, path: &Path, files: usize) -> Error {
    if files > 1 { Error::file(path, e) } else { e }
}

/// The batch's columns with the features first (selection order) and the label last.
fn reorder(batch: &RecordBatch, features: &[usize], label: Option<usize>) -> RecordBatch {
    let indices: Vec<usize> = features.iter().copied().chain(label).collect();
    batch
        .project(&indices)
        .expect("indices come from the projection")
}

fn features_label(features: &ResolvedFeatures) -> String {
    match features {
        ResolvedFeatures::Wide(_) => "features".to_string(),
        ResolvedFeatures::Array(_, name) => name.clone(),
    }
}

fn block_names(features: &ResolvedFeatures, block: &FeatureBlock) -> Vec<String> {
    match (features, block) {
        (ResolvedFeatures::Wide(cols), _) => cols.iter().map(|c| c.1.clone()).collect(),
        (ResolvedFeatures::Array(_, name), FeatureBlock::Array { width, .. }) => {
            (0..*width).map(|i| format!("{name}[{i}]")).collect()
        }
        _ => unreachable!("layouts match"),
    }
}

/// Extracts and validates the features of a batch whose first columns are the
/// features in selection order. `rows` numbers them in errors.
fn feature_block(
    batch: &RecordBatch,
    features: &ResolvedFeatures,
    rows: &RowNumbers,
) -> Result<FeatureBlock> {
    let null_error = |column: &str, r: usize, what: &str| {
        Error::column(
            column,
            format!(
                "{what} at row {} (use --skip-null-rows or the skip_null_rows option to drop such rows)",
                rows.of(r)
            ),
        )
    };
    match features {
        ResolvedFeatures::Wide(cols) => {
            let mut arrays = Vec::with_capacity(cols.len());
            for (pos, (_, name)) in cols.iter().enumerate() {
                let a = batch.column(pos);
                if let Some(r) = first_null(a.as_ref(), 0..a.len()) {
                    return Err(null_error(name, r, "null value"));
                }
                let values = to_f64(a, name)?;
                check_finite(values.values(), &|_| name.clone(), rows, &|k| k)?;
                arrays.push(values);
            }
            Ok(FeatureBlock::Wide(arrays))
        }
        ResolvedFeatures::Array(_, name) => {
            let a = batch.column(0);
            if let Some(r) = first_null(a.as_ref(), 0..a.len()) {
                return Err(null_error(name, r, "null array"));
            }
            let list = ListRows::of(a.as_ref()).expect("array column resolved as a list");
            let child = &list.values;
            let mut starts = Vec::with_capacity(a.len());
            let mut width = None;
            for r in 0..a.len() {
                let Range { start: s, end: e } = list.range(r);
                let w = *width.get_or_insert(e - s);
                if e - s != w {
                    return Err(Error::column(
                        name,
                        format!(
                            "array lengths differ: row {} has {} elements, row {} has {w}",
                            rows.of(r),
                            e - s,
                            rows.of(0)
                        ),
                    ));
                }
                if let Some(k) = first_null(child.as_ref(), s..e) {
                    return Err(null_error(&format!("{name}[{}]", k - s), r, "null element"));
                }
                starts.push(s);
            }
            let values = to_f64(child, name)?;
            let width = width.unwrap_or(0);
            for (r, &s) in starts.iter().enumerate() {
                check_finite(
                    &values.values()[s..s + width],
                    &|k| format!("{name}[{k}]"),
                    rows,
                    &|_| r,
                )?;
            }
            Ok(FeatureBlock::Array {
                values,
                starts,
                width,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_like_names() {
        for name in [
            "id",
            "ID",
            "row_id",
            "userId",
            "customerID",
            "index",
            "__index_level_0__",
            "key",
            "row",
        ] {
            assert!(looks_like_identifier(name), "{name}");
        }
        for name in [
            "x00",
            "pid0",
            "width",
            "valid",
            "idle",
            "keyboard",
            "rows_mean",
            "pixel",
            "VALID",
            "GRID",
        ] {
            assert!(!looks_like_identifier(name), "{name}");
        }
    }

    #[test]
    fn only_integer_columns_taken_by_prefix_are_identifier_like() {
        use arrow::datatypes::Field;
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x0", DataType::Float64, false),
            Field::new("row_id", DataType::Float64, false),
            Field::new("x1", DataType::Float64, false),
        ]);
        let every = FeatureSelection::Prefix(String::new());
        let resolved = resolve_features(&schema, &every, None).unwrap();
        let columns = FeatureColumns::of(&every, &resolved, &schema);
        assert_eq!(columns.selected_by, "every numeric column");
        assert_eq!(columns.columns, ["id", "x0", "row_id", "x1"]);
        // A float `row_id` holds values, not identifiers.
        assert_eq!(columns.identifier_like, ["id"]);
        assert!(
            columns
                .warning()
                .unwrap()
                .starts_with("integer column 'id' looks like")
        );
        // Named explicitly, a column is what the user asked for.
        let named = FeatureSelection::Columns(vec!["id".into(), "x0".into()]);
        let resolved = resolve_features(&schema, &named, None).unwrap();
        let columns = FeatureColumns::of(&named, &resolved, &schema);
        assert!(columns.identifier_like.is_empty() && columns.warning().is_none());
    }

    #[test]
    fn f64_columns_are_not_copied() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]));
        let b = to_f64(&a, "x").unwrap();
        assert_eq!(
            b.values().as_ptr(),
            a.as_primitive::<Float64Type>().values().as_ptr(),
            "a Float64 column must be read in place"
        );
        let i: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![1, 2]));
        assert_eq!(to_f64(&i, "x").unwrap().values().as_ref(), &[1.0, 2.0]);
    }

    #[test]
    fn batches_in_memory_scan_like_their_file() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sample_data/signals_1d.parquet"
        );
        let file = Source::open(Path::new(path)).unwrap();
        let all: Vec<usize> = (0..file.schema().fields().len()).collect();
        let batches: Vec<RecordBatch> = file.batches(&all).unwrap().map(|b| b.unwrap()).collect();
        // Split differently from the file's batches: the scan must not care.
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let whole = arrow::compute::concat_batches(file.schema(), &batches).unwrap();
        let split = vec![whole.slice(0, 7), whole.slice(7, rows - 7)];
        let memory = Source::from_batches("frame", file.schema().clone(), split);
        assert_eq!(memory.rows(), Some(rows as u64));
        let options = ScanOptions {
            selection: FeatureSelection::Prefix("x".into()),
            label: Some("spike".into()),
            max_samples: 300,
            seed: 3,
            skip_null_rows: false,
            weighting: Default::default(),
        };
        let from_file = scan_sources(&[file], &options, &|_, _| {}).unwrap();
        let from_memory = scan_sources(&[memory], &options, &|_, _| {}).unwrap();
        assert_eq!(from_memory.feature_names, from_file.feature_names);
        assert_eq!(from_memory.summary.rows(), from_file.summary.rows());
        assert_eq!(
            from_memory.summary.sample_matrix().0.values,
            from_file.summary.sample_matrix().0.values
        );
        let missing = ScanOptions {
            selection: FeatureSelection::Array("nope".into()),
            ..options
        };
        let error = scan_sources(
            &[Source::from_batches("frame", whole.schema(), vec![whole])],
            &missing,
            &|_, _| {},
        )
        .err()
        .unwrap();
        assert!(error.to_string().contains("nope"), "{error}");
    }

    #[test]
    fn a_csv_schema_comes_from_its_first_rows_and_late_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("late.csv");
        let mut text = String::from("a,b\n");
        for r in 0..CSV_SCHEMA_ROWS + 200 {
            let a = if r == CSV_SCHEMA_ROWS + 100 {
                "1.5".to_string()
            } else {
                r.to_string()
            };
            text += &format!("{a},{}\n", r % 7);
        }
        std::fs::write(&path, text).unwrap();
        let source = Source::open(&path).unwrap();
        assert_eq!(source.schema().field(0).data_type(), &DataType::Int64);
        let options = ScanOptions {
            selection: FeatureSelection::Prefix(String::new()),
            label: None,
            max_samples: 10,
            seed: 0,
            skip_null_rows: false,
            weighting: Default::default(),
        };
        let error = scan_sources(&[source], &options, &|_, _| {})
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.starts_with(&format!("{}: ", path.display())),
            "{error}"
        );
        assert!(error.contains("'1.5'"), "{error}");
        assert!(
            error.ends_with("(column types are inferred from the first 1000 rows)"),
            "{error}"
        );
    }
}
