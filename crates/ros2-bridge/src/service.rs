//! ROS 2 services in the bridge: `ros2: { service, service_type, role: client | server }`.
//!
//! # Dataflow side
//!
//! - **client**: every row of every input message (a struct row shaped like the service's
//!   `_Request`) is sent as one request. Each reply becomes one message on the node's single
//!   output (a struct row shaped like `_Response`). If the input carried a `request_id`
//!   parameter (of any parameter type), the reply carries the same parameter, unchanged.
//! - **server**: every ROS 2 request becomes one message on the node's single output (a
//!   `_Request` row) with a `request_id` parameter, a [`Parameter::Integer`] unique within the
//!   bridge run (1, 2, 3 …). A message on any input of the node that carries the same
//!   `request_id` parameter (one `_Response` row) is sent back to the client that asked.
//!
//! # Wire mapping
//!
//! Service `/s` of type `pkg/srv/S` is the DDS topic `rq/sRequest` of type
//! `pkg::srv::dds_::S_Request_` for requests and `rr/sReply` of type
//! `pkg::srv::dds_::S_Response_` for replies, with the service's QoS (ROS 2 default: reliable,
//! volatile, keep-last 10). How a reply is tied to its request differs between the rmw
//! implementations, and the bridge speaks both:
//!
//! - **rmw_cyclonedds** (`cdds_request_header_t`): every request and reply payload starts with
//!   a 16-byte header in the payload's byte order — `uint64 guid` (the client's id; rmw_cyclonedds
//!   uses its request writer's instance handle) then `int64 seq` (the client's request
//!   counter) — followed by the message. A server copies the header into its reply; a client
//!   keeps only replies carrying its own id. The bridge as a client uses a 64-bit hash of its
//!   request writer's GUID as id and counts `seq` from 1.
//! - **rmw_fastrtps** (DDS-RPC "basic" mapping): payloads are plain messages; the request's
//!   identity is the RTPS sample identity (writer GUID + sequence number) of the request, and the
//!   reply carries it in the inline QoS `PID_RELATED_SAMPLE_IDENTITY` (rustdds writes both 0x0083
//!   and Fast DDS' legacy 0x800f). Like rmw_fastrtps since Humble, the bridge's requests carry
//!   the GUID of its reply reader as related sample identity, and it accepts replies related to
//!   either its request writer or its reply reader.
//!
//! Which mapping a peer uses is decided per sample: a request (server role) with a related
//! sample identity in its inline QoS, or from a writer whose GUID prefix starts with eProsima's
//! vendor id (01.0f — Fast DDS puts its vendor id there), is Fast DDS; any other request is
//! read as rmw_cyclonedds. A client sends with the Fast DDS mapping when every matched request
//! reader is Fast DDS, else with the rmw_cyclonedds one. A reply (client role) with a related
//! sample identity naming this client is Fast DDS; else its header must carry this client's id.
//!
//! A server's reply reaches only readers its writer has matched, and the client's reply
//! reader may be discovered a little after its request arrived. So, like both rmw
//! implementations, the server answers once that reader is matched: the reader a request
//! names (rmw_fastrtps), else a reader of the participant that wrote the request — waiting at
//! most 2 s, then sending anyway.
//!
//! # Failure cases
//!
//! Nothing on the wire can stop the bridge: a malformed request or reply (too short for the
//! header, bad CDR) is logged on the node's stderr and dropped; so are replies for another
//! client or for a request already answered. A client holds requests while no server is
//! matched, for at most [`SERVER_WAIT`], then drops them with a message. A server drops (with a
//! message) an input without a known `request_id`, one whose row does not encode as the
//! `_Response`, and forgets requests not answered within [`REPLY_WAIT`]. Replies to a client
//! that forgot its request are dropped (with a message) after the same time.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    hash::{Hash, Hasher},
    time::{Duration, Instant},
};

