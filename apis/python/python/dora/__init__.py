"""dora: the Python API of dora nodes and operators.

A node::

    from dora import Node

    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            node.send_output("out", event["value"], event["metadata"])

An operator (``operator: {python: op.py}`` in the dataflow) is a class ``Operator`` whose
``on_event(self, dora_event, send_output)`` returns a :class:`DoraStatus`.
"""

from enum import Enum

from ._dora import Node, __version__


class DoraStatus(Enum):
    """What an operator's ``on_event`` returns."""

    #: Keep going.
    CONTINUE = 0
    #: This operator is done; the others go on.
    STOP = 1
    #: Stop every operator of the node.
    STOP_ALL = 2


def start_runtime() -> None:
    """Runs the Python operators of the node dora started this process for."""
    from .runtime import main

    raise SystemExit(main())


__all__ = ["Node", "DoraStatus", "start_runtime", "__version__"]
