//! Writing a rearranged dataset (docs/conventions.md#rearranged-parquet): in
//! the wide layout the feature columns trade places (names, types and values
//! kept; other columns stay in place); in the array layout the elements of
//! every row are permuted. Every row and value survives bit for bit. Parquet
//! input is streamed row group by row group (one output row group per input row
//! group, the input's codecs kept). The order file's content (`entangle.order`,
//! and `entangle.features` or `entangle.array`, and `entangle.shape` in 2D;
//! JSON values) goes into the Parquet key-value metadata and into the embedded
//! Arrow schema's metadata, so every reader sees it. The output appears
//! atomically and durably (see [`crate::io::atomic`]).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, FixedSizeListArray, GenericListArray, RecordBatch, UInt64Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::arrow::{ArrowWriter, add_encoded_arrow_schema_to_metadata};
use parquet::bloom_filter::Sbbf;
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type, TypePtr};
use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::atomic::{AtomicOutput, write_error};
use crate::io::read::{ListRows, ResolvedFeatures, Source};

/// Key of the order in the output's metadata.
pub const ORDER_KEY: &str = "entangle.order";
/// Every metadata key entangle writes starts with this; a rewrite replaces
/// an input's stale ones.
const KEY_PREFIX: &str = "entangle.";

/// A rearrangement as the order file holds it (`arrange --order-out`,
/// `apply --order`): `{"order": [...], "features": [...]}` (wide layout) or
/// `{"order": [...], "array": "col"}`, plus `"shape"` when 2D. `order[j]` is
/// the input index of the feature placed at position j; `features` are the
/// names in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderFile {
    pub order: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<usize>>,
}

impl OrderFile {
    pub fn new(order: &[usize], features: &ResolvedFeatures, shape: Option<&[usize]>) -> Self {
        let (features, array) = match features {
            ResolvedFeatures::Wide(cols) => {
                (Some(cols.iter().map(|c| c.1.clone()).collect()), None)
            }
            ResolvedFeatures::Array(_, name) => (None, Some(name.clone())),
        };
        OrderFile {
            order: order.to_vec(),
            features,
            array,
            shape: shape.filter(|s| s.len() > 1).map(<[usize]>::to_vec),
        }
    }

    /// The metadata entries of a rearranged file, values as JSON.
    pub fn metadata(&self) -> Vec<(String, String)> {
        fn json(value: &impl Serialize) -> String {
            serde_json::to_string(value).expect("numbers and strings")
        }
        let mut entries = vec![(ORDER_KEY.to_string(), json(&self.order))];
        if let Some(features) = &self.features {
            entries.push((format!("{KEY_PREFIX}features"), json(features)));
        }
        if let Some(array) = &self.array {
            entries.push((format!("{KEY_PREFIX}array"), json(array)));
        }
        if let Some(shape) = &self.shape {
            entries.push((format!("{KEY_PREFIX}shape"), json(shape)));
        }
        entries
    }
}

/// Checks that `order` is a permutation of 0..n; the error names `what`.
pub fn check_permutation(order: &[usize], n: usize, what: &str) -> Result<()> {
    if order.len() != n {
        return Err(Error::Data(format!(
            "{what}: has {} entries but {n} features were selected",
            order.len()
        )));
    }
    let mut seen = vec![false; n];
    for &i in order {
        if i >= n {
            return Err(Error::Data(format!(
                "{what}: is not a permutation: index {i} is out of range 0..{n}"
            )));
        }
        if std::mem::replace(&mut seen[i], true) {
            return Err(Error::Data(format!(
                "{what}: is not a permutation: index {i} appears twice"
            )));
        }
    }
    Ok(())
}

/// The inverse permutation.
pub fn inverse(order: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; order.len()];
    for (j, &i) in order.iter().enumerate() {
        inv[i] = j;
    }
    inv
}

/// How one batch is rearranged.
struct Rearrangement {
    features: ResolvedFeatures,
    order: Vec<usize>,
    input_schema: SchemaRef,
    output_schema: SchemaRef,
}