use dora_descriptor::{Descriptor, NodeKind, Ros2Bridge, Ros2Role, Ros2Service};
use dora_node_api::{DoraNode, Event, EventStream, MetadataParameters, Parameter};
use eyre::{bail, eyre, WrapErr};
use futures::StreamExt;
use rustdds::{
    no_key::DataSample, DataWriterStatus, RTPSEntity, SampleIdentity, SequenceNumber,
    StatusEvented, TopicKind, WriteOptionsBuilder, GUID,
};

use super::{
    codec::{Codec, TypeStore},
    dds::{self, RawCdr, RawMessage, RawReader, RawWriter},
    names,
};

/// The metadata parameter tying a server's request output to the reply input.
pub const REQUEST_ID: &str = "request_id";

/// How long a client holds a request while no server is matched.
pub const SERVER_WAIT: Duration = Duration::from_secs(10);

/// How long a request waits for its reply (server: for the dataflow's answer; client: for the
/// ROS 2 server's) before the bridge forgets it.
pub const REPLY_WAIT: Duration = Duration::from_secs(60);

/// How long a server waits for its reply writer to match a reader before answering (the
/// client's reply reader may be discovered a little after its request arrived).
const REPLY_READER_WAIT: Duration = Duration::from_secs(2);

/// How long after our writer matched a reader we consider the reader to have matched our
/// writer too. Discovery is not symmetric: a volatile reader (Cyclone's among them) that
/// discovers our writer after a sample was written never gets that sample, and rustdds does
/// not tell when the remote side matched, so the bridge gives it this long.
const MATCH_GRACE: Duration = Duration::from_millis(500);

/// Length of rmw_cyclonedds' `cdds_request_header_t` (`uint64 guid; int64 seq;`).
pub const CYCLONE_HEADER_LEN: usize = 16;

/// The 4-byte encapsulation header length of a CDR buffer.
const ENCAPSULATION_LEN: usize = 4;

/// rmw_cyclonedds' request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CycloneHeader {
    /// The client's id.
    pub guid: u64,
    /// The client's request counter.
    pub seq: i64,
}

/// Splits a request/reply buffer written with the rmw_cyclonedds mapping (encapsulation
/// header, then the 16-byte request header, then the message) into the request header and a
/// buffer holding only the message (encapsulation header kept). As the request header is 16
/// bytes long, the message's alignment is the same in both buffers. `None` when the buffer is
/// too short or its encapsulation is not plain CDR.
pub fn split_cyclone(buffer: &[u8]) -> Option<(CycloneHeader, Vec<u8>)> {
    let encapsulation = buffer.get(..ENCAPSULATION_LEN)?;
    let little_endian = match encapsulation.get(..2)? {
        [0x00, 0x01] => true,
        [0x00, 0x00] => false,
        _ => return None,
    };
    let header = buffer.get(ENCAPSULATION_LEN..ENCAPSULATION_LEN + CYCLONE_HEADER_LEN)?;
    let word = |bytes: &[u8]| -> Option<[u8; 8]> { bytes.try_into().ok() };
    let (guid, seq) = (word(header.get(..8)?)?, word(header.get(8..)?)?);
    let header = if little_endian {
        CycloneHeader {
            guid: u64::from_le_bytes(guid),
            seq: i64::from_le_bytes(seq),
        }
    } else {
        CycloneHeader {
            guid: u64::from_be_bytes(guid),
            seq: i64::from_be_bytes(seq),
        }
    };
    let mut message = encapsulation.to_vec();
    message.extend_from_slice(buffer.get(ENCAPSULATION_LEN + CYCLONE_HEADER_LEN..)?);
    Some((header, message))
}

/// A little-endian payload (after the encapsulation header) with the rmw_cyclonedds request
/// header in front of the message `body`.
pub fn with_cyclone_header(header: CycloneHeader, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(CYCLONE_HEADER_LEN + body.len());
    payload.extend_from_slice(&header.guid.to_le_bytes());
    payload.extend_from_slice(&header.seq.to_le_bytes());
    payload.extend_from_slice(body);
    payload
}

