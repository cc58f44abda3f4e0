//! The operator ABI: the C types and entry points that `dora runtime` loads from an operator
//! library, whatever language it was written in.
//!
//! This module is the Rust mirror of `cpp/include/dora/operator_api.h`; the two must stay
//! identical (field order, types, sizes). Version: [`DORA_OPERATOR_API_VERSION`].
//!
//! # Entry points (exported by the operator library, unmangled)
//!
//! - `DoraInitResult_t dora_init_operator(void)`: creates one operator instance and returns
//!   its context pointer (opaque to the runtime), or an error.
//! - `OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
//!   void *operator_context)`: handles one event; may call the `send_output` callback any
//!   number of times *during the call* (never after it returned, never from another thread).
//! - `DoraResult_t dora_drop_operator(void *operator_context)`: destroys the instance.
//!
//! The runtime calls them on one thread per operator instance, never concurrently for one
//! instance. A library may be loaded once and instantiated several times.
//!
//! # Ownership across the boundary
//!
//! - **Errors** ([`DoraResult::error`]): `NULL` means success; otherwise a [`VecU8`]
//!   allocated with C `malloc` whose `ptr` is a `malloc`ed buffer holding the message's `len`
//!   bytes, as in dora-rs v0.3.6 (`Vec_uint8_t *`). Ownership moves with the value: the
//!   runtime frees (C `free`) the errors operators return, the operator frees (or returns)
//!   the errors `send_output` gives it. Errors made here are NUL-terminated as well.
//! - **Events**: everything an event points to (ids, bytes, Arrow structures) is owned by the
//!   runtime and valid only until `dora_on_event` returns; `input_closed` and `error` are
//!   [`VecU8`]s with a `NULL` `ptr` when not set. The operator may *move* the Arrow
//!   array and schema out (copy the struct, then set the original's `release` to `NULL`), as
//!   the Arrow C data interface allows; it then owns them and must call their `release`.
//! - **Outputs**: the `Output_t` and its id/bytes are borrowed for the duration of the
//!   `send_output` call. If `data_array` is set, the runtime moves the Arrow array and schema
//!   out (it sets their `release` to `NULL`); otherwise it copies `data_len` bytes from `data`.
//!   Arrow arrays an operator exports may be kept by the runtime after the call, so libraries
//!   are never unloaded while the runtime runs.
//! - **Panics / exceptions** must not unwind across these functions: Rust operators built
//!   with [`crate::register_operator`] catch panics and return them as errors; C++ operators
//!   must catch exceptions.

use std::ffi::{c_char, c_void, CStr};

pub use arrow_data::ffi::FFI_ArrowArray;
pub use arrow_schema::ffi::FFI_ArrowSchema;

/// Version of this ABI (`DORA_OPERATOR_API_VERSION` in the C header). 2: errors and the
/// `input_closed`/`error` event fields are `Vec_uint8_t`, as in dora-rs v0.3.6.
pub const DORA_OPERATOR_API_VERSION: u32 = 2;

/// Symbol names the runtime looks up.
pub const INIT_SYMBOL: &[u8] = b"dora_init_operator";
/// The `dora_on_event` symbol.
pub const ON_EVENT_SYMBOL: &[u8] = b"dora_on_event";
/// The `dora_drop_operator` symbol.
pub const DROP_SYMBOL: &[u8] = b"dora_drop_operator";

/// `Vec_uint8_t`: `len` bytes at `ptr`, in a buffer of `cap` bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VecU8 {
    /// The first byte, or `NULL` when not set.
    pub ptr: *mut u8,
    /// Number of bytes (without a terminating NUL).
    pub len: usize,
    /// Size of the buffer at `ptr`.
    pub cap: usize,
}

impl VecU8 {
    /// Not set: a `NULL` `ptr`.
    pub const NONE: VecU8 = VecU8 {
        ptr: std::ptr::null_mut(),
        len: 0,
        cap: 0,
    };

    /// The bytes of `text`, borrowed (NUL-terminated: `cap` counts the NUL).
    pub fn borrowed(text: &CStr) -> Self {
        let bytes = text.to_bytes_with_nul();
        VecU8 {
            ptr: bytes.as_ptr().cast_mut(),
            len: bytes.len() - 1,
            cap: bytes.len(),
        }
    }

    /// The bytes, or `None` when `ptr` is `NULL`.
    ///
    /// # Safety
    /// A non-`NULL` `ptr` points to `len` readable bytes that outlive the returned slice.
    pub unsafe fn bytes<'a>(&self) -> Option<&'a [u8]> {
        if self.ptr.is_null() {
            return None;
        }
        // SAFETY: per the contract above.
        Some(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }
}

/// `DoraResult_t`: success (`error == NULL`) or a `malloc`ed [`VecU8`] holding the message
/// in a `malloc`ed buffer.
#[repr(C)]
#[derive(Debug)]
pub struct DoraResult {
    /// `NULL` on success, else the error (see the module docs for who frees it).
    pub error: *mut VecU8,
}

impl DoraResult {
    /// Success.
    pub const SUCCESS: DoraResult = DoraResult {
        error: std::ptr::null_mut(),
    };

    /// An error result holding a `malloc`ed, NUL-terminated copy of `message`. Only when
    /// `malloc` fails for the [`VecU8`] itself is the result a success.
    pub fn from_error(message: &str) -> Self {
        // SAFETY: malloc has no preconditions; the result is checked.
        let error = unsafe { libc::malloc(std::mem::size_of::<VecU8>()) }.cast::<VecU8>();
        if error.is_null() {
            return DoraResult::SUCCESS;
        }
        let bytes = malloc_bytes(message.as_bytes());
        let vec = match bytes {
            Some(ptr) => VecU8 {
                ptr,
                len: message.len(),
                cap: message.len() + 1,
            },
            None => VecU8::NONE,
        };
        // SAFETY: `error` is a fresh allocation of the right size and alignment (malloc
        // aligns for every fundamental type).
        unsafe { error.write(vec) };
        Self { error }
    }

