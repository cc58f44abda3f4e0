//! The C API of dora nodes: the functions declared in `cpp/include/dora/node_api.h`.
//!
//! It keeps the function set and signatures of dora-rs v0.3.6 so that existing C nodes build
//! unchanged, and adds a zero-copy output pair ([`dora_allocate_output`] /
//! [`dora_send_allocated_output`]) and [`dora_last_error`].
//!
//! # Guarantees at the boundary
//!
//! - No function unwinds into C or aborts on bad arguments: NULL pointers, handles that are
//!   not (or no longer) live contexts, unknown outputs and reads from the wrong kind of event
//!   are reported as a negative error code (or a NULL/zero result for the v0.3.6 functions
//!   that return no code), with a message in [`dora_last_error`]. Panics inside the library
//!   are caught and reported as [`DORA_ERR_PANIC`].
//! - Context handles are never reused: calling a function with a freed context is an error
//!   ([`DORA_ERR_INVALID_HANDLE`]), not undefined behaviour. Contexts may be used from several
//!   threads: waiting for an event does not block sending.
//! - Events and samples are plain heap objects: passing a pointer that is not a live event or
//!   sample (other than NULL) is undefined behaviour, as for `free(3)`. A tag in each object
//!   catches most mix-ups (a sample passed as an event, an event freed twice while its memory
//!   is still mapped) but cannot catch all.

use std::{
    cell::RefCell,
    collections::HashMap,
    ffi::{c_char, c_int, c_ulonglong, c_void, CString},
    panic::{catch_unwind, AssertUnwindSafe},
    ptr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, LazyLock, Mutex, MutexGuard, RwLock,
    },
};

use dora_node_api::{
    arrow::{
        array::{Array, UInt8Array},
        schema::DataType,
    },
    ArrowTypeInfo, DataSample, DoraNode, Event, EventStream, NodeError,
};

/// Success.
pub const DORA_OK: c_int = 0;
/// A required pointer argument was NULL.
pub const DORA_ERR_NULL_ARGUMENT: c_int = -1;
/// The context is not a live context (never created, or already freed).
pub const DORA_ERR_INVALID_HANDLE: c_int = -2;
/// An argument is malformed: an id that is not UTF-8, a sample of another context.
pub const DORA_ERR_INVALID_ARGUMENT: c_int = -3;
/// The event is not of the kind the function reads (for example input data of a Stop event).
pub const DORA_ERR_WRONG_EVENT_TYPE: c_int = -4;
/// The input's Arrow type cannot be read as bytes.
pub const DORA_ERR_UNSUPPORTED_DATA_TYPE: c_int = -5;
/// The output id is not an output of this node in the dataflow.
pub const DORA_ERR_UNKNOWN_OUTPUT: c_int = -6;
/// The output was closed.
pub const DORA_ERR_OUTPUT_CLOSED: c_int = -7;
/// A shared memory region could not be created or mapped.
pub const DORA_ERR_SHARED_MEMORY: c_int = -8;
/// The node could not join the dataflow or talk to the daemon or its receivers.
pub const DORA_ERR_NODE: c_int = -9;
/// The library panicked; the message says where. The context stays usable where it can.
pub const DORA_ERR_PANIC: c_int = -10;

/// Kind of an event, as returned by [`read_dora_event_type`] (v0.3.6 values).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoraEventType {
    /// The dataflow is stopping.
    Stop = 0,
    /// A message on an input.
    Input = 1,
    /// An input will receive no more messages.
    InputClosed = 2,
    /// Receiving failed; the event holds the message.
    Error = 3,
    /// An event kind this API does not know.
    Unknown = 4,
}

