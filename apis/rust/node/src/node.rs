//! [`DoraNode`]: joining the dataflow and sending outputs.

use std::{
    io::{Read, Write},
    net::TcpStream,
    ops::{Deref, DerefMut},
    os::{
        fd::{AsRawFd, RawFd},
        unix::net::UnixStream,
    },
    sync::{Arc, Mutex, MutexGuard},
};

use arrow_array::Array;
use dora_message::{
    arrow::{copy_array_into, required_size, ArrowTypeInfo},
    config::{DaemonAddress, NodeConfig},
    data::{encode_packet, DataPacket, Payload},
    frame,
    metadata::MetadataParameters,
    node_daemon::{
        dynamic_node_socket_name, DaemonReply, DynamicNodeReply, DynamicNodeRequest, NodeRequest,
        DEFAULT_LOCAL_LISTEN_PORT, LOCAL_LISTEN_PORT_ENV,
    },
    Metadata, NODE_CONFIG_ENV, PROTOCOL_VERSION, ZERO_COPY_THRESHOLD,
};

use dora_transport::{EventFd, Lease, Peer, Pool};

use crate::{
    error::NodeError,
    event_stream::{io, queue::EventQueue, EventStream},
    DataId, NodeId,
};

/// The connection to the daemon: a Unix stream socket or a TCP connection.
enum ControlStream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl ControlStream {
    fn connect(address: &DaemonAddress) -> Result<Self, NodeError> {
        let result = match address {
            DaemonAddress::Unix(path) => UnixStream::connect(path).map(ControlStream::Unix),
            DaemonAddress::Tcp(addr) => TcpStream::connect(addr).map(|s| {
                let _ = s.set_nodelay(true);
                ControlStream::Tcp(s)
            }),
        };
        result.map_err(|source| NodeError::DaemonUnreachable {
            address: match address {
                DaemonAddress::Unix(path) => path.display().to_string(),
                DaemonAddress::Tcp(addr) => addr.to_string(),
            },
            source,
        })
    }
}

impl Read for ControlStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ControlStream::Unix(s) => s.read(buf),
            ControlStream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for ControlStream {
    /// Writes with `MSG_NOSIGNAL`: a daemon that went away is an error, not a `SIGPIPE` that
    /// kills a node whose host program (C, C++) did not ignore it.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use nix::sys::socket::{send, MsgFlags};
        loop {
            match send(self.as_raw_fd(), buf, MsgFlags::MSG_NOSIGNAL) {
                Ok(written) => return Ok(written),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(err.into()),
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for ControlStream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            ControlStream::Unix(s) => s.as_raw_fd(),
            ControlStream::Tcp(s) => s.as_raw_fd(),
        }
    }
}

/// Connects to a Unix socket of Linux's abstract namespace.
fn connect_abstract(name: &str) -> std::io::Result<UnixStream> {
    use std::os::linux::net::SocketAddrExt;
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    UnixStream::connect_addr(&address)
}

/// A frame error with its cause.
fn describe(err: frame::FrameError) -> String {
    match err {
        frame::FrameError::Io(err) => err.to_string(),
        other => other.to_string(),
    }
}

/// State shared by the node handle, the event stream and the I/O thread.
pub(crate) struct NodeShared {
    pub config: NodeConfig,
    pub peers: Vec<Arc<Peer>>,
    pub queue: EventQueue,
    /// The receiving side of all connections, held by whichever thread reads.
    pub reader: Mutex<io::Reader>,
    /// Who waits on the sockets: the I/O thread or the user's thread.
    pub handoff: io::Handoff,
    /// The daemon connection, for reading (writes go through `control`).
    pub control_fd: RawFd,
    pub control_open: std::sync::atomic::AtomicBool,
    pool: Mutex<Pool>,
    control: Mutex<ControlStream>,
    /// Signalled when the node handle and the event stream are both gone.
    shutdown: EventFd,
}

impl NodeShared {
    pub fn pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a request to the daemon; failures are ignored (the I/O thread reports a lost
    /// daemon connection as an event).
    pub fn send_to_daemon(&self, request: &NodeRequest) {
        if let Ok(bytes) = frame::encode(request) {
            let mut control = self.control.lock().unwrap_or_else(|p| p.into_inner());
            let _ = control.write_all(&bytes);
        }
    }
}

/// Stops the I/O thread when the last user-facing handle is dropped.
pub(crate) struct ShutdownGuard(pub Arc<NodeShared>);

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        // Tells the daemon that the node ended on purpose: for a dynamic node, which the
        // daemon cannot wait for, this is what tells a clean exit from a crash.
        self.0.send_to_daemon(&NodeRequest::EventStreamClosed);
        self.0.shutdown.signal();
    }
}

