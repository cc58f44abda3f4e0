//! The C++ API of dora nodes, generated with `cxx`.
//!
//! C++ code includes `dora-node-api.h` (generated at build time; the CMake target
//! `dora::node_api_cxx` puts it on the include path together with `rust/cxx.h`) and links the
//! static library `libdora_node_api_cxx.a`. Functions returning `Result` throw `rust::Error`
//! (a `std::exception`) on failure, with the message of the Rust error.
//!
//! One function does not throw: [`send_output`] keeps the shape it has in dora-rs v0.3.6 and
//! returns a `DoraResult` whose `error` is empty on success, so code written for v0.3.6
//! (`auto result = send_output(...); if (!std::string(result.error).empty()) ...`) builds and
//! behaves as there. [`send_output_bytes`] is the same send reporting failures by throwing,
//! like every other function here.
//!
//! ```cpp
//! auto node = init_dora_node();
//! while (true) {
//!     auto event = node.events->next();
//!     auto type = event_type(event);
//!     if (type == DoraEventType::Stop || type == DoraEventType::AllInputsClosed) break;
//!     if (type == DoraEventType::Input) {
//!         auto input = event_as_input(std::move(event));     // copies the bytes
//!         send_output_bytes(node.send_output, "out", rust::Slice<const uint8_t>{input.data.data(), input.data.size()});
//!     }
//! }
//! ```
//!
//! # Zero copy
//!
//! - Reading: [`DoraEvent::input_data`] and [`event_as_arrow_input`] give views of the
//!   received message (shared memory for 4 KiB or more) without copying.
//! - Writing: [`allocate_output`] lends a buffer (shared memory from 4 KiB on); fill it in
//!   place and send it with [`send_allocated_output`] (as bytes) or
//!   [`send_allocated_arrow_output`] (as any Arrow array whose buffers lie inside it). The
//!   payload is then never copied between the sender's writes and the receivers' reads.
//!   [`send_output_bytes`] (or [`send_output`]) and [`send_arrow_output`] copy the payload
//!   once, into such a buffer.
//!
//! # Arrow C data interface
//!
//! Arrow arrays cross the boundary as `ArrowArray` / `ArrowSchema` structs of the Arrow C data
//! interface (declared in `dora/arrow_c_data.h` unless Arrow's own header is included first),
//! passed as `uint8_t *`. Sending moves both structs: after the call they are released (their
//! `release` callbacks were called or moved) whether sending succeeded or not. Receiving
//! fills both structs; the caller releases them.

// The functions below implement the bridge's signatures, in which C++ holds `rust::Box`es:
// they take `&Box<T>` and `Box<T>` because that is what crosses the boundary.
#![allow(clippy::borrowed_box, clippy::boxed_local)]

use std::time::Duration;

use arrow_array::{
    ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema},
    make_array, Array,
};
use arrow_data::ArrayData;
use dora_node_api::{ArrowTypeInfo, DataSample, DoraNode, Event, EventStream};
use layout::layout_within;

mod layout;
mod region;

pub use region::shared_memory_region;

#[cxx::bridge]
mod ffi {
    /// A node joined to its dataflow: its events and its outputs, usable independently
    /// (for example from two threads).
    pub struct DoraNode {
        pub events: Box<Events>,
        pub send_output: Box<OutputSender>,
    }

    /// Kind of an event.
    pub enum DoraEventType {
        /// The dataflow is stopping: finish up and return.
        Stop,
        /// A message on one of the node's inputs.
        Input,
        /// An input's source finished; no more messages arrive on it.
        InputClosed,
        /// Receiving failed; `error_message()` says why.
        Error,
        /// An event this version of the C++ API does not know.
        Unknown,
        /// The event stream ended (all inputs closed, or after Stop): stop calling `next`.
        AllInputsClosed,
    }

    /// An input message, copied out of the event by `event_as_input`.
    pub struct DoraInput {
        /// The input id, as declared in the dataflow.
        pub id: String,
        /// The payload bytes (a copy; use `DoraEvent::input_data` for a view).
        pub data: Vec<u8>,
        /// The sender's hybrid-logical-clock timestamp (NTP64 format).
        pub timestamp: u64,
    }

