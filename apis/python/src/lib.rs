//! `dora._dora`: the native part of the `dora` Python module.
//!
//! A thin layer over the Rust node API ([`dora_node_api`]):
//!
//! - Events become Python dicts (`type`, `id`, `value`, `metadata`). An input's `value` is a
//!   `pyarrow.Array` imported through the Arrow C data interface: its buffers are the node
//!   API's buffers — for payloads of 4 KiB or more, the sender's shared memory region mapped
//!   read-only — so nothing is copied, and the region stays mapped until Python drops every
//!   array that uses it.
//! - `send_output` takes `bytes` or a pyarrow array (anything else goes through
//!   `pyarrow.array`), exported through the C data interface and copied once, into the output
//!   sample (shared memory from 4 KiB on): the minimum for data Python owns.
//! - `send_output_raw` lends the outgoing buffer itself to a Python callable (as a writable
//!   `memoryview`), so data produced in place is never copied.
//! - Blocking waits release the GIL, so other Python threads run meanwhile, and look for
//!   signals twice a second so that Ctrl-C interrupts a node run by hand.
//!
//! Errors of the node API are raised as `RuntimeError` with the node API's message.

use std::{ptr::addr_of_mut, time::Duration};

use arrow_array::{ffi::from_ffi, make_array, ArrayRef};
use arrow_data::ffi::FFI_ArrowArray;
use arrow_schema::ffi::FFI_ArrowSchema;
use dora_node_api::{
    ArrowTypeInfo, DoraNode, Event, EventStream, Metadata, MetadataParameters, Parameter,
};
use pyo3::{
    exceptions::{PyBufferError, PyRuntimeError, PyTypeError, PyValueError},
    intern,
    prelude::*,
    types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple},
};

/// The variable in which dora passes a node its configuration.
const NODE_CONFIG_ENV: &str = "DORA_NODE_CONFIG";
/// The variable in which the daemon passes the dataflow file's path.
const DATAFLOW_PATH_ENV: &str = "DORA_DATAFLOW_PATH";
/// What [`EventStream::recv_timeout`] reports when nothing arrived in time.
const TIMED_OUT: &str = "Receiver timed out";
/// How often a blocking wait returns to Python to let it handle signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(500);

/// A dora node: the events of its inputs (iterate over it or call `next`) and its outputs
/// (`send_output`).
#[pyclass(module = "dora", name = "Node")]
pub struct Node {
    node: DoraNode,
    events: EventStream,
    ended: bool,
    /// `pyarrow.Array._import_from_c`.
    import_array: Py<PyAny>,
    /// `pyarrow.Array`, for `isinstance`.
    array_type: Py<PyAny>,
    /// `pyarrow.array`, converting other data (numpy arrays, lists) to Arrow.
    to_array: Py<PyAny>,
    /// `datetime.datetime.fromtimestamp` and `datetime.timezone.utc`.
    from_timestamp: Py<PyAny>,
    utc: Py<PyAny>,
    /// `ctypes.c_char` and `memoryview`, for the buffers `send_output_raw` lends.
    c_char: Py<PyAny>,
    memoryview: Py<PyAny>,
}

fn runtime_error(err: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(err.to_string())
}