impl Rearrangement {
    fn new(
        schema: &SchemaRef,
        features: ResolvedFeatures,
        order: &[usize],
        entries: &[(String, String)],
    ) -> Result<Self> {
        // The Arrow schema's metadata (embedded in the Parquet file as
        // ARROW:schema) carries the new entries; stale ones are dropped.
        let mut metadata = schema.metadata().clone();
        metadata.retain(|k, _| !k.starts_with(KEY_PREFIX));
        metadata.extend(entries.iter().cloned());
        let output_schema = match &features {
            ResolvedFeatures::Wide(cols) => {
                check_permutation(order, cols.len(), "order")?;
                let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
                for (slot, &source) in order.iter().enumerate() {
                    fields[cols[slot].0] = schema.fields()[cols[source].0].clone();
                }
                Arc::new(Schema::new_with_metadata(fields, metadata))
            }
            ResolvedFeatures::Array(..) => {
                Arc::new(Schema::new_with_metadata(schema.fields().clone(), metadata))
            }
        };
        Ok(Rearrangement {
            features,
            order: order.to_vec(),
            input_schema: schema.clone(),
            output_schema,
        })
    }

    fn apply(&self, batch: &RecordBatch, rows_before: u64) -> Result<RecordBatch> {
        debug_assert_eq!(batch.schema().fields(), self.input_schema.fields());
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        match &self.features {
            ResolvedFeatures::Wide(cols) => {
                for (slot, &source) in self.order.iter().enumerate() {
                    columns[cols[slot].0] = batch.column(cols[source].0).clone();
                }
            }
            ResolvedFeatures::Array(index, name) => {
                columns[*index] =
                    permute_elements(batch.column(*index), &self.order, name, rows_before)?;
            }
        }
        RecordBatch::try_new(self.output_schema.clone(), columns)
            .map_err(|e| Error::Data(e.to_string()))
    }
}

/// Permutes the elements of every row of a list-like array: row r's element
/// j becomes its old element `order[j]`. Null rows keep their (placeholder)
/// values. Errors number rows from 1 after `rows_before` (the rows of the
/// same file or input before this array's).
pub fn permute_elements(
    array: &ArrayRef,
    order: &[usize],
    name: &str,
    rows_before: u64,
) -> Result<ArrayRef> {
    let Some(rows) = ListRows::of(array.as_ref()) else {
        return Err(Error::column(
            name,
            format!("has type {}; expected a list column", array.data_type()),
        ));
    };
    let values = RowPermutation {
        order,
        name,
        rows_before,
    }
    .take_values(&rows, array.as_ref())?;
    let nulls = array.nulls().cloned();
    Ok(match array.data_type() {
        DataType::FixedSizeList(field, size) => {
            Arc::new(FixedSizeListArray::new(field.clone(), *size, values, nulls))
        }
        DataType::List(field) => Arc::new(GenericListArray::<i32>::new(
            field.clone(),
            rows.rebased(),
            values,
            nulls,
        )),
        DataType::LargeList(field) => Arc::new(GenericListArray::<i64>::new(
            field.clone(),
            rows.rebased(),
            values,
            nulls,
        )),
        _ => unreachable!("ListRows::of takes list-like arrays only"),
    })
}

/// The element permutation applied to every row of a list-like column.
struct RowPermutation<'a> {
    order: &'a [usize],
    name: &'a str,
    rows_before: u64,
}

impl RowPermutation<'_> {
    /// The child values in their new order. Rows of the order's length are
    /// permuted; null rows of another length keep their values; a valid row
    /// of another length is an error.
    fn take_values(&self, rows: &ListRows, array: &dyn Array) -> Result<ArrayRef> {
        let n = self.order.len();
        let mut idx = Vec::new();
        for r in 0..array.len() {
            let range = rows.range(r);
            let len = range.len();
            if len == n {
                idx.extend(self.order.iter().map(|&k| (range.start + k) as u64));
            } else if array.is_null(r) {
                idx.extend(range.map(|k| k as u64));
            } else {
                return Err(Error::column(
                    self.name,
                    format!(
                        "row {} has {len} elements, the order has {n}",
                        self.rows_before + 1 + r as u64
                    ),
                ));
            }
        }
        take(&rows.values, &UInt64Array::from(idx), None)
            .map_err(|e| Error::column(self.name, e.to_string()))
    }
}

/// Refuses to overwrite the input. `write_rearranged` checks it too; callers
/// with long work before the write check it first.
pub fn check_distinct(input: &Path, output: &Path) -> Result<()> {
    let same = match (std::fs::canonicalize(input), std::fs::canonicalize(output)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::option(
            "output",
            format!("the output {} is the input file", output.display()),
        ));
    }
    Ok(())
}