    /// Takes the error out of the result, freeing it. An error without bytes (`ptr` `NULL`)
    /// becomes `(no message)`.
    ///
    /// # Safety
    /// `error` must be `NULL` or a `VecU8` allocated with C `malloc` whose `ptr` is `NULL` or
    /// a `malloc`ed buffer of at least `len` bytes, and nothing else may own them.
    pub unsafe fn into_result(self) -> Result<(), String> {
        if self.error.is_null() {
            return Ok(());
        }
        // SAFETY: per the contract above.
        let vec = unsafe { self.error.read() };
        // SAFETY: as above.
        let message = match unsafe { vec.bytes() } {
            Some(bytes) if !bytes.is_empty() => String::from_utf8_lossy(bytes).into_owned(),
            _ => "(no message)".to_owned(),
        };
        // SAFETY: both were allocated with malloc and are owned by us now.
        unsafe {
            libc::free(vec.ptr.cast());
            libc::free(self.error.cast());
        }
        Err(message)
    }
}

/// `DoraInitResult_t`.
#[repr(C)]
#[derive(Debug)]
pub struct DoraInitResult {
    /// Success, or why the operator could not be created.
    pub result: DoraResult,
    /// The new instance, passed back to `dora_on_event` and `dora_drop_operator`.
    pub operator_context: *mut c_void,
}

/// `OnEventResult_t`. `status` is a `DoraStatus_t` (`uint8_t`): 0 continue, 1 stop this
/// operator, 2 stop the whole node. Other values are an error.
#[repr(C)]
#[derive(Debug)]
pub struct OnEventResult {
    /// Success, or why handling the event failed.
    pub result: DoraResult,
    /// What the runtime does next (see above).
    pub status: u8,
}

/// `Metadata_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Metadata {
    /// When the message was sent: nanoseconds since the UNIX epoch (from the sender's hybrid
    /// logical clock).
    pub timestamp_ns: u64,
}

/// `Input_t`: one received message.
#[repr(C)]
#[derive(Debug)]
pub struct Input {
    /// The operator's input id (without the `operator/` prefix), NUL-terminated.
    pub id: *const c_char,
    /// The payload's bytes when it is a `UInt8` array without nulls, else `NULL`.
    pub data: *const u8,
    /// Length of `data` in bytes.
    pub data_len: usize,
    /// The payload through the Arrow C data interface (may be moved out, see module docs).
    pub data_array: *mut FFI_ArrowArray,
    /// The schema of `data_array`.
    pub schema: *mut FFI_ArrowSchema,
    /// When the message was sent.
    pub metadata: Metadata,
}

/// `RawEvent_t`: exactly one of `input`, `input_closed`, `stop`, `error` is set.
#[repr(C)]
#[derive(Debug)]
pub struct RawEvent {
    /// A received message, or `NULL`.
    pub input: *mut Input,
    /// The id of an input that will receive no more messages (`ptr` `NULL` when not set).
    pub input_closed: VecU8,
    /// The dataflow is stopping: finish up and return.
    pub stop: bool,
    /// An error the runtime reports to the operator, informational (`ptr` `NULL` when not
    /// set).
    pub error: VecU8,
}

/// `Output_t`: a message to send.
#[repr(C)]
#[derive(Debug)]
pub struct Output {
    /// The operator's output id (without the `operator/` prefix), NUL-terminated.
    pub id: *const c_char,
    /// Raw bytes to send as a `UInt8` array; used when `data_array` is `NULL`.
    pub data: *const u8,
    /// Length of `data` in bytes.
    pub data_len: usize,
    /// An Arrow array to send (moved out by the runtime), or `NULL`.
    pub data_array: *mut FFI_ArrowArray,
    /// The schema of `data_array`, or `NULL`.
    pub schema: *mut FFI_ArrowSchema,
}

/// The send callback inside [`SendOutput`].
pub type SendOutputCall =
    unsafe extern "C" fn(env_ptr: *mut c_void, output: *mut Output) -> DoraResult;

/// `ArcDynFn1_DoraResult_Output_t` in spirit: a callback plus its environment.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SendOutputFn {
    /// The environment passed back to `call`.
    pub env_ptr: *mut c_void,
    /// The function to call.
    pub call: SendOutputCall,
}

/// `SendOutput_t`: how an operator sends, valid during `dora_on_event` only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SendOutput {
    /// The callback.
    pub send_output: SendOutputFn,
}

/// `dora_init_operator`.
pub type DoraInitOperator = unsafe extern "C" fn() -> DoraInitResult;
/// `dora_drop_operator`.
pub type DoraDropOperator = unsafe extern "C" fn(operator_context: *mut c_void) -> DoraResult;
/// `dora_on_event`.
pub type DoraOnEvent = unsafe extern "C" fn(
    event: *mut RawEvent,
    send_output: *const SendOutput,
    operator_context: *mut c_void,
) -> OnEventResult;

/// A `malloc`ed copy of `bytes` followed by a NUL; `None` when `malloc` fails.
fn malloc_bytes(bytes: &[u8]) -> Option<*mut u8> {
    // SAFETY: malloc has no preconditions; the result is checked.
    let ptr = unsafe { libc::malloc(bytes.len() + 1) }.cast::<u8>();
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` has room for `bytes.len() + 1` bytes and does not overlap `bytes`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        ptr.add(bytes.len()).write(0);
    }
    Some(ptr)
}
