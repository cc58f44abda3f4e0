//! Identifiers and the Arrow payload type of events.

use std::{fmt, ops::Deref, sync::Arc};

use arrow_array::{Array, ArrayRef, UInt8Array};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = String;
            fn deref(&self) -> &String {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The id of an input or output.
    DataId
);

id_type!(
    /// The id of a node of a dataflow.
    NodeId
);

id_type!(
    /// The id of an operator of a runtime node.
    OperatorId
);

/// The data of an input: an Arrow array (dereferences to [`ArrayRef`]).
#[derive(Debug, Clone)]
pub struct ArrowData(pub ArrayRef);

impl ArrowData {
    /// The payload as bytes, when it is a `UInt8` array without nulls (what
    /// `send_output_bytes` and `send_output_raw` send). Borrowed, never copied.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        let array = self.0.as_any().downcast_ref::<UInt8Array>()?;
        (array.null_count() == 0).then(|| array.values().as_ref())
    }

    /// The Arrow array.
    pub fn into_inner(self) -> ArrayRef {
        self.0
    }
}

impl Deref for ArrowData {
    type Target = ArrayRef;
    fn deref(&self) -> &ArrayRef {
        &self.0
    }
}

impl From<ArrayRef> for ArrowData {
    fn from(array: ArrayRef) -> Self {
        Self(array)
    }
}

impl<A: Array + 'static> From<Arc<A>> for ArrowData {
    fn from(array: Arc<A>) -> Self {
        Self(array)
    }
}
