"""Type stubs of the dora Python API."""

import datetime
import typing
from enum import Enum

import pyarrow

__version__: str

Metadata = typing.Dict[str, typing.Any]
"""Parameters of a message (bool, int, float, str, lists of these) and, on inputs,
``timestamp`` (a timezone-aware ``datetime.datetime``)."""

Event = typing.Dict[str, typing.Any]
"""An event: ``type`` is ``"INPUT"``, ``"INPUT_CLOSED"``, ``"STOP"`` or ``"ERROR"``.
Inputs carry ``id`` (the input id), ``value`` (a ``pyarrow.Array``, a zero-copy view of the
sender's data for payloads of 4 KiB or more) and ``metadata``; ``INPUT_CLOSED`` carries
``id``; ``ERROR`` carries ``error`` (a message)."""

OutputData = typing.Union[bytes, pyarrow.Array, typing.Any]

class Node:
    """A dora node: iterate over it for events, send outputs with ``send_output``.

    ``Node()`` joins the dataflow as the node dora started this process for. ``Node("id")``
    joins as the ``path: dynamic`` node ``id``, started by hand while its dataflow runs
    (``dora start``, or ``dora run``): the node takes its configuration from the dora daemon
    of this machine, found by its local listen port (``DORA_DAEMON_LOCAL_LISTEN_PORT``,
    default 53291).

    Raises ``RuntimeError`` when the process was not started by dora and no node id is
    given, or when no daemon runs a dataflow with a dynamic node of that id."""

    def __init__(self, node_id: typing.Optional[str] = None) -> None: ...
    def next(self, timeout: typing.Optional[float] = None) -> typing.Optional[Event]:
        """The next event, or ``None`` on timeout (seconds) and once the stream ended."""
    def __iter__(self) -> "Node": ...
    def __next__(self) -> Event: ...
    def send_output(
        self,
        output_id: str,
        data: OutputData,
        metadata: typing.Optional[Metadata] = None,
    ) -> None:
        """Sends ``bytes`` or a pyarrow array (or what ``pyarrow.array`` accepts)."""
    def send_output_raw(
        self,
        output_id: str,
        data_len: int,
        fill: typing.Callable[[memoryview], typing.Any],
        metadata: typing.Optional[Metadata] = None,
    ) -> None:
        """Sends ``data_len`` bytes written in place, with no copy: ``fill`` gets a writable
        ``memoryview`` of the outgoing buffer (wrap it with ``numpy.frombuffer``); it is sent
        when ``fill`` returns. No view of it may outlive ``fill`` (``BufferError``)."""
    def dataflow_descriptor(self) -> typing.Dict[str, typing.Any]:
        """The dataflow YAML as a dict."""
    def dataflow_id(self) -> str:
        """The UUID of the running dataflow."""
    def node_id(self) -> str:
        """This node's id."""
    def node_config(self) -> typing.Dict[str, typing.Any]:
        """The configuration dora started the node with."""
    def close_outputs(self, outputs: typing.List[str]) -> None:
        """Closes outputs early; their receivers get ``INPUT_CLOSED``."""

class DoraStatus(Enum):
    CONTINUE = 0
    STOP = 1
    STOP_ALL = 2

SendOutput = typing.Callable[[str, OutputData, typing.Optional[Metadata]], None]

def start_runtime() -> None:
    """Runs the Python operators of the node dora started this process for."""
