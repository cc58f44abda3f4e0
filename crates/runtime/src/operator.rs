//! One shared-library operator: loading it, its thread, and the `send_output` callback it
//! calls. Every `unsafe` call into operator code is in this file.

use std::{
    ffi::{c_void, CStr, CString},
    panic::{catch_unwind, AssertUnwindSafe},
    path::Path,
    sync::{mpsc, Arc, Mutex},
    time::SystemTime,
};

use dora_node_api::{
    arrow::array::{make_array, Array, ArrayRef, UInt8Array},
    DoraNode,
};
use dora_operator_api::raw::{
    self, DoraDropOperator, DoraInitOperator, DoraOnEvent, DoraResult, FFI_ArrowArray,
    FFI_ArrowSchema, RawEvent, SendOutput, SendOutputFn, VecU8,
};
use eyre::WrapErr;

use super::queue::{OperatorEvent, OperatorQueue};

/// The entry points of a loaded operator library.
#[derive(Clone, Copy)]
pub struct OperatorLibrary {
    init: DoraInitOperator,
    on_event: DoraOnEvent,
    drop: DoraDropOperator,
}

impl OperatorLibrary {
    /// Loads the library at `path` and looks up the three entry points.
    ///
    /// The library is never unloaded: Arrow arrays an operator sent may still be alive (in
    /// another operator, or in flight) after it finished, and their `release` callbacks are
    /// code of this library.
    pub fn load(path: &Path) -> eyre::Result<Self> {
        // SAFETY: loading a library runs its initializers; the library is the operator the
        // user declared, which we are about to run anyway.
        let library = unsafe { libloading::Library::new(path) }
            .wrap_err_with(|| format!("cannot load {}", path.display()))?;
        let library: &'static libloading::Library = Box::leak(Box::new(library));
        let symbol = |name: &[u8]| {
            String::from_utf8_lossy(name.strip_suffix(b"\0").unwrap_or(name)).into_owned()
        };
        let missing = |name: &[u8], err: libloading::Error| {
            eyre::eyre!(
                "{} does not export `{}` (is it a dora operator? Rust operators need \
                 `register_operator!`, C operators `dora/operator_api.h`): {err}",
                path.display(),
                symbol(name)
            )
        };
        // SAFETY: the symbol types are those of the operator ABI (`dora_operator_api::raw`);
        // the library stays loaded for the life of the process, so the pointers stay valid.
        unsafe {
            let init = *library
                .get::<DoraInitOperator>(raw::INIT_SYMBOL)
                .map_err(|err| missing(raw::INIT_SYMBOL, err))?;
            let on_event = *library
                .get::<DoraOnEvent>(raw::ON_EVENT_SYMBOL)
                .map_err(|err| missing(raw::ON_EVENT_SYMBOL, err))?;
            let drop = *library
                .get::<DoraDropOperator>(raw::DROP_SYMBOL)
                .map_err(|err| missing(raw::DROP_SYMBOL, err))?;
            Ok(Self {
                init,
                on_event,
                drop,
            })
        }
    }
}

/// Where one output of an operator goes.
#[derive(Clone)]
pub struct OutputRoute {
    /// The output id as the operator names it.
    pub id: String,
    /// The node output (`operator/output`).
    pub node_output: String,
    /// Operators of this node that receive it: their queue and input index.
    pub local: Vec<(Arc<OperatorQueue>, usize)>,
    /// Whether other nodes receive it (then it is sent through the node API).
    pub remote: bool,
}

/// What the `send_output` callback needs: shared with the operator's thread.
pub struct OutputContext {
    /// The operator whose outputs these are.
    pub operator_id: String,
    /// The node, for outputs that other nodes receive.
    pub node: Arc<Mutex<DoraNode>>,
    /// Per output of the operator: its receivers.
    pub routes: Vec<OutputRoute>,
}

impl OutputContext {
    fn send(&self, output: &mut raw::Output) -> Result<(), String> {
        if output.id.is_null() {
            return Err("output id is NULL".into());
        }
        // SAFETY: the operator passes a NUL-terminated id, valid during the call.
        let id = unsafe { CStr::from_ptr(output.id) }.to_string_lossy();
        let Some(route) = self.routes.iter().find(|r| r.id == id) else {
            let declared: Vec<String> = self.routes.iter().map(|r| format!("`{}`", r.id)).collect();
            return Err(format!(
                "operator `{}` has no output `{id}` (declared: {})",
                self.operator_id,
                if declared.is_empty() {
                    "none".into()
                } else {
                    declared.join(", ")
                }
            ));
        };
        // SAFETY: per the ABI, `data_array`/`schema` are NULL or valid Arrow structures we
        // may move out, and `data` points to `data_len` readable bytes.
        let array = unsafe { take_output_array(output) }?;
        for (queue, input) in &route.local {
            queue.push(OperatorEvent::Input {
                input: *input,
                data: array.clone(),
                timestamp_ns: now_ns(),
            });
        }
        if route.remote {
            let mut node = self.node.lock().unwrap_or_else(|p| p.into_inner());
            node.send_output(route.node_output.clone().into(), Default::default(), array)
                .map_err(|err| format!("sending `{}`: {err}", route.node_output))?;
        }
        Ok(())
    }
}

