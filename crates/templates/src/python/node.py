"""___name___: a dora node. For every input it receives, prints it and sends a status line
on its `status` output; stops when its inputs close or dora stops.

Declare it in a dataflow, for instance:

  - id: ___name___
    path: ___name___/___name___/main.py   # or `path: ___name___` once pip-installed
    inputs:
      tick: dora/timer/millis/100
    outputs:
      - status
"""

import pyarrow as pa
from dora import Node


def main():
    node = Node()
    received = 0
    for event in node:
        if event["type"] == "INPUT":
            received += 1
            print(
                f"___name___ received input `{event['id']}` #{received} "
                f"({len(event['value'])} values)"
            )
            node.send_output("status", pa.array([f"___name___ handled {received} inputs"]))
        elif event["type"] == "INPUT_CLOSED":
            print(f"___name___: input `{event['id']}` closed")
        elif event["type"] == "STOP":
            break
        else:
            print(f"Received unexpected event: {event}")


if __name__ == "__main__":
    main()
