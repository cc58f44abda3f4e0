//! How a ROS 2 message maps to Arrow: one message is one row of a `StructArray`.
//!
//! | `.msg`                               | Arrow                                  |
//! |--------------------------------------|----------------------------------------|
//! | `bool`                               | `Boolean`                              |
//! | `byte`, `char`, `uint8`              | `UInt8`                                |
//! | `int8`…`int64`, `uint16`…`uint64`    | `Int8`…`Int64`, `UInt16`…`UInt64`      |
//! | `float32`, `float64`                 | `Float32`, `Float64`                   |
//! | `string`, `wstring` (bounded or not) | `Utf8`                                 |
//! | `T[]`, `T[<=N]`                      | `List<T>`                              |
//! | `T[N]`                               | `FixedSizeList<T, N>`                  |
//! | nested message                       | `Struct` of its fields (in file order) |
//!
//! So `builtin_interfaces/Time` is `Struct{sec: Int32, nanosec: UInt32}`. A message without
//! fields is a `Struct` without fields (on the wire it is one zero byte).
//!
//! Produced arrays never contain nulls; fields and list items are declared nullable so that
//! arrays built by other Arrow libraries (which default to nullable) match without casts. List
//! items are named `item`.
//!
//! On input (see [`crate::cdr::serialize`]) the rules are looser: field order and nullability do
//! not matter, a missing field takes its `.msg` default (zero, empty or the nested defaults when
//! there is none), a `T[N]` field also accepts a `List` whose rows have N items, a `T[]` field
//! also accepts a `FixedSizeList`, and null slots read as whatever value the slot holds.

use std::sync::Arc;

use arrow_schema::{DataType, Field as ArrowField, Fields};

use crate::types::{Cardinality, ElementType, FieldType, MessageType, Primitive};

/// The Arrow type of one message: a `Struct` of its fields.
pub fn arrow_type(message: &MessageType) -> DataType {
    DataType::Struct(arrow_fields(message))
}

/// The Arrow fields of a message, in `.msg` order.
pub fn arrow_fields(message: &MessageType) -> Fields {
    message
        .fields
        .iter()
        .map(|f| ArrowField::new(&f.name, field_data_type(&f.ty), true))
        .collect()
}

/// The Arrow type of a field, arrays included.
pub fn field_data_type(ty: &FieldType) -> DataType {
    let element = element_data_type(&ty.element);
    match ty.cardinality {
        Cardinality::Single => element,
        Cardinality::Sequence { .. } => {
            DataType::List(Arc::new(ArrowField::new_list_field(element, true)))
        }
        Cardinality::Array(n) => DataType::FixedSizeList(
            Arc::new(ArrowField::new_list_field(element, true)),
            i32::try_from(n).unwrap_or(i32::MAX),
        ),
    }
}

/// The Arrow type of one element.
pub fn element_data_type(element: &ElementType) -> DataType {
    match element {
        ElementType::Primitive(p) => primitive_data_type(*p),
        ElementType::String { .. } | ElementType::WString { .. } => DataType::Utf8,
        ElementType::Message(m) => arrow_type(m),
    }
}

/// The Arrow type of a primitive (`byte` and `char` are `UInt8`).
pub fn primitive_data_type(p: Primitive) -> DataType {
    match p {
        Primitive::Bool => DataType::Boolean,
        Primitive::Byte | Primitive::Char | Primitive::UInt8 => DataType::UInt8,
        Primitive::Int8 => DataType::Int8,
        Primitive::Int16 => DataType::Int16,
        Primitive::UInt16 => DataType::UInt16,
        Primitive::Int32 => DataType::Int32,
        Primitive::UInt32 => DataType::UInt32,
        Primitive::Int64 => DataType::Int64,
        Primitive::UInt64 => DataType::UInt64,
        Primitive::Float32 => DataType::Float32,
        Primitive::Float64 => DataType::Float64,
    }
}

/// A short description of what a field accepts, for error messages.
pub(crate) fn describe_field(ty: &FieldType) -> String {
    let element = describe_element(&ty.element);
    match ty.cardinality {
        Cardinality::Single => element,
        Cardinality::Sequence { .. } => format!("List({element})"),
        Cardinality::Array(n) => format!("FixedSizeList({element}, {n})"),
    }
}

pub(crate) fn describe_element(element: &ElementType) -> String {
    match element {
        ElementType::Message(m) => format!("Struct ({})", m.name),
        other => element_data_type(other).to_string(),
    }
}

/// A short description of an Arrow type, for error messages.
pub(crate) fn describe_data_type(dt: &DataType) -> String {
    match dt {
        DataType::List(f) | DataType::LargeList(f) => {
            format!("List({})", describe_data_type(f.data_type()))
        }
        DataType::FixedSizeList(f, n) => {
            format!("FixedSizeList({}, {n})", describe_data_type(f.data_type()))
        }
        DataType::Struct(_) => "Struct".to_owned(),
        other => other.to_string(),
    }
}
