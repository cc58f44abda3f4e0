//! Conversions between Rust values and the Arrow arrays that nodes send and receive.
//!
//! [`IntoArrow`] turns a value into the array to pass to [`crate::DoraNode::send_output`]:
//! a scalar (`bool`, integers, floats) or a string becomes an array of length 1, a `Vec` of
//! numbers an array of its elements, `()` an empty array. `TryFrom<&ArrowData>` goes the
//! other way: a scalar or `&str` from an array of exactly one element without nulls,
//! `&[u8]` / `Vec<u8>` from a `UInt8` array without nulls. These are the conversions of the
//! dora-rs v0.3.6 node API, so nodes written for it build unchanged:
//!
//! ```
//! use dora_node_api::{arrow::array::Array, ArrowData, IntoArrow};
//!
//! let array = 42u64.into_arrow();
//! let data = ArrowData(std::sync::Arc::new(array));
//! assert_eq!(u64::try_from(&data), Ok(42));
//! assert!(<&str>::try_from(&data).is_err());
//! ```
//!
//! A failed conversion is a [`ConversionError`], a `std::error::Error`, so `?` and error
//! context crates (`eyre`, `anyhow`) take it as it is.

use arrow_array::{
    types::{
        Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
        UInt32Type, UInt64Type, UInt8Type,
    },
    Array, ArrowPrimitiveType, BooleanArray, NullArray, PrimitiveArray, StringArray,
};
use arrow_schema::DataType;

use crate::ArrowData;

/// A value that can be sent as an Arrow array.
pub trait IntoArrow {
    /// The array type the value becomes.
    type A: Array;

    /// The value as an array: one element for scalars and strings, the elements of a `Vec`,
    /// none for `()`.
    fn into_arrow(self) -> Self::A;
}

impl IntoArrow for bool {
    type A = BooleanArray;
    fn into_arrow(self) -> BooleanArray {
        BooleanArray::from(vec![self])
    }
}

impl IntoArrow for &str {
    type A = StringArray;
    fn into_arrow(self) -> StringArray {
        StringArray::from(vec![self])
    }
}

impl IntoArrow for () {
    type A = NullArray;
    fn into_arrow(self) -> NullArray {
        NullArray::new(0)
    }
}

/// `IntoArrow` for a number type and for vectors of it.
macro_rules! numbers_into_arrow {
    ($($native:ty => $arrow:ty),* $(,)?) => {$(
        impl IntoArrow for $native {
            type A = PrimitiveArray<$arrow>;
            fn into_arrow(self) -> Self::A {
                PrimitiveArray::from_value(self, 1)
            }
        }

        impl IntoArrow for Vec<$native> {
            type A = PrimitiveArray<$arrow>;
            fn into_arrow(self) -> Self::A {
                PrimitiveArray::from(self)
            }
        }
    )*};
}

numbers_into_arrow!(
    u8 => UInt8Type,
    u16 => UInt16Type,
    u32 => UInt32Type,
    u64 => UInt64Type,
    i8 => Int8Type,
    i16 => Int16Type,
    i32 => Int32Type,
    i64 => Int64Type,
    f32 => Float32Type,
    f64 => Float64Type,
);

/// Why an input's data could not be read as the requested Rust type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// The array holds another Arrow type.
    #[error("expected {expected} data, got an array of {actual}")]
    WrongType {
        /// The Rust type asked for.
        expected: &'static str,
        /// The array's Arrow type.
        actual: DataType,
    },
    /// A single value was requested from an array with none or several.
    #[error("expected an array of length 1, got length {0}")]
    NotOneValue(usize),
    /// The array has null entries.
    #[error("the array has {0} null entries")]
    Nulls(usize),
}

fn wrong_type(expected: &'static str, data: &ArrowData) -> ConversionError {
    ConversionError::WrongType {
        expected,
        actual: data.data_type().clone(),
    }
}

/// Checks that `array` holds exactly one value that is not null.
fn single(array: &dyn Array) -> Result<(), ConversionError> {
    if array.len() != 1 {
        return Err(ConversionError::NotOneValue(array.len()));
    }
    if array.null_count() != 0 {
        return Err(ConversionError::Nulls(array.null_count()));
    }
    Ok(())
}

fn single_primitive<T: ArrowPrimitiveType>(
    data: &ArrowData,
    expected: &'static str,
) -> Result<T::Native, ConversionError> {
    let array = data
        .as_any()
        .downcast_ref::<PrimitiveArray<T>>()
        .ok_or_else(|| wrong_type(expected, data))?;
    single(array)?;
    Ok(array.value(0))
}

/// `TryFrom<&ArrowData>` for number types.
macro_rules! number_from_arrow {
    ($($native:ty => $arrow:ty),* $(,)?) => {$(
        impl TryFrom<&ArrowData> for $native {
            type Error = ConversionError;
            fn try_from(data: &ArrowData) -> Result<Self, ConversionError> {
                single_primitive::<$arrow>(data, stringify!($native))
            }
        }
    )*};
}

number_from_arrow!(
    u8 => UInt8Type,
    u16 => UInt16Type,
    u32 => UInt32Type,
    u64 => UInt64Type,
    i8 => Int8Type,
    i16 => Int16Type,
    i32 => Int32Type,
    i64 => Int64Type,
    f32 => Float32Type,
    f64 => Float64Type,
);

