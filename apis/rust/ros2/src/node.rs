//! ROS 2 nodes with publishers and subscriptions of run-time message types.

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc, Mutex, MutexGuard,
    },
    task::{Context, Poll},
};

use arrow_array::{Array, ArrayRef, StructArray};
use dora_ros2_types::{MessageType, TypeStore, ENCAPSULATION_HEADER};
use futures::Stream;
use rustdds::{no_key::DataReaderStream, DomainParticipant, RTPSEntity, TopicKind};

use crate::{
    dds::{self, RawCdr, RawMessage, RawWriter},
    names, Qos, Ros2Error,
};

/// Name, namespace and domain of a [`Ros2Node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RosNodeOptions<'a> {
    /// The node name (one ROS 2 name token, e.g. `my_node`).
    pub name: &'a str,
    /// The namespace (`/`, `/robot`); relative topic names resolve against it.
    pub namespace: &'a str,
    /// The DDS domain; `None` takes `ROS_DOMAIN_ID`, else 0.
    pub domain_id: Option<u16>,
}

/// A ROS 2 node: one DDS participant, announced on `ros_discovery_info` like an rclcpp node
/// so that `ros2 node list` / `ros2 node info` show it with its topics.
///
/// Publishers and subscriptions keep the node's DDS participant alive; dropping them removes
/// them from the node's announcement.
#[derive(Clone)]
pub struct Ros2Node {
    inner: Arc<NodeInner>,
}

// Fields drop in order: the DDS entities before the participant that owns them.
struct NodeInner {
    graph: Mutex<Graph>,
    publisher: rustdds::Publisher,
    subscriber: rustdds::Subscriber,
    participant: DomainParticipant,
    name: String,
    namespace: String,
    types: TypeStore,
    next_subscription: AtomicU32,
}

/// What the node announces.
struct Graph {
    readers: Vec<[u8; 16]>,
    writers: Vec<[u8; 16]>,
    discovery: RawWriter,
}

impl Ros2Node {
    /// Creates the node, with the message types of `DORA_ROS2_MSG_PATH`, `AMENT_PREFIX_PATH`
    /// and the interfaces shipped with dora.
    ///
    /// Names are checked before any DDS traffic. With `ROS_LOCALHOST_ONLY=1` or
    /// `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST` the node stays on the loopback interface.
    pub fn new(options: &RosNodeOptions<'_>) -> Result<Self, Ros2Error> {
        Self::with_types(options, TypeStore::new())
    }

    /// Like [`Ros2Node::new`], with the message types of `types` (for instance a store with
    /// extra `.msg` folders, see [`TypeStore::builder`]).
    pub fn with_types(options: &RosNodeOptions<'_>, types: TypeStore) -> Result<Self, Ros2Error> {
        names::validate_node_name(options.name)?;
        let namespace = names::validate_namespace(options.namespace)?;
        let (participant, _) = dds::create_participant(options.domain_id)?;
        let default_qos = Qos::default().to_dds();
        let publisher = participant
            .create_publisher(&default_qos)
            .map_err(|err| Ros2Error::dds("creating a DDS publisher", err))?;
        let subscriber = participant
            .create_subscriber(&default_qos)
            .map_err(|err| Ros2Error::dds("creating a DDS subscriber", err))?;
        let discovery = dds::discovery_writer(&participant, &publisher)?;
        let node = Self {
            inner: Arc::new(NodeInner {
                name: options.name.to_owned(),
                namespace,
                types,
                participant,
                publisher,
                subscriber,
                graph: Mutex::new(Graph {
                    readers: Vec::new(),
                    writers: Vec::new(),
                    discovery,
                }),
                next_subscription: AtomicU32::new(0),
            }),
        };
        let graph = node.inner.graph();
        node.inner.announce(&graph)?;
        drop(graph);
        Ok(node)
    }

    /// The node name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The node's namespace, starting with `/`.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The DDS domain of the node.
    pub fn domain_id(&self) -> u16 {
        self.inner.participant.domain_id()
    }

    /// The message types the node knows.
    pub fn types(&self) -> &TypeStore {
        &self.inner.types
    }

    /// Resolves a topic name with the ROS 2 rules: `/abs` stays, `rel` goes under the
    /// namespace, `~/x` under the node.
    pub fn resolve(&self, topic: &str) -> Result<String, Ros2Error> {
        Ok(names::resolve(
            topic,
            &self.inner.namespace,
            &self.inner.name,
        )?)
    }