/// Whether an RTPS entity belongs to eProsima Fast DDS (its GUID prefix starts with the
/// vendor id 01.0f).
pub fn is_fast_dds(guid: GUID) -> bool {
    guid.to_bytes().starts_with(&[0x01, 0x0f])
}

/// The rmw_cyclonedds client id the bridge uses for its request writer.
pub fn cyclone_client_id(writer: GUID) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    writer.to_bytes().hash(&mut hasher);
    hasher.finish()
}

/// Fast DDS' `SequenceNumber_t::unknown()` ({high: -1, low: 0}).
fn unknown_sequence_number() -> SequenceNumber {
    SequenceNumber::from(-(1i64 << 32))
}

/// Runs a service bridge (a `ros2:` node with `service:`) until the dataflow stops.
pub(super) fn run(
    bridge: &Ros2Bridge,
    descriptor: &Descriptor,
    node_id: &str,
    store: &TypeStore,
    node: DoraNode,
    events: EventStream,
) -> eyre::Result<()> {
    let [service] = bridge.services.as_slice() else {
        bail!("node `{node_id}`: a ROS 2 bridge has at most one service");
    };
    if !bridge.topics.is_empty() {
        bail!("node `{node_id}`: a ROS 2 bridge has either topics or a service, not both");
    }
    let output = match descriptor.node(node_id).map(|n| &n.kind) {
        Some(NodeKind::Custom(custom)) => match custom.outputs.as_slice() {
            [output] => output.clone(),
            _ => bail!("node `{node_id}`: a service bridge needs exactly one output"),
        },
        _ => bail!("node `{node_id}` is not a ROS 2 bridge"),
    };
    let endpoints = ServiceEndpoints::create(bridge, service, node_id, store)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .wrap_err("starting the service bridge's event loop")?;
    runtime.block_on(endpoints.run(node, events, output))
}

/// The DDS side of one service.
struct ServiceEndpoints {
    _participant: rustdds::DomainParticipant,
    _discovery: RawWriter,
    role: Ros2Role,
    service: String,
    /// Requests for a server, replies for a client.
    writer: RawWriter,
    reader: RawReader,
    request: Codec,
    response: Codec,
}

impl ServiceEndpoints {
    fn create(
        bridge: &Ros2Bridge,
        service: &Ros2Service,
        node_id: &str,
        store: &TypeStore,
    ) -> eyre::Result<Self> {
        let node_name = bridge
            .node_name
            .clone()
            .unwrap_or_else(|| node_id.replace('-', "_"));
        names::validate_node_name(&node_name).map_err(|err| eyre!("node name: {err}"))?;
        let namespace = names::validate_namespace(bridge.namespace.as_deref().unwrap_or("/"))
            .map_err(|err| eyre!("namespace: {err}"))?;
        let resolved = names::resolve(&service.service, &namespace, &node_name)
            .map_err(|err| eyre!("service: {err}"))?;
        let (request, response) = store.service_codecs(&service.service_type)?;
        let (participant, domain) = dds::create_participant(bridge)?;
        let qos = dds::qos(&service.qos);
        let publisher = participant
            .create_publisher(&qos)
            .map_err(|err| eyre!("creating a DDS publisher: {err:?}"))?;
        let subscriber = participant
            .create_subscriber(&qos)
            .map_err(|err| eyre!("creating a DDS subscriber: {err:?}"))?;
        let request_topic = participant
            .create_topic(
                format!("rq{resolved}Request"),
                request.dds_type_name(),
                &qos,
                TopicKind::NoKey,
            )
            .map_err(|err| eyre!("creating the request topic of {resolved}: {err:?}"))?;
        let reply_topic = participant
            .create_topic(
                format!("rr{resolved}Reply"),
                response.dds_type_name(),
                &qos,
                TopicKind::NoKey,
            )
            .map_err(|err| eyre!("creating the reply topic of {resolved}: {err:?}"))?;
        let (write_topic, read_topic) = match service.role {
            Ros2Role::Client => (&request_topic, &reply_topic),
            Ros2Role::Server => (&reply_topic, &request_topic),
        };
        let writer = publisher
            .create_datawriter_no_key::<RawMessage, RawCdr>(write_topic, Some(qos.clone()))
            .map_err(|err| eyre!("creating the writer of {resolved}: {err:?}"))?;
        let reader = subscriber
            .create_datareader_no_key::<RawMessage, RawCdr>(read_topic, Some(qos))
            .map_err(|err| eyre!("creating the reader of {resolved}: {err:?}"))?;

        // Announce the node like rmw implementations do (services are listed through their
        // request/reply readers and writers).
        let discovery =
            dds::discovery_writer(&participant, &publisher).map_err(|err| eyre!("{err}"))?;
        let info = dds::participant_entities_info(
            participant.guid().to_bytes(),
            &namespace,
            &node_name,
            &[reader.guid().to_bytes()],
            &[writer.guid().to_bytes()],
        );
        discovery
            .write(RawMessage(info), None)
            .map_err(|err| eyre!("announcing the node: {err:?}"))?;
        let role = match service.role {
            Ros2Role::Client => "client",
            Ros2Role::Server => "server",
        };
        tracing::info!(
            "ROS 2 service {role} for {resolved} ({}) on node {namespace}/{node_name} in domain {domain} with {}",
            service.service_type,
            dds::describe(&service.qos)
        );
        Ok(Self {
            _participant: participant,
            _discovery: discovery,
            role: service.role,
            service: resolved,
            writer,
            reader,
            request,
            response,
        })
    }

