//! Names of the dora-rs v0.3.6 node API that this crate keeps so that nodes written for it
//! build unchanged: the `dora_core` module path, the `merged` event streams, `arrow_utils`,
//! and a few methods and trait implementations. `docs/compat-v0.3.6.md` lists every item of
//! that API and what became of it.

use std::{
    borrow::Borrow,
    convert::Infallible,
    future::Future,
    ops::DerefMut,
    pin::{pin, Pin},
    str::FromStr,
    sync::{Arc, Condvar, Mutex},
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use arrow_array::ArrayRef;

use crate::{
    ArrowData, ArrowTypeInfo, DataId, DoraNode, Event, EventStream, MetadataParameters, NodeError,
    NodeId, OperatorId,
};

/// The module path under which dora-rs v0.3.6 exported its identifier types
/// (`dora_node_api::dora_core::config::DataId`). The types are the crate's own.
pub mod dora_core {
    pub use uhlc;

    /// Identifiers of dataflow parts.
    pub mod config {
        pub use crate::{DataId, NodeId, OperatorId};
    }
}

/// The trait implementations dora-rs v0.3.6's identifiers had beyond the ones the crate
/// defines with them.
macro_rules! v036_id_impls {
    ($($name:ident),*) => {$(
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl AsRef<String> for $name {
            fn as_ref(&self) -> &String {
                self
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }

        impl Borrow<String> for $name {
            fn borrow(&self) -> &String {
                self
            }
        }

        impl FromStr for $name {
            type Err = Infallible;
            fn from_str(s: &str) -> Result<Self, Infallible> {
                Ok(Self::from(s))
            }
        }
    )*};
}

v036_id_impls!(DataId, NodeId, OperatorId);

impl std::ops::DerefMut for ArrowData {
    fn deref_mut(&mut self) -> &mut ArrayRef {
        &mut self.0
    }
}

impl From<ArrowData> for ArrayRef {
    fn from(data: ArrowData) -> Self {
        data.0
    }
}

/// Sizing and copying Arrow arrays into output buffers, as [`DoraNode::send_output`] does;
/// for filling a [`crate::DataSample`] by hand.
pub mod arrow_utils {
    use arrow_data::ArrayData;

    use crate::ArrowTypeInfo;

    /// The number of bytes [`copy_array_into_sample`] writes for `array`.
    pub fn required_data_size(array: &ArrayData) -> usize {
        dora_message::arrow::required_size(array)
    }

    /// Copies the buffers of `array` into `target_buffer` (at least
    /// [`required_data_size`] bytes long) and returns the layout receivers need to rebuild
    /// the array from those bytes.
    ///
    /// # Panics
    /// When `target_buffer` is shorter than [`required_data_size`].
    pub fn copy_array_into_sample(target_buffer: &mut [u8], array: &ArrayData) -> ArrowTypeInfo {
        dora_message::arrow::copy_array_into(target_buffer, array)
    }
}

impl DoraNode {
    /// Joins as the node the environment names when started by dora (as
    /// [`DoraNode::init_from_env`]), else as the dynamic node `node_id` (as
    /// [`DoraNode::init_from_node_id`]): one program that runs both ways.
    pub fn init_flexible(node_id: NodeId) -> Result<(Self, EventStream), NodeError> {
        if std::env::var_os(dora_message::NODE_CONFIG_ENV).is_some() {
            Self::init_from_env()
        } else {
            Self::init_from_node_id(node_id)
        }
    }

    /// Sends `data_len` bytes that `data` writes in place, described by `type_info` (the
    /// Arrow layout of those bytes, as [`arrow_utils::copy_array_into_sample`] returns it).
    /// The buffer is shared memory from [`dora_message::ZERO_COPY_THRESHOLD`] bytes on, so
    /// the payload is never copied.
    pub fn send_typed_output<F>(
        &mut self,
        output_id: DataId,
        type_info: ArrowTypeInfo,
        parameters: MetadataParameters,
        data_len: usize,
        data: F,
    ) -> Result<(), NodeError>
    where
        F: FnOnce(&mut [u8]),
    {
        let mut sample = self.allocate_data_sample(data_len)?;
        data(sample.deref_mut());
        self.send_output_sample(output_id, type_info, parameters, Some(sample))
    }
}

impl EventStream {
    /// Like [`EventStream::recv_async`], but gives up after `timeout` with
    /// `Some(Event::Error("Receiver timed out"))`, as [`EventStream::recv_timeout`] does.
    /// Works with any executor: the timeout is kept by a helper thread, started only when
    /// no event is ready at once and ended as soon as the call returns.
    pub async fn recv_async_timeout(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = Deadline::new(Instant::now() + timeout);
        let next = pin!(self.recv_async());
        match futures::future::select(next, deadline).await {
            futures::future::Either::Left((event, _)) => event,
            futures::future::Either::Right(((), _)) => {
                Some(Event::Error("Receiver timed out".into()))
            }
        }
    }
}

/// A future that completes at an instant, for any executor.
struct Deadline {
    at: Instant,
    timer: Arc<Timer>,
    started: bool,
}

#[derive(Default)]
struct Timer {
    state: Mutex<TimerState>,
    changed: Condvar,
}

#[derive(Default)]
struct TimerState {
    waker: Option<Waker>,
    fired: bool,
    cancelled: bool,
}

impl Deadline {
    fn new(at: Instant) -> Self {
        Self {
            at,
            timer: Arc::default(),
            started: false,
        }
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        {
            let mut state = self.timer.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.fired {
                return Poll::Ready(());
            }
            state.waker = Some(cx.waker().clone());
        }
        if !self.started {
            self.started = true;
            let (timer, at) = (self.timer.clone(), self.at);
            let spawned = std::thread::Builder::new()
                .name("dora-recv-timeout".into())
                .spawn(move || timer.run_until(at));
            if spawned.is_err() {
                // Without a thread the deadline cannot be kept; timing out now is the
                // answer that never hangs.
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        let mut state = self.timer.state.lock().unwrap_or_else(|e| e.into_inner());
        state.cancelled = true;
        self.timer.changed.notify_all();
    }
}

impl Timer {
    /// Wakes the waiting task at `at`, unless the deadline is dropped before.
    fn run_until(&self, at: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.cancelled {
                return;
            }
            let now = Instant::now();
            if now >= at {
                state.fired = true;
                let waker = state.waker.take();
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
                return;
            }
            state = match self.changed.wait_timeout(state, at - now) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// Combining a node's events with other event sources (a ROS 2 subscription, a channel)
/// into one stream, as dora-rs v0.3.6's module of this name does. The combined stream takes
/// events from its sources in turn, so none starves the others, and ends when all ended.
pub mod merged {
    use futures::{Stream, StreamExt};

    use crate::{Event, EventStream};

    /// An event of a combined stream: from dora or from the other source.
    // The variants are v0.3.6's, unboxed: code matches on `MergedEvent::Dora(event)`.
    #[allow(clippy::large_enum_variant)]
    #[derive(Debug)]
    pub enum MergedEvent<E> {
        /// An event of the node's own stream.
        Dora(Event),
        /// An event of the merged-in stream.
        External(E),
    }

    /// An event of one of two external sources, when more than one was merged.
    #[derive(Debug)]
    pub enum Either<A, B> {
        /// From the source merged first.
        First(A),
        /// From the source merged second.
        Second(B),
    }

    impl<A> Either<A, A> {
        /// The event, whichever source it came from.
        pub fn flatten(self) -> A {
            match self {
                Either::First(a) | Either::Second(a) => a,
            }
        }
    }

    /// Merges a stream of other events into a node's events (or into an already merged
    /// stream, nesting the external events in [`Either`]).
    pub trait MergeExternal<'a, E> {
        /// The combined stream's events.
        type Item;

        /// Combines `self` with `external_events`; the result ends when both ended.
        fn merge_external(
            self,
            external_events: impl Stream<Item = E> + Unpin + 'a,
        ) -> Box<dyn Stream<Item = Self::Item> + Unpin + 'a>;
    }

    /// [`MergeExternal`] for `Send` streams, giving a `Send` stream.
    pub trait MergeExternalSend<'a, E> {
        /// The combined stream's events.
        type Item;

        /// Combines `self` with `external_events`; the result ends when both ended.
        fn merge_external_send(
            self,
            external_events: impl Stream<Item = E> + Unpin + Send + 'a,
        ) -> Box<dyn Stream<Item = Self::Item> + Unpin + Send + 'a>;
    }

    impl<'a, E: 'static> MergeExternal<'a, E> for EventStream {
        type Item = MergedEvent<E>;

        fn merge_external(
            self,
            external_events: impl Stream<Item = E> + Unpin + 'a,
        ) -> Box<dyn Stream<Item = Self::Item> + Unpin + 'a> {
            Box::new(futures::stream::select(
                self.map(MergedEvent::Dora),
                external_events.map(MergedEvent::External),
            ))
        }
    }

    impl<'a, E: 'static> MergeExternalSend<'a, E> for EventStream {
        type Item = MergedEvent<E>;

        fn merge_external_send(
            self,
            external_events: impl Stream<Item = E> + Unpin + Send + 'a,
        ) -> Box<dyn Stream<Item = Self::Item> + Unpin + Send + 'a> {
            Box::new(futures::stream::select(
                self.map(MergedEvent::Dora),
                external_events.map(MergedEvent::External),
            ))
        }
    }

    /// Nests the events of an already merged stream as [`Either::First`].
    fn nest<E, F>(event: MergedEvent<E>) -> MergedEvent<Either<E, F>> {
        match event {
            MergedEvent::Dora(event) => MergedEvent::Dora(event),
            MergedEvent::External(event) => MergedEvent::External(Either::First(event)),
        }
    }

    impl<'a, E: 'a, F: 'a, S> MergeExternal<'a, F> for S
    where
        S: Stream<Item = MergedEvent<E>> + Unpin + 'a,
    {
        type Item = MergedEvent<Either<E, F>>;

        fn merge_external(
            self,
            external_events: impl Stream<Item = F> + Unpin + 'a,
        ) -> Box<dyn Stream<Item = Self::Item> + Unpin + 'a> {
            Box::new(futures::stream::select(
                self.map(nest),
                external_events.map(|event| MergedEvent::External(Either::Second(event))),
            ))
        }
    }

    impl<'a, E: 'a, F: 'a, S> MergeExternalSend<'a, F> for S
    where
        S: Stream<Item = MergedEvent<E>> + Unpin + Send + 'a,
    {
        type Item = MergedEvent<Either<E, F>>;

        fn merge_external_send(
            self,
            external_events: impl Stream<Item = F> + Unpin + Send + 'a,
        ) -> Box<dyn Stream<Item = Self::Item> + Unpin + Send + 'a> {
            Box::new(futures::stream::select(
                self.map(nest),
                external_events.map(|event| MergedEvent::External(Either::Second(event))),
            ))
        }
    }
}

