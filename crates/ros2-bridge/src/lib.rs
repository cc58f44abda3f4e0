//! The ROS 2 bridge: a dataflow node whose other side is a ROS 2 participant on the DDS wire.
//!
//! It owns the DDS entities of one bridge node (participant, readers, writers, the
//! `ros_discovery_info` announcement), the conversion of its messages between Arrow rows and
//! CDR, and the request/reply wire mapping of services. It does not repeat what `dora-ros2`
//! already does: ROS 2 names, QoS, the participant, raw CDR readers and writers and the
//! discovery announcement come from there, message types from `dora-ros2-types`. On the
//! dataflow side it is an ordinary node that talks only to its own daemon through
//! `dora-node-api`; it reads only its own node's `ros2:` section of the dataflow.
//!
//! The daemon runs it as `dora ros2-bridge` for a node declared with `ros2:`. Inputs of the
//! node are published on ROS 2 topics (each row of the incoming Arrow `StructArray` is one
//! message); messages of subscribed topics become the node's outputs (one row each). Message
//! layouts come from `.msg` files read at run time (see `dora-ros2-types`), so any type a
//! ROS 2 installation knows can be bridged without generated code.
//!
//! The bridge announces its node on `ros_discovery_info` as ROS 2's own nodes do, so ROS 2
//! tools list it with its topics. With `ROS_LOCALHOST_ONLY=1` or
//! `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST` it keeps all DDS traffic on the loopback
//! interface.
//!
//! Design note: `ros2-client` maps ROS 2 types to Rust types at compile time through serde;
//! the bridge only knows its types at run time, so it speaks DDS through `rustdds` directly
//! with raw CDR payloads that `dora-ros2-types` encodes and decodes.

mod codec;
mod dds;
mod names;
mod qos_watch;
mod service;

use std::path::PathBuf;

use arrow_array::ArrayRef;
use dora_descriptor::{
    Descriptor, NodeKind, NodeSource, Ros2Bridge, Ros2Direction, Ros2Qos, Ros2Topic,
};
use dora_node_api::{DoraNode, Event};
use eyre::{bail, eyre, WrapErr};
use futures::{
    channel::oneshot,
    stream::{select_all, BoxStream},
    StreamExt,
};
use rustdds::TopicKind;

use codec::Codec;
use dds::{RawCdr, RawMessage};

use dora_message::config::DATAFLOW_PATH_ENV;

/// Runs the bridge of this process's node until the dataflow stops.
pub fn run_from_env() -> eyre::Result<()> {
    let (mut node, events) =
        DoraNode::init_from_env().wrap_err("joining the dataflow as a ROS 2 bridge")?;
    let path = std::env::var_os(DATAFLOW_PATH_ENV)
        .map(PathBuf::from)
        .ok_or_else(|| eyre!("{DATAFLOW_PATH_ENV} is not set: the bridge is started by dora"))?;
    let descriptor = Descriptor::read(&path).map_err(|err| eyre!("{err}"))?;
    let path = Some(path);
    let node_id = node.id().to_owned();
    let bridge = match descriptor.node(&node_id).map(|n| &n.kind) {
        Some(NodeKind::Custom(custom)) => match &custom.source {
            NodeSource::Ros2(bridge) => (**bridge).clone(),
            _ => bail!("node `{node_id}` is not a ROS 2 bridge"),
        },
        _ => bail!("node `{node_id}` is not a ROS 2 bridge"),
    };
    let working_dir = path
        .as_deref()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let store = codec::TypeStore::load(&bridge.msg_paths, &working_dir)?;
    if !bridge.services.is_empty() {
        return service::run(&bridge, &descriptor, &node_id, &store, node, events);
    }
    let endpoints = Endpoints::create(&bridge, &node_id, &store)?;
    futures::executor::block_on(endpoints.run(&mut node, events))
}

/// One subscribed topic: its DDS reader and where its messages go.
struct Subscription {
    reader: dds::RawReader,
    output: String,
    codec: Codec,
    topic: String,
}