    async fn run(self, node: DoraNode, events: EventStream, output: String) -> eyre::Result<()> {
        let ServiceEndpoints {
            _participant,
            _discovery,
            role,
            service,
            writer,
            reader,
            request,
            response,
        } = self;
        let reader_guid = reader.guid();
        let mut samples = reader.async_sample_stream();
        let mut events = events.fuse();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut side = match role {
            Ros2Role::Client => Side::Client(Client::new(&writer, reader_guid)),
            Ros2Role::Server => Side::Server(Server::default()),
        };
        let mut bridge = Bridge {
            node,
            output,
            service,
            writer,
            request,
            response,
            matched: HashMap::new(),
        };
        loop {
            tokio::select! {
                event = events.next() => match event {
                    None | Some(Event::Stop) => break,
                    Some(Event::Input { id, metadata, data }) => match &mut side {
                        Side::Client(client) => {
                            client.on_input(&mut bridge, id.as_str(), &metadata.parameters, &data.0)
                        }
                        Side::Server(server) => {
                            server.on_input(&mut bridge, id.as_str(), &metadata.parameters, &data.0)
                        }
                    },
                    Some(_) => {}
                },
                sample = samples.next() => match sample {
                    Some(Ok(sample)) => match &mut side {
                        Side::Client(client) => client.on_reply(&mut bridge, sample)?,
                        Side::Server(server) => server.on_request(&mut bridge, sample)?,
                    },
                    Some(Err(err)) => eprintln!("reading {}: {err:?}", bridge.service),
                    None => break,
                },
                _ = tick.tick() => match &mut side {
                    Side::Client(client) => client.on_tick(&mut bridge),
                    Side::Server(server) => server.on_tick(&bridge),
                },
            }
        }
        // What was written just before the end (the last reply, say) must still reach its
        // peers: wait, boundedly, until the reliable readers acknowledged it.
        let acked = bridge.writer.async_wait_for_acknowledgments();
        let _ = tokio::time::timeout(crate::LINGER, acked).await;
        Ok(())
    }
}

/// What both roles share.
struct Bridge {
    node: DoraNode,
    output: String,
    service: String,
    writer: RawWriter,
    request: Codec,
    response: Codec,
    /// Readers currently matched with `writer`, with when they matched.
    matched: HashMap<GUID, Instant>,
}

