//! ROS 2 messages in the node's event stream.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use arrow_array::ArrayRef;
use dora_node_api::{Event, EventStream};
use futures::{stream::SelectAll, FutureExt, Stream, StreamExt};

use crate::{Ros2Error, Subscription, SubscriptionId};

/// An item of [`MergedEvents`]: a dora event or a ROS 2 message.
#[derive(Debug)]
#[non_exhaustive]
pub enum Merged {
    /// An event of the node's dora event stream.
    Dora(Event),
    /// A message of a subscription, as a one-row struct array shaped like its type.
    Ros2 {
        /// The subscription it came from.
        subscription: SubscriptionId,
        /// The message.
        data: ArrayRef,
    },
    /// A message of a subscription that could not be read (malformed CDR from a peer, for
    /// instance). It is dropped; the subscription goes on.
    Ros2Error {
        /// The subscription it came from.
        subscription: SubscriptionId,
        /// Why it could not be read.
        error: Ros2Error,
    },
}

/// Merges [`Subscription`]s into a dora [`EventStream`]:
/// `events.merge_ros2(subscription)`.
pub trait EventStreamExt {
    /// The node's events and the subscription's messages as one [`MergedEvents`] stream;
    /// add more subscriptions with [`MergedEvents::merge_ros2`] or [`MergedEvents::add`].
    fn merge_ros2(self, subscription: Subscription) -> MergedEvents;
}

impl EventStreamExt for EventStream {
    fn merge_ros2(self, subscription: Subscription) -> MergedEvents {
        MergedEvents::new(self).merge_ros2(subscription)
    }
}

/// A subscription's items, tagged with its id.
type Tagged = Pin<Box<dyn Stream<Item = Merged> + Send>>;

/// The node's dora events and the messages of its ROS 2 subscriptions, in arrival order.
///
/// Use it blocking ([`MergedEvents::recv`]), async ([`MergedEvents::recv_async`]) or as a
/// [`futures::Stream`]. When both sides have something ready, they take turns, so a busy
/// topic cannot starve the dora inputs (or the other way round).
///
/// The stream ends when the dora event stream ends (after [`Event::Stop`], or once every
/// input is closed): the node's life is the dataflow's. The subscriptions are dropped with
/// the stream.
pub struct MergedEvents {
    events: EventStream,
    subscriptions: SelectAll<Tagged>,
    ros_first: bool,
}

impl MergedEvents {
    /// The node's events without subscriptions yet.
    pub fn new(events: EventStream) -> Self {
        Self {
            events,
            subscriptions: SelectAll::new(),
            ros_first: false,
        }
    }

    /// Adds a subscription (builder style).
    pub fn merge_ros2(mut self, subscription: Subscription) -> Self {
        self.add(subscription);
        self
    }

    /// Adds a subscription.
    pub fn add(&mut self, subscription: Subscription) {
        let id = subscription.id();
        self.subscriptions
            .push(Box::pin(subscription.map(move |item| match item {
                Ok(data) => Merged::Ros2 {
                    subscription: id,
                    data,
                },
                Err(error) => Merged::Ros2Error {
                    subscription: id,
                    error,
                },
            })));
    }

    /// Blocks until the next item; `None` once the dora event stream has ended.
    pub fn recv(&mut self) -> Option<Merged> {
        futures::executor::block_on(self.next())
    }

    /// Waits asynchronously for the next item; `None` once the dora event stream has ended.
    pub async fn recv_async(&mut self) -> Option<Merged> {
        self.next().await
    }

    /// Returns an item that is ready now, without waiting.
    pub fn try_recv(&mut self) -> Option<Merged> {
        self.next().now_or_never().flatten()
    }

    /// The dora event stream, for instance to use its own `recv_timeout`.
    pub fn dora_events(&mut self) -> &mut EventStream {
        &mut self.events
    }

    fn poll_dora(&mut self, cx: &mut Context<'_>) -> Poll<Option<Merged>> {
        Pin::new(&mut self.events)
            .poll_next(cx)
            .map(|event| event.map(Merged::Dora))
    }

    fn poll_ros(&mut self, cx: &mut Context<'_>) -> Poll<Option<Merged>> {
        if self.subscriptions.is_empty() {
            // `SelectAll` of nothing is finished; the dora side decides when to end.
            return Poll::Pending;
        }
        match Pin::new(&mut self.subscriptions).poll_next(cx) {
            // Subscriptions never end on their own.
            Poll::Ready(None) => Poll::Pending,
            other => other,
        }
    }
}

impl Stream for MergedEvents {
    type Item = Merged;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Merged>> {
        let this = &mut *self;
        this.ros_first = !this.ros_first;
        if this.ros_first {
            if let Poll::Ready(Some(item)) = this.poll_ros(cx) {
                return Poll::Ready(Some(item));
            }
            this.poll_dora(cx)
        } else {
            if let ready @ Poll::Ready(_) = this.poll_dora(cx) {
                return ready;
            }
            this.poll_ros(cx)
        }
    }
}

impl std::fmt::Debug for MergedEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedEvents")
            .field("events", &self.events)
            .field("subscriptions", &self.subscriptions.len())
            .finish()
    }
}