/// Everything a call can report.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("argument `{0}` is NULL")]
    Null(&'static str),
    #[error("the context is not live: it was never returned by init_dora_context_from_env or was already freed")]
    InvalidContext,
    #[error("the {0} pointer is not a live dora {0} (freed already, or another kind of object)")]
    InvalidObject(&'static str),
    #[error("argument `{0}` is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("the sample was allocated by another dora context")]
    ForeignSample,
    #[error("the event is {0}, not an input")]
    NotAnInput(&'static str),
    #[error("the event is {0}, not an error")]
    NotAnError(&'static str),
    #[error("input `{id}` holds a {data_type} array; only UInt8 (bytes) and Null arrays can be read as bytes")]
    NotBytes { id: String, data_type: DataType },
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("panic inside the dora library: {0}")]
    Panic(String),
}

impl ApiError {
    fn code(&self) -> c_int {
        match self {
            ApiError::Null(_) => DORA_ERR_NULL_ARGUMENT,
            ApiError::InvalidContext | ApiError::InvalidObject(_) => DORA_ERR_INVALID_HANDLE,
            ApiError::NotUtf8(_) | ApiError::ForeignSample => DORA_ERR_INVALID_ARGUMENT,
            ApiError::NotAnInput(_) | ApiError::NotAnError(_) => DORA_ERR_WRONG_EVENT_TYPE,
            ApiError::NotBytes { .. } => DORA_ERR_UNSUPPORTED_DATA_TYPE,
            ApiError::Node(NodeError::UnknownOutput { .. }) => DORA_ERR_UNKNOWN_OUTPUT,
            ApiError::Node(NodeError::OutputClosed(_)) => DORA_ERR_OUTPUT_CLOSED,
            ApiError::Node(NodeError::SharedMemory(_)) => DORA_ERR_SHARED_MEMORY,
            ApiError::Node(_) => DORA_ERR_NODE,
            ApiError::Panic(_) => DORA_ERR_PANIC,
        }
    }
}

thread_local! {
    /// The message of the last failed call on this thread; `None` after a successful one.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(error: Option<&ApiError>) {
    let message = error.map(|error| {
        let text = error.to_string().replace('\0', "\\0");
        CString::new(text).unwrap_or_default()
    });
    LAST_ERROR.with(|last| *last.borrow_mut() = message);
}

/// Runs `body` at the FFI boundary: records its error (or clears the last one) and turns a
/// panic into [`ApiError::Panic`], so nothing unwinds into C.
fn boundary<T>(body: impl FnOnce() -> Result<T, ApiError>) -> Result<T, c_int> {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".into());
        Err(ApiError::Panic(message))
    });
    match result {
        Ok(value) => {
            set_last_error(None);
            Ok(value)
        }
        Err(error) => {
            set_last_error(Some(&error));
            Err(error.code())
        }
    }
}

fn status(body: impl FnOnce() -> Result<(), ApiError>) -> c_int {
    match boundary(body) {
        Ok(()) => DORA_OK,
        Err(code) => code,
    }
}

/// A node joined through the C API. Sending and receiving lock separately, so one thread can
/// wait for events while another sends.
struct Context {
    id: usize,
    node: Mutex<DoraNode>,
    events: Mutex<EventStream>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock was reported to the caller; the state is still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Live contexts by handle. Handles are counters, never reused, so a freed handle is always
/// recognised. Calls take the read lock only (uncontended in practice: one per node process).
static CONTEXTS: LazyLock<RwLock<HashMap<usize, Arc<Context>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));
static NEXT_HANDLE: AtomicUsize = AtomicUsize::new(1);

fn context(handle: *mut c_void) -> Result<Arc<Context>, ApiError> {
    if handle.is_null() {
        return Err(ApiError::Null("dora_context"));
    }
    CONTEXTS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&(handle as usize))
        .cloned()
        .ok_or(ApiError::InvalidContext)
}

const EVENT_TAG: u64 = 0x646f_7261_4556_4e54; // "doraEVNT"
const SAMPLE_TAG: u64 = 0x646f_7261_534d_504c; // "doraSMPL"

/// An event handed to C; `None` is never handed out (the end of the stream is NULL).
struct CEvent {
    tag: u64,
    event: Event,
}