impl Bridge {
    /// Applies the writer's pending match events.
    fn update_matches(&mut self) {
        while let Some(status) = self.writer.try_recv_status() {
            if let DataWriterStatus::PublicationMatched {
                current, reader, ..
            } = status
            {
                if current.count_change() > 0 {
                    self.matched.entry(reader).or_insert_with(Instant::now);
                } else if current.count_change() < 0 {
                    self.matched.remove(&reader);
                }
            }
        }
    }

    /// Whether a matched reader has had [`MATCH_GRACE`] to match our writer in turn.
    fn ready(&mut self) -> bool {
        self.update_matches();
        self.matched
            .values()
            .any(|since| since.elapsed() >= MATCH_GRACE)
    }

    /// Whether a reply to `client` would reach it: one of its readers has been matched for
    /// [`MATCH_GRACE`].
    fn reaches(&mut self, client: ReplyTo) -> bool {
        self.update_matches();
        self.matched
            .iter()
            .any(|(reader, since)| client.is(*reader) && since.elapsed() >= MATCH_GRACE)
    }

    fn send(&mut self, row: eyre::Result<arrow_array::ArrayRef>, parameters: MetadataParameters) {
        match row {
            Ok(array) => {
                if let Err(err) =
                    self.node
                        .send_output(self.output.clone().into(), parameters, array)
                {
                    eprintln!("sending output `{}`: {err}", self.output);
                }
            }
            Err(err) => eprintln!("dropped a malformed message of {}: {err}", self.service),
        }
    }
}

enum Side {
    Client(Client),
    Server(Server),
}

/// The reader a server's reply must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyTo {
    /// The reply reader a request named (rmw_fastrtps since Humble).
    Reader(GUID),
    /// Any reader of the participant that wrote the request (the other clients: they do not
    /// name their reply reader, which lives in the same participant as their request writer).
    ParticipantOf(GUID),
}

impl ReplyTo {
    /// Where to reply to a request written by `writer` that named `related` (its related
    /// sample identity's writer GUID), if anything.
    fn of_request(writer: GUID, related: Option<GUID>) -> Self {
        match related {
            Some(reader) if reader.entity_id.entity_kind.is_reader() => Self::Reader(reader),
            _ => Self::ParticipantOf(writer),
        }
    }

    fn is(self, reader: GUID) -> bool {
        match self {
            Self::Reader(guid) => reader == guid,
            Self::ParticipantOf(writer) => reader.prefix == writer.prefix,
        }
    }
}

/// How a request is identified on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RequestKey {
    Cyclone(CycloneHeader),
    FastDds(SampleIdentity),
}

/// The bridge as a ROS 2 service client.
struct Client {
    writer_guid: GUID,
    reader_guid: GUID,
    cyclone_id: u64,
    next_seq: i64,
    /// Requests waiting for a matched server: payload body, `request_id`, deadline.
    queued: VecDeque<(Vec<u8>, Option<Parameter>, Instant)>,
    /// Sent requests waiting for their reply.
    awaiting: HashMap<RequestKey, (Option<Parameter>, Instant)>,
}

impl Client {
    fn new(writer: &RawWriter, reader_guid: GUID) -> Self {
        let writer_guid = writer.guid();
        Self {
            writer_guid,
            reader_guid,
            cyclone_id: cyclone_client_id(writer_guid),
            next_seq: 1,
            queued: VecDeque::new(),
            awaiting: HashMap::new(),
        }
    }

    fn on_input(
        &mut self,
        bridge: &mut Bridge,
        id: &str,
        parameters: &MetadataParameters,
        data: &arrow_array::ArrayRef,
    ) {
        match bridge.request.encode(data) {
            Ok(bodies) => {
                let deadline = Instant::now() + SERVER_WAIT;
                let request_id = parameters.get(REQUEST_ID).cloned();
                self.queued.extend(
                    bodies
                        .into_iter()
                        .map(|body| (body, request_id.clone(), deadline)),
                );
                self.flush(bridge);
            }
            Err(err) => eprintln!(
                "dropped a request for {} (input `{id}`): {err}",
                bridge.service
            ),
        }
    }