#[pymethods]
impl Node {
    /// Joins the dataflow this process was started for. `node_id` names a `path: dynamic`
    /// node, which the user starts: the node then takes its configuration from the dora
    /// daemon of this machine (see `DoraNode::init_from_node_id`). For a node dora started it
    /// must be the node's id, if given.
    #[new]
    #[pyo3(signature = (node_id=None))]
    fn new(py: Python<'_>, node_id: Option<String>) -> PyResult<Self> {
        let started_by_dora = std::env::var_os(NODE_CONFIG_ENV).is_some();
        if !started_by_dora && node_id.is_none() {
            return Err(PyRuntimeError::new_err(format!(
                "{NODE_CONFIG_ENV} is not set: this script is a dora node and must be started \
                 by dora; declare it in a dataflow (`path: your_node.py`) and run `dora run \
                 dataflow.yml` (or `dora start dataflow.yml`), or declare it `path: dynamic` \
                 and create the node with its id: `Node(\"id\")`"
            )));
        }
        let pyarrow = py.import("pyarrow").map_err(|err| {
            PyRuntimeError::new_err(format!(
                "the dora Python API needs pyarrow (`pip install pyarrow`): {err}"
            ))
        })?;
        let array_type = pyarrow.getattr("Array")?;
        let import_array = array_type.getattr("_import_from_c")?.unbind();
        let to_array = pyarrow.getattr("array")?.unbind();
        let datetime = py.import("datetime")?;
        let from_timestamp = datetime
            .getattr("datetime")?
            .getattr("fromtimestamp")?
            .unbind();
        let utc = datetime.getattr("timezone")?.getattr("utc")?.unbind();
        let c_char = py.import("ctypes")?.getattr("c_char")?.unbind();
        let memoryview = py.import("builtins")?.getattr("memoryview")?.unbind();

        let (node, events) = match &node_id {
            Some(id) if !started_by_dora => {
                let id = id.clone();
                py.allow_threads(move || DoraNode::init_from_node_id(id.into()))
            }
            _ => py.allow_threads(DoraNode::init_from_env),
        }
        .map_err(runtime_error)?;
        if let Some(id) = node_id {
            if id != node.id() {
                return Err(PyRuntimeError::new_err(format!(
                    "Node(\"{id}\"): this process was started by dora as node `{}`",
                    node.id()
                )));
            }
        }
        Ok(Self {
            node,
            events,
            ended: false,
            import_array,
            array_type: array_type.unbind(),
            to_array,
            from_timestamp,
            utc,
            c_char,
            memoryview,
        })
    }