/// The array an operator sends: its Arrow array (moved out) or a copy of its bytes.
///
/// # Safety
/// As the operator ABI describes for `Output_t`.
unsafe fn take_output_array(output: &mut raw::Output) -> Result<ArrayRef, String> {
    if !output.data_array.is_null() {
        if output.schema.is_null() {
            return Err("output has an Arrow array but no schema".into());
        }
        // SAFETY: valid Arrow structures whose ownership the ABI gives us.
        let (array, schema) = unsafe {
            (
                std::ptr::replace(output.data_array, FFI_ArrowArray::empty()),
                std::ptr::replace(output.schema, FFI_ArrowSchema::empty()),
            )
        };
        // SAFETY: `array` and `schema` follow the Arrow C data interface.
        let data = unsafe { dora_node_api::arrow::array::ffi::from_ffi(array, &schema) }
            .map_err(|err| format!("invalid Arrow array: {err}"))?;
        return Ok(make_array(data));
    }
    let bytes = if output.data_len == 0 {
        &[][..]
    } else if output.data.is_null() {
        return Err("output data is NULL".into());
    } else {
        // SAFETY: `data` points to `data_len` readable bytes during the call.
        unsafe { std::slice::from_raw_parts(output.data, output.data_len) }
    };
    Ok(Arc::new(UInt8Array::from(bytes.to_vec())))
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The callback operators call to send. Never unwinds.
unsafe extern "C" fn send_output_callback(
    env: *mut c_void,
    output: *mut raw::Output,
) -> DoraResult {
    if env.is_null() || output.is_null() {
        return DoraResult::from_error("send_output called with a NULL pointer");
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `env` is the `OutputContext` we put in `SendOutput`, alive during the
        // operator call; `output` is valid per the ABI.
        let (context, output) = unsafe { (&*env.cast::<OutputContext>(), &mut *output) };
        context.send(output)
    }));
    match result {
        Ok(Ok(())) => DoraResult::SUCCESS,
        Ok(Err(message)) => DoraResult::from_error(&message),
        Err(_) => DoraResult::from_error("dora runtime panicked while sending the output"),
    }
}

/// How an operator ended.
#[derive(Debug)]
pub enum Finish {
    /// All inputs closed, `Stop` handled, or the operator returned `DoraStatus::Stop`.
    Done,
    /// The operator returned `DoraStatus::StopAll`.
    StopAll,
}

/// Runs one operator instance until it finishes; on a separate thread.
pub struct OperatorRunner {
    /// The operator's id.
    pub id: String,
    /// Its loaded library.
    pub library: OperatorLibrary,
    /// Where its events wait.
    pub queue: Arc<OperatorQueue>,
    /// Input ids as the operator names them.
    pub inputs: Vec<String>,
    /// What its `send_output` callback uses.
    pub output: OutputContext,
}

impl OperatorRunner {
    /// Initializes the operator, feeds it events from its queue, drops it. Returns how it
    /// ended, or the error it reported (a panic of a Rust operator arrives as an error).
    pub fn run(self) -> Result<Finish, String> {
        let inputs: Vec<CString> = self
            .inputs
            .iter()
            .map(|id| CString::new(id.as_str()).map_err(|e| format!("input id `{id}`: {e}")))
            .collect::<Result<_, _>>()?;
        // SAFETY: calling the operator's init entry point as the ABI defines.
        let init = unsafe { (self.library.init)() };
        // SAFETY: the error is malloc'ed per the ABI.
        unsafe { init.result.into_result() }.map_err(|e| format!("initialization failed: {e}"))?;
        let context = init.operator_context;
        let outcome = self.handle_events(context, &inputs);
        // SAFETY: `context` came from this library's init and is not used afterwards.
        let dropped = unsafe { unsafe_drop(self.library.drop, context) };
        flush_stdio();
        let outcome = outcome?;
        dropped.map_err(|e| format!("dropping it failed: {e}"))?;
        Ok(outcome)
    }

