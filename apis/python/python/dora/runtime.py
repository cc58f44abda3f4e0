"""The runtime of Python operators: ``python -m dora.runtime``.

The daemon starts it for a node declared with ``operator:`` or ``operators:`` whose operators
are Python files (``python: op.py``). Each file must define a class ``Operator``; the runtime
creates one instance per operator and calls ``on_event(dora_event, send_output)`` for every
event of that operator, one event at a time, in arrival order.

- Inputs ``op/in`` of the node are input ``in`` of operator ``op``; ``send_output("out", ...)``
  of operator ``op`` is the node's output ``op/out`` (other nodes read ``node/op/out``).
  Operators of the same node reading each other's outputs get them in the process, without a
  copy.
- ``DoraStatus.STOP`` finishes the operator; ``DoraStatus.STOP_ALL`` sends ``STOP`` to every
  other operator. An operator is also finished after ``STOP`` and once all its inputs closed.
  A finished operator's outputs close. The process exits when every operator finished.
- An exception in ``Operator()`` or ``on_event`` prints the traceback, stops the other
  operators and makes the node fail (the dataflow reports the traceback's last lines).
- With hot reload (``dora start --attach --hot-reload``; the daemon sets
  ``DORA_HOT_RELOAD=1``), a changed operator file is imported again and a new ``Operator()``
  replaces the old one before the next event. When the new file fails to import or to
  construct, the error is printed and the old operator keeps running.
"""

import importlib.util
import json
import os
import sys
import time
import traceback
from collections import deque
from datetime import datetime, timezone

import pyarrow as pa

from . import DoraStatus, Node

#: Set to ``1`` by the daemon when the dataflow was started with ``--hot-reload``.
HOT_RELOAD_ENV = "DORA_HOT_RELOAD"
#: Files are checked for changes at most this often (seconds), when an event arrives.
RELOAD_CHECK_INTERVAL = 0.1


class OperatorError(Exception):
    """An operator could not be loaded."""