    /// The next event, waiting at most `timeout` seconds (forever when `None`). Returns
    /// `None` on timeout and once the event stream has ended (every input closed, or after
    /// `STOP`).
    #[pyo3(signature = (timeout=None))]
    fn next(&mut self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyObject>> {
        if self.ended {
            return Ok(None);
        }
        let events = &mut self.events;
        let event = match timeout {
            Some(timeout) => {
                let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
                    PyValueError::new_err(format!(
                        "timeout must be a non-negative number of seconds, got {timeout}"
                    ))
                })?;
                match py.allow_threads(|| events.recv_timeout(timeout)) {
                    Some(Event::Error(message)) if message == TIMED_OUT => return Ok(None),
                    other => other,
                }
            }
            None => loop {
                match py.allow_threads(|| events.recv_timeout(SIGNAL_CHECK)) {
                    Some(Event::Error(message)) if message == TIMED_OUT => py.check_signals()?,
                    other => break other,
                }
            },
        };
        match event {
            Some(event) => self.event_to_py(py, event).map(Some),
            None => {
                self.ended = true;
                Ok(None)
            }
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<PyObject>> {
        self.next(py, None)
    }

    /// Sends `data` (a pyarrow array, `bytes`, or what `pyarrow.array` accepts, such as a
    /// numpy array) on `output_id`, with optional `metadata` parameters (bool, int, float,
    /// str, or lists of int, float or str).
    #[pyo3(signature = (output_id, data, metadata=None))]
    fn send_output(
        &mut self,
        py: Python<'_>,
        output_id: String,
        data: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let parameters = parameters_from_py(metadata)?;
        let node = &mut self.node;
        if let Ok(bytes) = data.downcast::<PyBytes>() {
            let bytes = bytes.as_bytes();
            return py
                .allow_threads(|| {
                    node.send_output_bytes(output_id.into(), parameters, bytes.len(), bytes)
                })
                .map_err(runtime_error);
        }
        let converted;
        let array = if data.is_instance(self.array_type.bind(py))? {
            data
        } else {
            converted = self.to_array.bind(py).call1((data,)).map_err(|err| {
                PyTypeError::new_err(format!(
                    "send_output: data must be bytes or a pyarrow array (or convertible with \
                     pyarrow.array): {err}"
                ))
            })?;
            &converted
        };
        let array = array_from_pyarrow(array)?;
        let sent = py.allow_threads(|| node.send_output(output_id.into(), parameters, &array));
        // Dropped with the GIL held: the array may hold Python objects (numpy buffers).
        drop(array);
        sent.map_err(runtime_error)
    }

    /// Sends `data_len` bytes that `fill` writes in place, without any copy: `fill` is called
    /// with a writable `memoryview` of the outgoing buffer (shared memory from 4 KiB on) —
    /// wrap it with `numpy.frombuffer(view, dtype=...)` to fill it as an array — and the
    /// buffer is sent when `fill` returns. No view of the buffer may outlive `fill` (the
    /// memory belongs to the receivers once sent): if one does, nothing is sent and
    /// `BufferError` is raised. An exception raised by `fill` is passed on and nothing is
    /// sent. (In both cases the buffer stays set aside, never reused, since something may
    /// still reach it.)
    #[pyo3(signature = (output_id, data_len, fill, metadata=None))]
    fn send_output_raw(
        &mut self,
        py: Python<'_>,
        output_id: String,
        data_len: usize,
        fill: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let parameters = parameters_from_py(metadata)?;
        let mut sample = self
            .node
            .allocate_data_sample(data_len)
            .map_err(runtime_error)?;
        // The buffer is shown to Python as a ctypes array at its address, wrapped in a
        // memoryview: every view made from it (numpy arrays, slices) keeps a reference to the
        // ctypes array, so once `fill` returned and our own view is gone, a reference count
        // above ours means a view outlived `fill`.
        let address = sample.as_mut_ptr() as usize;
        let array_type = self
            .c_char
            .bind(py)
            .call_method1(intern!(py, "__mul__"), (data_len,))?;
        let buffer = array_type.call_method1(intern!(py, "from_address"), (address,))?;
        // ctypes exports `c_char` items ("c"); a byte view ("B") takes slices of `bytes` and
        // numpy alike.
        let view = self
            .memoryview
            .bind(py)
            .call1((&buffer,))?
            .call_method1(intern!(py, "cast"), ("B",))?;
        let filled = fill.call1((&view,));
        drop(view);
        if let Err(err) = filled {
            // The exception's traceback may still reach the buffer through `fill`'s frame:
            // the sample stays lent forever (a rare path) and the error goes to the caller.
            std::mem::forget(sample);
            return Err(err);
        }
        if buffer.get_refcnt() > 1 {
            // Keep the memory lent forever rather than let the view reach a region that is
            // sent and then reused.
            std::mem::forget(sample);
            return Err(PyBufferError::new_err(format!(
                "send_output_raw(\"{output_id}\"): a view of the output buffer outlived `fill`; \
                 views (numpy arrays over it, memoryview slices) must not be kept after `fill` \
                 returns. Nothing was sent."
            )));
        }
        drop(buffer);
        let node = &mut self.node;
        py.allow_threads(|| {
            node.send_output_sample(
                output_id.into(),
                ArrowTypeInfo::byte_array(data_len),
                parameters,
                Some(sample),
            )
        })
        .map_err(runtime_error)
    }

    /// The dataflow descriptor (the YAML file) as a dict.
    fn dataflow_descriptor(&self, py: Python<'_>) -> PyResult<PyObject> {
        // Nodes dora spawns get the path in the environment; a dynamic node in its
        // configuration.
        let path = std::env::var_os(DATAFLOW_PATH_ENV)
            .map(std::path::PathBuf::from)
            .or_else(|| self.node.node_config().dataflow_path.clone())
            .ok_or_else(|| {
                PyRuntimeError::new_err(format!(
                    "{DATAFLOW_PATH_ENV} is not set: the daemon did not say where the dataflow \
                     is"
                ))
            })?;
        let text = std::fs::read_to_string(&path).map_err(|err| {
            runtime_error(format!(
                "reading the dataflow {}: {err}",
                std::path::Path::new(&path).display()
            ))
        })?;
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).map_err(|err| {
            runtime_error(format!(
                "parsing the dataflow {}: {err}",
                std::path::Path::new(&path).display()
            ))
        })?;
        match docs.first() {
            Some(doc) => yaml_to_py(py, doc),
            None => Ok(PyDict::new(py).into_any().unbind()),
        }
    }

    /// The id (UUID) of the running dataflow.
    fn dataflow_id(&self) -> String {
        self.node.dataflow_id().to_owned()
    }