    /// What `send_output` returns: `error` is empty on success, else the message.
    pub struct DoraResult {
        pub error: String,
    }

    /// Type of an input's metadata parameter (the sender's `MetadataParameters`).
    pub enum ParameterType {
        Bool,
        Integer,
        Float,
        String,
        ListInt,
        ListFloat,
        ListString,
    }

    extern "Rust" {
        /// The node's incoming events.
        type Events;
        /// The node's outputs.
        type OutputSender;
        /// One event; owned by the caller (a `rust::Box`).
        type DoraEvent;
        /// A writable output buffer lent by `allocate_output`.
        type OutputSample;

        /// Joins the dataflow this process was started for; throws when not started by dora.
        fn init_dora_node() -> Result<DoraNode>;

        /// Blocks until the next event (`AllInputsClosed` once the stream ended).
        fn next(self: &mut Events) -> Box<DoraEvent>;
        /// `events->next()` as a free function (its dora-rs v0.3.6 name).
        fn next_event(events: &mut Box<Events>) -> Box<DoraEvent>;
        /// Like `next`, but gives up after `timeout_ms` with an `Error` event.
        fn next_timeout(self: &mut Events, timeout_ms: u64) -> Box<DoraEvent>;

        fn event_type(event: &Box<DoraEvent>) -> DoraEventType;
        /// The id, a copy of the bytes and the timestamp of an input; throws for other
        /// events and for inputs that are not bytes (UInt8 arrays).
        fn event_as_input(event: Box<DoraEvent>) -> Result<DoraInput>;
        /// Exports an input's Arrow array into `out_array` / `out_schema` (pointers to
        /// uninitialised `ArrowArray` / `ArrowSchema`) without copying its data; the caller
        /// releases both. Throws for other events.
        unsafe fn event_as_arrow_input(
            event: &Box<DoraEvent>,
            out_array: *mut u8,
            out_schema: *mut u8,
        ) -> Result<()>;

        /// The input id of an Input or InputClosed event (valid while the event lives).
        fn input_id(self: &DoraEvent) -> Result<&str>;
        /// A read-only view of an input's bytes (valid while the event lives); empty for
        /// timer ticks. Throws when the input is not bytes.
        fn input_data(self: &DoraEvent) -> Result<&[u8]>;
        /// The sender's timestamp of an input (NTP64 format).
        fn input_timestamp(self: &DoraEvent) -> Result<u64>;
        /// The message of an Error event.
        fn error_message(self: &DoraEvent) -> Result<&str>;

        /// The names of an input's metadata parameters, sorted.
        fn input_parameter_keys(self: &DoraEvent) -> Result<Vec<String>>;
        /// The type of an input's metadata parameter `key`; throws (naming the parameters
        /// the input has) when there is none of that name.
        fn input_parameter_type(self: &DoraEvent, key: &str) -> Result<ParameterType>;
        /// The value of parameter `key`; each getter throws when the input has no such
        /// parameter or it has another type (the message names both types).
        fn input_parameter_bool(self: &DoraEvent, key: &str) -> Result<bool>;
        fn input_parameter_int(self: &DoraEvent, key: &str) -> Result<i64>;
        fn input_parameter_float(self: &DoraEvent, key: &str) -> Result<f64>;
        fn input_parameter_string(self: &DoraEvent, key: &str) -> Result<String>;
        fn input_parameter_int_list(self: &DoraEvent, key: &str) -> Result<Vec<i64>>;
        fn input_parameter_float_list(self: &DoraEvent, key: &str) -> Result<Vec<f64>>;
        fn input_parameter_string_list(self: &DoraEvent, key: &str) -> Result<Vec<String>>;

        /// Sends `data` (copied once) as bytes on output `id`. Never throws: a failure is
        /// the result's `error` (dora-rs v0.3.6's contract), so check it.
        fn send_output(sender: &mut Box<OutputSender>, id: &str, data: &[u8]) -> DoraResult;
        /// Sends `data` (copied once) as bytes on output `id`; throws on failure.
        fn send_output_bytes(sender: &mut Box<OutputSender>, id: &str, data: &[u8]) -> Result<()>;
        /// Sends an Arrow array (copied once) on output `id`; moves the `ArrowArray` and
        /// `ArrowSchema` that `array` and `schema` point to.
        unsafe fn send_arrow_output(
            sender: &mut Box<OutputSender>,
            id: &str,
            array: *mut u8,
            schema: *mut u8,
        ) -> Result<()>;

        /// Lends a writable buffer of `len` bytes (shared memory from 4 KiB on).
        fn allocate_output(sender: &mut Box<OutputSender>, len: usize)
            -> Result<Box<OutputSample>>;
        /// The sample's buffer, to fill in place.
        fn data(self: &mut OutputSample) -> &mut [u8];
        /// The sample's length in bytes.
        fn len(self: &OutputSample) -> usize;
        /// Whether the sample lives in shared memory (receivers map it without copying).
        fn is_shared_memory(self: &OutputSample) -> bool;
        /// Sends a sample as bytes on output `id`, without copying it.
        fn send_allocated_output(
            sender: &mut Box<OutputSender>,
            id: &str,
            sample: Box<OutputSample>,
        ) -> Result<()>;
        /// Sends a sample as the Arrow array described by `array` / `schema`, without copying:
        /// every buffer of the array must lie inside the sample (throws otherwise). Moves the
        /// `ArrowArray` and `ArrowSchema`; their release callbacks are called, the sample's
        /// memory is what receivers see.
        unsafe fn send_allocated_arrow_output(
            sender: &mut Box<OutputSender>,
            id: &str,
            sample: Box<OutputSample>,
            array: *mut u8,
            schema: *mut u8,
        ) -> Result<()>;

        /// Which shared memory region holds `address` in this process: `"<device>:<inode>
        /// <name>"`, equal in every process that maps the region, or an empty string when
        /// the address is not in shared memory. For checking that data was not copied.
        fn shared_memory_region(address: usize) -> String;
    }
}