/// One published topic.
struct Publication {
    writer: dds::RawWriter,
    input: String,
    codec: Codec,
    topic: String,
}

/// A topic of the bridge whose name and type were checked, before any DDS entity exists.
struct PlannedTopic<'b> {
    topic: &'b Ros2Topic,
    /// The fully qualified ROS 2 name.
    resolved: String,
    codec: Codec,
}

impl<'b> PlannedTopic<'b> {
    /// Resolves the topic name with ROS 2 rules and finds its message type.
    fn new(
        topic: &'b Ros2Topic,
        namespace: &str,
        node_name: &str,
        store: &codec::TypeStore,
    ) -> eyre::Result<Self> {
        let resolved = names::resolve(&topic.topic, namespace, node_name)
            .map_err(|err| eyre!("topic: {err}"))?;
        let codec = store.codec(&topic.message_type)?;
        Ok(Self {
            topic,
            resolved,
            codec,
        })
    }

    /// The DDS topic (`rt/...`) with the topic's QoS.
    fn dds_topic(
        &self,
        participant: &rustdds::DomainParticipant,
    ) -> eyre::Result<(rustdds::Topic, rustdds::QosPolicies)> {
        let qos = dds::qos(&self.topic.qos);
        let dds_topic = participant
            .create_topic(
                names::dds_topic(&self.resolved),
                self.codec.dds_type_name(),
                &qos,
                TopicKind::NoKey,
            )
            .map_err(|err| eyre!("creating DDS topic for {}: {err:?}", self.resolved))?;
        Ok((dds_topic, qos))
    }

    /// Creates the DDS reader of a subscribed topic; returns it with the reader's GID.
    fn subscribe(
        self,
        participant: &rustdds::DomainParticipant,
        subscriber: &rustdds::Subscriber,
        qos_watch: &mut qos_watch::QosWatch,
    ) -> eyre::Result<(Subscription, [u8; 16])> {
        let (dds_topic, qos) = self.dds_topic(participant)?;
        let Self {
            topic,
            resolved,
            codec,
        } = self;
        let reader = subscriber
            .create_datareader_no_key::<RawMessage, RawCdr>(&dds_topic, Some(qos))
            .map_err(|err| eyre!("subscribing to {resolved}: {err:?}"))?;
        let guid = rustdds::RTPSEntity::guid(&reader);
        qos_watch.add(guid, &resolved, &topic.qos);
        tracing::info!(
            "subscribed to {resolved} ({}) with {}",
            topic.message_type,
            dds::describe(&topic.qos)
        );
        let subscription = Subscription {
            reader,
            output: topic.dataflow_id.clone(),
            codec,
            topic: resolved,
        };
        Ok((subscription, guid.to_bytes()))
    }

    /// Creates the DDS writer of a published topic; returns it with the writer's GID.
    fn publish(
        self,
        participant: &rustdds::DomainParticipant,
        publisher: &rustdds::Publisher,
        qos_watch: &mut qos_watch::QosWatch,
    ) -> eyre::Result<(Publication, [u8; 16])> {
        let (dds_topic, qos) = self.dds_topic(participant)?;
        let Self {
            topic,
            resolved,
            codec,
        } = self;
        let writer = publisher
            .create_datawriter_no_key::<RawMessage, RawCdr>(&dds_topic, Some(qos))
            .map_err(|err| eyre!("publishing on {resolved}: {err:?}"))?;
        let guid = rustdds::RTPSEntity::guid(&writer);
        qos_watch.add(guid, &resolved, &topic.qos);
        tracing::info!(
            "publishing {resolved} ({}) with {}",
            topic.message_type,
            dds::describe(&topic.qos)
        );
        let publication = Publication {
            writer,
            input: topic.dataflow_id.clone(),
            codec,
            topic: resolved,
        };
        Ok((publication, guid.to_bytes()))
    }
}

