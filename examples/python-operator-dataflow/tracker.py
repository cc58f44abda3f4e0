"""Follows the bounding box from frame to frame and sends its horizontal speed (pixels per
frame)."""

import pyarrow as pa
from dora import DoraStatus


class Operator:
    def __init__(self):
        self.last_x = None

    def on_event(self, dora_event, send_output) -> DoraStatus:
        if dora_event["type"] == "INPUT":
            x = dora_event["value"][0].as_py()
            if self.last_x is not None:
                send_output("speed", pa.array([x - self.last_x]), dora_event["metadata"])
            self.last_x = x
        return DoraStatus.CONTINUE