    /// The id of this node.
    fn node_id(&self) -> String {
        self.node.id().to_owned()
    }

    /// The configuration dora started this node with (inputs, outputs and, for a node of
    /// operators, the operators), as a dict. Used by the operator runtime.
    fn node_config(&self, py: Python<'_>) -> PyResult<PyObject> {
        let json = serde_json::to_string(self.node.node_config()).map_err(runtime_error)?;
        Ok(py.import("json")?.call_method1("loads", (json,))?.unbind())
    }

    /// Closes outputs early: their receivers get `INPUT_CLOSED`.
    fn close_outputs(&mut self, outputs: Vec<String>) -> PyResult<()> {
        self.node
            .close_outputs(outputs.into_iter().map(Into::into).collect())
            .map_err(runtime_error)
    }
}

impl Node {
    fn event_to_py(&self, py: Python<'_>, event: Event) -> PyResult<PyObject> {
        let dict = PyDict::new(py);
        let key_type = intern!(py, "type");
        let key_id = intern!(py, "id");
        match event {
            Event::Input { id, metadata, data } => {
                dict.set_item(key_type, intern!(py, "INPUT"))?;
                dict.set_item(key_id, id.as_str())?;
                dict.set_item(
                    intern!(py, "value"),
                    self.array_to_pyarrow(py, data.into_inner())?,
                )?;
                dict.set_item(intern!(py, "metadata"), self.metadata_to_py(py, &metadata)?)?;
            }
            Event::InputClosed { id } => {
                dict.set_item(key_type, intern!(py, "INPUT_CLOSED"))?;
                dict.set_item(key_id, id.as_str())?;
            }
            Event::Stop => dict.set_item(key_type, intern!(py, "STOP"))?,
            Event::Error(message) => {
                dict.set_item(key_type, intern!(py, "ERROR"))?;
                dict.set_item(intern!(py, "error"), message)?;
            }
            other => {
                dict.set_item(key_type, intern!(py, "UNKNOWN"))?;
                dict.set_item(intern!(py, "error"), format!("{other:?}"))?;
            }
        }
        Ok(dict.into_any().unbind())
    }

    /// Hands `array` to pyarrow without copying its buffers: pyarrow takes over the exported
    /// struct, whose release callback drops our reference to the buffers (and so unmaps a
    /// shared memory region once its last user is gone).
    fn array_to_pyarrow(&self, py: Python<'_>, array: ArrayRef) -> PyResult<PyObject> {
        let data = array.to_data();
        let schema = FFI_ArrowSchema::try_from(data.data_type()).map_err(|err| {
            runtime_error(format!(
                "cannot export {} to pyarrow: {err}",
                data.data_type()
            ))
        })?;
        let mut schema = Box::new(schema);
        let mut ffi_array = Box::new(FFI_ArrowArray::new(&data));
        let array_address = addr_of_mut!(*ffi_array) as usize;
        let schema_address = addr_of_mut!(*schema) as usize;
        // pyarrow moves the structs out (marking them released), so dropping the boxes after
        // a successful import does nothing; after a failed one it releases them.
        let imported = self
            .import_array
            .bind(py)
            .call1((array_address, schema_address))?;
        Ok(imported.unbind())
    }

    fn metadata_to_py<'py>(
        &self,
        py: Python<'py>,
        metadata: &Metadata,
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (key, value) in &metadata.parameters {
            dict.set_item(key, parameter_to_py(py, value)?)?;
        }
        let since_epoch = metadata.timestamp().get_time().to_duration();
        let timestamp = self
            .from_timestamp
            .bind(py)
            .call1((since_epoch.as_secs_f64(), self.utc.bind(py)))?;
        dict.set_item(intern!(py, "timestamp"), timestamp)?;
        Ok(dict)
    }
}