    /// Sends the queued requests if a server is matched; drops those that waited too long.
    fn flush(&mut self, bridge: &mut Bridge) {
        if !bridge.ready() {
            let now = Instant::now();
            let before = self.queued.len();
            self.queued.retain(|(_, _, deadline)| *deadline > now);
            if self.queued.len() < before {
                eprintln!(
                    "dropped {} request(s) for {}: no server within {SERVER_WAIT:?}",
                    before - self.queued.len(),
                    bridge.service
                );
            }
            return;
        }
        let fast_dds = bridge.matched.keys().all(|guid| is_fast_dds(*guid));
        while let Some((body, request_id, _)) = self.queued.pop_front() {
            let key = if fast_dds {
                let options = WriteOptionsBuilder::new()
                    .related_sample_identity(SampleIdentity {
                        writer_guid: self.reader_guid,
                        sequence_number: unknown_sequence_number(),
                    })
                    .build();
                match bridge.writer.write_with_options(RawMessage(body), options) {
                    Ok(identity) => RequestKey::FastDds(identity),
                    Err(err) => {
                        eprintln!("sending a request to {}: {err:?}", bridge.service);
                        continue;
                    }
                }
            } else {
                let header = CycloneHeader {
                    guid: self.cyclone_id,
                    seq: self.next_seq,
                };
                self.next_seq += 1;
                let payload = with_cyclone_header(header, &body);
                if let Err(err) = bridge.writer.write(RawMessage(payload), None) {
                    eprintln!("sending a request to {}: {err:?}", bridge.service);
                    continue;
                }
                RequestKey::Cyclone(header)
            };
            self.awaiting
                .insert(key, (request_id, Instant::now() + REPLY_WAIT));
        }
    }

    fn on_reply(
        &mut self,
        bridge: &mut Bridge,
        sample: DataSample<RawMessage>,
    ) -> eyre::Result<()> {
        let related = sample.sample_info().related_sample_identity();
        let buffer = sample.into_value().0;
        let (key, message) = match related {
            Some(identity)
                if identity.writer_guid == self.writer_guid
                    || identity.writer_guid == self.reader_guid =>
            {
                let key = RequestKey::FastDds(SampleIdentity {
                    writer_guid: self.writer_guid,
                    sequence_number: identity.sequence_number,
                });
                (key, buffer)
            }
            // A Fast DDS reply for another client.
            Some(_) => return Ok(()),
            None => match split_cyclone(&buffer) {
                Some((header, message)) if header.guid == self.cyclone_id => {
                    (RequestKey::Cyclone(header), message)
                }
                // A reply for another client.
                Some(_) => return Ok(()),
                None => {
                    eprintln!(
                        "dropped a malformed reply from {}: {} bytes, too short for a request header",
                        bridge.service,
                        buffer.len()
                    );
                    return Ok(());
                }
            },
        };
        let Some((request_id, _)) = self.awaiting.remove(&key) else {
            // Already answered (a second server) or forgotten.
            return Ok(());
        };
        let mut parameters = MetadataParameters::new();
        if let Some(request_id) = request_id {
            parameters.insert(REQUEST_ID.into(), request_id);
        }
        let row = bridge.response.decode(&message);
        bridge.send(row, parameters);
        Ok(())
    }

    fn on_tick(&mut self, bridge: &mut Bridge) {
        if !self.queued.is_empty() {
            self.flush(bridge);
        }
        let now = Instant::now();
        let before = self.awaiting.len();
        self.awaiting.retain(|_, (_, deadline)| *deadline > now);
        if self.awaiting.len() < before {
            eprintln!(
                "{} request(s) to {} got no reply within {REPLY_WAIT:?}",
                before - self.awaiting.len(),
                bridge.service
            );
        }
    }
}

