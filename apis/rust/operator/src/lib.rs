//! The Rust API of a dora operator.
//!
//! An operator is a piece of logic that `dora runtime` hosts inside one node process, next to
//! other operators, instead of paying a process of its own. A Rust operator is a `cdylib`
//! crate with a type implementing [`DoraOperator`] and one [`register_operator!`] line:
//!
//! ```
//! use dora_operator_api::{
//!     arrow::array::StringArray, register_operator, DoraOperator, DoraOutputSender, DoraStatus,
//!     Event,
//! };
//!
//! #[derive(Default)]
//! struct Counter {
//!     count: u64,
//! }
//!
//! impl DoraOperator for Counter {
//!     fn on_event(
//!         &mut self,
//!         event: &Event,
//!         output_sender: &mut DoraOutputSender,
//!     ) -> Result<DoraStatus, String> {
//!         if let Event::Input { id, .. } = event {
//!             self.count += 1;
//!             let text = format!("{id} #{}", self.count);
//!             output_sender.send("status".into(), StringArray::from(vec![text]))?;
//!         }
//!         Ok(DoraStatus::Continue)
//!     }
//! }
//!
//! register_operator!(Counter);
//! ```
//!
//! # Lifecycle
//!
//! The runtime creates the operator with [`Default::default`] when the dataflow starts, then
//! calls [`DoraOperator::on_event`] once per event, always on the same thread:
//!
//! - [`Event::Input`] for each message on one of the operator's inputs;
//! - [`Event::InputClosed`] when an input will receive nothing more; once every input of the
//!   operator closed, the operator is finished and dropped;
//! - [`Event::Stop`] when the dataflow stops; the operator is dropped after handling it.
//!
//! Returning [`DoraStatus::Stop`] finishes this operator (its outputs close);
//! [`DoraStatus::StopAll`] stops the whole node. Returning `Err` or panicking fails the node:
//! `dora runtime` exits with an error that names the operator. Panics never unwind into the
//! runtime: the generated entry points catch them and report the panic message.
//!
//! # Outputs
//!
//! [`DoraOutputSender::send`] sends an Arrow array on one of the operator's outputs (as
//! declared in the dataflow, without the `operator/` prefix). Other nodes address it as
//! `node/operator/output`. The sender is only valid during `on_event`.
//!
//! # ABI
//!
//! [`register_operator!`] exports the C entry points of [`raw`] (`dora_init_operator`,
//! `dora_on_event`, `dora_drop_operator`), the same ABI a C operator implements with
//! `dora/operator_api.h`, so one loader serves both.

use std::{
    any::Any,
    ffi::{c_void, CStr, CString},
    ops::Deref,
    panic::{catch_unwind, AssertUnwindSafe},
    time::{Duration, SystemTime},
};

use arrow_array::{Array, ArrayRef, StringArray, UInt8Array};

pub mod raw;

use raw::{DoraInitResult, DoraResult, OnEventResult, RawEvent, SendOutput};

/// The Arrow crates the API uses, re-exported so operators build against the same versions.
pub mod arrow {
    pub use arrow_array as array;
    pub use arrow_buffer as buffer;
    pub use arrow_data as data;
    pub use arrow_schema as schema;
}

/// What the operator wants after handling an event.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoraStatus {
    /// Keep running.
    Continue = 0,
    /// Finish this operator; the others keep running.
    Stop = 1,
    /// Stop the whole node (every operator of this runtime).
    StopAll = 2,
}

/// Information about a received message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metadata {
    /// When the message was sent, in nanoseconds since the UNIX epoch.
    pub timestamp_ns: u64,
}

impl Metadata {
    /// When the message was sent.
    pub fn timestamp(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.timestamp_ns)
    }
}

/// The data of an input: an Arrow array (dereferences to [`ArrayRef`]).
#[derive(Debug, Clone)]
pub struct ArrowData(pub ArrayRef);

impl ArrowData {
    /// The payload as bytes, when it is a `UInt8` array without nulls. Borrowed, not copied.
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

impl<'a> TryFrom<&'a ArrowData> for &'a [u8] {
    type Error = String;
    fn try_from(data: &'a ArrowData) -> Result<Self, String> {
        data.as_bytes().ok_or_else(|| {
            format!(
                "expected a UInt8 array without nulls, got {}",
                data.0.data_type()
            )
        })
    }
}

impl TryFrom<&ArrowData> for Vec<u8> {
    type Error = String;
    fn try_from(data: &ArrowData) -> Result<Self, String> {
        <&[u8]>::try_from(data).map(<[u8]>::to_vec)
    }
}

/// A string: a `Utf8` array of one non-null element, or UTF-8 bytes in a `UInt8` array.
impl<'a> TryFrom<&'a ArrowData> for &'a str {
    type Error = String;
    fn try_from(data: &'a ArrowData) -> Result<Self, String> {
        if let Some(strings) = data.0.as_any().downcast_ref::<StringArray>() {
            return match strings.len() {
                1 if strings.is_valid(0) => Ok(strings.value(0)),
                len => Err(format!(
                    "expected a string array of one non-null value, got {len} values"
                )),
            };
        }
        let bytes = <&[u8]>::try_from(data)
            .map_err(|_| format!("expected a string, got {}", data.0.data_type()))?;
        std::str::from_utf8(bytes).map_err(|err| format!("payload is not UTF-8: {err}"))
    }
}