/// Imports a pyarrow array through the Arrow C data interface (no copy: the result points
/// at pyarrow's buffers and keeps them alive).
fn array_from_pyarrow(array: &Bound<'_, PyAny>) -> PyResult<ArrayRef> {
    let mut ffi_array = FFI_ArrowArray::empty();
    let mut schema = FFI_ArrowSchema::empty();
    array.call_method1(
        "_export_to_c",
        (
            addr_of_mut!(ffi_array) as usize,
            addr_of_mut!(schema) as usize,
        ),
    )?;
    // SAFETY: pyarrow filled both structs with a valid export of one array; `from_ffi` takes
    // ownership of the array struct and validates the layout against the schema.
    let data = unsafe { from_ffi(ffi_array, &schema) }
        .map_err(|err| runtime_error(format!("cannot import the pyarrow array: {err}")))?;
    Ok(make_array(data))
}

fn parameter_to_py(py: Python<'_>, value: &Parameter) -> PyResult<PyObject> {
    Ok(match value {
        Parameter::Bool(v) => PyBool::new(py, *v).to_owned().into_any().unbind(),
        Parameter::Integer(v) => v.into_pyobject(py)?.into_any().unbind(),
        Parameter::Float(v) => v.into_pyobject(py)?.into_any().unbind(),
        Parameter::String(v) => PyString::new(py, v).into_any().unbind(),
        Parameter::ListInt(v) => PyList::new(py, v)?.into_any().unbind(),
        Parameter::ListFloat(v) => PyList::new(py, v)?.into_any().unbind(),
        Parameter::ListString(v) => PyList::new(py, v)?.into_any().unbind(),
    })
}

/// Turns a metadata dict into parameters. `timestamp` is skipped: it is set when sending, so
/// the metadata of an input can be passed on as it is.
fn parameters_from_py(metadata: Option<&Bound<'_, PyDict>>) -> PyResult<MetadataParameters> {
    let mut parameters = MetadataParameters::new();
    let Some(metadata) = metadata else {
        return Ok(parameters);
    };
    for (key, value) in metadata.iter() {
        let key: String = key
            .extract()
            .map_err(|_| PyTypeError::new_err("metadata keys must be strings"))?;
        if key == "timestamp" {
            continue;
        }
        let parameter = if let Ok(value) = value.downcast::<PyBool>() {
            Parameter::Bool(value.is_true())
        } else if value.is_instance_of::<PyInt>() {
            Parameter::Integer(value.extract()?)
        } else if value.is_instance_of::<PyFloat>() {
            Parameter::Float(value.extract()?)
        } else if let Ok(value) = value.downcast::<PyString>() {
            Parameter::String(value.extract()?)
        } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
            if let Ok(list) = value.extract::<Vec<i64>>() {
                Parameter::ListInt(list)
            } else if let Ok(list) = value.extract::<Vec<f64>>() {
                Parameter::ListFloat(list)
            } else if let Ok(list) = value.extract::<Vec<String>>() {
                Parameter::ListString(list)
            } else {
                return Err(PyTypeError::new_err(format!(
                    "metadata `{key}`: lists must hold only ints, only floats or only strings"
                )));
            }
        } else {
            return Err(PyTypeError::new_err(format!(
                "metadata `{key}`: unsupported type {}; use bool, int, float, str or a list \
                 of int, float or str",
                value.get_type().name()?
            )));
        };
        parameters.insert(key, parameter);
    }
    Ok(parameters)
}

fn yaml_to_py(py: Python<'_>, yaml: &yaml_rust2::Yaml) -> PyResult<PyObject> {
    use yaml_rust2::Yaml;
    Ok(match yaml {
        Yaml::Real(text) => match text.parse::<f64>() {
            Ok(value) => value.into_pyobject(py)?.into_any().unbind(),
            Err(_) => PyString::new(py, text).into_any().unbind(),
        },
        Yaml::Integer(value) => value.into_pyobject(py)?.into_any().unbind(),
        Yaml::String(text) => PyString::new(py, text).into_any().unbind(),
        Yaml::Boolean(value) => PyBool::new(py, *value).to_owned().into_any().unbind(),
        Yaml::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(yaml_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Yaml::Hash(map) => {
            let dict = PyDict::new(py);
            for (key, value) in map {
                dict.set_item(yaml_to_py(py, key)?, yaml_to_py(py, value)?)?;
            }
            dict.into_any().unbind()
        }
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => py.None(),
    })
}

/// The native module; `dora/__init__.py` re-exports it.
#[pymodule]
fn _dora(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Node>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
