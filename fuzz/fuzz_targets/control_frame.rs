//! The control-plane frame decoder on arbitrary bytes: the length prefix check, `bincode`
//! decoding of every control-plane message type, `frame::drain` over a byte buffer and the
//! async `read_frame` over a byte stream. Each must return a value or an error, never panic
//! or allocate beyond the frame limit.

#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use dora_message::coordinator::{
    ControlReply, ControlRequest, CoordinatorToDaemon, DaemonToCoordinator, Handshake,
    HandshakeReply, InterDaemon, LinkHello,
};
use dora_message::frame;
use dora_message::node_daemon::{
    DaemonEvent, DaemonReply, DynamicNodeReply, DynamicNodeRequest, NodeRequest,
};
use libfuzzer_sys::fuzz_target;

/// Decodes `body` as every control-plane type; the first byte picks nothing, so every
/// input exercises every decoder.
fn decode_all(body: &[u8]) {
    let _ = frame::decode::<Handshake>(body);
    let _ = frame::decode::<HandshakeReply>(body);
    let _ = frame::decode::<ControlRequest>(body);
    let _ = frame::decode::<ControlReply>(body);
    let _ = frame::decode::<CoordinatorToDaemon>(body);
    let _ = frame::decode::<DaemonToCoordinator>(body);
    let _ = frame::decode::<InterDaemon>(body);
    let _ = frame::decode::<LinkHello>(body);
    let _ = frame::decode::<NodeRequest>(body);
    let _ = frame::decode::<DaemonReply>(body);
    let _ = frame::decode::<DaemonEvent>(body);
    let _ = frame::decode::<DynamicNodeRequest>(body);
    let _ = frame::decode::<DynamicNodeReply>(body);
}

/// Runs a future that never waits (it reads from a byte slice) to completion.
fn complete<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The bytes as a frame body.
    decode_all(data);
    // The bytes as a stream of frames.
    let mut buffer = data.to_vec();
    let _ = frame::drain::<ControlRequest>(&mut buffer);
    let mut buffer = data.to_vec();
    let _ = frame::drain::<DaemonToCoordinator>(&mut buffer);
    let mut reader = data;
    let _ = frame::read::<ControlReply>(&mut reader);
    let mut stream = data;
    complete(async {
        while let Ok(Some(_)) =
            dora_control::net::read_frame::<CoordinatorToDaemon>(&mut stream).await
        {}
    });
});