/// A dora node: sends outputs. Created with [`DoraNode::init_from_env`] (or, for a
/// `path: dynamic` node started by hand, [`DoraNode::init_from_node_id`]) together with the
/// [`EventStream`] that delivers the node's inputs.
pub struct DoraNode {
    shared: Arc<NodeShared>,
    _guard: Arc<ShutdownGuard>,
    hlc: uhlc::HLC,
    /// Output index → indices of the peers that receive it.
    routes: Vec<Vec<usize>>,
    closed: Vec<bool>,
    packet: Vec<u8>,
}

impl DoraNode {
    /// Joins the dataflow this process was started for.
    ///
    /// Reads the configuration the daemon put in `DORA_NODE_CONFIG`, connects to the daemon,
    /// and waits until every node of the dataflow is ready (the start barrier). Fails with
    /// [`NodeError::NotStartedByDora`] when the process was not started by dora.
    pub fn init_from_env() -> Result<(Self, EventStream), NodeError> {
        let raw = std::env::var(NODE_CONFIG_ENV).map_err(|_| NodeError::NotStartedByDora)?;
        let config: NodeConfig =
            serde_json::from_str(&raw).map_err(|err| NodeError::InvalidConfig(err.to_string()))?;
        #[cfg(feature = "tracing")]
        crate::compat::set_up_tracing();
        Self::init(config)
    }

    /// Joins the dataflow as its `path: dynamic` node `node_id`: a node that the user
    /// starts, not dora.
    ///
    /// Asks the dora daemon of this machine for the node's configuration and data sockets,
    /// then waits until every node of the dataflow is ready (the start barrier), as
    /// [`DoraNode::init_from_env`] does. The daemon is found by its local listen port
    /// (`dora daemon --local-listen-port`, default 53291; set
    /// `DORA_DAEMON_LOCAL_LISTEN_PORT` for another one) on a Unix socket of Linux's abstract
    /// namespace; it serves processes of its own user (or root) only. `dora run` serves the
    /// dynamic nodes of its dataflow the same way.
    ///
    /// # Errors
    ///
    /// - [`NodeError::NoDaemon`]: no daemon serves dynamic nodes on this machine (start the
    ///   dataflow with `dora up` and `dora start` first).
    /// - [`NodeError::DynamicNodeRefused`]: no running dataflow has a dynamic node
    ///   `node_id` (the reason lists the dynamic nodes there are), the node is not dynamic,
    ///   it is already connected, or several running dataflows have such a node.
    /// - [`NodeError::DynamicNodeHandoff`]: the exchange with the daemon failed.
    /// - Then the errors of [`DoraNode::init`].
    pub fn init_from_node_id(node_id: NodeId) -> Result<(Self, EventStream), NodeError> {
        let node_id = String::from(node_id);
        let handoff = |reason: String| NodeError::DynamicNodeHandoff {
            node_id: node_id.clone(),
            reason,
        };
        let port = match std::env::var(LOCAL_LISTEN_PORT_ENV) {
            Ok(text) => text.trim().parse::<u16>().map_err(|_| {
                handoff(format!(
                    "{LOCAL_LISTEN_PORT_ENV}=`{text}` is not a port number"
                ))
            })?,
            Err(_) => DEFAULT_LOCAL_LISTEN_PORT,
        };
        let socket = dynamic_node_socket_name(port);
        let mut stream = connect_abstract(&socket).map_err(|source| NodeError::NoDaemon {
            socket: socket.clone(),
            port,
            source,
        })?;
        frame::write(
            &mut stream,
            &DynamicNodeRequest {
                protocol_version: PROTOCOL_VERSION.into(),
                node_id: node_id.clone(),
            },
        )
        .map_err(|err| handoff(describe(err)))?;
        let (config_json, count) = match frame::read::<DynamicNodeReply>(&mut stream) {
            Ok(Some(DynamicNodeReply::Config { config_json, fds })) => (config_json, fds),
            Ok(Some(DynamicNodeReply::Refused(reason))) => {
                return Err(NodeError::DynamicNodeRefused { node_id, reason })
            }
            Ok(None) => return Err(handoff("the daemon closed the connection".into())),
            Err(err) => return Err(handoff(describe(err))),
        };
        let mut config: NodeConfig = serde_json::from_str(&config_json)
            .map_err(|err| NodeError::InvalidConfig(err.to_string()))?;
        let fds = dora_transport::receive_fds(&stream, count as usize)
            .map_err(|err| handoff(err.to_string()))?;
        if fds.len() != config.peers.len() {
            return Err(handoff(format!(
                "got {} data sockets for {} peers",
                fds.len(),
                config.peers.len()
            )));
        }
        for (peer, fd) in config.peers.iter_mut().zip(fds) {
            peer.fd = std::os::fd::IntoRawFd::into_raw_fd(fd);
        }
        Self::init_with_control(config, Some(ControlStream::Unix(stream)))
    }