/// Everything the bridge created on the DDS side.
struct Endpoints {
    _participant: rustdds::DomainParticipant,
    subscriptions: Vec<Subscription>,
    publications: Vec<Publication>,
    _discovery: dds::RawWriter,
    /// Our readers and writers with their QoS, for incompatibility warnings.
    qos_watch: qos_watch::QosWatch,
}

impl Endpoints {
    fn create(bridge: &Ros2Bridge, node_id: &str, store: &codec::TypeStore) -> eyre::Result<Self> {
        let node_name = bridge
            .node_name
            .clone()
            .unwrap_or_else(|| node_id.replace('-', "_"));
        names::validate_node_name(&node_name).map_err(|err| eyre!("node name: {err}"))?;
        let namespace = names::validate_namespace(bridge.namespace.as_deref().unwrap_or("/"))
            .map_err(|err| eyre!("namespace: {err}"))?;
        // Everything that can be wrong in the configuration is found before any DDS traffic.
        let planned = bridge
            .topics
            .iter()
            .map(|topic| PlannedTopic::new(topic, &namespace, &node_name, store))
            .collect::<eyre::Result<Vec<_>>>()?;
        let (participant, domain) = dds::create_participant(bridge)?;
        let default_qos = dds::qos(&Ros2Qos::default());
        let publisher = participant
            .create_publisher(&default_qos)
            .map_err(|err| eyre!("creating a DDS publisher: {err:?}"))?;
        let subscriber = participant
            .create_subscriber(&default_qos)
            .map_err(|err| eyre!("creating a DDS subscriber: {err:?}"))?;

        let mut subscriptions = Vec::new();
        let mut publications = Vec::new();
        let mut reader_gids = Vec::new();
        let mut writer_gids = Vec::new();
        let mut qos_watch = qos_watch::QosWatch::default();
        for planned in planned {
            match planned.topic.direction {
                Ros2Direction::Subscribe => {
                    let (subscription, gid) =
                        planned.subscribe(&participant, &subscriber, &mut qos_watch)?;
                    reader_gids.push(gid);
                    subscriptions.push(subscription);
                }
                Ros2Direction::Publish => {
                    let (publication, gid) =
                        planned.publish(&participant, &publisher, &mut qos_watch)?;
                    writer_gids.push(gid);
                    publications.push(publication);
                }
            }
        }

        // Announce the node like rmw implementations do.
        let discovery =
            dds::discovery_writer(&participant, &publisher).map_err(|err| eyre!("{err}"))?;
        let info = dds::participant_entities_info(
            rustdds::RTPSEntity::guid(&participant).to_bytes(),
            &namespace,
            &node_name,
            &reader_gids,
            &writer_gids,
        );
        discovery
            .write(RawMessage(info), None)
            .map_err(|err| eyre!("announcing the node: {err:?}"))?;
        tracing::info!("ROS 2 node {namespace}/{node_name} in domain {domain} is up");
        Ok(Self {
            _participant: participant,
            subscriptions,
            publications,
            _discovery: discovery,
            qos_watch,
        })
    }

    async fn run(
        self,
        node: &mut DoraNode,
        events: dora_node_api::EventStream,
    ) -> eyre::Result<()> {
        let Endpoints {
            _participant,
            subscriptions,
            publications,
            _discovery,
            mut qos_watch,
        } = self;
        let (publisher_thread, done_rx) = spawn_publisher(publications, events)?;
        let mut streams: Vec<BoxStream<'static, Item>> = vec![futures::stream::once(async move {
            let _ = done_rx.await;
            Item::DoraDone
        })
        .boxed()];
        let mut receivers = Vec::new();
        for (index, subscription) in subscriptions.into_iter().enumerate() {
            streams.push(subscription_stream(index, subscription.reader));
            receivers.push(Receiver {
                output: subscription.output,
                codec: subscription.codec,
                topic: subscription.topic,
            });
        }
        // Discovery events of the participant: QoS mismatches with peers become warnings.
        let status = _participant.status_listener();
        let status_events = rustdds::StatusEvented::as_async_status_stream(&status);
        let mut all = futures::stream::select(
            select_all(streams),
            status_events.map(|event| Item::Status(Box::new(event))),
        );
        while let Some(item) = all.next().await {
            match item {
                Item::DoraDone => break,
                Item::Ros(index, Ok(message)) => receivers[index].deliver(node, &message)?,
                Item::Status(event) => {
                    if let Some(warning) = qos_watch.warning(&event) {
                        eprintln!("{warning}");
                    }
                }
                Item::Ros(index, Err(err)) => {
                    eprintln!("reading {}: {err}", receivers[index].topic);
                }
            }
        }
        if publisher_thread.join().is_err() {
            bail!("the publishing thread panicked");
        }
        Ok(())
    }
}

