//! polars Series ↔ arrow-rs arrays over the Arrow C Data Interface. Both
//! crates implement the same C structs; moving one across shares the
//! buffers, so numeric data is never copied.

use std::mem::transmute;

use arrow::array::{ArrayRef, make_array};
use arrow::datatypes::Field as ArrowField;
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi, to_ffi};
use polars::prelude::{
    CompatLevel, DataType, PlSmallStr, PolarsError, PolarsResult, Series, polars_err,
};
use polars_arrow::ffi::{
    ArrowArray, ArrowSchema, export_array_to_c, export_field_to_c, import_array_from_c,
    import_field_from_c,
};

fn bridge_error(what: &str, e: impl std::fmt::Display) -> PolarsError {
    polars_err!(ComputeError: "Arrow C Data Interface: {what}: {e}")
}

/// The chunks of `series` as arrow-rs arrays sharing its buffers.
pub fn series_to_arrow(series: &Series) -> PolarsResult<Vec<ArrayRef>> {
    let field = series
        .dtype()
        .to_arrow_field(series.name().clone(), CompatLevel::newest());
    (0..series.n_chunks())
        .map(|i| {
            let chunk = series.to_arrow(i, CompatLevel::newest());
            // SAFETY: polars-arrow's ArrowArray/ArrowSchema and arrow-rs's
            // FFI_ArrowArray/FFI_ArrowSchema are the same #[repr(C)] structs of
            // the C Data Interface; ownership (the release callback) moves with them.
            let array: FFI_ArrowArray =
                unsafe { transmute::<ArrowArray, _>(export_array_to_c(chunk)) };
            let schema: FFI_ArrowSchema =
                unsafe { transmute::<ArrowSchema, _>(export_field_to_c(&field)) };
            let data =
                unsafe { from_ffi(array, &schema) }.map_err(|e| bridge_error(series.name(), e))?;
            Ok(make_array(data))
        })
        .collect()
}

/// An arrow-rs array as a polars Series named `name`, sharing its buffers.
pub fn arrow_to_series(name: &str, array: &ArrayRef) -> PolarsResult<Series> {
    let (array, schema) = to_ffi(&array.to_data()).map_err(|e| bridge_error(name, e))?;
    // SAFETY: as in `series_to_arrow`, the other way round.
    let array: ArrowArray = unsafe { transmute::<FFI_ArrowArray, _>(array) };
    let schema: ArrowSchema = unsafe { transmute::<FFI_ArrowSchema, _>(schema) };
    let field = unsafe { import_field_from_c(&schema) }?;
    let chunk = unsafe { import_array_from_c(array, field.dtype().clone()) }?;
    Series::from_arrow(PlSmallStr::from_str(name), chunk)
}

/// The polars type of an arrow-rs field.
pub fn polars_dtype(field: &ArrowField) -> PolarsResult<DataType> {
    let schema = FFI_ArrowSchema::try_from(field).map_err(|e| bridge_error(field.name(), e))?;
    // SAFETY: as in `series_to_arrow`.
    let schema: ArrowSchema = unsafe { transmute::<FFI_ArrowSchema, _>(schema) };
    let field = unsafe { import_field_from_c(&schema) }?;
    Ok(DataType::from_arrow_field(&field))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray, Float64Array};
    use arrow::datatypes::Float64Type;
    use polars::prelude::{DataType, NamedFrom, Series};

    use super::{ArrayRef, arrow_to_series, series_to_arrow};

    #[test]
    fn f64_buffers_are_shared_both_ways() {
        let series = Series::new("x".into(), &[1.5f64, -2.0, 3.25, 0.0]);
        let polars_address = series.f64().unwrap().cont_slice().unwrap().as_ptr();
        let arrays = series_to_arrow(&series).unwrap();
        assert_eq!(arrays.len(), 1);
        let values = arrays[0].as_primitive::<Float64Type>();
        assert_eq!(
            values.values().as_ptr(),
            polars_address,
            "no copy into arrow-rs"
        );
        assert_eq!(values.values().to_vec(), vec![1.5, -2.0, 3.25, 0.0]);

        let arrow: ArrayRef = std::sync::Arc::new(Float64Array::from(vec![4.0, 5.0]));
        let arrow_address = arrow.as_primitive::<Float64Type>().values().as_ptr();
        let back = arrow_to_series("y", &arrow).unwrap();
        assert_eq!(
            back.f64().unwrap().cont_slice().unwrap().as_ptr(),
            arrow_address
        );
        assert_eq!(back.name().as_str(), "y");
    }

    #[test]
    fn array_columns_keep_their_chunks_and_values() {
        let rows: Vec<Series> = (0..3)
            .map(|r| Series::new("".into(), &[r as f64, r as f64 + 0.5]))
            .collect();
        let list = Series::new("x".into(), rows);
        let array = list
            .cast(&DataType::Array(Box::new(DataType::Float64), 2))
            .unwrap();
        let mut two = array.clone();
        two.append(&array).unwrap();
        let arrays = series_to_arrow(&two).unwrap();
        assert_eq!(arrays.len(), 2, "one arrow array per polars chunk");
        let l = arrays[1].as_fixed_size_list();
        assert_eq!(l.len(), 3);
        let inner = l.values().as_primitive::<Float64Type>();
        assert_eq!(inner.values().to_vec(), vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
        let back = arrow_to_series("x", &arrays[0]).unwrap();
        assert!(back.equals(&array));
        assert_eq!(
            back.dtype(),
            &DataType::Array(Box::new(DataType::Float64), 2)
        );
    }
}