    /// Checks the topic name and message type; creates the DDS topic.
    fn topic(
        &self,
        topic: &str,
        message_type: &str,
        qos: &Qos,
    ) -> Result<(String, Arc<MessageType>, rustdds::Topic), Ros2Error> {
        let resolved = self.resolve(topic)?;
        let message = self.inner.types.message(message_type)?;
        let dds_topic = self
            .inner
            .participant
            .create_topic(
                names::dds_topic(&resolved),
                message.name.dds_name(),
                &qos.to_dds(),
                TopicKind::NoKey,
            )
            .map_err(|err| Ros2Error::dds(format!("creating the DDS topic of {resolved}"), err))?;
        Ok((resolved, message, dds_topic))
    }

    /// Creates a publisher of `message_type` (`pkg/Type` or `pkg/msg/Type`) on `topic`.
    pub fn create_publisher(
        &self,
        topic: &str,
        message_type: &str,
        qos: Qos,
    ) -> Result<Publisher, Ros2Error> {
        let (resolved, message, dds_topic) = self.topic(topic, message_type, &qos)?;
        let writer = self
            .inner
            .publisher
            .create_datawriter_no_key::<RawMessage, RawCdr>(&dds_topic, Some(qos.to_dds()))
            .map_err(|err| Ros2Error::dds(format!("publishing on {resolved}"), err))?;
        let gid = writer.guid().to_bytes();
        let mut graph = self.inner.graph();
        graph.writers.push(gid);
        self.inner.announce(&graph)?;
        drop(graph);
        Ok(Publisher {
            writer,
            message,
            topic: resolved,
            qos,
            gid,
            node: self.inner.clone(),
        })
    }

    /// Creates a subscription to `message_type` (`pkg/Type` or `pkg/msg/Type`) on `topic`.
    ///
    /// Its messages are read by merging it into the node's event stream
    /// ([`EventStreamExt::merge_ros2`](crate::EventStreamExt::merge_ros2)), or directly as a
    /// [`Stream`] of one-row struct arrays.
    pub fn create_subscription(
        &self,
        topic: &str,
        message_type: &str,
        qos: Qos,
    ) -> Result<Subscription, Ros2Error> {
        let (resolved, message, dds_topic) = self.topic(topic, message_type, &qos)?;
        let reader = self
            .inner
            .subscriber
            .create_datareader_no_key::<RawMessage, RawCdr>(&dds_topic, Some(qos.to_dds()))
            .map_err(|err| Ros2Error::dds(format!("subscribing to {resolved}"), err))?;
        let gid = reader.guid().to_bytes();
        let mut graph = self.inner.graph();
        graph.readers.push(gid);
        self.inner.announce(&graph)?;
        drop(graph);
        let id = SubscriptionId(self.inner.next_subscription.fetch_add(1, Ordering::Relaxed));
        Ok(Subscription {
            id,
            stream: reader.async_sample_stream(),
            message,
            topic: resolved,
            qos,
            gid,
            node: self.inner.clone(),
        })
    }
}

impl std::fmt::Debug for Ros2Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ros2Node")
            .field("name", &self.inner.name)
            .field("namespace", &self.inner.namespace)
            .field("domain_id", &self.domain_id())
            .finish()
    }
}

impl NodeInner {
    fn graph(&self) -> MutexGuard<'_, Graph> {
        // A panic while holding the lock leaves the lists usable.
        self.graph
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes the node's entities on `ros_discovery_info` (the last sample is kept for
    /// late joiners).
    fn announce(&self, graph: &Graph) -> Result<(), Ros2Error> {
        let info = dds::participant_entities_info(
            self.participant.guid().to_bytes(),
            &self.namespace,
            &self.name,
            &graph.readers,
            &graph.writers,
        );
        graph
            .discovery
            .write(RawMessage(info), None)
            .map_err(|err| Ros2Error::dds("announcing the node on ros_discovery_info", err))
    }

    /// Removes an endpoint from the announcement.
    fn retire(&self, gid: [u8; 16]) {
        let mut graph = self.graph();
        graph.readers.retain(|g| *g != gid);
        graph.writers.retain(|g| *g != gid);
        // Best effort: the node is going away or the endpoint is already gone on the wire.
        let _ = self.announce(&graph);
    }
}