impl TryFrom<&ArrowData> for String {
    type Error = String;
    fn try_from(data: &ArrowData) -> Result<Self, String> {
        <&str>::try_from(data).map(str::to_owned)
    }
}

/// An event for an operator.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A message on input `id`.
    Input {
        /// The input's id (without the `operator/` prefix).
        id: &'a str,
        /// The message's metadata.
        metadata: Metadata,
        /// The message.
        data: ArrowData,
    },
    /// A message arrived on input `id` whose Arrow data could not be imported.
    InputParseError {
        /// The input's id.
        id: &'a str,
        /// Why the import failed.
        error: String,
    },
    /// Input `id` will receive no more messages.
    InputClosed {
        /// The input's id.
        id: &'a str,
    },
    /// The dataflow is stopping.
    Stop,
    /// An error the runtime reports (informational).
    Error(&'a str),
}

/// The operator logic. See the [crate docs](crate) for the lifecycle.
pub trait DoraOperator: Default {
    /// Handles one event. `output_sender` sends on the operator's outputs during this call.
    fn on_event(
        &mut self,
        event: &Event,
        output_sender: &mut DoraOutputSender,
    ) -> Result<DoraStatus, String>;
}

/// Sends the outputs of an operator; valid during [`DoraOperator::on_event`].
pub struct DoraOutputSender<'a>(&'a SendOutput);

impl DoraOutputSender<'_> {
    /// Sends `data` on output `id` (as declared for this operator in the dataflow).
    pub fn send(&mut self, id: String, data: impl Array) -> Result<(), String> {
        let (mut array, mut schema) = arrow_array::ffi::to_ffi(&data.to_data())
            .map_err(|err| format!("cannot export output `{id}` as Arrow: {err}"))?;
        let id = c_id(id)?;
        let mut output = raw::Output {
            id: id.as_ptr(),
            data: std::ptr::null(),
            data_len: 0,
            data_array: &mut array,
            schema: &mut schema,
        };
        self.call(&mut output)
        // `array` and `schema` are dropped here; if the runtime moved them out their
        // `release` is NULL and dropping them does nothing.
    }

    /// Sends raw bytes (a `UInt8` array) on output `id`.
    pub fn send_bytes(&mut self, id: &str, data: &[u8]) -> Result<(), String> {
        let id = c_id(id.to_owned())?;
        let mut output = raw::Output {
            id: id.as_ptr(),
            data: data.as_ptr(),
            data_len: data.len(),
            data_array: std::ptr::null_mut(),
            schema: std::ptr::null_mut(),
        };
        self.call(&mut output)
    }

    fn call(&mut self, output: &mut raw::Output) -> Result<(), String> {
        let send = self.0.send_output;
        // SAFETY: the runtime guarantees the callback and its environment are valid during
        // `on_event`, which borrows `self`; `output` and what it points to outlive the call.
        let result = unsafe { (send.call)(send.env_ptr, output) };
        // SAFETY: errors from the runtime are malloc'ed strings we now own.
        unsafe { result.into_result() }
    }
}

fn c_id(id: String) -> Result<CString, String> {
    CString::new(id).map_err(|err| format!("output id contains a NUL byte: {err}"))
}

/// Exports the C entry points of the operator ABI for `$operator` (a type implementing
/// [`DoraOperator`]). Use it once per `cdylib` crate.
#[macro_export]
macro_rules! register_operator {
    ($operator:ty) => {
        /// Creates the operator (dora operator ABI).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn dora_init_operator() -> $crate::raw::DoraInitResult {
            $crate::__private::init::<$operator>()
        }

        /// Drops the operator (dora operator ABI).
        ///
        /// # Safety
        /// `operator_context` must come from `dora_init_operator` and not be used afterwards.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn dora_drop_operator(
            operator_context: *mut ::std::ffi::c_void,
        ) -> $crate::raw::DoraResult {
            unsafe { $crate::__private::drop::<$operator>(operator_context) }
        }

        /// Handles one event (dora operator ABI).
        ///
        /// # Safety
        /// The pointers must be valid as the operator ABI describes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn dora_on_event(
            event: *mut $crate::raw::RawEvent,
            send_output: *const $crate::raw::SendOutput,
            operator_context: *mut ::std::ffi::c_void,
        ) -> $crate::raw::OnEventResult {
            unsafe {
                $crate::__private::on_event::<$operator>(event, send_output, operator_context)
            }
        }
    };
}