/// Writes `source` rearranged by `order` to `output` (Parquet, or CSV when
/// `output` ends in .csv), recording the order (and `shape`, when 2D) in its
/// metadata. Returns the number of rows written.
/// `progress(rows_done, rows_total)` is called after each batch.
pub fn write_rearranged(
    source: &Source,
    output: &Path,
    features: ResolvedFeatures,
    order: &[usize],
    shape: Option<&[usize]>,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<u64> {
    let input = source.path();
    check_distinct(input, output)?;
    let entries = OrderFile::new(order, &features, shape).metadata();
    let rearrangement = Rearrangement::new(source.schema(), features, order, &entries)?;
    let out = AtomicOutput::create(output)?;
    let write_error = |e: &dyn std::fmt::Display| write_error(output, e);
    let csv_out = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    // With the page indexes where whole columns move, which keep them.
    let moves_columns = !csv_out && matches!(rearrangement.features, ResolvedFeatures::Wide(_));
    let metadata = if moves_columns {
        source.parquet_metadata_with_page_indexes()?
    } else {
        source.parquet_metadata().cloned()
    };
    let parquet_input = metadata
        .map(|metadata| source.file().map(|file| (file, metadata)))
        .transpose()?;
    if let (Some((file, metadata)), false) = (&parquet_input, csv_out)
        && let Some(moves) = rearrangement.column_moves(metadata)
    {
        let rows = copy_moved_columns(
            (input, file),
            metadata,
            &moves,
            (output, out.file()?),
            &rearrangement.output_schema,
            &entries,
            progress,
        )?;
        out.commit()?;
        return Ok(rows);
    }
    let mut sink = if csv_out {
        Sink::Csv(Box::new(
            arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out.file()?),
        ))
    } else {
        let props = match &parquet_input {
            Some((_, metadata)) => writer_properties(metadata, &entries),
            None => WriterProperties::builder()
                .set_key_value_metadata(Some(key_values(Vec::new(), &entries)))
                .build(),
        };
        Sink::Parquet(Box::new(
            ColumnParallelWriter::new(out.file()?, rearrangement.output_schema.clone(), props)
                .map_err(|e| write_error(&e))?,
        ))
    };
    let mut rows = 0u64;
    let total = source.rows();
    let write = |sink: &mut Sink, batch: RecordBatch, rows: &mut u64| -> Result<()> {
        let batch = rearrangement.apply(&batch, *rows)?;
        sink.write(&batch).map_err(|e| write_error(&e))?;
        *rows += batch.num_rows() as u64;
        progress(*rows, total);
        Ok(())
    };
    match &parquet_input {
        Some((file, metadata)) => {
            for group in 0..metadata.metadata().num_row_groups() {
                let group_rows = metadata.metadata().row_group(group).num_rows() as usize;
                let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                    file.try_clone().map_err(|e| Error::file(input, e))?,
                    metadata.clone(),
                )
                .with_row_groups(vec![group])
                .with_batch_size(group_rows.clamp(1, 8192))
                .build()
                .map_err(|e| Error::file(input, e))?;
                for batch in reader {
                    write(
                        &mut sink,
                        batch.map_err(|e| Error::file(input, e))?,
                        &mut rows,
                    )?;
                }
                // One output row group per input row group.
                sink.end_row_group().map_err(|e| write_error(&e))?;
            }
        }
        None => {
            let all: Vec<usize> = (0..source.schema().fields().len()).collect();
            for batch in source.batches(&all)? {
                write(&mut sink, batch?, &mut rows)?;
            }
        }
    }
    sink.finish().map_err(|e| write_error(&e))?;
    out.commit()?;
    Ok(rows)
}

/// A wide layout's rearrangement of a Parquet file as moves of whole
/// columns: the input's root fields in their output order, and each one's
/// leaf columns.
struct ColumnMoves {
    fields: Vec<TypePtr>,
    leaves: Vec<usize>,
}

impl Rearrangement {
    /// The moves of a wide layout, or `None` when values change (an array
    /// column's elements) or the Parquet schema's root fields are not the
    /// Arrow schema's fields one for one.
    fn column_moves(&self, metadata: &ArrowReaderMetadata) -> Option<ColumnMoves> {
        let ResolvedFeatures::Wide(cols) = &self.features else {
            return None;
        };
        let descr = metadata.metadata().file_metadata().schema_descr();
        let roots = descr.root_schema().get_fields();
        if roots.len() != self.input_schema.fields().len() {
            return None;
        }
        let mut source: Vec<usize> = (0..roots.len()).collect();
        for (slot, &from) in self.order.iter().enumerate() {
            source[cols[slot].0] = cols[from].0;
        }
        let leaves_of = |root: usize| {
            (0..descr.num_columns()).filter(move |&leaf| descr.get_column_root_idx(leaf) == root)
        };
        Some(ColumnMoves {
            fields: source.iter().map(|&root| roots[root].clone()).collect(),
            leaves: source.iter().flat_map(|&root| leaves_of(root)).collect(),
        })
    }
}

