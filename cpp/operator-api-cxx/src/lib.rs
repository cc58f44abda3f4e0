//! The C++ API of dora operators, generated with `cxx` (the dora-rs v0.3.6 shape).
//!
//! A C++ operator is a shared library built from the user's sources, the bridge glue
//! `dora-operator-api.cc` generated from this crate, and this crate's static library
//! `libdora_operator_api_cxx.a`. The static library exports the operator ABI that
//! `dora runtime` loads (`dora_init_operator`, `dora_on_event`, `dora_drop_operator`, see
//! `dora_operator_api::raw`), the same entry points Rust and C operators export, and calls the
//! user's C++ code through the bridge. The CMake helper `dora_add_cxx_operator()` (in
//! `cpp/CMakeLists.txt`) puts the three together.
//!
//! # What the user writes
//!
//! A header named `operator.h` (the glue includes it by that name) declaring a class
//! `Operator` and two functions, and their definitions:
//!
//! ```cpp
//! #pragma once
//! #include <memory>
//! #include "dora-operator-api.h"
//!
//! class Operator { /* state kept between inputs */ };
//!
//! std::unique_ptr<Operator> new_operator();
//! DoraOnInputResult on_input(Operator &op, rust::Str id, rust::Slice<const uint8_t> data,
//!                            OutputSender &output_sender);
//! ```
//!
//! `on_input` may call `send_output(output_sender, id, data)`, which copies `data` and returns
//! a `DoraSendOutputResult` whose `error` is empty on success; it never throws.
//!
//! # Lifecycle
//!
//! `new_operator()` runs once when the dataflow starts; `on_input` once per message on one of
//! the operator's inputs, always on the same thread; the `Operator` is destroyed when the
//! operator finishes (all its inputs closed, a stop result, or the dataflow stopping).
//! Input-closed and stop events are handled here and not passed on. `send_output` and the
//! `OutputSender` are only valid during the `on_input` call that received them.
//!
//! # Failures
//!
//! Nothing unwinds across the boundary. An exception thrown by `new_operator` or `on_input`
//! is caught by the cxx glue and reported as an error; so are a non-empty
//! `DoraOnInputResult::error` and a NULL operator. Every error fails the runtime node, and
//! `dora runtime` names the operator in the message. Inputs whose payload is not bytes (a
//! `UInt8` Arrow array, or an empty array such as a timer tick) are an error too.

use std::pin::Pin;

use dora_operator_api::{
    arrow::array::Array, register_operator, ArrowData, DoraOperator, DoraOutputSender, DoraStatus,
    Event,
};

#[cxx::bridge]
mod ffi {
    /// What `on_input` returns: `error` empty on success, else the message that fails the
    /// node; `stop` finishes this operator (its outputs close; the others keep running).
    struct DoraOnInputResult {
        error: String,
        stop: bool,
    }

    /// What `send_output` returns: `error` empty on success.
    struct DoraSendOutputResult {
        error: String,
    }

    extern "Rust" {
        /// Sends the operator's outputs; valid during the `on_input` call that received it.
        type OutputSender<'a, 'b>;

        /// Sends a copy of `data` as bytes on output `id` (as declared for this operator in
        /// the dataflow). Never throws: failures are in the result's `error`.
        fn send_output(sender: &mut OutputSender, id: &str, data: &[u8]) -> DoraSendOutputResult;
    }

    unsafe extern "C++" {
        include!("operator.h");

        /// The user's operator state.
        type Operator;

        /// Creates the operator; called once, when the dataflow starts.
        fn new_operator() -> Result<UniquePtr<Operator>>;

        /// Handles one input message; `data` is valid during the call only.
        fn on_input(
            op: Pin<&mut Operator>,
            id: &str,
            data: &[u8],
            output_sender: &mut OutputSender,
        ) -> Result<DoraOnInputResult>;
    }
}

use ffi::DoraSendOutputResult;

/// The output side handed to C++ during one `on_input` call.
pub struct OutputSender<'a, 'b>(&'a mut DoraOutputSender<'b>);

fn send_output(sender: &mut OutputSender, id: &str, data: &[u8]) -> DoraSendOutputResult {
    DoraSendOutputResult {
        error: sender.0.send_bytes(id, data).err().unwrap_or_default(),
    }
}

/// A C++ `Operator` behind the Rust operator API, whose [`register_operator!`] exports the
/// C entry points (and catches panics, including the one of a failed [`Default`]).
struct CxxOperator {
    operator: cxx::UniquePtr<ffi::Operator>,
}

impl Default for CxxOperator {
    /// Calls the user's `new_operator()`.
    ///
    /// # Panics
    /// When `new_operator()` throws or returns NULL: [`Default`] cannot return an error, and
    /// the panic is how the operator ABI's `dora_init_operator` reports a failed creation (it
    /// catches it and returns "panicked while initializing: ..."; nothing unwinds into the
    /// runtime).
    fn default() -> Self {
        match ffi::new_operator() {
            Ok(operator) if !operator.is_null() => Self { operator },
            Ok(_) => panic!("new_operator() returned a null pointer"),
            Err(exception) => panic!("new_operator() threw: {}", exception.what()),
        }
    }
}

impl DoraOperator for CxxOperator {
    fn on_event(
        &mut self,
        event: &Event,
        output_sender: &mut DoraOutputSender,
    ) -> Result<DoraStatus, String> {
        let Event::Input { id, data, .. } = event else {
            if let Event::InputParseError { id, error } = event {
                return Err(format!("input `{id}` could not be read: {error}"));
            }
            // Closed inputs, stop and informational errors need no C++ code.
            return Ok(DoraStatus::Continue);
        };
        let bytes = input_bytes(id, data)?;
        let operator: Pin<&mut ffi::Operator> = self.operator.pin_mut();
        let result = ffi::on_input(operator, id, bytes, &mut OutputSender(output_sender))
            .map_err(|exception| format!("on_input threw: {}", exception.what()))?;
        if !result.error.is_empty() {
            return Err(result.error);
        }
        Ok(if result.stop {
            DoraStatus::Stop
        } else {
            DoraStatus::Continue
        })
    }
}

/// The payload of input `id` as bytes: a `UInt8` array without nulls, or nothing for an empty
/// array of any type (timer ticks).
fn input_bytes<'a>(id: &str, data: &'a ArrowData) -> Result<&'a [u8], String> {
    if let Some(bytes) = data.as_bytes() {
        return Ok(bytes);
    }
    if data.is_empty() {
        return Ok(&[]);
    }
    Err(format!(
        "input `{id}` holds a {} array; C++ operators receive bytes (a UInt8 array)",
        data.data_type()
    ))
}

register_operator!(CxxOperator);