class _Operator:
    """One operator of the node: its file, its instance, its open inputs."""

    def __init__(self, config):
        self.id = config["id"]
        source = config["source"]
        if not isinstance(source, dict) or "Python" not in source:
            raise OperatorError(
                f"operator `{self.id}` is not a Python operator; a node's Python and "
                "shared-library operators must go in separate nodes"
            )
        self.path = source["Python"]["path"]
        self.inputs = list(config["inputs"])
        self.outputs = list(config["outputs"])
        self.open_inputs = set(self.inputs)
        self.finished = False
        self.instance = None
        self.mtime = None
        self.generation = 0
        self.send_output = None

    def load(self):
        """Imports the file and creates a new ``Operator`` (replacing the old one only when
        both steps succeed)."""
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError as err:
            raise OperatorError(f"operator `{self.id}`: cannot read {self.path}: {err}")
        self.mtime = mtime
        self.generation += 1
        name = "dora_operator_{}_{}".format(
            "".join(c if c.isalnum() else "_" for c in self.id), self.generation
        )
        folder = os.path.dirname(os.path.abspath(self.path))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location(name, self.path)
        if spec is None or spec.loader is None:
            raise OperatorError(f"operator `{self.id}`: cannot import {self.path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cls = getattr(module, "Operator", None)
        if cls is None:
            raise OperatorError(
                f"operator `{self.id}`: {self.path} defines no class `Operator`"
            )
        self.instance = cls()

    def changed(self):
        try:
            return os.stat(self.path).st_mtime_ns != self.mtime
        except OSError:
            return False


def _status(value, operator_id):
    if value is None:
        return DoraStatus.CONTINUE
    if isinstance(value, DoraStatus):
        return value
    try:
        return DoraStatus(int(getattr(value, "value", value)))
    except (TypeError, ValueError):
        raise OperatorError(
            f"operator `{operator_id}`: on_event returned {value!r}, not a DoraStatus"
        )


def _to_arrow(data):
    if isinstance(data, pa.Array):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        buffer = pa.py_buffer(bytes(data))
        return pa.Array.from_buffers(pa.uint8(), len(buffer), [None, buffer])
    return pa.array(data)


class Runtime:
    """Dispatches the node's events to its operators."""

    def __init__(self, config):
        self.node_id = config["node_id"]
        runtime = config.get("runtime")
        if not runtime:
            raise OperatorError(f"node `{self.node_id}` has no operators")
        self.operators = [_Operator(op) for op in runtime["operators"]]
        self.by_id = {op.id: op for op in self.operators}
        self.hot_reload = os.environ.get(HOT_RELOAD_ENV) == "1"
        self.last_check = time.monotonic()
        self.pending = deque()
        self.failure = None
        self.node = None
        # (operator, output) -> [(receiving operator, its input id)] inside this node.
        self.local_routes = {}
        for node_input in config["inputs"]:
            op_id, _, input_id = node_input["id"].partition("/")
            parts = node_input["source"].split("/", 2)
            if len(parts) == 3 and parts[0] == self.node_id and op_id in self.by_id:
                self.local_routes.setdefault((parts[1], parts[2]), []).append(
                    (self.by_id[op_id], input_id)
                )

    def load(self):
        for op in self.operators:
            op.load()
            op.send_output = self._send_output_of(op)

    def _send_output_of(self, op):
        def send_output(output_id, data, metadata=None):
            if output_id not in op.outputs:
                raise ValueError(
                    f"operator `{op.id}` has no output `{output_id}`; declared outputs: "
                    + (", ".join(f"`{o}`" for o in op.outputs) or "none")
                )
            self.node.send_output(f"{op.id}/{output_id}", data, metadata)
            receivers = self.local_routes.get((op.id, output_id))
            if receivers:
                value = _to_arrow(data)
                local_metadata = dict(metadata or {})
                local_metadata["timestamp"] = datetime.now(timezone.utc)
                for receiver, input_id in receivers:
                    self.pending.append(
                        (
                            receiver,
                            {
                                "type": "INPUT",
                                "id": input_id,
                                "value": value,
                                "metadata": local_metadata,
                            },
                        )
                    )

        return send_output

    def _check_reload(self):
        now = time.monotonic()
        if now - self.last_check < RELOAD_CHECK_INTERVAL:
            return
        self.last_check = now
        for op in self.operators:
            if op.finished or not op.changed():
                continue
            old = op.instance
            try:
                op.load()
                print(f"dora: reloaded operator `{op.id}` from {op.path}", flush=True)
            except BaseException:
                op.instance = old
                print(
                    f"dora: reloading operator `{op.id}` failed; keeping the running version:",
                    file=sys.stderr,
                )
                traceback.print_exc()
                sys.stderr.flush()

    def _finish(self, op):
        if op.finished:
            return
        op.finished = True
        remote = []
        for output in op.outputs:
            remote.append(f"{op.id}/{output}")
            for receiver, input_id in self.local_routes.get((op.id, output), []):
                self.pending.append((receiver, {"type": "INPUT_CLOSED", "id": input_id}))
        try:
            self.node.close_outputs(remote)
        except RuntimeError:
            pass

    def _stop_all(self):
        for op in self.operators:
            if not op.finished:
                self.pending.append((op, {"type": "STOP"}))

    def _dispatch(self, op, event):
        if op.finished:
            return
        kind = event["type"]
        if kind == "INPUT_CLOSED":
            op.open_inputs.discard(event["id"])
        try:
            status = _status(op.instance.on_event(event, op.send_output), op.id)
        except BaseException as err:
            traceback.print_exc()
            sys.stderr.flush()
            if self.failure is None:
                self.failure = f"operator `{op.id}` failed: {type(err).__name__}: {err}"
            self._finish(op)
            self._stop_all()
            return
        if status == DoraStatus.STOP_ALL:
            self._finish(op)
            self._stop_all()
        elif status == DoraStatus.STOP or kind == "STOP":
            self._finish(op)
        elif kind == "INPUT_CLOSED" and not op.open_inputs:
            self._finish(op)

    def _drain(self):
        while self.pending:
            op, event = self.pending.popleft()
            self._dispatch(op, event)

    def run(self, node):
        self.node = node
        while not all(op.finished for op in self.operators):
            event = node.next()
            if event is None:
                break
            if self.hot_reload:
                self._check_reload()
            kind = event["type"]
            if kind == "STOP":
                self._stop_all()
            elif kind in ("INPUT", "INPUT_CLOSED"):
                op_id, _, input_id = event["id"].partition("/")
                op = self.by_id.get(op_id)
                if op is not None:
                    event["id"] = input_id
                    self.pending.append((op, event))
            elif kind == "ERROR":
                print(f"dora: node `{self.node_id}`: {event.get('error')}", file=sys.stderr)
            self._drain()
        for op in self.operators:
            self._finish(op)
        self._drain()
        return self.failure


def main():
    """Loads the operators, joins the dataflow and runs until every operator finished.
    Returns the exit status."""
    raw = os.environ.get("DORA_NODE_CONFIG")
    if raw is None:
        print(
            "dora.runtime runs the Python operators of a dataflow node and is started by "
            "the dora daemon; DORA_NODE_CONFIG is not set",
            file=sys.stderr,
        )
        return 2
    runtime = None
    try:
        runtime = Runtime(json.loads(raw))
        runtime.load()
    except BaseException as err:
        traceback.print_exc()
        name = "an operator" if runtime is None else "the operators"
        print(f"dora: loading {name} failed: {err}", file=sys.stderr)
        return 1
    node = Node()
    failure = runtime.run(node)
    del node
    if failure is not None:
        print(f"dora: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