/// A buffer lent by [`dora_allocate_output`].
struct CSample {
    tag: u64,
    context: usize,
    sample: DataSample,
}

/// # Safety
/// `event` is NULL or a pointer returned by [`dora_next_event`] and not yet freed.
unsafe fn event_ref<'a>(event: *mut c_void) -> Result<&'a Event, ApiError> {
    if event.is_null() {
        return Err(ApiError::Null("dora_event"));
    }
    // SAFETY: non-NULL, and by the contract a live `CEvent`; the tag catches common mix-ups.
    let event = unsafe { &*event.cast::<CEvent>() };
    if event.tag != EVENT_TAG {
        return Err(ApiError::InvalidObject("event"));
    }
    Ok(&event.event)
}

fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Stop => "a Stop event",
        Event::Input { .. } => "an Input event",
        Event::InputClosed { .. } => "an InputClosed event",
        Event::Error(_) => "an Error event",
        _ => "an unknown event",
    }
}

/// # Safety
/// `ptr` points to `len` readable bytes, or is NULL.
unsafe fn str_arg<'a>(
    ptr: *const c_char,
    len: usize,
    name: &'static str,
) -> Result<&'a str, ApiError> {
    if ptr.is_null() {
        return Err(ApiError::Null(name));
    }
    // SAFETY: by the contract `ptr` points to `len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|_| ApiError::NotUtf8(name))
}

/// # Safety
/// The out pointers are NULL or valid for writes.
unsafe fn write_out<T>(out_ptr: *mut *mut T, out_len: *mut usize, value: (*mut T, usize)) {
    if !out_ptr.is_null() {
        // SAFETY: valid for writes by the contract.
        unsafe { *out_ptr = value.0 };
    }
    if !out_len.is_null() {
        // SAFETY: valid for writes by the contract.
        unsafe { *out_len = value.1 };
    }
}

/// Joins the dataflow this process was started for. Returns a context handle (free it with
/// [`free_dora_context`]) or NULL with [`dora_last_error`] set.
#[no_mangle]
pub extern "C" fn init_dora_context_from_env() -> *mut c_void {
    boundary(|| {
        let (node, events) = DoraNode::init_from_env()?;
        let id = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
        let context = Arc::new(Context {
            id,
            node: Mutex::new(node),
            events: Mutex::new(events),
        });
        CONTEXTS
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, context);
        Ok(id as *mut c_void)
    })
    .unwrap_or(ptr::null_mut())
}

/// Frees a context: closes its outputs (receivers get InputClosed) and leaves the dataflow
/// once no other thread is inside a call with it. NULL and freed handles are ignored (with
/// [`dora_last_error`] set).
#[no_mangle]
pub extern "C" fn free_dora_context(dora_context: *mut c_void) {
    let _ = boundary(|| {
        if dora_context.is_null() {
            return Err(ApiError::Null("dora_context"));
        }
        let removed = CONTEXTS
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&(dora_context as usize));
        removed.map(drop).ok_or(ApiError::InvalidContext)
    });
}

/// Waits for the next event. Returns an event (free it with [`free_dora_event`]) or NULL when
/// the stream has ended (after Stop, or once all inputs are closed; [`dora_last_error`] is
/// then NULL) or on error (bad context; [`dora_last_error`] says why).
#[no_mangle]
pub extern "C" fn dora_next_event(dora_context: *mut c_void) -> *mut c_void {
    boundary(|| {
        let context = context(dora_context)?;
        let event = lock(&context.events).recv();
        Ok(event.map_or(ptr::null_mut(), |event| {
            Box::into_raw(Box::new(CEvent {
                tag: EVENT_TAG,
                event,
            }))
            .cast()
        }))
    })
    .unwrap_or(ptr::null_mut())
}