/// Publishes messages of one type on one topic.
pub struct Publisher {
    writer: RawWriter,
    message: Arc<MessageType>,
    topic: String,
    qos: Qos,
    gid: [u8; 16],
    node: Arc<NodeInner>,
}

impl Publisher {
    /// Publishes one message per row of `data`, a struct array shaped like the message type
    /// (a `StructArray`, or an `ArrayRef` holding one). Fields missing from the array take the
    /// `.msg` default. Every row is checked before any is sent; returns how many were sent.
    pub fn publish(&self, data: &dyn Array) -> Result<usize, Ros2Error> {
        let rows =
            data.as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(|| Ros2Error::NotAStruct {
                    topic: self.topic.clone(),
                    message_type: self.message.name.to_string(),
                    got: data.data_type().to_string(),
                })?;
        let mut messages = Vec::with_capacity(rows.len());
        for row in 0..rows.len() {
            let mut buffer = Vec::new();
            dora_ros2_types::serialize_into(&self.message, rows, row, &mut buffer).map_err(
                |source| Ros2Error::Serialize {
                    topic: self.topic.clone(),
                    row,
                    source,
                },
            )?;
            // rustdds writes the encapsulation header itself.
            buffer.drain(..ENCAPSULATION_HEADER.len().min(buffer.len()));
            messages.push(RawMessage(buffer));
        }
        let count = messages.len();
        for message in messages {
            self.writer
                .write(message, None)
                .map_err(|err| Ros2Error::dds(format!("publishing on {}", self.topic), err))?;
        }
        Ok(count)
    }

    /// The resolved topic name (`/chatter`).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The message type.
    pub fn message_type(&self) -> &MessageType {
        &self.message
    }

    /// The QoS the publisher was created with.
    pub fn qos(&self) -> Qos {
        self.qos
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.node.retire(self.gid);
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .field("message_type", &self.message.name.to_string())
            .field("qos", &self.qos)
            .finish()
    }
}

/// Identifies a [`Subscription`] of a [`Ros2Node`] (unique within the node), so that merged
/// events tell which subscription a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u32);

impl std::fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "subscription {}", self.0)
    }
}

/// Receives messages of one type on one topic: a [`Stream`] of one-row struct arrays (or the
/// error of a message that could not be decoded; the stream goes on after it). Usually merged
/// into the node's event stream with [`EventStreamExt::merge_ros2`](crate::EventStreamExt).
pub struct Subscription {
    id: SubscriptionId,
    stream: DataReaderStream<RawMessage, RawCdr>,
    message: Arc<MessageType>,
    topic: String,
    qos: Qos,
    gid: [u8; 16],
    node: Arc<NodeInner>,
}

impl Subscription {
    /// The subscription's id within its node.
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// The resolved topic name (`/chatter`).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The message type.
    pub fn message_type(&self) -> &MessageType {
        &self.message
    }

    /// The QoS the subscription was created with.
    pub fn qos(&self) -> Qos {
        self.qos
    }

    /// Blocks until the next message.
    pub fn recv(&mut self) -> Option<Result<ArrayRef, Ros2Error>> {
        futures::executor::block_on(futures::StreamExt::next(self))
    }
}

impl Stream for Subscription {
    type Item = Result<ArrayRef, Ros2Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(Ros2Error::dds(
                format!("reading {}", this.topic),
                err,
            )))),
            Poll::Ready(Some(Ok(sample))) => {
                let RawMessage(bytes) = sample.into_value();
                Poll::Ready(Some(
                    dora_ros2_types::deserialize(&this.message, &bytes)
                        .map(|row| Arc::new(row) as ArrayRef)
                        .map_err(|source| Ros2Error::Deserialize {
                            topic: this.topic.clone(),
                            source,
                        }),
                ))
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.node.retire(self.gid);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("topic", &self.topic)
            .field("message_type", &self.message.name.to_string())
            .field("qos", &self.qos)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Send + Sync>() {}
    fn sendable<T: Send>() {}

    #[test]
    fn handles_cross_threads() {
        shareable::<Ros2Node>();
        shareable::<Publisher>();
        sendable::<Subscription>();
        sendable::<crate::MergedEvents>();
    }
}