    fn handle_events(&self, context: *mut c_void, inputs: &[CString]) -> Result<Finish, String> {
        let send_output = SendOutput {
            send_output: SendOutputFn {
                env_ptr: (&self.output as *const OutputContext).cast_mut().cast(),
                call: send_output_callback,
            },
        };
        let mut open = vec![true; inputs.len()];
        loop {
            let event = self.queue.pop();
            let mut last = false;
            let status = match event {
                OperatorEvent::Input {
                    input,
                    data,
                    timestamp_ns,
                } => {
                    let Some(id) = inputs.get(input) else {
                        continue;
                    };
                    self.call_with_input(context, &send_output, id, &data, timestamp_ns)?
                }
                OperatorEvent::InputClosed(input) => {
                    let Some(id) = inputs.get(input) else {
                        continue;
                    };
                    if !std::mem::replace(&mut open[input], false) {
                        continue;
                    }
                    last = open.iter().all(|o| !o);
                    let mut event = RawEvent {
                        input: std::ptr::null_mut(),
                        input_closed: VecU8::borrowed(id),
                        stop: false,
                        error: VecU8::NONE,
                    };
                    self.call(context, &send_output, &mut event)?
                }
                OperatorEvent::Stop => {
                    let mut event = RawEvent {
                        input: std::ptr::null_mut(),
                        input_closed: VecU8::NONE,
                        stop: true,
                        error: VecU8::NONE,
                    };
                    last = true;
                    self.call(context, &send_output, &mut event)?
                }
            };
            match status {
                0 if !last => {}
                0 | 1 => return Ok(Finish::Done),
                2 => return Ok(Finish::StopAll),
                other => return Err(format!("returned an unknown status {other}")),
            }
        }
    }

    fn call_with_input(
        &self,
        context: *mut c_void,
        send_output: &SendOutput,
        id: &CStr,
        data: &ArrayRef,
        timestamp_ns: u64,
    ) -> Result<u8, String> {
        // An array that cannot be exported reaches the operator without Arrow data (a Rust
        // operator sees `Event::InputParseError`).
        let (mut array, mut schema) = dora_node_api::arrow::array::ffi::to_ffi(&data.to_data())
            .unwrap_or_else(|_| (FFI_ArrowArray::empty(), FFI_ArrowSchema::empty()));
        let exported = !array.is_released();
        let bytes = data
            .as_any()
            .downcast_ref::<UInt8Array>()
            .filter(|a| a.null_count() == 0)
            .map(|a| a.values().as_ref());
        let mut input = raw::Input {
            id: id.as_ptr(),
            data: bytes.map_or(std::ptr::null(), <[u8]>::as_ptr),
            data_len: bytes.map_or(0, <[u8]>::len),
            data_array: if exported {
                &mut array
            } else {
                std::ptr::null_mut()
            },
            schema: if exported {
                &mut schema
            } else {
                std::ptr::null_mut()
            },
            metadata: raw::Metadata { timestamp_ns },
        };
        let mut event = RawEvent {
            input: &mut input,
            input_closed: VecU8::NONE,
            stop: false,
            error: VecU8::NONE,
        };
        let status = self.call(context, send_output, &mut event);
        // `array`/`schema` drop here; if the operator moved them out, they are released.
        status
    }

    fn call(
        &self,
        context: *mut c_void,
        send_output: &SendOutput,
        event: &mut RawEvent,
    ) -> Result<u8, String> {
        // SAFETY: everything `event` points to lives until this call returns; `send_output`
        // and its environment too; `context` belongs to this operator and this thread.
        let result = unsafe { (self.library.on_event)(event, send_output, context) };
        // SAFETY: a malloc'ed error per the ABI.
        unsafe { result.result.into_result() }?;
        Ok(result.status)
    }
}

/// # Safety
/// `context` comes from the library's init and is not used afterwards.
unsafe fn unsafe_drop(drop: DoraDropOperator, context: *mut c_void) -> Result<(), String> {
    // SAFETY: per the contract.
    unsafe { drop(context).into_result() }
}

/// Flushes C stdio buffers, so what a C operator printed reaches the daemon.
pub fn flush_stdio() {
    // SAFETY: fflush(NULL) flushes every output stream; no preconditions.
    unsafe { libc::fflush(std::ptr::null_mut()) };
}

/// Makes C `stdout` line buffered (it is fully buffered on a pipe), so each line a C operator
/// prints reaches the daemon (and `send_stdout_as` receivers) when it is complete.
pub fn line_buffer_stdout() {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            static mut stdout: *mut libc::FILE;
        }
        // SAFETY: `stdout` is the C library's stream, valid for the life of the process;
        // setvbuf before any output on it is allowed.
        unsafe {
            let stream = std::ptr::addr_of!(stdout).read();
            if !stream.is_null() {
                libc::setvbuf(stream, std::ptr::null_mut(), libc::_IOLBF, 0);
            }
        }
    }
}

/// Runs `runner` on its own thread; its outcome arrives on `done` tagged with `index`.
pub fn spawn(
    index: usize,
    runner: OperatorRunner,
    done: mpsc::Sender<super::Message>,
) -> eyre::Result<()> {
    std::thread::Builder::new()
        .name(format!("operator-{}", runner.id))
        .spawn(move || {
            let queue = runner.queue.clone();
            let outcome = runner.run();
            let dropped = queue.close();
            let _ = done.send(super::Message::OperatorFinished {
                index,
                outcome,
                dropped,
            });
        })
        .wrap_err("starting an operator thread")?;
    Ok(())
}