/// The bridge as a ROS 2 service server.
#[derive(Default)]
struct Server {
    next_id: i64,
    /// Requests given to the dataflow, by `request_id`: how to answer, whom, and until when.
    pending: BTreeMap<i64, (RequestKey, ReplyTo, Instant)>,
}

impl Server {
    fn on_request(
        &mut self,
        bridge: &mut Bridge,
        sample: DataSample<RawMessage>,
    ) -> eyre::Result<()> {
        let info = sample.sample_info();
        let writer = info.writer_guid();
        let related = info.related_sample_identity();
        let fast_dds = related.is_some() || is_fast_dds(writer);
        let reply_to = ReplyTo::of_request(writer, related.map(|r| r.writer_guid));
        let identity = info.sample_identity();
        let buffer = sample.into_value().0;
        let (key, message) = if fast_dds {
            // rmw_fastrtps clients accept replies related to their request writer.
            (RequestKey::FastDds(identity), buffer)
        } else {
            match split_cyclone(&buffer) {
                Some((header, message)) => (RequestKey::Cyclone(header), message),
                None => {
                    eprintln!(
                        "dropped a malformed request to {}: {} bytes, too short for a request header",
                        bridge.service,
                        buffer.len()
                    );
                    return Ok(());
                }
            }
        };
        let row = match bridge.request.decode(&message) {
            Ok(row) => row,
            Err(err) => {
                eprintln!("dropped a malformed request to {}: {err}", bridge.service);
                return Ok(());
            }
        };
        self.next_id += 1;
        let id = self.next_id;
        self.pending
            .insert(id, (key, reply_to, Instant::now() + REPLY_WAIT));
        let mut parameters = MetadataParameters::new();
        parameters.insert(REQUEST_ID.into(), Parameter::Integer(id));
        bridge
            .node
            .send_output(bridge.output.clone().into(), parameters, row)
            .wrap_err_with(|| format!("sending output `{}`", bridge.output))
    }

    fn on_input(
        &mut self,
        bridge: &mut Bridge,
        id: &str,
        parameters: &MetadataParameters,
        data: &arrow_array::ArrayRef,
    ) {
        let request_id = match parameters.get(REQUEST_ID) {
            Some(Parameter::Integer(request_id)) => *request_id,
            Some(other) => {
                eprintln!(
                    "dropped a reply for {} (input `{id}`): `{REQUEST_ID}` must be an integer, got {other:?}",
                    bridge.service
                );
                return;
            }
            None => {
                eprintln!(
                    "dropped a reply for {} (input `{id}`): no `{REQUEST_ID}` parameter",
                    bridge.service
                );
                return;
            }
        };
        let body = match bridge.response.encode(data) {
            Ok(bodies) if bodies.len() == 1 => bodies.into_iter().next().unwrap_or_default(),
            Ok(bodies) => {
                eprintln!(
                    "dropped a reply for {} (input `{id}`): expected one row, got {}",
                    bridge.service,
                    bodies.len()
                );
                return;
            }
            Err(err) => {
                eprintln!(
                    "dropped a reply for {} (input `{id}`): {err}",
                    bridge.service
                );
                return;
            }
        };
        let Some((key, reply_to, _)) = self.pending.remove(&request_id) else {
            eprintln!(
                "dropped a reply for {} (input `{id}`): no pending request with {REQUEST_ID} {request_id}",
                bridge.service
            );
            return;
        };
        // The client's reply reader may still be in discovery: wait for it, bounded. Another
        // client's reader being matched says nothing about this one's.
        let deadline = Instant::now() + REPLY_READER_WAIT;
        while !bridge.reaches(reply_to) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let result = match key {
            RequestKey::Cyclone(header) => bridge
                .writer
                .write(RawMessage(with_cyclone_header(header, &body)), None)
                .map(|_| ()),
            RequestKey::FastDds(identity) => bridge
                .writer
                .write_with_options(
                    RawMessage(body),
                    WriteOptionsBuilder::new()
                        .related_sample_identity(identity)
                        .build(),
                )
                .map(|_| ()),
        };
        if let Err(err) = result {
            eprintln!("sending a reply on {}: {err:?}", bridge.service);
        }
    }

