//! The data model of ROS 2 interface definitions.
//!
//! A parsed `.msg` file refers to nested types by name ([`MessageDefinition`], fields of
//! `Field<TypeName>`); the [`TypeStore`](crate::TypeStore) resolves those names into a
//! self-contained [`MessageType`] whose nested fields hold the nested `MessageType` itself, so the
//! Arrow mapping and the CDR code never look anything up.

use std::{fmt, path::PathBuf, str::FromStr, sync::Arc};

use crate::error::TypeError;

/// The full name of an interface type: `package/namespace/Name`, the namespace being `msg`
/// or `srv` (service request and response messages are `pkg/srv/Name_Request` and
/// `pkg/srv/Name_Response`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeName {
    /// The package, such as `std_msgs`.
    pub package: String,
    /// `msg`, `srv` or `action`.
    pub namespace: String,
    /// The type's own name, such as `String` or `SetBool_Request`.
    pub name: String,
}

impl TypeName {
    /// A name from its three parts, unchecked (see [`TypeName::parse_with_namespace`] for the
    /// checked form).
    pub fn new(
        package: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            package: package.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Parses `pkg/Type` (namespace `default_namespace`) or `pkg/ns/Type`.
    pub fn parse_with_namespace(text: &str, default_namespace: &str) -> Result<Self, TypeError> {
        let invalid = |reason: &str| TypeError::InvalidName {
            name: text.to_owned(),
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = text.split('/').collect();
        let (package, namespace, name) = match parts.as_slice() {
            [package, name] => (*package, default_namespace, *name),
            [package, namespace, name] => (*package, *namespace, *name),
            _ => return Err(invalid("expected `package/Type` or `package/msg/Type`")),
        };
        if !is_package_name(package) {
            return Err(invalid(
                "the package name must be lower case letters, digits and `_`",
            ));
        }
        if !matches!(namespace, "msg" | "srv" | "action") {
            return Err(invalid("the namespace must be `msg`, `srv` or `action`"));
        }
        if !is_type_name(name) {
            return Err(invalid(
                "the type name must start with a letter and hold letters, digits and `_`",
            ));
        }
        Ok(Self::new(package, namespace, name))
    }

    /// The DDS type name ROS 2 uses on the wire: `pkg::msg::dds_::Name_`.
    pub fn dds_name(&self) -> String {
        format!("{}::{}::dds_::{}_", self.package, self.namespace, self.name)
    }
}

impl FromStr for TypeName {
    type Err = TypeError;

    /// Parses `pkg/Type` (a message) or `pkg/msg/Type`, `pkg/srv/Type_Request`, ….
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_with_namespace(s, "msg")
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.package, self.namespace, self.name)
    }
}

pub(crate) fn is_package_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(crate) fn is_type_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A fixed-size primitive type of the `.msg` format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `bool`
    Bool,
    /// `byte`, an octet.
    Byte,
    /// `char`, an 8-bit character.
    Char,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
    /// `int8`
    Int8,
    /// `uint8`
    UInt8,
    /// `int16`
    Int16,
    /// `uint16`
    UInt16,
    /// `int32`
    Int32,
    /// `uint32`
    UInt32,
    /// `int64`
    Int64,
    /// `uint64`
    UInt64,
}

impl Primitive {
    /// The primitive named `name` in `.msg` files; `None` for any other name.
    pub fn from_msg_name(name: &str) -> Option<Self> {
        Some(match name {
            "bool" => Self::Bool,
            "byte" => Self::Byte,
            "char" => Self::Char,
            "float32" => Self::Float32,
            "float64" => Self::Float64,
            "int8" => Self::Int8,
            "uint8" => Self::UInt8,
            "int16" => Self::Int16,
            "uint16" => Self::UInt16,
            "int32" => Self::Int32,
            "uint32" => Self::UInt32,
            "int64" => Self::Int64,
            "uint64" => Self::UInt64,
            _ => return None,
        })
    }

    /// The name in `.msg` files.
    pub fn msg_name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Byte => "byte",
            Self::Char => "char",
            Self::Float32 => "float32",
            Self::Float64 => "float64",
            Self::Int8 => "int8",
            Self::UInt8 => "uint8",
            Self::Int16 => "int16",
            Self::UInt16 => "uint16",
            Self::Int32 => "int32",
            Self::UInt32 => "uint32",
            Self::Int64 => "int64",
            Self::UInt64 => "uint64",
        }
    }

    /// Size in bytes on the wire, which is also its CDR alignment.
    pub fn size(self) -> usize {
        match self {
            Self::Bool | Self::Byte | Self::Char | Self::Int8 | Self::UInt8 => 1,
            Self::Int16 | Self::UInt16 => 2,
            Self::Float32 | Self::Int32 | Self::UInt32 => 4,
            Self::Float64 | Self::Int64 | Self::UInt64 => 8,
        }
    }
}