/// Writes the Parquet `file` with its columns moved: every column chunk's
/// encoded pages are appended as they are (`append_column`, with their
/// statistics and page indexes), one output row group per input row group;
/// only the footer is new (the moved schema, the Arrow schema and the order
/// entries). Nothing is encoded again; every row group is decoded once
/// first, so that a corrupt input is refused as the re-encoding path refuses
/// it, never copied into the output.
fn copy_moved_columns(
    (input, file): (&Path, &File),
    metadata: &ArrowReaderMetadata,
    moves: &ColumnMoves,
    (output, out): (&Path, File),
    output_schema: &Schema,
    entries: &[(String, String)],
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<u64> {
    let read_error = |e: &dyn std::fmt::Display| Error::file(input, e);
    let write_error = |e: &dyn std::fmt::Display| write_error(output, e);
    let parquet = metadata.metadata();
    let root = parquet.file_metadata().schema_descr().root_schema();
    let schema = Type::group_type_builder(root.name())
        .with_fields(moves.fields.clone())
        .build()
        .map_err(|e| write_error(&e))?;
    let mut props = writer_properties(metadata, entries);
    add_encoded_arrow_schema_to_metadata(output_schema, &mut props);
    let mut writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))
        .map_err(|e| write_error(&e))?;
    let total: u64 = parquet
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as u64)
        .sum();
    let mut rows = 0u64;
    for (group, group_metadata) in parquet.row_groups().iter().enumerate() {
        let decoded = ParquetRecordBatchReaderBuilder::new_with_metadata(
            file.try_clone().map_err(|e| read_error(&e))?,
            metadata.clone(),
        )
        .with_row_groups(vec![group])
        .build()
        .map_err(|e| read_error(&e))?;
        for batch in decoded {
            batch.map_err(|e| read_error(&e))?;
        }
        let mut group_writer = writer.next_row_group().map_err(|e| write_error(&e))?;
        for &leaf in &moves.leaves {
            let chunk = group_metadata.column(leaf);
            let close = ColumnCloseResult {
                bytes_written: chunk.compressed_size() as u64,
                rows_written: group_metadata.num_rows() as u64,
                metadata: chunk.clone(),
                bloom_filter: Sbbf::read_from_column_chunk(chunk, file)
                    .map_err(|e| read_error(&e))?,
                column_index: parquet.column_index().map(|c| c[group][leaf].clone()),
                offset_index: parquet.offset_index().map(|o| o[group][leaf].clone()),
            };
            group_writer
                .append_column(file, close)
                .map_err(|e| write_error(&e))?;
        }
        group_writer.close().map_err(|e| write_error(&e))?;
        rows += group_metadata.num_rows() as u64;
        progress(rows, Some(total));
    }
    writer.close().map_err(|e| write_error(&e))?;
    Ok(rows)
}

/// Where rearranged batches go.
enum Sink {
    Csv(Box<arrow::csv::Writer<File>>),
    Parquet(Box<ColumnParallelWriter>),
}

impl Sink {
    fn write(&mut self, batch: &RecordBatch) -> std::result::Result<(), String> {
        match self {
            Sink::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
            Sink::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
        }
    }

    fn end_row_group(&mut self) -> std::result::Result<(), String> {
        match self {
            Sink::Csv(_) => Ok(()),
            Sink::Parquet(w) => w.end_row_group().map_err(|e| e.to_string()),
        }
    }

    fn finish(self) -> std::result::Result<(), String> {
        match self {
            Sink::Csv(_) => Ok(()),
            Sink::Parquet(w) => w.finish().map_err(|e| e.to_string()),
        }
    }
}

/// A Parquet writer that encodes the columns of a row group in parallel (on
/// rayon's pool): encoding, dictionaries and compression are per column, so
/// wide tables use every core. The file is what `ArrowWriter` writes (the
/// same properties and embedded Arrow schema); row groups end on request or
/// at the properties' row limit.
struct ColumnParallelWriter {
    file: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The open row group's column writers, one per leaf column.
    group: Option<Vec<ArrowColumnWriter>>,
    group_rows: usize,
    groups_written: usize,
    max_group_rows: usize,
}