use dora_node_api::{MetadataParameters, Parameter};
use ffi::{DoraEventType, DoraInput, DoraResult, ParameterType};

/// Errors of the C++ API; cxx turns them into `rust::Error` exceptions with this message.
#[derive(Debug, thiserror::Error)]
pub enum CxxApiError {
    /// An error of the node API.
    #[error(transparent)]
    Node(#[from] dora_node_api::NodeError),
    /// An input was asked of an event of another kind (named).
    #[error("the event is {0}, not an input")]
    NotAnInput(&'static str),
    /// An error was asked of an event of another kind (named).
    #[error("the event is {0}, not an error")]
    NotAnError(&'static str),
    /// Bytes were asked of an input whose array is not `UInt8`.
    #[error("input `{id}` holds a {data_type} array, not bytes (UInt8); use event_as_arrow_input")]
    NotBytes {
        /// The input's id.
        id: String,
        /// The array's type.
        data_type: arrow_schema::DataType,
    },
    /// A metadata parameter the message does not have.
    #[error("the input has no metadata parameter `{key}` (its parameters: {keys})")]
    NoParameter {
        /// The parameter asked for.
        key: String,
        /// The parameters the message has, listed for the message.
        keys: String,
    },
    /// A metadata parameter asked for as another type than it has.
    #[error("metadata parameter `{key}` is {actual}, not {expected}")]
    ParameterType {
        /// The parameter.
        key: String,
        /// The type asked for.
        expected: &'static str,
        /// Its type.
        actual: &'static str,
    },
    /// A pointer argument (named) is `NULL`.
    #[error("argument `{0}` is NULL")]
    Null(&'static str),
    /// An Arrow array is invalid.
    #[error("invalid Arrow array: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Importing Arrow C data interface structs panicked: they are malformed.
    #[error("malformed Arrow C data interface structs (the import panicked)")]
    MalformedArrow,
    /// An Arrow array sent as a sample does not lie inside that sample (why).
    #[error("the Arrow array is not inside the allocated sample: {0}")]
    OutsideSample(String),
}

/// The node's incoming events.
pub struct Events(EventStream);

/// The node's outputs.
pub struct OutputSender(DoraNode);

/// One event; `None` once the stream has ended.
pub struct DoraEvent(Option<Event>);

/// A writable output buffer lent by [`allocate_output`].
pub struct OutputSample(DataSample);

fn init_dora_node() -> Result<ffi::DoraNode, CxxApiError> {
    let (node, events) = DoraNode::init_from_env()?;
    Ok(ffi::DoraNode {
        events: Box::new(Events(events)),
        send_output: Box::new(OutputSender(node)),
    })
}

impl Events {
    fn next(&mut self) -> Box<DoraEvent> {
        Box::new(DoraEvent(self.0.recv()))
    }

    fn next_timeout(&mut self, timeout_ms: u64) -> Box<DoraEvent> {
        Box::new(DoraEvent(
            self.0.recv_timeout(Duration::from_millis(timeout_ms)),
        ))
    }
}

fn next_event(events: &mut Box<Events>) -> Box<DoraEvent> {
    events.next()
}

fn event_name(event: &Option<Event>) -> &'static str {
    match event {
        None => "the end of the event stream",
        Some(Event::Stop) => "a Stop event",
        Some(Event::Input { .. }) => "an Input event",
        Some(Event::InputClosed { .. }) => "an InputClosed event",
        Some(Event::Error(_)) => "an Error event",
        Some(_) => "an unknown event",
    }
}

fn event_type(event: &Box<DoraEvent>) -> DoraEventType {
    match &event.0 {
        None => DoraEventType::AllInputsClosed,
        Some(Event::Stop) => DoraEventType::Stop,
        Some(Event::Input { .. }) => DoraEventType::Input,
        Some(Event::InputClosed { .. }) => DoraEventType::InputClosed,
        Some(Event::Error(_)) => DoraEventType::Error,
        Some(_) => DoraEventType::Unknown,
    }
}

impl DoraEvent {
    fn input_id(&self) -> Result<&str, CxxApiError> {
        match &self.0 {
            Some(Event::Input { id, .. } | Event::InputClosed { id }) => Ok(id.as_str()),
            other => Err(CxxApiError::NotAnInput(event_name(other))),
        }
    }

    fn input_data(&self) -> Result<&[u8], CxxApiError> {
        let Some(Event::Input { id, data, .. }) = &self.0 else {
            return Err(CxxApiError::NotAnInput(event_name(&self.0)));
        };
        if let Some(bytes) = data.as_bytes() {
            return Ok(bytes);
        }
        if data.is_empty() {
            return Ok(&[]);
        }
        Err(CxxApiError::NotBytes {
            id: id.to_string(),
            data_type: data.data_type().clone(),
        })
    }

    fn input_timestamp(&self) -> Result<u64, CxxApiError> {
        match &self.0 {
            Some(Event::Input { metadata, .. }) => Ok(metadata.timestamp().get_time().as_u64()),
            other => Err(CxxApiError::NotAnInput(event_name(other))),
        }
    }

    fn parameters(&self) -> Result<&MetadataParameters, CxxApiError> {
        match &self.0 {
            Some(Event::Input { metadata, .. }) => Ok(&metadata.parameters),
            other => Err(CxxApiError::NotAnInput(event_name(other))),
        }
    }

    fn parameter(&self, key: &str) -> Result<&Parameter, CxxApiError> {
        let parameters = self.parameters()?;
        parameters.get(key).ok_or_else(|| CxxApiError::NoParameter {
            key: key.to_owned(),
            keys: if parameters.is_empty() {
                "none".to_owned()
            } else {
                parameters
                    .keys()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
    }

    /// Parameter `key` as the type `expected`, picked by `pick`.
    fn typed<'a, T>(
        &'a self,
        key: &str,
        expected: ParameterType,
        pick: impl FnOnce(&'a Parameter) -> Option<T>,
    ) -> Result<T, CxxApiError> {
        let parameter = self.parameter(key)?;
        pick(parameter).ok_or_else(|| CxxApiError::ParameterType {
            key: key.to_owned(),
            expected: type_name(expected),
            actual: type_name(parameter_type(parameter)),
        })
    }

    fn input_parameter_keys(&self) -> Result<Vec<String>, CxxApiError> {
        Ok(self.parameters()?.keys().cloned().collect())
    }

    fn input_parameter_type(&self, key: &str) -> Result<ParameterType, CxxApiError> {
        self.parameter(key).map(parameter_type)
    }

    fn input_parameter_bool(&self, key: &str) -> Result<bool, CxxApiError> {
        self.typed(key, ParameterType::Bool, |p| match p {
            Parameter::Bool(value) => Some(*value),
            _ => None,
        })
    }

    fn input_parameter_int(&self, key: &str) -> Result<i64, CxxApiError> {
        self.typed(key, ParameterType::Integer, |p| match p {
            Parameter::Integer(value) => Some(*value),
            _ => None,
        })
    }

    fn input_parameter_float(&self, key: &str) -> Result<f64, CxxApiError> {
        self.typed(key, ParameterType::Float, |p| match p {
            Parameter::Float(value) => Some(*value),
            _ => None,
        })
    }

    fn input_parameter_string(&self, key: &str) -> Result<String, CxxApiError> {
        self.typed(key, ParameterType::String, |p| match p {
            Parameter::String(value) => Some(value.clone()),
            _ => None,
        })
    }

    fn input_parameter_int_list(&self, key: &str) -> Result<Vec<i64>, CxxApiError> {
        self.typed(key, ParameterType::ListInt, |p| match p {
            Parameter::ListInt(value) => Some(value.clone()),
            _ => None,
        })
    }

    fn input_parameter_float_list(&self, key: &str) -> Result<Vec<f64>, CxxApiError> {
        self.typed(key, ParameterType::ListFloat, |p| match p {
            Parameter::ListFloat(value) => Some(value.clone()),
            _ => None,
        })
    }

    fn input_parameter_string_list(&self, key: &str) -> Result<Vec<String>, CxxApiError> {
        self.typed(key, ParameterType::ListString, |p| match p {
            Parameter::ListString(value) => Some(value.clone()),
            _ => None,
        })
    }

    fn error_message(&self) -> Result<&str, CxxApiError> {
        match &self.0 {
            Some(Event::Error(message)) => Ok(message),
            other => Err(CxxApiError::NotAnError(event_name(other))),
        }
    }
}

fn parameter_type(parameter: &Parameter) -> ParameterType {
    match parameter {
        Parameter::Bool(_) => ParameterType::Bool,
        Parameter::Integer(_) => ParameterType::Integer,
        Parameter::Float(_) => ParameterType::Float,
        Parameter::String(_) => ParameterType::String,
        Parameter::ListInt(_) => ParameterType::ListInt,
        Parameter::ListFloat(_) => ParameterType::ListFloat,
        Parameter::ListString(_) => ParameterType::ListString,
    }
}

fn type_name(kind: ParameterType) -> &'static str {
    match kind {
        ParameterType::Bool => "a bool",
        ParameterType::Integer => "an integer",
        ParameterType::Float => "a float",
        ParameterType::String => "a string",
        ParameterType::ListInt => "a list of integers",
        ParameterType::ListFloat => "a list of floats",
        ParameterType::ListString => "a list of strings",
        _ => "of an unknown type",
    }
}

fn event_as_input(event: Box<DoraEvent>) -> Result<DoraInput, CxxApiError> {
    let data = event.input_data()?.to_vec();
    Ok(DoraInput {
        id: event.input_id()?.to_owned(),
        data,
        timestamp: event.input_timestamp()?,
    })
}

/// # Safety
/// `out_array` / `out_schema` point to writable `ArrowArray` / `ArrowSchema` structs whose
/// previous contents (if any) were released: they are overwritten, not released.
unsafe fn event_as_arrow_input(
    event: &Box<DoraEvent>,
    out_array: *mut u8,
    out_schema: *mut u8,
) -> Result<(), CxxApiError> {
    let Some(Event::Input { data, .. }) = &event.0 else {
        return Err(CxxApiError::NotAnInput(event_name(&event.0)));
    };
    if out_array.is_null() {
        return Err(CxxApiError::Null("out_array"));
    }
    if out_schema.is_null() {
        return Err(CxxApiError::Null("out_schema"));
    }
    // The exported array keeps its own reference to the data: the event may be dropped first.
    let (array, schema) = to_ffi(&data.to_data())?;
    // SAFETY: both pointers are non-NULL and, by the contract, valid for writes.
    unsafe {
        std::ptr::write(out_array.cast::<FFI_ArrowArray>(), array);
        std::ptr::write(out_schema.cast::<FFI_ArrowSchema>(), schema);
    }
    Ok(())
}

/// Moves the C structs into Rust and imports the array (no copy of its buffers).
///
/// # Safety
/// `array` / `schema` are NULL or point to valid, unreleased Arrow C data interface structs.
unsafe fn import_arrow(array: *mut u8, schema: *mut u8) -> Result<ArrayData, CxxApiError> {
    if array.is_null() {
        return Err(CxxApiError::Null("array"));
    }
    if schema.is_null() {
        return Err(CxxApiError::Null("schema"));
    }
    // SAFETY: non-NULL and valid by the contract; `from_raw` leaves them marked released.
    let (array, schema) = unsafe {
        (
            FFI_ArrowArray::from_raw(array.cast()),
            FFI_ArrowSchema::from_raw(schema.cast()),
        )
    };
    // arrow-rs trusts the producer (it skips validation and asserts on some malformed
    // inputs): validate here and turn a panic into an error, so bad arrays from C++ are
    // reported, never undefined behaviour in Rust or an abort.
    let imported = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the structs follow the C data interface by the contract.
        let data = unsafe { from_ffi(array, &schema) }?;
        data.validate_data()?;
        Ok::<_, arrow_schema::ArrowError>(data)
    }));
    match imported {
        Ok(data) => Ok(data?),
        Err(_) => Err(CxxApiError::MalformedArrow),
    }
}

fn send_output(sender: &mut Box<OutputSender>, id: &str, data: &[u8]) -> DoraResult {
    DoraResult {
        error: match send_output_bytes(sender, id, data) {
            Ok(()) => String::new(),
            Err(error) => error.to_string(),
        },
    }
}

fn send_output_bytes(
    sender: &mut Box<OutputSender>,
    id: &str,
    data: &[u8],
) -> Result<(), CxxApiError> {
    Ok(sender
        .0
        .send_output_bytes(id.into(), Default::default(), data.len(), data)?)
}

/// # Safety
/// See [`import_arrow`].
unsafe fn send_arrow_output(
    sender: &mut Box<OutputSender>,
    id: &str,
    array: *mut u8,
    schema: *mut u8,
) -> Result<(), CxxApiError> {
    // SAFETY: by the contract.
    let data = unsafe { import_arrow(array, schema) }?;
    Ok(sender
        .0
        .send_output(id.into(), Default::default(), make_array(data))?)
}

fn allocate_output(
    sender: &mut Box<OutputSender>,
    len: usize,
) -> Result<Box<OutputSample>, CxxApiError> {
    Ok(Box::new(OutputSample(sender.0.allocate_data_sample(len)?)))
}

impl OutputSample {
    fn data(&mut self) -> &mut [u8] {
        &mut self.0
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_shared_memory(&self) -> bool {
        self.0.len() >= dora_message::ZERO_COPY_THRESHOLD
    }
}

fn send_allocated_output(
    sender: &mut Box<OutputSender>,
    id: &str,
    sample: Box<OutputSample>,
) -> Result<(), CxxApiError> {
    let len = sample.0.len();
    Ok(sender.0.send_output_sample(
        id.into(),
        ArrowTypeInfo::byte_array(len),
        Default::default(),
        Some(sample.0),
    )?)
}

/// # Safety
/// See [`import_arrow`].
unsafe fn send_allocated_arrow_output(
    sender: &mut Box<OutputSender>,
    id: &str,
    sample: Box<OutputSample>,
    array: *mut u8,
    schema: *mut u8,
) -> Result<(), CxxApiError> {
    // SAFETY: by the contract.
    let data = unsafe { import_arrow(array, schema) }?;
    let type_info = layout_within(&sample.0, &data).map_err(CxxApiError::OutsideSample)?;
    // Releases the C structs; the payload stays in the sample.
    drop(data);
    Ok(sender
        .0
        .send_output_sample(id.into(), type_info, Default::default(), Some(sample.0))?)
}