/// The type of one element: a primitive, a (bounded) string or a nested message.
///
/// `M` is how a nested message is referred to: [`TypeName`] in a parsed definition,
/// `Arc<MessageType>` once resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum ElementType<M = Arc<MessageType>> {
    /// A fixed-size primitive.
    Primitive(Primitive),
    /// `string` or `string<=N` (bound in bytes of UTF-8).
    String {
        /// The largest length allowed; `None` is unbounded.
        bound: Option<usize>,
    },
    /// `wstring` or `wstring<=N` (bound in UTF-16 code units).
    WString {
        /// The largest length allowed; `None` is unbounded.
        bound: Option<usize>,
    },
    /// A nested message.
    Message(M),
}

/// Whether a field holds one element, a fixed-size array or a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// `T`
    Single,
    /// `T[N]`
    Array(usize),
    /// `T[]` (`bound: None`) or `T[<=N]`.
    Sequence {
        /// The most elements allowed; `None` is unbounded.
        bound: Option<usize>,
    },
}

/// The type of a field: what each element is and how many there are.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldType<M = Arc<MessageType>> {
    /// What each element is.
    pub element: ElementType<M>,
    /// One element, a fixed-size array or a sequence.
    pub cardinality: Cardinality,
}

/// A default value or constant value, as written in the `.msg` file.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `true` or `false`.
    Bool(bool),
    /// The value of an integer field other than `uint64`.
    Int(i64),
    /// The value of a `uint64` field, which may not fit an `i64`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// The value of a `string` or `wstring` field.
    String(String),
    /// Default of an array or sequence field.
    Sequence(Vec<Value>),
}

/// One field of a message, in the order of the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Field<M = Arc<MessageType>> {
    /// The field name.
    pub name: String,
    /// The field's type.
    pub ty: FieldType<M>,
    /// The default from the `.msg` file; `None` means zero, empty or the nested defaults.
    pub default: Option<Value>,
}

/// A constant `TYPE NAME=value`: not part of the wire format or the Arrow row.
#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    /// The constant's name (upper case).
    pub name: String,
    /// A primitive, `String` or `WString`.
    pub ty: ElementType<TypeName>,
    /// The constant's value.
    pub value: Value,
}

/// A message as parsed from its file, nested types still by name.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageDefinition {
    /// The full name of the message type.
    pub name: TypeName,
    /// The fields, in the order of the file (the order on the wire).
    pub fields: Vec<Field<TypeName>>,
    /// The constants, in the order of the file.
    pub constants: Vec<Constant>,
    /// The file it came from.
    pub source: PathBuf,
}

/// A service as parsed from its `.srv` file.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceDefinition {
    /// The full name of the service type.
    pub name: TypeName,
    /// The `_Request` message.
    pub request: MessageDefinition,
    /// The `_Response` message.
    pub response: MessageDefinition,
}

/// A resolved message type: every nested type is present, so this value alone describes the
/// Arrow row and the CDR layout.
#[derive(Debug, PartialEq)]
pub struct MessageType {
    /// The full name of the message type.
    pub name: TypeName,
    /// The fields, in the order of the file (the order on the wire).
    pub fields: Vec<Field>,
    /// The constants, in the order of the file.
    pub constants: Vec<Constant>,
    /// The file it came from.
    pub source: PathBuf,
}

impl MessageType {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The constant called `name`.
    pub fn constant(&self, name: &str) -> Option<&Constant> {
        self.constants.iter().find(|c| c.name == name)
    }
}

/// A resolved service type. ROS 2 names its DDS topics `rq/<service>Request` and
/// `rr/<service>Reply`, with types [`TypeName::dds_name`] of `request.name` and
/// `response.name`.
#[derive(Debug, PartialEq)]
pub struct ServiceType {
    /// The full name of the service type.
    pub name: TypeName,
    /// The `_Request` message.
    pub request: Arc<MessageType>,
    /// The `_Response` message.
    pub response: Arc<MessageType>,
}