impl ColumnParallelWriter {
    fn new(
        file: File,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> parquet::errors::Result<Self> {
        let max_group_rows = props.max_row_group_row_count().unwrap_or(usize::MAX);
        let (file, factory) =
            ArrowWriter::try_new(file, schema.clone(), Some(props))?.into_serialized_writer()?;
        Ok(ColumnParallelWriter {
            file,
            factory,
            schema,
            group: None,
            group_rows: 0,
            groups_written: 0,
            max_group_rows,
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> parquet::errors::Result<()> {
        let writers = match &mut self.group {
            Some(writers) => writers,
            group => group.insert(self.factory.create_column_writers(self.groups_written)?),
        };
        let mut leaves = Vec::with_capacity(writers.len());
        for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, column)?);
        }
        writers
            .par_iter_mut()
            .zip(leaves.par_iter())
            .try_for_each(|(writer, leaf)| writer.write(leaf))?;
        self.group_rows += batch.num_rows();
        if self.group_rows >= self.max_group_rows {
            self.end_row_group()?;
        }
        Ok(())
    }

    fn end_row_group(&mut self) -> parquet::errors::Result<()> {
        let Some(writers) = self.group.take() else {
            return Ok(());
        };
        let chunks = writers
            .into_par_iter()
            .map(ArrowColumnWriter::close)
            .collect::<parquet::errors::Result<Vec<_>>>()?;
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.groups_written += 1;
        self.group_rows = 0;
        Ok(())
    }

    fn finish(mut self) -> parquet::errors::Result<()> {
        self.end_row_group()?;
        self.file.close().map(|_| ())
    }
}

/// Writer properties that keep the input's codecs and dictionary use (per
/// column), its key-value metadata, and add the order.
fn writer_properties(
    metadata: &ArrowReaderMetadata,
    entries: &[(String, String)],
) -> WriterProperties {
    let parquet = metadata.metadata();
    let mut builder = WriterProperties::builder().set_max_row_group_row_count(Some(usize::MAX));
    if parquet.num_row_groups() > 0 {
        for column in parquet.row_group(0).columns() {
            let path = ColumnPath::new(column.column_path().parts().to_vec());
            // Dictionary encoding as the input had it: trying one on every
            // float column that never had one only costs time. A bloom
            // filter where the input had one (its values are the same).
            builder = builder
                .set_column_compression(path.clone(), column.compression())
                .set_column_dictionary_enabled(
                    path.clone(),
                    column.dictionary_page_offset().is_some(),
                )
                .set_column_bloom_filter_enabled(path, column.bloom_filter_offset().is_some());
        }
    }
    let kept = parquet
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter(|k| k.key != "ARROW:schema")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    builder
        .set_key_value_metadata(Some(key_values(kept, entries)))
        .build()
}

/// The input's key-value metadata without stale entangle entries, plus the
/// new ones.
fn key_values(mut kept: Vec<KeyValue>, entries: &[(String, String)]) -> Vec<KeyValue> {
    kept.retain(|k| !k.key.starts_with(KEY_PREFIX));
    kept.extend(
        entries
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;

    #[test]
    fn permutations_are_checked() {
        assert!(check_permutation(&[2, 0, 1], 3, "order").is_ok());
        let e = check_permutation(&[0, 1], 3, "order")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "order: has 2 entries but 3 features were selected");
        let e = check_permutation(&[0, 0, 1], 3, "order")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "order: is not a permutation: index 0 appears twice");
        let e = check_permutation(&[0, 3, 1], 3, "order")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "order: is not a permutation: index 3 is out of range 0..3"
        );
        assert_eq!(inverse(&[2, 0, 1]), vec![1, 2, 0]);
    }

    #[test]
    fn list_elements_are_permuted_per_row() {
        let values = arrow::array::Float64Array::from_iter_values((0..6).map(|v| v as f64));
        let field = Arc::new(arrow::datatypes::Field::new(
            "item",
            DataType::Float64,
            false,
        ));
        let list: ArrayRef = Arc::new(FixedSizeListArray::new(field, 3, Arc::new(values), None));
        let out = permute_elements(&list.slice(1, 1), &[2, 0, 1], "v", 0).unwrap();
        let out = out.as_fixed_size_list();
        let row = out.value(0);
        assert_eq!(
            row.as_primitive::<arrow::datatypes::Float64Type>()
                .values()
                .as_ref(),
            &[5.0, 3.0, 4.0]
        );
        // Rows are numbered from 1, after the rows before them.
        let e = permute_elements(&list, &[1, 0], "v", 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column 'v': row 11 has 3 elements, the order has 2"
        );
    }
}