/// Frees an event and every pointer read from it. NULL is ignored.
///
/// # Safety
/// `dora_event` is NULL or a live event from [`dora_next_event`].
#[no_mangle]
pub unsafe extern "C" fn free_dora_event(dora_event: *mut c_void) {
    let _ = boundary(|| {
        if dora_event.is_null() {
            return Ok(());
        }
        // SAFETY: by the contract.
        unsafe { event_ref(dora_event) }?;
        // SAFETY: checked to be a live `CEvent` created by `Box::into_raw`.
        let mut event = unsafe { Box::from_raw(dora_event.cast::<CEvent>()) };
        event.tag = 0;
        drop(event);
        Ok(())
    });
}

/// The kind of an event; `DoraEventType_Unknown` for NULL or an invalid event (with
/// [`dora_last_error`] set).
///
/// # Safety
/// `dora_event` is NULL or a live event from [`dora_next_event`].
#[no_mangle]
pub unsafe extern "C" fn read_dora_event_type(dora_event: *mut c_void) -> DoraEventType {
    boundary(|| {
        // SAFETY: by the contract.
        Ok(match unsafe { event_ref(dora_event) }? {
            Event::Stop => DoraEventType::Stop,
            Event::Input { .. } => DoraEventType::Input,
            Event::InputClosed { .. } => DoraEventType::InputClosed,
            Event::Error(_) => DoraEventType::Error,
            _ => DoraEventType::Unknown,
        })
    })
    .unwrap_or(DoraEventType::Unknown)
}

/// Writes the input id of an Input or InputClosed event: a pointer into the event (not
/// NUL-terminated, valid until the event is freed) and its length. On any other event or an
/// error it writes NULL and 0 and sets [`dora_last_error`].
///
/// # Safety
/// `dora_event` is NULL or a live event; the out pointers are NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn read_dora_input_id(
    dora_event: *mut c_void,
    out_ptr: *mut *mut c_char,
    out_len: *mut usize,
) {
    let result = boundary(|| {
        // SAFETY: by the contract.
        let event = unsafe { event_ref(dora_event) }?;
        match event {
            Event::Input { id, .. } | Event::InputClosed { id } => {
                Ok((id.as_ptr().cast_mut().cast::<c_char>(), id.len()))
            }
            other => Err(ApiError::NotAnInput(event_name(other))),
        }
    });
    // SAFETY: by the contract.
    unsafe { write_out(out_ptr, out_len, result.unwrap_or((ptr::null_mut(), 0))) };
}

/// Writes the bytes of an Input event whose data is a UInt8 array: a read-only pointer into
/// the message (shared memory for 4 KiB or more, never copied; valid until the event is
/// freed) and its length. The pointer is a `char *`, as in dora-rs v0.3.6; the header also
/// accepts a `uint8_t **` and offers the const-correct `read_dora_input_bytes`. A Null array (timer ticks) gives NULL and 0 without error. Any
/// other event or Arrow type, or an error, gives NULL and 0 and sets [`dora_last_error`].
///
/// # Safety
/// `dora_event` is NULL or a live event; the out pointers are NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn read_dora_input_data(
    dora_event: *mut c_void,
    out_ptr: *mut *mut c_char,
    out_len: *mut usize,
) {
    let result = boundary(|| {
        // SAFETY: by the contract.
        let event = unsafe { event_ref(dora_event) }?;
        let Event::Input { id, data, .. } = event else {
            return Err(ApiError::NotAnInput(event_name(event)));
        };
        if data.is_empty() {
            return Ok((ptr::null_mut(), 0));
        }
        if let Some(bytes) = data.as_any().downcast_ref::<UInt8Array>() {
            if bytes.null_count() == 0 {
                let values = bytes.values();
                return Ok((values.as_ptr().cast_mut().cast::<c_char>(), values.len()));
            }
        }
        if data.data_type() == &DataType::Null {
            return Ok((ptr::null_mut(), 0));
        }
        Err(ApiError::NotBytes {
            id: id.to_string(),
            data_type: data.data_type().clone(),
        })
    });
    // SAFETY: by the contract.
    unsafe { write_out(out_ptr, out_len, result.unwrap_or((ptr::null_mut(), 0))) };
}