impl TryFrom<&ArrowData> for bool {
    type Error = ConversionError;
    fn try_from(data: &ArrowData) -> Result<Self, ConversionError> {
        let array = data
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| wrong_type("bool", data))?;
        single(array)?;
        Ok(array.value(0))
    }
}

impl<'a> TryFrom<&'a ArrowData> for &'a str {
    type Error = ConversionError;
    fn try_from(data: &'a ArrowData) -> Result<Self, ConversionError> {
        let array = data
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| wrong_type("string (Utf8)", data))?;
        single(array)?;
        Ok(array.value(0))
    }
}

impl<'a> TryFrom<&'a ArrowData> for &'a [u8] {
    type Error = ConversionError;
    fn try_from(data: &'a ArrowData) -> Result<Self, ConversionError> {
        let array = data
            .as_any()
            .downcast_ref::<PrimitiveArray<UInt8Type>>()
            .ok_or_else(|| wrong_type("bytes (UInt8)", data))?;
        if array.null_count() != 0 {
            return Err(ConversionError::Nulls(array.null_count()));
        }
        Ok(array.values())
    }
}

impl TryFrom<&ArrowData> for Vec<u8> {
    type Error = ConversionError;
    fn try_from(data: &ArrowData) -> Result<Self, ConversionError> {
        <&[u8]>::try_from(data).map(<[u8]>::to_vec)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int32Array, UInt8Array};

    use super::*;

    fn data(array: impl Array + 'static) -> ArrowData {
        ArrowData(Arc::new(array))
    }

    #[test]
    fn scalars_round_trip() {
        assert_eq!(bool::try_from(&data(true.into_arrow())), Ok(true));
        assert_eq!(u8::try_from(&data(7u8.into_arrow())), Ok(7));
        assert_eq!(u16::try_from(&data(7u16.into_arrow())), Ok(7));
        assert_eq!(u32::try_from(&data(7u32.into_arrow())), Ok(7));
        assert_eq!(u64::try_from(&data(u64::MAX.into_arrow())), Ok(u64::MAX));
        assert_eq!(i8::try_from(&data((-7i8).into_arrow())), Ok(-7));
        assert_eq!(i16::try_from(&data((-7i16).into_arrow())), Ok(-7));
        assert_eq!(i32::try_from(&data((-7i32).into_arrow())), Ok(-7));
        assert_eq!(i64::try_from(&data(i64::MIN.into_arrow())), Ok(i64::MIN));
        assert_eq!(f32::try_from(&data(1.5f32.into_arrow())), Ok(1.5));
        assert_eq!(f64::try_from(&data((-2.25f64).into_arrow())), Ok(-2.25));
    }

    #[test]
    fn strings_and_owned_strings_convert() {
        let text = String::from("hello");
        // A `String` converts through `&str` (auto-referencing), as in dora-rs v0.3.6.
        let from_string = data(text.into_arrow());
        assert_eq!(<&str>::try_from(&from_string), Ok("hello"));
        let from_str = data("world".into_arrow());
        assert_eq!(<&str>::try_from(&from_str), Ok("world"));
    }

    #[test]
    fn vectors_become_arrays_of_their_elements() {
        let array = vec![1u8, 2, 3].into_arrow();
        assert_eq!(array.values().as_ref(), &[1, 2, 3]);
        let bytes = data(array);
        assert_eq!(<&[u8]>::try_from(&bytes), Ok(&[1u8, 2, 3][..]));
        assert_eq!(Vec::<u8>::try_from(&bytes), Ok(vec![1, 2, 3]));
        assert_eq!(vec![1.0f64, 2.0].into_arrow().len(), 2);
        assert_eq!(vec![-1i64, 2, 3].into_arrow().value(0), -1);
        assert_eq!(().into_arrow().len(), 0);
    }

    #[test]
    fn wrong_type_length_and_nulls_are_errors() {
        let int = data(5i32.into_arrow());
        assert_eq!(
            u64::try_from(&int),
            Err(ConversionError::WrongType {
                expected: "u64",
                actual: DataType::Int32
            })
        );
        assert!(<&[u8]>::try_from(&int).is_err());
        let two = data(Int32Array::from(vec![1, 2]));
        assert_eq!(i32::try_from(&two), Err(ConversionError::NotOneValue(2)));
        let empty = data(().into_arrow());
        assert!(<&str>::try_from(&empty).is_err());
        let null = data(Int32Array::from(vec![None]));
        assert_eq!(i32::try_from(&null), Err(ConversionError::Nulls(1)));
        let null_bytes = data(UInt8Array::from(vec![Some(1), None]));
        assert_eq!(
            Vec::<u8>::try_from(&null_bytes),
            Err(ConversionError::Nulls(1))
        );
    }

    #[test]
    fn errors_name_what_was_expected() {
        let int = data(5i32.into_arrow());
        let message = <&str>::try_from(&int).unwrap_err().to_string();
        assert_eq!(
            message,
            "expected string (Utf8) data, got an array of Int32"
        );
    }
}
