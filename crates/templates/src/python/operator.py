"""___name___: a dora operator. For every input it receives, prints it and sends a status line
on its `status` output.

Declare it in a dataflow, for instance:

  - id: runtime-node
    operators:
      - id: ___name___
        python: ___name___/___name___.py
        inputs:
          tick: dora/timer/millis/100
        outputs:
          - status
"""

import pyarrow as pa
from dora import DoraStatus


class Operator:
    """Created once when the dataflow starts (and again when its file changes, with
    `dora start --attach --hot-reload`)."""

    def __init__(self):
        self.received = 0

    def on_event(self, dora_event, send_output) -> DoraStatus:
        if dora_event["type"] == "INPUT":
            self.received += 1
            print(
                f"___name___ received input `{dora_event['id']}` #{self.received} "
                f"({len(dora_event['value'])} values)"
            )
            send_output("status", pa.array([f"___name___ handled {self.received} inputs"]))
        return DoraStatus.CONTINUE