/// What [`register_operator!`] expands to call. Not a public API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    /// The text of a panic payload.
    fn panic_message(payload: &(dyn Any + Send)) -> String {
        if let Some(text) = payload.downcast_ref::<&str>() {
            (*text).to_owned()
        } else if let Some(text) = payload.downcast_ref::<String>() {
            text.clone()
        } else {
            "(panic payload is not a string)".to_owned()
        }
    }

    pub fn init<O: DoraOperator>() -> DoraInitResult {
        match catch_unwind(|| Box::new(O::default())) {
            Ok(operator) => DoraInitResult {
                result: DoraResult::SUCCESS,
                operator_context: Box::into_raw(operator).cast(),
            },
            Err(payload) => DoraInitResult {
                result: DoraResult::from_error(&format!(
                    "panicked while initializing: {}",
                    panic_message(&*payload)
                )),
                operator_context: std::ptr::null_mut(),
            },
        }
    }

    /// # Safety
    /// `context` is `NULL` or a pointer returned by [`init::<O>`], not used afterwards.
    pub unsafe fn drop<O: DoraOperator>(context: *mut c_void) -> DoraResult {
        if context.is_null() {
            return DoraResult::SUCCESS;
        }
        // SAFETY: per the contract, `context` is a `Box<O>` we created.
        let operator = unsafe { Box::from_raw(context.cast::<O>()) };
        match catch_unwind(AssertUnwindSafe(move || std::mem::drop(operator))) {
            Ok(()) => DoraResult::SUCCESS,
            Err(payload) => DoraResult::from_error(&format!(
                "panicked while being dropped: {}",
                panic_message(&*payload)
            )),
        }
    }

    /// # Safety
    /// `event` and `send_output` are valid for the call (see [`raw`]); `context` comes from
    /// [`init::<O>`] and is not used by another thread during the call.
    pub unsafe fn on_event<O: DoraOperator>(
        event: *mut RawEvent,
        send_output: *const SendOutput,
        context: *mut c_void,
    ) -> OnEventResult {
        let fail = |message: String| OnEventResult {
            result: DoraResult::from_error(&message),
            status: DoraStatus::Continue as u8,
        };
        if event.is_null() || send_output.is_null() || context.is_null() {
            return fail("dora_on_event called with a NULL pointer".into());
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: non-NULL and valid per the contract.
            let (operator, event, send_output) =
                unsafe { (&mut *context.cast::<O>(), &mut *event, &*send_output) };
            // SAFETY: the event's pointers are valid during the call.
            let event = unsafe { convert_event(event) }?;
            operator.on_event(&event, &mut DoraOutputSender(send_output))
        }));
        match outcome {
            Ok(Ok(status)) => OnEventResult {
                result: DoraResult::SUCCESS,
                status: status as u8,
            },
            Ok(Err(error)) => fail(error),
            Err(payload) => fail(format!("panicked: {}", panic_message(&*payload))),
        }
    }

    /// # Safety
    /// The C strings and Arrow structures `event` points to are valid.
    unsafe fn convert_event(event: &mut RawEvent) -> Result<Event<'_>, String> {
        // SAFETY: callers pass valid NUL-terminated strings.
        let text = |ptr: *const std::ffi::c_char| unsafe { CStr::from_ptr(ptr) }.to_str();
        if !event.input.is_null() {
            // SAFETY: non-NULL, valid during the call.
            let input = unsafe { &mut *event.input };
            if input.id.is_null() {
                return Err("input event without an id".into());
            }
            let id = text(input.id).map_err(|err| format!("input id is not UTF-8: {err}"))?;
            let metadata = Metadata {
                timestamp_ns: input.metadata.timestamp_ns,
            };
            if input.data_array.is_null() || input.schema.is_null() {
                return Ok(Event::InputParseError {
                    id,
                    error: "the input carries no Arrow array".into(),
                });
            }
            // Move the array out (the runtime then sees a released array) and import it.
            // SAFETY: both pointers are valid Arrow C data structures owned by the runtime,
            // which allows moving the array out.
            let imported = unsafe {
                let array = std::ptr::replace(input.data_array, raw::FFI_ArrowArray::empty());
                arrow_array::ffi::from_ffi(array, &*input.schema)
            };
            return Ok(match imported {
                Ok(data) => Event::Input {
                    id,
                    metadata,
                    data: ArrowData(arrow_array::make_array(data)),
                },
                Err(err) => Event::InputParseError {
                    id,
                    error: err.to_string(),
                },
            });
        }
        // SAFETY: set fields point to `len` bytes valid during the call.
        if let Some(bytes) = unsafe { event.input_closed.bytes() } {
            let id = std::str::from_utf8(bytes)
                .map_err(|err| format!("input id is not UTF-8: {err}"))?;
            return Ok(Event::InputClosed { id });
        }
        if event.stop {
            return Ok(Event::Stop);
        }
        // SAFETY: as above.
        if let Some(bytes) = unsafe { event.error.bytes() } {
            return Ok(Event::Error(
                std::str::from_utf8(bytes).unwrap_or("(not UTF-8)"),
            ));
        }
        Err("empty event".into())
    }
}