/// How long a bridge that ends waits for reliable peers to acknowledge what it wrote last.
pub(crate) const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// What the bridge's loop waits for.
enum Item {
    /// The dataflow side ended (Stop, or every input closed).
    DoraDone,
    /// A sample of the subscription with this index, or why it could not be read.
    Ros(usize, Result<RawMessage, String>),
    /// A discovery event of the participant.
    Status(Box<rustdds::DomainParticipantStatusEvent>),
}

/// Dataflow → ROS runs on its own thread with a blocking `recv`, so that a message wakes that
/// thread straight from its socket and goes out without an async hand-off. The receiver
/// completes when the dataflow side ended.
fn spawn_publisher(
    publications: Vec<Publication>,
    mut events: dora_node_api::EventStream,
) -> eyre::Result<(std::thread::JoinHandle<()>, oneshot::Receiver<()>)> {
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("ros2-publish".into())
        .spawn(move || {
            while let Some(event) = events.recv() {
                match event {
                    Event::Stop => break,
                    Event::Input { id, data, .. } => publish(&publications, &id, &data.0),
                    _ => {}
                }
            }
            // The last messages must still reach reliable subscribers before the bridge
            // ends: wait, boundedly, for their acknowledgments.
            let deadline = std::time::Instant::now() + LINGER;
            for publication in &publications {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                let _ = publication.writer.wait_for_acknowledgments(left);
            }
            let _ = done_tx.send(());
        })
        .wrap_err("starting the publishing thread")?;
    Ok((thread, done_rx))
}

/// The samples of the subscription with index `index`, as loop items.
fn subscription_stream(index: usize, reader: dds::RawReader) -> BoxStream<'static, Item> {
    reader
        .async_sample_stream()
        .map(move |sample| {
            Item::Ros(
                index,
                sample
                    .map(|s| s.into_value())
                    .map_err(|err| format!("{err:?}")),
            )
        })
        .boxed()
}

/// Where the messages of one subscription go.
struct Receiver {
    output: String,
    codec: Codec,
    topic: String,
}

impl Receiver {
    /// Sends `message` on the node's output; a malformed message is dropped with a line on the
    /// node's log.
    fn deliver(&self, node: &mut DoraNode, message: &RawMessage) -> eyre::Result<()> {
        match self.codec.decode(&message.0) {
            Ok(array) => {
                let output = &self.output;
                node.send_output(output.clone().into(), Default::default(), array)
                    .wrap_err_with(|| format!("sending output `{output}`"))?;
            }
            Err(err) => eprintln!("dropped a malformed message from {}: {err}", self.topic),
        }
        Ok(())
    }
}

/// Publishes every row of an input on the topic that input feeds.
fn publish(publications: &[Publication], input: &str, data: &ArrayRef) {
    let Some(publication) = publications.iter().find(|p| p.input == input) else {
        return;
    };
    match publication.codec.encode(data) {
        Ok(messages) => {
            for message in messages {
                if let Err(err) = publication.writer.write(RawMessage(message), None) {
                    tracing::warn!("publishing on {}: {err:?}", publication.topic);
                }
            }
        }
        // Bad input is the sender's bug: say so on the node's log and go on.
        Err(err) => eprintln!(
            "dropped a message for {} (input `{input}`): {err}",
            publication.topic
        ),
    }
}