/// The sender's hybrid-logical-clock timestamp of an Input event (NTP64: seconds in the
/// upper 32 bits, fraction in the lower), or 0 for other events and errors (with
/// [`dora_last_error`] set).
///
/// # Safety
/// `dora_event` is NULL or a live event from [`dora_next_event`].
#[no_mangle]
pub unsafe extern "C" fn read_dora_input_timestamp(dora_event: *mut c_void) -> c_ulonglong {
    boundary(|| {
        // SAFETY: by the contract.
        match unsafe { event_ref(dora_event) }? {
            Event::Input { metadata, .. } => Ok(metadata.timestamp().get_time().as_u64()),
            other => Err(ApiError::NotAnInput(event_name(other))),
        }
    })
    .unwrap_or(0)
}

/// Writes the message of an Error event (not NUL-terminated, valid until the event is
/// freed). Returns [`DORA_OK`], or an error code with NULL and 0 written.
///
/// # Safety
/// `dora_event` is NULL or a live event; the out pointers are NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn read_dora_event_error(
    dora_event: *mut c_void,
    out_ptr: *mut *mut c_char,
    out_len: *mut usize,
) -> c_int {
    let result = boundary(|| {
        // SAFETY: by the contract.
        match unsafe { event_ref(dora_event) }? {
            Event::Error(message) => {
                Ok((message.as_ptr().cast_mut().cast::<c_char>(), message.len()))
            }
            other => Err(ApiError::NotAnError(event_name(other))),
        }
    });
    let (value, code) = match result {
        Ok(value) => (value, DORA_OK),
        Err(code) => ((ptr::null_mut(), 0), code),
    };
    // SAFETY: by the contract.
    unsafe { write_out(out_ptr, out_len, value) };
    code
}

/// Sends `data_len` bytes (copied once, into shared memory from 4 KiB on) as a UInt8 array on
/// output `id`. `data_ptr` may be NULL when `data_len` is 0. Returns [`DORA_OK`] or an error
/// code (v0.3.6 returned -1 for every error; all codes are negative).
///
/// # Safety
/// `id_ptr` points to `id_len` readable bytes, `data_ptr` to `data_len` readable bytes (or
/// either is NULL).
#[no_mangle]
pub unsafe extern "C" fn dora_send_output(
    dora_context: *mut c_void,
    id_ptr: *mut c_char,
    id_len: usize,
    data_ptr: *mut c_char,
    data_len: usize,
) -> c_int {
    status(|| {
        let context = context(dora_context)?;
        // SAFETY: by the contract.
        let id = unsafe { str_arg(id_ptr, id_len, "id_ptr") }?;
        let data: &[u8] = if data_len == 0 {
            &[]
        } else if data_ptr.is_null() {
            return Err(ApiError::Null("data_ptr"));
        } else {
            // SAFETY: by the contract.
            unsafe { std::slice::from_raw_parts(data_ptr.cast::<u8>(), data_len) }
        };
        lock(&context.node).send_output_bytes(id.into(), Default::default(), data.len(), data)?;
        Ok(())
    })
}