    fn on_tick(&mut self, bridge: &Bridge) {
        let now = Instant::now();
        let before = self.pending.len();
        self.pending.retain(|_, (_, _, deadline)| *deadline > now);
        if self.pending.len() < before {
            eprintln!(
                "{} request(s) to {} got no answer from the dataflow within {REPLY_WAIT:?}",
                before - self.pending.len(),
                bridge.service
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyclone_header_round_trips_and_keeps_the_message_aligned() {
        let header = CycloneHeader {
            guid: 0x0102_0304_0506_0708,
            seq: 42,
        };
        // AddTwoInts_Request {a: 1, b: 2}, little endian.
        let body: Vec<u8> = [1i64.to_le_bytes(), 2i64.to_le_bytes()].concat();
        let mut buffer = vec![0x00, 0x01, 0x00, 0x00];
        buffer.extend(with_cyclone_header(header, &body));
        assert_eq!(buffer.len(), 4 + 16 + 16);
        assert_eq!(&buffer[4..12], &0x0102_0304_0506_0708u64.to_le_bytes());
        let (parsed, message) = split_cyclone(&buffer).expect("well formed");
        assert_eq!(parsed, header);
        assert_eq!(&message[..4], &[0x00, 0x01, 0x00, 0x00]);
        assert_eq!(&message[4..], body.as_slice());
    }

    #[test]
    fn short_or_foreign_buffers_are_not_cyclone_requests() {
        assert_eq!(split_cyclone(&[0x00, 0x01, 0x00, 0x00, 1, 2, 3]), None);
        assert_eq!(split_cyclone(&[]), None);
        let mut pl_cdr = vec![0x00, 0x03, 0x00, 0x00];
        pl_cdr.extend([0u8; 16]);
        assert_eq!(split_cyclone(&pl_cdr), None);
    }

    #[test]
    fn fast_dds_is_recognised_by_its_vendor_id() {
        let mut bytes = [0u8; 16];
        bytes[..2].copy_from_slice(&[0x01, 0x0f]);
        assert!(is_fast_dds(GUID::from_bytes(bytes)));
        bytes[1] = 0x10; // Eclipse Cyclone DDS
        assert!(!is_fast_dds(GUID::from_bytes(bytes)));
    }

    #[test]
    fn a_reply_goes_to_the_named_reader_else_to_the_request_writers_participant() {
        let guid = |prefix: u8, entity: [u8; 4]| {
            let mut bytes = [prefix; 16];
            bytes[12..].copy_from_slice(&entity);
            GUID::from_bytes(bytes)
        };
        let writer = guid(1, [0, 0, 1, 0x03]);
        let reader = guid(1, [0, 0, 2, 0x04]);
        let other_reader = guid(1, [0, 0, 3, 0x04]);
        let foreign_reader = guid(2, [0, 0, 2, 0x04]);

        let named = ReplyTo::of_request(writer, Some(reader));
        assert_eq!(named, ReplyTo::Reader(reader));
        assert!(named.is(reader));
        assert!(!named.is(other_reader));

        // No related identity, or one naming a writer (older rmw_fastrtps, rmw_cyclonedds).
        for related in [None, Some(writer)] {
            let unnamed = ReplyTo::of_request(writer, related);
            assert_eq!(unnamed, ReplyTo::ParticipantOf(writer));
            assert!(unnamed.is(reader) && unnamed.is(other_reader));
            assert!(!unnamed.is(foreign_reader));
        }
    }

    #[test]
    fn unknown_sequence_number_is_fast_dds_unknown() {
        assert_eq!(i64::from(unknown_sequence_number()), -(1i64 << 32));
    }
}