/// Installs the subscriber of the `tracing` feature: the node's `tracing` events go to
/// stdout (so into the node's log), filtered by `RUST_LOG`, warnings and errors by default.
/// A subscriber the program installed itself is kept.
#[cfg(feature = "tracing")]
pub(crate) fn set_up_tracing() {
    use tracing_subscriber::EnvFilter;

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // Fails only when a global subscriber exists already: the program's choice wins.
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn ids_convert_and_borrow_as_in_v036() {
        let id: DataId = "tick".parse().unwrap_or_default();
        let as_str: &str = id.as_ref();
        assert_eq!(as_str, "tick");
        let mut map = HashMap::new();
        map.insert(id.clone(), 1);
        assert_eq!(map.get("tick"), Some(&1));
        let node = dora_core::config::NodeId::from("sink".to_string());
        assert_eq!(node.to_string(), "sink");
        let operator: OperatorId = "op".parse().unwrap_or_default();
        assert_eq!(operator.as_str(), "op");
    }

    #[test]
    fn arrow_utils_round_trip_an_array() {
        use arrow_array::{Array, Int32Array};

        let array = Int32Array::from(vec![1, 2, 3]).to_data();
        let mut buffer = vec![0; arrow_utils::required_data_size(&array)];
        let info = arrow_utils::copy_array_into_sample(&mut buffer, &array);
        assert_eq!(info.len, 3);
    }

    #[test]
    fn a_deadline_fires_and_a_dropped_one_does_not_linger() {
        let start = Instant::now();
        futures::executor::block_on(Deadline::new(start + Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Polled once (starting its thread), then dropped long before it is due.
        let mut far = Box::pin(Deadline::new(Instant::now() + Duration::from_secs(3600)));
        let waker = futures::task::noop_waker();
        assert!(far
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        let timer = far.timer.clone();
        drop(far);
        assert!(timer.state.lock().map(|s| s.cancelled).unwrap_or(false));
    }

    #[test]
    fn merged_streams_deliver_both_sources_and_end_together() {
        use futures::StreamExt;
        use merged::{Either, MergedEvent};

        // A merged stream of merged streams nests the external events; the inner one stands
        // for the dora side here.
        let inner = futures::stream::iter(vec![MergedEvent::<u8>::External(1)]);
        let combined = merged::MergeExternal::merge_external(inner, futures::stream::iter(["b"]));
        let events: Vec<_> = futures::executor::block_on(combined.collect());
        let mut seen: Vec<String> = events
            .into_iter()
            .map(|event| match event {
                MergedEvent::External(Either::First(n)) => format!("first {n}"),
                MergedEvent::External(Either::Second(s)) => format!("second {s}"),
                MergedEvent::Dora(_) => "dora".to_string(),
            })
            .collect();
        seen.sort();
        assert_eq!(seen, ["first 1", "second b"]);
        assert_eq!(Either::<u8, u8>::Second(3).flatten(), 3);
    }
}