/// Lends a writable buffer of `len` bytes to fill in place and send with
/// [`dora_send_allocated_output`]: from 4 KiB on it is shared memory that receivers map, so
/// the payload is never copied. Writes the buffer's address to `*out_ptr` and the sample
/// handle to `*out_sample` (NULL on error). The caller owns the sample until it passes it to
/// [`dora_send_allocated_output`] or [`dora_free_allocated_output`].
///
/// # Safety
/// The out pointers are valid for writes (NULL is an error).
#[no_mangle]
pub unsafe extern "C" fn dora_allocate_output(
    dora_context: *mut c_void,
    len: usize,
    out_ptr: *mut *mut u8,
    out_sample: *mut *mut c_void,
) -> c_int {
    let result = boundary(|| {
        if out_ptr.is_null() {
            return Err(ApiError::Null("out_ptr"));
        }
        if out_sample.is_null() {
            return Err(ApiError::Null("out_sample"));
        }
        let context = context(dora_context)?;
        let sample = lock(&context.node).allocate_data_sample(len)?;
        let mut sample = Box::new(CSample {
            tag: SAMPLE_TAG,
            context: context.id,
            sample,
        });
        let data = sample.sample.as_mut_ptr();
        Ok((data, Box::into_raw(sample).cast::<c_void>()))
    });
    let (value, code) = match result {
        Ok(value) => (value, DORA_OK),
        Err(code) => ((ptr::null_mut(), ptr::null_mut()), code),
    };
    if !out_ptr.is_null() && !out_sample.is_null() {
        // SAFETY: valid for writes by the contract.
        unsafe {
            *out_ptr = value.0;
            *out_sample = value.1;
        }
    }
    code
}

/// # Safety
/// `sample` is NULL or a live sample from [`dora_allocate_output`].
unsafe fn take_sample(sample: *mut c_void) -> Result<Box<CSample>, ApiError> {
    if sample.is_null() {
        return Err(ApiError::Null("sample"));
    }
    // SAFETY: non-NULL and, by the contract, a live `CSample`; the tag catches mix-ups.
    if unsafe { (*sample.cast::<CSample>()).tag } != SAMPLE_TAG {
        return Err(ApiError::InvalidObject("sample"));
    }
    // SAFETY: a live `CSample` created by `Box::into_raw`.
    let mut sample = unsafe { Box::from_raw(sample.cast::<CSample>()) };
    sample.tag = 0;
    Ok(sample)
}

/// Sends a sample from [`dora_allocate_output`] as a UInt8 array on output `id`, without
/// copying it. The sample is consumed whether sending succeeds or fails (do not use or free
/// it afterwards), except when `sample` itself is rejected as NULL or invalid.
///
/// # Safety
/// `id_ptr` points to `id_len` readable bytes (or is NULL); `sample` is NULL or a live sample.
#[no_mangle]
pub unsafe extern "C" fn dora_send_allocated_output(
    dora_context: *mut c_void,
    id_ptr: *const c_char,
    id_len: usize,
    sample: *mut c_void,
) -> c_int {
    status(|| {
        // SAFETY: by the contract.
        let sample = unsafe { take_sample(sample) }?;
        let context = context(dora_context)?;
        if sample.context != context.id {
            return Err(ApiError::ForeignSample);
        }
        // SAFETY: by the contract.
        let id = unsafe { str_arg(id_ptr, id_len, "id_ptr") }?;
        let len = sample.sample.len();
        lock(&context.node).send_output_sample(
            id.into(),
            ArrowTypeInfo::byte_array(len),
            Default::default(),
            Some(sample.sample),
        )?;
        Ok(())
    })
}

/// Returns an unsent sample to its pool. NULL is ignored.
///
/// # Safety
/// `sample` is NULL or a live sample from [`dora_allocate_output`].
#[no_mangle]
pub unsafe extern "C" fn dora_free_allocated_output(sample: *mut c_void) {
    let _ = boundary(|| {
        if sample.is_null() {
            return Ok(());
        }
        // SAFETY: by the contract.
        drop(unsafe { take_sample(sample) }?);
        Ok(())
    });
}

/// The message of the last failed call on this thread (NUL-terminated, valid until the next
/// dora call on this thread), or NULL if the last call succeeded. Do not free it.
#[no_mangle]
pub extern "C" fn dora_last_error() -> *const c_char {
    LAST_ERROR.with(|last| {
        last.borrow()
            .as_ref()
            .map_or(ptr::null(), |message| message.as_ptr())
    })
}