    /// Joins the dataflow described by `config` (what [`DoraNode::init_from_env`] reads).
    pub fn init(config: NodeConfig) -> Result<(Self, EventStream), NodeError> {
        Self::init_with_control(config, None)
    }

    /// [`DoraNode::init`] on an established daemon connection (a dynamic node's), or on a
    /// new one to `config.daemon`.
    fn init_with_control(
        config: NodeConfig,
        control: Option<ControlStream>,
    ) -> Result<(Self, EventStream), NodeError> {
        crate::allocator::tune();
        if config.protocol_version != PROTOCOL_VERSION {
            return Err(NodeError::VersionMismatch {
                ours: PROTOCOL_VERSION.into(),
                theirs: config.protocol_version,
            });
        }
        let peers = config
            .peers
            .iter()
            .map(|p| Peer::from_inherited(p.node_id.clone(), p.fd).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let mut control = match control {
            Some(control) => control,
            None => ControlStream::connect(&config.daemon)?,
        };
        frame::write(
            &mut control,
            &NodeRequest::Hello {
                protocol_version: PROTOCOL_VERSION.into(),
                dataflow_id: config.dataflow_id.clone(),
                node_id: config.node_id.clone(),
            },
        )
        .map_err(|err| NodeError::DaemonConnection(err.to_string()))?;
        match frame::read::<DaemonReply>(&mut control) {
            Ok(Some(DaemonReply::Start)) => {}
            Ok(Some(DaemonReply::Refused(reason))) => return Err(NodeError::Refused(reason)),
            Ok(None) => {
                return Err(NodeError::DaemonConnection(
                    "the daemon closed the connection before the dataflow started".into(),
                ))
            }
            Err(err) => return Err(NodeError::DaemonConnection(err.to_string())),
        }
        let control_fd = control.as_raw_fd();

        let shutdown = EventFd::new()
            .map_err(|err| NodeError::DaemonConnection(format!("eventfd failed: {err}")))?;
        let shutdown_fd = shutdown.as_raw_fd();

        let mut routes = vec![Vec::new(); config.outputs.len()];
        for (peer_index, peer) in config.peers.iter().enumerate() {
            for &output in &peer.sends {
                if let Some(route) = routes.get_mut(output as usize) {
                    route.push(peer_index);
                }
            }
        }
        let pool = Pool::new(
            format!("dora-{}-{}", config.dataflow_id, config.node_id),
            config.peers.iter().map(|p| !p.sends.is_empty()).collect(),
        );
        let queue = EventQueue::new(config.inputs.iter().map(|i| i.queue_size).collect())
            .map_err(|err| NodeError::DaemonConnection(format!("cannot create a pipe: {err}")))?;
        let outputs = config.outputs.len();
        let reader = io::Reader::new(&config);
        let shared = Arc::new(NodeShared {
            config,
            peers,
            queue,
            reader: Mutex::new(reader),
            handoff: io::Handoff::new().map_err(|err| {
                NodeError::DaemonConnection(format!("cannot create an eventfd: {err}"))
            })?,
            control_fd,
            control_open: std::sync::atomic::AtomicBool::new(true),
            pool: Mutex::new(pool),
            control: Mutex::new(control),
            shutdown,
        });
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("dora-node-io".into())
            .spawn(move || io::run(thread_shared, shutdown_fd))
            .map_err(|err| {
                NodeError::DaemonConnection(format!("cannot start I/O thread: {err}"))
            })?;
        let guard = Arc::new(ShutdownGuard(shared.clone()));
        let events = EventStream::new(shared.clone(), guard.clone());
        let node = DoraNode {
            shared,
            _guard: guard,
            hlc: uhlc::HLC::default(),
            routes,
            closed: vec![false; outputs],
            packet: Vec::with_capacity(512),
        };
        Ok((node, events))
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.shared.config.node_id
    }

    /// The id of the running dataflow.
    pub fn dataflow_id(&self) -> &str {
        &self.shared.config.dataflow_id
    }

    /// The configuration the node was started with.
    pub fn node_config(&self) -> &NodeConfig {
        &self.shared.config
    }

    fn output_index(&self, output_id: &str) -> Result<usize, NodeError> {
        let outputs = &self.shared.config.outputs;
        let index = outputs.iter().position(|o| o == output_id).ok_or_else(|| {
            NodeError::UnknownOutput {
                node: self.shared.config.node_id.clone(),
                output: output_id.into(),
                declared: if outputs.is_empty() {
                    "none".into()
                } else {
                    outputs
                        .iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            }
        })?;
        if self.closed[index] {
            return Err(NodeError::OutputClosed(output_id.into()));
        }
        Ok(index)
    }

    /// Sends an Arrow array on `output_id`. Arrays of 4 KiB or more are written once, into
    /// shared memory, and reach every receiver without another copy.
    pub fn send_output(
        &mut self,
        output_id: DataId,
        parameters: MetadataParameters,
        data: impl Array,
    ) -> Result<(), NodeError> {
        let data = data.to_data();
        let len = required_size(&data);
        let mut sample = self.allocate_data_sample(len)?;
        let type_info = copy_array_into(&mut sample, &data);
        self.send_output_sample(output_id, type_info, parameters, Some(sample))
    }

    /// Sends raw bytes (a `UInt8` array) on `output_id`.
    pub fn send_output_bytes(
        &mut self,
        output_id: DataId,
        parameters: MetadataParameters,
        data_len: usize,
        data: &[u8],
    ) -> Result<(), NodeError> {
        let data = data.get(..data_len).unwrap_or(data);
        self.send_output_raw(output_id, parameters, data.len(), |out| {
            out.copy_from_slice(data)
        })
    }

    /// Sends `data_len` bytes that `data` writes directly into the outgoing buffer (shared
    /// memory for 4 KiB or more), so the payload is never copied.
    pub fn send_output_raw<F>(
        &mut self,
        output_id: DataId,
        parameters: MetadataParameters,
        data_len: usize,
        data: F,
    ) -> Result<(), NodeError>
    where
        F: FnOnce(&mut [u8]),
    {
        self.output_index(&output_id)?;
        let mut sample = self.allocate_data_sample(data_len)?;
        data(&mut sample);
        self.send_output_sample(
            output_id,
            ArrowTypeInfo::byte_array(data_len),
            parameters,
            Some(sample),
        )
    }

    /// Lends a buffer of `data_len` bytes to fill in place and send with
    /// [`DoraNode::send_output_sample`]. From [`dora_message::ZERO_COPY_THRESHOLD`] bytes on it
    /// is shared memory that receivers map without copying.
    pub fn allocate_data_sample(&mut self, data_len: usize) -> Result<DataSample, NodeError> {
        if data_len < ZERO_COPY_THRESHOLD {
            return Ok(DataSample {
                inner: SampleInner::Inline(vec![0; data_len]),
                len: data_len,
            });
        }
        let (lease, large) = {
            let mut pool = self.shared.pool();
            (pool.lend(data_len)?, pool.wants_collection())
        };
        if large {
            // A pool this large must shrink once its regions come back through the rings;
            // an I/O thread asleep without a timeout would never look.
            self.shared.handoff.wake_for_collection();
        }
        Ok(DataSample {
            inner: SampleInner::Shared {
                lease,
                shared: self.shared.clone(),
            },
            len: data_len,
        })
    }

    /// Sends a sample filled in place; `type_info` says how its bytes form an Arrow array.
    pub fn send_output_sample(
        &mut self,
        output_id: DataId,
        type_info: ArrowTypeInfo,
        parameters: MetadataParameters,
        sample: Option<DataSample>,
    ) -> Result<(), NodeError> {
        let output = self.output_index(&output_id)?;
        let metadata = Metadata::from_parameters(self.hlc.new_timestamp(), type_info, parameters);
        let Some(mut sample) = sample else {
            return self.send_inline(output, metadata, &[]);
        };
        let len = sample.len;
        match std::mem::replace(&mut sample.inner, SampleInner::Inline(Vec::new())) {
            SampleInner::Inline(bytes) => self.send_inline(output, metadata, &bytes[..len]),
            SampleInner::Shared { lease, .. } => self.send_region(output, metadata, lease, len),
        }
    }

    fn send_inline(
        &mut self,
        output: usize,
        metadata: Metadata,
        bytes: &[u8],
    ) -> Result<(), NodeError> {
        let packet = DataPacket::Message {
            output: output as u16,
            metadata,
            payload: Payload::Inline {
                len: bytes.len() as u32,
            },
        };
        encode_packet(&mut self.packet, &packet, bytes)
            .map_err(|err| NodeError::Encode(err.to_string()))?;
        for &peer in &self.routes[output] {
            self.shared.peers[peer].send(&self.packet, None)?;
        }
        Ok(())
    }

    fn send_region(
        &mut self,
        output: usize,
        metadata: Metadata,
        lease: Lease,
        len: usize,
    ) -> Result<(), NodeError> {
        let mut packet = DataPacket::Message {
            output: output as u16,
            metadata,
            payload: Payload::Region {
                region: lease.id,
                len: len as u64,
                fd_attached: false,
            },
        };
        let mut result = Ok(());
        for &peer_index in &self.routes[output] {
            let peer = &self.shared.peers[peer_index];
            if !peer.can_send() {
                continue;
            }
            let (attach, ring) = {
                let mut pool = self.shared.pool();
                (
                    pool.sent_to(lease.id, peer_index),
                    pool.ring_to_share(peer_index),
                )
            };
            if let Some(ring) = ring {
                // Before the first message in a region: where the peer hands regions back.
                let delivered = encode_packet(&mut self.packet, &DataPacket::ReleaseRing, &[])
                    .is_ok()
                    && peer.send(&self.packet, Some(ring)).is_ok();
                self.shared.pool().ring_sent(peer_index, delivered);
            }
            if let DataPacket::Message {
                payload: Payload::Region { fd_attached, .. },
                ..
            } = &mut packet
            {
                *fd_attached = attach;
            }
            let sent = encode_packet(&mut self.packet, &packet, &[])
                .map_err(|err| NodeError::Encode(err.to_string()))
                .and_then(|()| {
                    peer.send(
                        &self.packet,
                        attach.then(|| lease.memory.raw_fd()).flatten(),
                    )
                    .map_err(NodeError::from)
                });
            if let Err(err) = sent {
                self.shared.pool().unsend(lease.id, peer_index, attach);
                result = Err(err);
            }
        }
        self.shared.pool().finish_send(lease.id);
        result
    }

    /// Closes outputs early: their receivers get `InputClosed`, and sending on them is an
    /// error from now on. Outputs are closed anyway when the node exits.
    pub fn close_outputs(&mut self, outputs_ids: Vec<DataId>) -> Result<(), NodeError> {
        for id in outputs_ids {
            let output = self.output_index(&id)?;
            self.close_output(output);
        }
        Ok(())
    }

    fn close_output(&mut self, output: usize) {
        if std::mem::replace(&mut self.closed[output], true) {
            return;
        }
        if encode_packet(
            &mut self.packet,
            &DataPacket::OutputClosed {
                output: output as u16,
            },
            &[],
        )
        .is_ok()
        {
            for &peer in &self.routes[output] {
                let _ = self.shared.peers[peer].send(&self.packet, None);
            }
        }
    }
}

impl Drop for DoraNode {
    fn drop(&mut self) {
        for output in 0..self.closed.len() {
            self.close_output(output);
        }
    }
}

/// A buffer lent by [`DoraNode::allocate_data_sample`]: fill it, then send it. Dropping it
/// unsent returns it to the pool.
pub struct DataSample {
    inner: SampleInner,
    len: usize,
}

enum SampleInner {
    Inline(Vec<u8>),
    Shared {
        lease: Lease,
        shared: Arc<NodeShared>,
    },
}

impl Deref for DataSample {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.inner {
            SampleInner::Inline(bytes) => &bytes[..self.len],
            // SAFETY: the lease gives this sample exclusive use of the region until it is
            // sent or dropped; `len` is at most the region's capacity.
            SampleInner::Shared { lease, .. } => unsafe {
                std::slice::from_raw_parts(lease.memory.as_mut_ptr(), self.len)
            },
        }
    }
}

impl DerefMut for DataSample {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.inner {
            SampleInner::Inline(bytes) => &mut bytes[..self.len],
            // SAFETY: as in `deref`; `&mut self` makes this the only reference.
            SampleInner::Shared { lease, .. } => unsafe {
                std::slice::from_raw_parts_mut(lease.memory.as_mut_ptr(), self.len)
            },
        }
    }
}

impl Drop for DataSample {
    fn drop(&mut self) {
        if let SampleInner::Shared { lease, shared } = &self.inner {
            shared.pool().give_back(lease.id);
        }
    }
}

impl std::fmt::Debug for DataSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataSample")
            .field("len", &self.len)
            .field(
                "shared_memory",
                &matches!(self.inner, SampleInner::Shared { .. }),
            )
            .finish()
    }
}
